// Exports of the fleet for the engines a site runs (issue 16 item 4) — pure functions of HandoffNode[] (model.ts),
// whole-output tested (test/unit/handoff-export.test.ts) and validated against the upstream CRDs in
// ../shared/fixtures/handoff/.
//   metal3      BareMetalHost (metal3.io/v1alpha1) + its BMC Secret per node, YAML documents
//   tinkerbell  Hardware (tinkerbell.org/v1alpha1) + Machine (bmc.tinkerbell.org/v1alpha1) + its Secret per node
//   ironic      the node file `openstack baremetal create` reads: YAML `nodes:` with driver_info, properties, ports
//   ansible     an Ansible YAML inventory, group `baremetal`, host vars in Bifrost's inventory fields
//   csv         one row per node (RackSeed's own; `rackseed import` reads it back)
// Secrets (the BMC password) only when `secrets` is true, and then the header's first line says so; without them the
// header says what is left out and where it would go. `generatedAt` is a parameter so outputs are reproducible.
import { stringify } from 'yaml';
import type { ExportFormat } from '../../shared/handoff.ts';
import type { HandoffNode } from '../handoff/model.ts';
import { ironicDriverInfo, ironicNodeSpec, ironicPortSpecs, rootDeviceHint } from '../handoff/ironic/spec.ts';

export interface ExportOptions {
  /** include BMC passwords (and say so in the header) */
  secrets: boolean;
  /** Kubernetes namespace of metal3/tinkerbell objects (default "default") */
  namespace?: string;
  /** ISO time written in the header */
  generatedAt: string;
}

/**
 * Column order of the CSV export (`rackseed import` matches columns by name). `bmc_protocol` is the protocol RackSeed
 * drives the BMC with: `ipmi` or `redfish`; a Redfish BMC's `bmc_address` carries `#<system id>` when the
 * ComputerSystem is known (RackSeed's address notation, host[#system]), `bmc_port` its HTTPS port.
 */
export const CSV_COLUMNS = ['id', 'name', 'boot_mac', 'macs', 'serial', 'system_uuid', 'boot_mode', 'cpu_arch', 'cpus', 'memory_mb',
  'local_gb', 'root_device', 'ip', 'bmc_address', 'bmc_port', 'bmc_protocol', 'bmc_username', 'bmc_password'] as const;

// YAML 1.1 output: PyYAML (ansible, openstackclient) and Go's yaml.v2 read 1.1, where an unquoted 52:54:00:12:34:01 is a
// base-60 integer and yes/no are booleans — the 1.1 stringifier quotes such strings
const yamlOpts = { lineWidth: 0, indent: 2, version: '1.1' } as const;

function header(format: ExportFormat, nodes: HandoffNode[], o: ExportOptions, comment: string, withoutSecrets: string): string {
  const lines = [
    o.secrets
      ? `SECRETS INCLUDED: this file holds the BMC passwords of ${nodes.length} node(s) in clear text — keep it private`
      : `no secrets: BMC passwords are left out (${withoutSecrets}); export with --include-secrets to add them`,
    `RackSeed export, format ${format}, ${nodes.length} node(s), generated ${o.generatedAt}`,
  ];
  return lines.map((l) => `${comment} ${l}`).join('\n') + '\n';
}

function k8sName(h: HandoffNode): string {
  return h.name;
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

function bmcSecret(name: string, namespace: string, h: HandoffNode, type: string): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type,
    data: { username: b64(h.bmc?.username ?? ''), password: b64(h.bmc?.password ?? '') },
  };
}

function docs(objects: unknown[]): string {
  return objects.map((o) => '---\n' + stringify(o, yamlOpts)).join('');
}

/**
 * A BareMetalHost's `bmc`: `ipmi://host:port`, or for a Redfish BMC `redfish://host[:port][/system path]` (BMO's
 * redfish scheme, HTTPS) with disableCertificateVerification (BMCs ship self-signed certificates; RackSeed pinned the
 * fingerprint on first use, which a BareMetalHost cannot carry — the node's annotation rackseed.io/bmc-tls-sha256 does).
 */
function metal3Bmc(b: NonNullable<HandoffNode['bmc']>, credentialsName: string): Record<string, unknown> {
  if (b.protocol !== 'redfish') return { address: `ipmi://${b.host}:${b.port}`, credentialsName };
  const host = b.host.includes(':') ? `[${b.host}]` : b.host;
  return { address: `redfish://${host}${b.port === 443 ? '' : `:${b.port}`}${b.systemPath ?? ''}`, credentialsName, disableCertificateVerification: true };
}

/** Metal3 BareMetalHost + BMC Secret per node. */
export function exportMetal3(nodes: HandoffNode[], o: ExportOptions): string {
  const ns = o.namespace ?? 'default';
  const objects: unknown[] = [];
  for (const h of nodes) {
    const name = k8sName(h);
    const secretName = `${name}-bmc-secret`;
    if (o.secrets && h.bmc) objects.push(bmcSecret(secretName, ns, h, 'Opaque'));
    const hint = rootDeviceHint(h);
    const spec: Record<string, unknown> = {
      online: false,
      bootMACAddress: h.bootMac,
    };
    if (h.bootMode) spec.bootMode = h.bootMode === 'uefi' ? 'UEFI' : 'legacy';
    if (h.bmc) spec.bmc = metal3Bmc(h.bmc, secretName);
    if (h.cpuArch) spec.architecture = h.cpuArch;
    if (hint) spec.rootDeviceHints = hint.serial ? { serialNumber: hint.serial } : hint.wwn ? { wwn: hint.wwn } : { deviceName: hint.name };
    objects.push({
      apiVersion: 'metal3.io/v1alpha1', kind: 'BareMetalHost',
      metadata: { name, namespace: ns, labels: { 'rackseed.io/node-id': h.id }, ...(annotations(h) ? { annotations: annotations(h) } : {}) },
      spec,
    });
  }
  return header('metal3', nodes, o, '#', `create each <name>-bmc-secret with keys username and password before applying`) + docs(objects);
}

function annotations(h: HandoffNode): Record<string, string> | null {
  const a: Record<string, string> = {};
  if (h.serial) a['rackseed.io/serial'] = h.serial;
  if (h.bmc?.tlsSha256) a['rackseed.io/bmc-tls-sha256'] = h.bmc.tlsSha256;
  return Object.keys(a).length ? a : null;
}

/** Tinkerbell Hardware + bmc.tinkerbell.org Machine + its Secret per node. */
export function exportTinkerbell(nodes: HandoffNode[], o: ExportOptions): string {
  const ns = o.namespace ?? 'default';
  const objects: unknown[] = [];
  for (const h of nodes) {
    const name = k8sName(h);
    const secretName = `${name}-bmc-auth`;
    if (h.bmc) {
      if (o.secrets) objects.push(bmcSecret(secretName, ns, h, 'kubernetes.io/basic-auth'));
      objects.push({
        apiVersion: 'bmc.tinkerbell.org/v1alpha1', kind: 'Machine', metadata: { name, namespace: ns },
        spec: {
          connection: {
            host: h.bmc.host, port: h.bmc.port, insecureTLS: h.bmc.protocol === 'redfish',
            authSecretRef: { name: secretName, namespace: ns },
            providerOptions: h.bmc.protocol === 'redfish'
              ? { preferredOrder: ['gofish'], redfish: { port: h.bmc.port, ...(h.bmc.systemPath ? { systemName: h.bmc.systemPath.split('/').pop()! } : {}) } }
              : { preferredOrder: ['ipmitool'], ipmitool: { port: h.bmc.port, cipherSuite: String(h.bmc.cipherSuite) } },
          },
        },
      });
    }
    const interfaces = h.macs.map((mac) => {
      const dhcp: Record<string, unknown> = { mac, hostname: name };
      if (h.cpuArch) dhcp.arch = h.cpuArch;
      if (h.bootMode) dhcp.uefi = h.bootMode === 'uefi';
      if (mac === h.bootMac && h.ip) dhcp.ip = { address: h.ip, family: 4 };
      return { dhcp, netboot: { allowPXE: mac === h.bootMac, allowWorkflow: mac === h.bootMac } };
    });
    const spec: Record<string, unknown> = { interfaces };
    if (h.rootDevice) spec.disks = [{ device: h.rootDevice.name }];
    if (h.bmc) spec.bmcRef = { apiGroup: 'bmc.tinkerbell.org', kind: 'Machine', name };
    objects.push({
      apiVersion: 'tinkerbell.org/v1alpha1', kind: 'Hardware', metadata: { name, namespace: ns, labels: { 'rackseed.io/node-id': h.id } }, spec,
    });
  }
  return header('tinkerbell', nodes, o, '#', 'create each <name>-bmc-auth Secret (kubernetes.io/basic-auth) before applying') + docs(objects);
}

/** The node file of `openstack baremetal create` (python-ironicclient's create_resources: `nodes:` with `ports:`). */
export function exportIronic(nodes: HandoffNode[], o: ExportOptions): string {
  const list = nodes.filter((h) => h.bmc).map((h) => ({ ...ironicNodeSpec(o.secrets ? h : withoutPassword(h)), ports: ironicPortSpecs(h) }));
  const skipped = nodes.filter((h) => !h.bmc).map((h) => h.id);
  const note = skipped.length ? `# left out (no BMC, Ironic could not drive them): ${skipped.join(', ')}\n` : '';
  return header('ironic', nodes, o, '#', nodes.some((h) => h.bmc?.protocol === 'redfish') ? 'set driver_info.ipmi_password or redfish_password before loading' : 'set driver_info.ipmi_password before loading') + note + stringify({ nodes: list }, yamlOpts);
}

/** Ansible YAML inventory, hosts in group `baremetal`, with Bifrost's inventory fields as host vars. */
export function exportAnsible(nodes: HandoffNode[], o: ExportOptions): string {
  const hosts: Record<string, unknown> = {};
  for (const h of nodes) {
    let driverInfo: Record<string, unknown> = {};
    if (h.bmc?.protocol === 'redfish') {
      driverInfo = ironicDriverInfo(o.secrets ? h : withoutPassword(h)).driverInfo;
    } else if (h.bmc) {
      driverInfo.ipmi_address = h.bmc.host;
      driverInfo.ipmi_port = h.bmc.port;
      if (h.bmc.username !== null) driverInfo.ipmi_username = h.bmc.username;
      if (o.secrets && h.bmc.password !== undefined) driverInfo.ipmi_password = h.bmc.password;
      driverInfo.ipmi_cipher_suite = h.bmc.cipherSuite;
    }
    const properties: Record<string, unknown> = {};
    if (h.cpuArch) properties.cpu_arch = h.cpuArch;
    if (h.memoryMiB !== null) properties.ram = h.memoryMiB;
    if (h.localGiB !== null) properties.disk_size = h.localGiB;
    if (h.cpus !== null) properties.cpus = h.cpus;
    const hint = rootDeviceHint(h);
    if (hint) properties.root_device = hint;
    if (h.bootMode) properties.capabilities = `boot_mode:${h.bootMode}`;
    const vars: Record<string, unknown> = {
      name: h.name, driver: h.bmc?.protocol === 'redfish' ? 'redfish' : 'ipmi', driver_info: driverInfo, nics: h.macs.map((mac) => ({ mac })), properties,
      host_groups: ['baremetal'], rackseed_id: h.id,
    };
    if (h.ip) { vars.ipv4_address = h.ip; vars.ansible_host = h.ip; }
    if (h.serial) vars.serial = h.serial;
    if (h.uuid) vars.system_uuid = h.uuid;
    hosts[h.name] = vars;
  }
  return header('ansible', nodes, o, '#', 'set driver_info.ipmi_password (or Bifrost\'s ipmi_password) before use')
    + stringify({ all: { children: { baremetal: { hosts } } } }, yamlOpts);
}

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
export function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The CSV's bmc_address: the host; for Redfish with the system id when known (`host#1`) — the last segment of the
 * system's link as the BMC lists it, not percent-decoded: that is how RackSeed's host#system names it (the Redfish
 * client compares raw segments), and a BMC's malformed `%` sequence must not fail the export.
 */
function csvBmcAddress(h: HandoffNode): string | null {
  if (!h.bmc) return null;
  const system = h.bmc.protocol === 'redfish' ? /\/Systems\/([^/#\s]+)\/?$/.exec(h.bmc.systemPath ?? '')?.[1] : undefined;
  return system ? `${h.bmc.host}#${system}` : h.bmc.host;
}

export function exportCsv(nodes: HandoffNode[], o: ExportOptions): string {
  const rows = nodes.map((h) => [
    h.id, h.name, h.bootMac, h.macs.join(' '), h.serial, h.uuid, h.bootMode, h.cpuArch, h.cpus, h.memoryMiB, h.localGiB,
    h.rootDevice?.name ?? null, h.ip, csvBmcAddress(h), h.bmc?.port ?? null, h.bmc?.protocol ?? null, h.bmc?.username ?? null,
    o.secrets ? h.bmc?.password ?? null : null,
  ].map(csvField).join(','));
  return header('csv', nodes, o, '#', 'the bmc_password column is empty') + [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

function withoutPassword(h: HandoffNode): HandoffNode {
  if (!h.bmc) return h;
  const { password: _omitted, ...bmc } = h.bmc;
  return { ...h, bmc };
}

export function exportNodes(format: ExportFormat, nodes: HandoffNode[], o: ExportOptions): string {
  const safe = o.secrets ? nodes : nodes.map(withoutPassword);
  switch (format) {
    case 'metal3': return exportMetal3(safe, o);
    case 'tinkerbell': return exportTinkerbell(safe, o);
    case 'ironic': return exportIronic(safe, o);
    case 'ansible': return exportAnsible(safe, o);
    case 'csv': return exportCsv(safe, o);
  }
}

/** Content type and file name of an export. */
export function exportFile(format: ExportFormat): { contentType: string; fileName: string } {
  if (format === 'csv') return { contentType: 'text/csv; charset=utf-8', fileName: 'rackseed-nodes.csv' };
  return { contentType: 'application/yaml; charset=utf-8', fileName: `rackseed-${format}.yaml` };
}
