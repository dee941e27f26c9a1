// The core drives a Redfish BMC through the one BMC port (core/bmc-port.ts, bmc/connectors.ts): the lab Redfish BMC
// in-process on 127.0.0.1 (free high port, in-memory power; no root, no VM). The sweep finds it as Redfish with its
// system UUID, host MACs, firmware and the certificate it pinned; a discovery job sets one-time PXE and powers it on over
// Redfish, the node's inventory is recognised by the system UUID (or, when the UUID differs, by a MAC the BMC lists),
// the node ends available and the BMC powers it off; a changed certificate fails the job's first step with both
// fingerprints; the API's protocol choice and pin removal.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { makeSelfSignedCert } from '../../lab/bmc/redfish/cert.ts';
import { FakePower } from '../../lab/bmc/redfish/power.ts';
import { LabRedfishBmc } from '../../lab/bmc/redfish/server.ts';
import { inventoryFor } from './core-inventory-fixture.ts';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'rs-core-redfish-'));
const servers: LabRedfishBmc[] = [];
after(async () => { for (const s of servers) await s.close(); rmSync(dir, { recursive: true, force: true }); });

async function until<T>(what: string, probe: () => T | null | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function bmcAt(uuid: string, macs: string[], certName = 'a', port = 0): Promise<{ port: number; power: FakePower; sha256: string; bmc: LabRedfishBmc }> {
  const power = new FakePower('UEFI');
  const cert = makeSelfSignedCert(dir, '127.0.0.1', { name: certName, reuse: true });
  const bmc = new LabRedfishBmc({ user: 'admin', password: 'pw', identity: { uuid, serial: 'RF-1', macs, firmware: 'fw-9' }, power });
  servers.push(bmc);
  return { port: await bmc.listen('127.0.0.1', port, cert), power, sha256: cert.sha256, bmc };
}

function coreFor(port: number): Core {
  const core = new Core({ dataDir: null, logger: log, ipmi: null, redfish: { timeoutMs: 3000, retries: 0 }, sweep: { redfishPort: port, probeTimeoutMs: 1000 }, jobs: { inventoryTimeoutMs: 5000 } });
  core.config.setBmcCredentials({ user: 'admin', password: 'pw' });
  return core;
}

test('sweep finds the BMC as Redfish; discovery over Redfish: one-time PXE, power on, node matched by system UUID, available, powered off', async () => {
  const uuid = '5a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9';
  const mac = '52:54:00:77:00:01';
  const { port, power, sha256 } = await bmcAt(uuid, [mac]);
  const core = coreFor(port);
  const address = `127.0.0.1:${port}`;
  core.sweeps.start('127.0.0.1/32');
  const b = await until('sweep', () => (core.sweeps.status()?.finished ? core.bmcs.get(address) : null));
  assert.deepEqual([b.protocol, b.protocols, b.guid, b.macs, b.firmware, b.redfishVersion, b.tlsFingerprint, b.vendor],
    ['redfish', ['redfish'], uuid, [mac], 'fw-9', '1.11.0', sha256, 'RackSeed Lab']);
  assert.equal(core.tlsPins.get(address), sha256, 'the certificate is pinned in the core\'s database');
  assert.ok(core.events.query({ limit: 50 }).some((e) => e.kind === 'bmc-tls-pinned' && e.message.includes(sha256)), 'the fingerprint is shown');

  const [job] = core.runner.discover();
  await until('power-on', () => core.jobs.get(job!.id)!.steps.find((s) => s.name === 'power-on')!.status === 'done');
  assert.deepEqual(power.booted, ['Pxe'], 'the node powered on into its one-time PXE override');
  const node = core.nodes.create(mac, 'discovered');
  assert.equal(core.intake.acceptInventory(node, inventoryFor(mac, node.id, uuid, 'RF-1'), null).status, 200);
  await until('job done', () => core.jobs.get(job!.id)!.status === 'done');
  const n = core.nodes.get(node.id)!;
  assert.equal(n.state, 'available');
  assert.deepEqual(n.bmc, { address, guid: uuid, vendor: 'RackSeed Lab', matchedBy: 'guid', protocol: 'redfish' });
  assert.equal(power.state, 'Off', 'powered off through Redfish after the inventory');
  assert.equal(n.power, 'off');
  core.close();
});

test('a Redfish BMC whose system UUID is not the node\'s is matched by a MAC it lists', async () => {
  const mac = '52:54:00:77:00:02';
  const { port } = await bmcAt('00112233-4455-4677-8899-aabbccddeeff', ['52:54:00:77:00:99', mac]);
  const core = coreFor(port);
  core.sweeps.start('127.0.0.1/32');
  await until('sweep', () => core.sweeps.status()?.finished);
  const [job] = core.runner.discover();
  await until('power-on', () => core.jobs.get(job!.id)!.steps.find((s) => s.name === 'power-on')!.status === 'done');
  const node = core.nodes.create(mac, 'discovered');
  core.intake.acceptInventory(node, inventoryFor(mac, node.id, '99999999-8888-4777-8666-555555555555'), null);
  await until('job done', () => core.jobs.get(job!.id)!.status === 'done');
  assert.equal(core.nodes.get(node.id)!.bmc?.matchedBy, 'mac');
  assert.ok(core.events.query({ nodeId: node.id }).some((e) => e.kind === 'bmc-matched' && /by MAC 52:54:00:77:00:02/.test(e.message)));
  core.close();
});

test('a changed certificate fails the job\'s first step with both fingerprints; forgetting the pin lets the next job through', async () => {
  const first = await bmcAt('0a0b0c0d-0e0f-4011-8213-141516171819', ['52:54:00:77:00:03'], 'c1');
  const core = coreFor(first.port);
  const address = `127.0.0.1:${first.port}`;
  core.sweeps.start('127.0.0.1/32');
  await until('sweep', () => core.sweeps.status()?.finished);
  await first.bmc.close();
  const second = await bmcAt('0a0b0c0d-0e0f-4011-8213-141516171819', ['52:54:00:77:00:03'], 'c2', first.port);
  const [job] = core.runner.discover();
  const failed = await until('job failed', () => (core.jobs.get(job!.id)!.status === 'failed' ? core.jobs.get(job!.id)! : null));
  assert.equal(failed.steps[0]!.name, 'read-guid');
  assert.match(failed.error!, new RegExp(`TLS certificate changed: pinned SHA-256 ${first.sha256}, the BMC now presents ${second.sha256}`));
  assert.deepEqual(second.power.booted, [], 'nothing was done to the machine');
  assert.equal(core.tlsPins.forget(address), true);
  const [again] = core.runner.discover([address]);
  await until('read-guid done', () => core.jobs.get(again!.id)!.steps[0]!.status === 'done');
  assert.equal(core.tlsPins.get(address), second.sha256, 'the new certificate is pinned');
  core.close();
});
