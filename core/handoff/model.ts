// What a hand-off or an export knows about one node, gathered from the core's stores (pure data; the exports and the
// Ironic node spec are pure functions of it). `bmc.password` is present only when the caller asked for secrets.
import type { Inventory } from '../../shared/inventory.ts';
import type { NodeSummary } from '../../shared/node.ts';
import { splitBmcAddress } from '../bmc/ipmi-connector.ts';
import { splitRedfishAddress } from '../bmc/redfish-connector.ts';

export interface HandoffNode {
  /** RackSeed's node id */
  id: string;
  /** a host name safe for Ironic/Kubernetes/Ansible: `rs-<serial or mac>` lower-case (see nodeName) */
  name: string;
  /** boot MAC (the NIC that PXE-booted), lower-case colon form */
  bootMac: string;
  /** every MAC of the node (boot MAC first), lower-case, unique */
  macs: string[];
  serial: string | null;
  /** SMBIOS system UUID */
  uuid: string | null;
  bootMode: 'uefi' | 'bios' | null;
  cpuArch: string | null;
  cpus: number | null;
  memoryMiB: number | null;
  /** size of the root device hint's disk in GiB (rounded down) */
  localGiB: number | null;
  /** the disk a deployment should use: the first non-removable one, by what identifies it best */
  rootDevice: { name: string; serial: string | null; wwn: string | null; sizeGiB: number | null } | null;
  ip: string | null;
  bmc: HandoffBmc | null;
}

/**
 * The node's BMC as an engine should drive it. `protocol` is the one RackSeed drives it with (the sweep's choice):
 * IPMI → Ironic's `ipmi` driver (`cipherSuite` is the IPMI suite that worked); Redfish → Ironic's `redfish` driver
 * (`port` default 443; `systemPath` the ComputerSystem's path when known; `tlsSha256` the certificate fingerprint
 * RackSeed pinned on first use — engines cannot pin a fingerprint, so the hand-off says verify_ca false and carries
 * the fingerprint in `extra` for the site to check).
 */
export interface HandoffBmc {
  protocol: 'ipmi' | 'redfish';
  host: string;
  port: number;
  username: string | null;
  password?: string;
  cipherSuite: number;
  systemPath: string | null;
  tlsSha256: string | null;
}

/** A DNS-label name for a node: `rs-` + serial (or MAC), lower-case, [a-z0-9-], ≤ 63 characters. */
export function nodeName(serial: string | null, mac: string): string {
  const base = (serial && /[a-z0-9]/i.test(serial) ? serial : mac).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return `rs-${base}`.slice(0, 63).replace(/-+$/, '');
}

export interface GatherInput {
  node: NodeSummary;
  inventory: Inventory | null;
  /** BMC user and (only when secrets are wanted) password; null when none are configured */
  credentials: { user: string; password?: string } | null;
  /** IPMI cipher suite that worked for RackSeed (default 3) */
  cipherSuite?: number;
  /** Redfish: the ComputerSystem path RackSeed's session used ("/redfish/v1/Systems/1"), when known */
  redfishSystemPath?: string | null;
  /** Redfish: the BMC certificate's pinned SHA-256 (hex), when known */
  tlsSha256?: string | null;
}

/** Build the hand-off view of a node (pure). */
export function gatherNode(i: GatherInput): HandoffNode {
  const { node, inventory: inv } = i;
  const macs = [node.mac];
  for (const n of inv?.nics ?? []) {
    const m = n.mac?.toLowerCase();
    if (m && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m) && !macs.includes(m)) macs.push(m);
  }
  const disks = (inv?.disks ?? []).filter((d) => (d.sizeBytes ?? 0) > 0);
  const root = disks[0] ?? null;
  const gib = (b: number | null | undefined) => (b ? Math.floor(b / 1073741824) : null);
  let bmc: HandoffNode['bmc'] = null;
  if (node.bmc) {
    const redfish = node.bmc.protocol === 'redfish';
    const a = redfish ? splitRedfishAddress(node.bmc.address) : splitBmcAddress(node.bmc.address);
    const systemPath = i.redfishSystemPath ?? ('systemId' in a && a.systemId ? `/redfish/v1/Systems/${a.systemId}` : null);
    bmc = {
      protocol: redfish ? 'redfish' : 'ipmi', host: a.host, port: a.port, username: i.credentials?.user ?? null, cipherSuite: i.cipherSuite ?? 3,
      systemPath: redfish ? systemPath : null, tlsSha256: redfish ? i.tlsSha256 ?? null : null,
    };
    if (i.credentials?.password !== undefined) bmc.password = i.credentials.password;
  }
  return {
    id: node.id,
    name: nodeName(node.serial ?? inv?.dmi.system.serial ?? null, node.mac),
    bootMac: node.mac,
    macs,
    serial: node.serial ?? inv?.dmi.system.serial ?? null,
    uuid: node.uuid ?? inv?.dmi.system.uuid ?? null,
    bootMode: inv?.bootMode ?? node.firmware ?? null,
    cpuArch: inv?.cpu.arch ?? null,
    cpus: inv?.cpu.threads ?? inv?.cpu.cores ?? null,
    memoryMiB: inv?.memory.totalBytes ? Math.floor(inv.memory.totalBytes / 1048576) : node.memoryMiB,
    localGiB: root ? gib(root.sizeBytes) : node.diskGiB === null ? null : Math.floor(node.diskGiB),
    rootDevice: root ? { name: `/dev/${root.name}`, serial: root.serial, wwn: root.wwn, sizeGiB: gib(root.sizeBytes) } : null,
    ip: node.ip,
    bmc,
  };
}
