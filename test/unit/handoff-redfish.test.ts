// A node whose BMC RackSeed drives over Redfish (issue 18, last acceptance bullet; issue 16 item 4): the Ironic node
// spec uses driver `redfish` with driver_info redfish_address https://host[:port], redfish_system_id (the system path),
// redfish_username/password and redfish_verify_ca false, and carries the pinned certificate fingerprint in extra; the
// Metal3 export says redfish://host[:port]/system with disableCertificateVerification, the Tinkerbell Machine asks for
// bmclib's gofish provider, the Ansible inventory carries the redfish driver_info. The Metal3/Tinkerbell objects are
// validated against the upstream CRDs in ../shared/fixtures/handoff/; the Ansible file is read by ansible-inventory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { gatherNode, type HandoffNode } from '../../core/handoff/model.ts';
import { ironicNodeSpec, redfishAddress } from '../../core/handoff/ironic/spec.ts';
import { exportNodes } from '../../core/export/formats.ts';
import type { NodeSummary } from '../../shared/node.ts';
import { inventoryFor } from './core-inventory-fixture.ts';
import { crdSchema, validate } from '../helpers/openapi-schema.ts';

const here = dirname(fileURLToPath(import.meta.url));
const crdDir = join(here, '../../../shared/fixtures/handoff');
const PASSWORD = 'rf-S3cret';
const PIN = 'ab'.repeat(32);

function redfishNode(address: string, secrets: boolean, systemPath: string | null = '/redfish/v1/Systems/1'): HandoffNode {
  const node: NodeSummary = {
    id: 'node-rf-1', mac: '52:54:00:18:00:01', ip: null, state: 'available', maintenance: false, lastError: null, firmware: 'uefi',
    serial: 'RF-1', uuid: null, bmc: { address, guid: null, vendor: null, matchedBy: 'mac', protocol: 'redfish' }, power: 'off',
    poweredOnByRackSeed: false, cpu: null, memoryMiB: 512, diskGiB: 8, createdAt: 1, updatedAt: 1,
  };
  const inv = inventoryFor(node.mac, node.id, '0d7c3a52-9e41-4b6f-8a2d-1f5e6c7b8a90', 'RF-1');
  return gatherNode({ node, inventory: inv, credentials: secrets ? { user: 'admin', password: PASSWORD } : { user: 'admin' }, redfishSystemPath: systemPath, tlsSha256: PIN });
}

test('Redfish BMC → Ironic driver redfish with redfish_* driver_info, verify_ca false, the pinned fingerprint in extra', () => {
  const spec = ironicNodeSpec(redfishNode('10.242.18.5', true));
  assert.equal(spec.driver, 'redfish');
  assert.deepEqual(spec.driver_info, {
    redfish_address: 'https://10.242.18.5', redfish_system_id: '/redfish/v1/Systems/1', redfish_username: 'admin',
    redfish_password: PASSWORD, redfish_verify_ca: false,
  });
  assert.equal(spec.extra.bmc_tls_sha256, PIN);
  assert.ok(!Object.keys(spec.driver_info).some((k) => k.startsWith('ipmi_')), 'no ipmi_* keys for a Redfish BMC');
  // a non-default port is kept; without secrets no password; the system path from the BMC address "#id"
  const other = ironicNodeSpec(redfishNode('10.242.18.6:8443#Self', false, null));
  assert.deepEqual(other.driver_info, { redfish_address: 'https://10.242.18.6:8443', redfish_system_id: '/redfish/v1/Systems/Self', redfish_username: 'admin', redfish_verify_ca: false });
  assert.equal(redfishAddress({ host: 'fd00::5', port: 443 }), 'https://[fd00::5]');
  // an IPMI BMC is unchanged
  const ipmi = redfishNode('10.242.18.7', true);
  ipmi.bmc = { ...ipmi.bmc!, protocol: 'ipmi', port: 623, systemPath: null, tlsSha256: null };
  assert.equal(ironicNodeSpec(ipmi).driver, 'ipmi');
  assert.equal(ironicNodeSpec(ipmi).driver_info.ipmi_address, '10.242.18.7');
});

test('Metal3 redfish:// BareMetalHost and the Tinkerbell gofish Machine validate against the upstream CRDs', () => {
  const nodes = [redfishNode('10.242.18.5', true), redfishNode('10.242.18.6:8443', true, '/redfish/v1/Systems/System.Embedded.1')];
  const bmh = crdSchema(join(crdDir, 'metal3.io_baremetalhosts.yaml'));
  const docs = parseAllDocuments(exportNodes('metal3', nodes, { secrets: true, generatedAt: '2026-01-02T03:04:05.000Z' }))
    .map((d) => d.toJS() as { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec: Record<string, unknown> });
  const hosts = docs.filter((d) => d.kind === 'BareMetalHost');
  assert.equal(hosts.length, 2);
  for (const h of hosts) assert.deepEqual(validate(bmh, h), [], `${h.metadata.name} validates`);
  assert.deepEqual(hosts.map((h) => h.spec.bmc), [
    { address: 'redfish://10.242.18.5/redfish/v1/Systems/1', credentialsName: 'rs-rf-1-bmc-secret', disableCertificateVerification: true },
    { address: 'redfish://10.242.18.6:8443/redfish/v1/Systems/System.Embedded.1', credentialsName: 'rs-rf-1-bmc-secret', disableCertificateVerification: true },
  ]);
  assert.equal(hosts[0]!.metadata.annotations?.['rackseed.io/bmc-tls-sha256'], PIN);

  const machine = crdSchema(join(crdDir, 'bmc.tinkerbell.org_machines.v1alpha1.yaml'));
  const tdocs = parseAllDocuments(exportNodes('tinkerbell', nodes.slice(1), { secrets: false, generatedAt: '2026-01-02T03:04:05.000Z' }))
    .map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { connection: Record<string, unknown> } });
  const m = tdocs.find((d) => d.kind === 'Machine')!;
  assert.deepEqual(validate(machine, m), []);
  assert.equal(m.spec.connection.insecureTLS, true);
  assert.deepEqual(m.spec.connection.providerOptions, { preferredOrder: ['gofish'], redfish: { port: 8443, systemName: 'System.Embedded.1' } });
});

test('the ironic node file and the Ansible inventory carry driver redfish (ansible-inventory reads it)', () => {
  const n = redfishNode('10.242.18.5', false);
  const file = parse(exportNodes('ironic', [n], { secrets: false, generatedAt: '2026-01-02T03:04:05.000Z' })) as { nodes: { driver: string; driver_info: Record<string, unknown> }[] };
  assert.equal(file.nodes[0]!.driver, 'redfish');
  assert.equal(file.nodes[0]!.driver_info.redfish_password, undefined);
  assert.equal(file.nodes[0]!.driver_info.redfish_address, 'https://10.242.18.5');
  const dir = mkdtempSync(join(tmpdir(), 'rs-ansible-rf-'));
  try {
    const inv = join(dir, 'inventory.yml');
    writeFileSync(inv, exportNodes('ansible', [redfishNode('10.242.18.5', true)], { secrets: true, generatedAt: '2026-01-02T03:04:05.000Z' }));
    const out = JSON.parse(execFileSync('ansible-inventory', ['-i', inv, '--list'], { encoding: 'utf8', env: { ...process.env, ANSIBLE_LOCAL_TEMP: dir, ANSIBLE_HOME: dir, ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true' } })) as
      { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    const v = out._meta.hostvars['rs-rf-1']!;
    assert.equal(v.driver, 'redfish');
    assert.deepEqual(v.driver_info, { redfish_address: 'https://10.242.18.5', redfish_system_id: '/redfish/v1/Systems/1', redfish_username: 'admin', redfish_password: PASSWORD, redfish_verify_ca: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
