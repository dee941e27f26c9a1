// Exports (core/export/formats.ts) as whole outputs against golden files in test/fixtures/handoff-export/
// (regenerate with UPDATE_GOLDEN=1 and read the diff), Metal3/Tinkerbell objects validated against the upstream CRDs
// in ../shared/fixtures/handoff/, the Ansible inventory parsed by Debian's ansible-inventory, secrets only when asked,
// and the CSV import (round trip of the export, rack plans, bad rows named and nothing imported).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import { pino } from 'pino';
import { gatherNode, nodeName, type HandoffNode } from '../../core/handoff/model.ts';
import { exportNodes, type ExportOptions } from '../../core/export/formats.ts';
import { applyImport, parseImportCsv, ImportError } from '../../core/export/import.ts';
import { Core } from '../../core/core.ts';
import { EXPORT_FORMATS } from '../../shared/handoff.ts';
import type { NodeSummary } from '../../shared/node.ts';
import { inventoryFor } from './core-inventory-fixture.ts';
import { crdSchema, validate } from '../helpers/openapi-schema.ts';

const here = dirname(fileURLToPath(import.meta.url));
const goldenDir = join(here, '../fixtures/handoff-export');
const crdDir = join(here, '../../../shared/fixtures/handoff');
const update = process.env.UPDATE_GOLDEN === '1';
const PASSWORD = 'bmc-S3cret!pw';
const opts = (secrets: boolean): ExportOptions => ({ secrets, generatedAt: '2026-01-02T03:04:05.000Z' });

function summary(id: string, mac: string, serial: string, bmc: string | null, ip: string | null): NodeSummary {
  return {
    id, mac, ip, state: 'available', maintenance: false, lastError: null, firmware: 'uefi', serial, uuid: null,
    bmc: bmc ? { address: bmc, guid: null, vendor: null, matchedBy: 'guid' } : null, power: 'off', poweredOnByRackSeed: false,
    cpu: 'QEMU Virtual CPU', memoryMiB: 512, diskGiB: 8, createdAt: 1, updatedAt: 1,
  };
}

function fleet(secrets: boolean): HandoffNode[] {
  const inv1 = inventoryFor('52:54:00:12:34:01', 'n1', '11111111-2222-3333-4444-555555555501', 'SN-0001');
  inv1.nics.push({ name: 'eth1', mac: '52:54:00:12:34:a1', driver: 'e1000', link: false, speedMbps: null, ipv4: null });
  const inv2 = inventoryFor('52:54:00:12:34:02', 'n2', '11111111-2222-3333-4444-555555555502', 'SN 0002/B');
  inv2.bootMode = 'bios';
  inv2.disks[0]!.serial = null;
  inv2.disks[0]!.wwn = 'naa.5000c500a1b2c3d4';
  const creds = secrets ? { user: 'admin', password: PASSWORD } : { user: 'admin' };
  return [
    gatherNode({ node: summary('6f1c0a52-0001-4000-8000-000000000001', '52:54:00:12:34:01', 'SN-0001', '10.242.16.11', '10.230.0.51'), inventory: inv1, credentials: creds }),
    gatherNode({ node: summary('6f1c0a52-0002-4000-8000-000000000002', '52:54:00:12:34:02', 'SN 0002/B', '10.242.16.12:6230', null), inventory: inv2, credentials: creds, cipherSuite: 17 }),
  ];
}

function golden(name: string, text: string): void {
  const file = join(goldenDir, name);
  if (update) { mkdirSync(goldenDir, { recursive: true }); writeFileSync(file, text); }
  assert.ok(existsSync(file), `golden ${name} missing: run with UPDATE_GOLDEN=1`);
  assert.equal(text, readFileSync(file, 'utf8'), `${name} differs from its golden file (UPDATE_GOLDEN=1 regenerates it)`);
}

test('node names are DNS labels from the serial, else the MAC', () => {
  assert.equal(nodeName('SN 0002/B', '52:54:00:12:34:02'), 'rs-sn-0002-b');
  assert.equal(nodeName(null, '52:54:00:12:34:02'), 'rs-52-54-00-12-34-02');
  assert.equal(nodeName('---', '52:54:00:12:34:02'), 'rs-52-54-00-12-34-02');
  assert.ok(nodeName('X'.repeat(100), 'aa:bb:cc:dd:ee:ff').length <= 63);
});

for (const format of EXPORT_FORMATS) {
  for (const secrets of [false, true]) {
    test(`${format} export ${secrets ? 'with' : 'without'} secrets: whole output, header says which`, () => {
      const text = exportNodes(format, fleet(secrets), opts(secrets));
      golden(`${format}${secrets ? '-secrets' : ''}.txt`, text);
      const first = text.split('\n')[0]!;
      if (secrets) {
        assert.match(first, /^# SECRETS INCLUDED: .*BMC passwords/);
        const hasClear = text.includes(PASSWORD) || text.includes(Buffer.from(PASSWORD).toString('base64'));
        assert.ok(hasClear, 'the password is in the file that asked for it');
      } else {
        assert.match(first, /^# no secrets: BMC passwords are left out/);
        assert.ok(!text.includes(PASSWORD) && !text.includes(Buffer.from(PASSWORD).toString('base64')), 'no password without --include-secrets');
      }
    });
  }
}

test('Metal3 BareMetalHost and its Secret validate against the upstream CRD', () => {
  const schema = crdSchema(join(crdDir, 'metal3.io_baremetalhosts.yaml'));
  const docs = parseAllDocuments(exportNodes('metal3', fleet(true), opts(true))).map((d) => d.toJS() as { kind: string; spec: Record<string, unknown>; metadata: { name: string }; data?: Record<string, string> });
  const hosts = docs.filter((d) => d.kind === 'BareMetalHost');
  assert.equal(hosts.length, 2);
  for (const h of hosts) assert.deepEqual(validate(schema, h), [], `${h.metadata.name} validates`);
  assert.deepEqual(hosts.map((h) => [h.spec.bootMode, (h.spec.bmc as { address: string }).address, h.spec.bootMACAddress, h.spec.rootDeviceHints]), [
    ['UEFI', 'ipmi://10.242.16.11:623', '52:54:00:12:34:01', { serialNumber: 'D1' }],
    ['legacy', 'ipmi://10.242.16.12:6230', '52:54:00:12:34:02', { wwn: 'naa.5000c500a1b2c3d4' }],
  ]);
  const secrets = docs.filter((d) => d.kind === 'Secret');
  assert.deepEqual(secrets.map((s) => s.metadata.name), hosts.map((h) => (h.spec.bmc as { credentialsName: string }).credentialsName));
  assert.equal(Buffer.from(secrets[0]!.data!.password!, 'base64').toString(), PASSWORD);
  // the validator does find faults (so an empty error list means something)
  assert.notDeepEqual(validate(schema, { ...hosts[0], spec: { ...hosts[0]!.spec, bootMode: 'bios' } }), []);
  assert.notDeepEqual(validate(schema, { ...hosts[0], spec: { ...hosts[0]!.spec, bmc: { address: 'ipmi://x' } } }), []);
});

test('Tinkerbell Hardware and bmc.tinkerbell.org Machine validate against the upstream CRDs', () => {
  const hw = crdSchema(join(crdDir, 'tinkerbell.org_hardware.v1alpha1.yaml'));
  const machine = crdSchema(join(crdDir, 'bmc.tinkerbell.org_machines.v1alpha1.yaml'));
  const docs = parseAllDocuments(exportNodes('tinkerbell', fleet(true), opts(true))).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> });
  const hws = docs.filter((d) => d.kind === 'Hardware');
  const machines = docs.filter((d) => d.kind === 'Machine');
  assert.equal(hws.length, 2);
  assert.equal(machines.length, 2);
  for (const d of hws) assert.deepEqual(validate(hw, d), [], `${d.metadata.name} Hardware validates`);
  for (const d of machines) assert.deepEqual(validate(machine, d), [], `${d.metadata.name} Machine validates`);
  assert.deepEqual(hws.map((d) => (d.spec.bmcRef as { name: string }).name), machines.map((m) => m.metadata.name));
  assert.equal(docs.filter((d) => d.kind === 'Secret').length, 2);
  assert.notDeepEqual(validate(hw, { ...hws[0], spec: { interfaces: [{ dhcp: { mac: 'not-a-mac' } }] } }), []);
  assert.notDeepEqual(validate(machine, { ...machines[0], spec: {} }), []);
});

test('the Ansible inventory is read by ansible-inventory (Debian ansible-core) with Bifrost\'s fields', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-ansible-'));
  try {
    const file = join(dir, 'inventory.yml');
    writeFileSync(file, exportNodes('ansible', fleet(true), opts(true)));
    const out = execFileSync('ansible-inventory', ['-i', file, '--list'], { encoding: 'utf8', env: { ...process.env, ANSIBLE_LOCAL_TEMP: dir, ANSIBLE_HOME: dir, ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true' } });
    const inv = JSON.parse(out) as { baremetal: { hosts: string[] }; _meta: { hostvars: Record<string, Record<string, unknown>> } };
    assert.deepEqual(inv.baremetal.hosts, ['rs-sn-0001', 'rs-sn-0002-b']);
    const v = inv._meta.hostvars['rs-sn-0001']!;
    assert.equal(v.driver, 'ipmi');
    assert.deepEqual(v.driver_info, { ipmi_address: '10.242.16.11', ipmi_port: 623, ipmi_username: 'admin', ipmi_password: PASSWORD, ipmi_cipher_suite: 3 });
    assert.deepEqual(v.nics, [{ mac: '52:54:00:12:34:01' }, { mac: '52:54:00:12:34:a1' }]);
    assert.deepEqual(v.properties, { cpu_arch: 'x86_64', ram: 512, disk_size: 8, cpus: 1, root_device: { serial: 'D1' }, capabilities: 'boot_mode:uefi' });
    assert.equal(v.ipv4_address, '10.230.0.51');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('the ironic node file has nodes[] with ports and pxe_enabled on the boot MAC only', () => {
  const doc = parse(exportNodes('ironic', fleet(false), opts(false))) as { nodes: { name: string; driver_info: Record<string, unknown>; ports: { address: string; pxe_enabled: boolean }[] }[] };
  assert.equal(doc.nodes.length, 2);
  assert.deepEqual(doc.nodes[0]!.ports, [{ address: '52:54:00:12:34:01', pxe_enabled: true }, { address: '52:54:00:12:34:a1', pxe_enabled: false }]);
  assert.equal(doc.nodes[0]!.driver_info.ipmi_password, undefined);
  assert.equal(doc.nodes[1]!.driver_info.ipmi_cipher_suite, 17);
});

function memCore(): Core {
  return new Core({ dataDir: null, logger: pino({ level: 'silent' }) });
}

test('import: the CSV export read back registers nodes and BMCs; a second import updates, never duplicates', () => {
  const core = memCore();
  try {
    const csv = exportNodes('csv', fleet(true), opts(true));
    const r = applyImport(core, parseImportCsv(csv));
    assert.equal(r.kind, 'nodes');
    assert.equal(r.created.length, 2);
    assert.deepEqual(r.bmcs, ['10.242.16.11', '10.242.16.12:6230']);
    const n = core.nodes.getByMac('52:54:00:12:34:02')!;
    assert.equal(n.serial, 'SN 0002/B');
    assert.equal(n.bmc?.address, '10.242.16.12:6230');
    assert.equal(core.bmcs.get('10.242.16.12:6230')?.nodeId, n.id);
    assert.deepEqual(core.config.bmcCredentials(), { user: 'admin', password: PASSWORD });
    const again = applyImport(core, parseImportCsv(csv));
    assert.equal(again.created.length, 0);
    assert.equal(again.updated.length, 2);
    assert.equal(core.nodes.list().length, 2);
  } finally { core.close(); }
});

test('CSV round trip keeps the BMC protocol: an IPMI and a Redfish BMC (with its system) exported, imported, exported again the same', () => {
  const inv = inventoryFor('52:54:00:12:34:03', 'n3', '11111111-2222-3333-4444-555555555503', 'SN-0003');
  const redfish = { ...summary('6f1c0a52-0003-4000-8000-000000000003', '52:54:00:12:34:03', 'SN-0003', '10.242.16.13:8443#System.Embedded.1', null) };
  redfish.bmc = { ...redfish.bmc!, protocol: 'redfish' };
  const nodes = [fleet(true)[0]!, gatherNode({ node: redfish, inventory: inv, credentials: { user: 'admin', password: PASSWORD } })];
  const csv = exportNodes('csv', nodes, opts(true));
  const lines = csv.split('\n').filter((l) => l && !l.startsWith('#'));
  const head = lines[0]!.split(',');
  const protoCol = head.indexOf('bmc_protocol');
  assert.ok(protoCol > 0, 'the CSV has a bmc_protocol column');
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[protoCol]), ['ipmi', 'redfish']);
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[head.indexOf('bmc_address')]), ['10.242.16.11', '10.242.16.13#System.Embedded.1']);
  const core = memCore();
  try {
    const r = applyImport(core, parseImportCsv(csv));
    assert.deepEqual(r.bmcs, ['10.242.16.11', '10.242.16.13:8443#System.Embedded.1']);
    const rf = core.nodes.getByMac('52:54:00:12:34:03')!;
    assert.equal(rf.bmc?.address, '10.242.16.13:8443#System.Embedded.1');
    assert.equal(rf.bmc?.protocol, 'redfish');
    assert.equal(core.bmcs.get('10.242.16.13:8443#System.Embedded.1')?.protocolChosen, true, 'the file\'s protocol is kept by later sweeps');
    assert.equal(core.nodes.getByMac('52:54:00:12:34:01')!.bmc?.protocol, 'ipmi');
    // exported again from what the import stored: the same BMC columns
    const back = exportNodes('csv', [core.nodes.getByMac('52:54:00:12:34:01')!, rf].map((n) => gatherNode({ node: n, inventory: null, credentials: { user: 'admin', password: PASSWORD } })), opts(true));
    const cols = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#')).slice(1)
      .map((l) => ['bmc_address', 'bmc_port', 'bmc_protocol', 'bmc_username', 'bmc_password'].map((c) => l.split(',')[head.indexOf(c)]));
    assert.deepEqual(cols(back), cols(csv));
    assert.deepEqual(cols(csv)[1], ['10.242.16.13#System.Embedded.1', '8443', 'redfish', 'admin', PASSWORD]);
  } finally { core.close(); }
  // a wrong protocol, or a system id on an IPMI BMC, names its row and field
  assert.throws(() => parseImportCsv('boot_mac,bmc_address,bmc_protocol\n52:54:00:00:00:01,10.0.0.1,snmp\n'), /line 2, field bmc_protocol: 'snmp' is neither ipmi nor redfish/);
  assert.throws(() => parseImportCsv('boot_mac,bmc_address,bmc_protocol\n52:54:00:00:00:01,10.0.0.1#1,ipmi\n'), /line 2, field bmc_address: .*bmc_protocol is not redfish/);
  assert.deepEqual(parseImportCsv('boot_mac,bmc_address,bmc_protocol\n52:54:00:00:00:01,10.0.0.1,Redfish\n').rows.map((x) => [x.bmcAddress, x.bmcProtocol]), [['10.0.0.1', 'redfish']]);
});

test('import: a rack plan pre-registers BMCs, and nodes where it names a MAC', () => {
  const core = memCore();
  try {
    const r = applyImport(core, parseImportCsv('position,serial,bmc_address,mac\nR1-U10,SN-A,10.242.16.21,\n"R1-U12",SN-B,10.242.16.22:6231,52-54-00-AA-00-02\n'));
    assert.equal(r.kind, 'rack-plan');
    assert.deepEqual(r.bmcs, ['10.242.16.21', '10.242.16.22:6231']);
    assert.equal(r.created.length, 1);
    const n = core.nodes.getByMac('52:54:00:aa:00:02')!;
    assert.equal(n.serial, 'SN-B');
    assert.equal(n.bmc?.address, '10.242.16.22:6231');
    assert.ok(core.bmcs.get('10.242.16.21'));
  } finally { core.close(); }
});

test('import: a bad row names its line and field, and nothing is imported', () => {
  const core = memCore();
  try {
    const cases: [string, RegExp][] = [
      ['id,boot_mac,bmc_address\n1,52:54:00:00:00:01,10.0.0.1\n2,zz:54,10.0.0.2\n', /line 3, field boot_mac: 'zz:54' is not a MAC/],
      ['boot_mac,bmc_address\n52:54:00:00:00:01,10.0.0.1\n52:54:00:00:00:02,10.0.0.999\n', /line 3, field bmc_address: '10.0.0.999'/],
      ['boot_mac,bmc_address,bmc_port\n52:54:00:00:00:01,10.0.0.1,70000\n', /line 2, field bmc_port/],
      ['boot_mac\n52:54:00:00:00:01\n52-54-00-00-00-01\n', /line 3, field boot_mac: 52:54:00:00:00:01 is already on line 2/],
      ['position,serial,bmc_address\nR1,,10.0.0.1\n', /line 2, field serial: is empty/],
      ['position,serial\nR1,S\n', /needs a bmc_address column/],
      ['boot_mac,system_uuid\n52:54:00:00:00:01,nope\n', /field system_uuid/],
      ['name,foo\na,b\n', /neither boot_mac/],
      ['boot_mac,bmc_username,bmc_password\n52:54:00:00:00:01,a,x\n52:54:00:00:00:02,a,y\n', /line 3, field bmc_username\/bmc_password: differs from line 2/],
      ['boot_mac\n"52:54:00:00:00:01\n', /not closed/],
    ];
    for (const [csv, re] of cases) {
      assert.throws(() => applyImport(core, parseImportCsv(csv)), (e: unknown) => e instanceof ImportError && re.test(e.message), csv);
    }
    assert.equal(core.nodes.list().length, 0, 'nothing imported');
    assert.equal(core.bmcs.list().length, 0);
  } finally { core.close(); }
});

test('CSV: a Redfish system id is exported as RackSeed stores it (percent signs included), and imported back the same', () => {
  // RackSeed's host#system names the system by the last segment of its link as the BMC lists it, undecoded
  // (bmc/redfish/session/client.ts pickSystem compares raw segments). The export decoded it: `System%201` became
  // `System 1`, which the import refuses (no whitespace), and a BMC's `%E0` made decodeURIComponent throw (URIError),
  // failing the whole export.
  const inv = inventoryFor('52:54:00:12:34:04', 'n4', '11111111-2222-3333-4444-555555555504', 'SN-0004');
  const node = (mac: string, address: string) => {
    const s = summary(`6f1c0a52-00${mac.slice(-2)}-4000-8000-000000000004`, mac, `SN-${mac.slice(-2)}`, address, null);
    s.bmc = { ...s.bmc!, protocol: 'redfish' };
    return gatherNode({ node: s, inventory: inv, credentials: { user: 'admin' } });
  };
  const csv = exportNodes('csv', [node('52:54:00:12:34:04', '10.242.16.14#System%201'), node('52:54:00:12:34:05', '10.242.16.15#%E0')], opts(false));
  const rows = csv.split('\n').filter((l) => l && !l.startsWith('#'));
  const col = rows[0]!.split(',').indexOf('bmc_address');
  assert.deepEqual(rows.slice(1).map((l) => l.split(',')[col]), ['10.242.16.14#System%201', '10.242.16.15#%E0']);
  assert.deepEqual(parseImportCsv(csv).rows.map((r) => r.bmcAddress), ['10.242.16.14#System%201', '10.242.16.15#%E0']);
});
