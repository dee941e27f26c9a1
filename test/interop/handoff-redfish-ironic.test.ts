// A Redfish-BMC node hands over to a REAL OpenStack Ironic with driver `redfish`, and Ironic drives it (issue 18, last
// acceptance bullet). Peers nobody here wrote: Debian's Ironic 21.4 (one `/usr/bin/ironic`, rpc_transport none,
// SQLite, noauth; test/helpers/ironic.ts) whose redfish driver is Debian's python3-sushy, and redfishtool reading the
// BMC. The BMC is the lab's Redfish BMC (lab/bmc/redfish, what `npm run lab -- --redfish N` runs) with its in-memory
// power backend (no VM), HTTPS with its self-signed certificate on 127.0.0.1 and a free high port; RackSeed pins that
// certificate on first use and hands its fingerprint over in extra.bmc_tls_sha256. Checked: Ironic's node has driver
// redfish and the redfish_* driver_info, reaches available with Ironic's power reading equal to the BMC's; a power on
// through Ironic's API turns the BMC's system On (read by redfishtool) and a power off turns it Off again; RackSeed
// refuses to drive the handed-over BMC. Everything stops by PID in `after`, also on failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startRedfishBmc, type StartedRedfishBmc } from '../../lab/bmc/redfish-bmc.ts';
import { sleep, stopPid } from '../../lab/processes.ts';
import { RedfishClient } from '../../bmc/redfish/session/client.ts';
import { startIronic, ironicInstalled, type IronicProcess } from '../helpers/ironic.ts';
import { Core } from '../../core/core.ts';
import { inventoryFor } from '../unit/core-inventory-fixture.ts';

const USER = 'admin';
const PASSWORD = 'rf-handoff-pw';
const MAC = '52:54:00:18:40:01';
const IDENTITY = { uuid: '5a1e0f52-7c41-4b6f-8a2d-1f5e6c7b8a18', serial: 'RSLAB-RF-HO-1', macs: [MAC, '52:54:00:18:41:01'], firmware: 'lab-fw-3.1' };

let dir = '';
let port = 0;
let bmc: StartedRedfishBmc | null = null;
let ironic: IronicProcess | null = null;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** The system's PowerState as redfishtool reads it from the BMC. */
function redfishtoolPower(): string {
  const r = spawnSync('redfishtool', ['-r', `127.0.0.1:${port}`, '-u', USER, '-p', PASSWORD, '-S', 'Always', 'Systems', '-I', '1', 'get'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { PowerState: string }).PowerState;
}

async function ironicCall<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T | null }> {
  const r = await fetch(ironic!.url + path, {
    method, headers: { 'x-openstack-ironic-api-version': '1.82', ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) as T : null };
}

async function until<T>(what: string, ms: number, f: () => Promise<T | null | undefined | false> | T | null | undefined | false): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

before(async () => {
  assert.ok(ironicInstalled(), 'Debian\'s ironic-api, ironic-conductor and python3-ironicclient are needed (scripts/setup.sh test)');
  assert.equal(spawnSync('/usr/bin/python3', ['-c', 'import sushy'], { stdio: 'ignore' }).status, 0, 'python3-sushy is missing: bash scripts/setup.sh test');
  assert.equal(spawnSync('redfishtool', ['--help'], { stdio: 'ignore' }).error, undefined, 'redfishtool is missing: bash scripts/setup.sh test');
  dir = mkdtempSync(join(tmpdir(), 'rs-handoff-rf-'));
  port = await freePort();
  bmc = startRedfishBmc(null, join(dir, 'bmc'), { address: '127.0.0.1', port, user: USER, password: PASSWORD, identity: IDENTITY, nodeDir: null, firmware: 'uefi' });
  await until('the lab Redfish BMC', 30_000, async () => {
    const c = new RedfishClient({ insecure: true, timeoutMs: 1000, retries: 0 });
    try { await c.serviceRoot('127.0.0.1', port); return true; } catch { return false; } finally { await c.close(); }
  });
  ironic = await startIronic({ host: '127.0.0.1', port: await freePort(), auth: { kind: 'noauth' }, syncPowerSec: 5 });
});

after(async () => {
  await ironic?.stop();
  if (bmc) await stopPid(bmc.pid);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a Redfish-BMC node hands over with driver redfish; Ironic (sushy) powers it on and off; RackSeed no longer drives it', async () => {
  const core = new Core({ dataDir: null, logger: pino({ level: 'silent' }), redfish: { timeoutMs: 10_000 }, handoff: { pollMs: 100 } });
  try {
    core.config.setBmcCredentials({ user: USER, password: PASSWORD });
    const address = `127.0.0.1:${port}`;
    const { node } = core.lifecycle.ensureNode(MAC, 'api');
    const inv = inventoryFor(MAC, node.id, IDENTITY.uuid, IDENTITY.serial);
    core.nodes.update(node.id, { inventory: inv, serial: IDENTITY.serial, uuid: IDENTITY.uuid, bmcAddress: address, bmcMatchedBy: 'mac', firmware: 'uefi' });
    core.bmcs.upsert(address, { nodeId: node.id, guid: IDENTITY.uuid, protocol: 'redfish', protocols: ['redfish'] });
    core.lifecycle.transition(node.id, 'available', 'inventory');
    assert.equal(core.nodes.get(node.id)?.bmc?.protocol, 'redfish');
    assert.equal(redfishtoolPower(), 'Off');

    const t0 = Date.now();
    await core.handoff.start([node.id], { kind: 'ironic', url: ironic!.url });
    await until('the hand-off', 180_000, () => core.handoff.records([node.id])[0]!.status !== 'running');
    const rec = core.handoff.records([node.id])[0]!;
    assert.equal(rec.status, 'done', `${rec.error ?? ''}\n${ironic!.log().slice(-3000)}`);
    assert.equal(rec.result?.provisionState, 'available');
    assert.deepEqual([rec.result?.enginePower, rec.result?.bmcPower, rec.result?.powerMatches], ['power off', 'off', true]);
    const handoffMs = Date.now() - t0;

    const pin = core.tlsPins.get(address);
    const norm = (x: string | null | undefined) => (x ?? '').toLowerCase().replace(/:/g, '');
    assert.match(norm(pin), /^[0-9a-f]{64}$/, 'RackSeed pinned the BMC certificate on first use');
    assert.equal(norm(pin), norm(bmc!.sha256), 'the pin is the lab BMC certificate\'s SHA-256');
    const { json: n } = await ironicCall<{ driver: string; driver_info: Record<string, unknown>; extra: Record<string, string>; power_interface: string; management_interface: string }>('GET', `/v1/nodes/${rec.engineNode!}`);
    assert.equal(n!.driver, 'redfish');
    assert.equal(n!.power_interface, 'redfish');
    assert.equal(n!.management_interface, 'redfish');
    assert.deepEqual({ ...n!.driver_info, redfish_password: n!.driver_info.redfish_password === undefined ? 'absent' : 'masked' }, {
      redfish_address: `https://127.0.0.1:${port}`, redfish_system_id: '/redfish/v1/Systems/1', redfish_username: USER,
      redfish_password: 'masked', redfish_verify_ca: false,
    });
    assert.equal(n!.driver_info.redfish_password, '******', 'Ironic masks the password it was given');
    assert.equal(n!.extra.bmc_tls_sha256, pin);

    // Ironic drives the BMC through sushy: power on, the BMC's system is On (redfishtool reads it), then off
    const on = await ironicCall('PUT', `/v1/nodes/${rec.engineNode!}/states/power`, { target: 'power on' });
    assert.equal(on.status, 202, JSON.stringify(on.json));
    await until('Ironic: power on', 60_000, async () => (await ironicCall<{ power_state: string; target_power_state: string | null }>('GET', `/v1/nodes/${rec.engineNode!}/states`)).json?.power_state === 'power on');
    assert.equal(redfishtoolPower(), 'On');
    await assert.rejects(core.bmcOps.power(node.id, 'off'), /owned by ironic/);
    assert.equal(redfishtoolPower(), 'On', 'RackSeed did not touch it');
    const off = await ironicCall('PUT', `/v1/nodes/${rec.engineNode!}/states/power`, { target: 'power off' });
    assert.equal(off.status, 202);
    await until('Ironic: power off', 60_000, async () => (await ironicCall<{ power_state: string }>('GET', `/v1/nodes/${rec.engineNode!}/states`)).json?.power_state === 'power off');
    assert.equal(redfishtoolPower(), 'Off');
    console.log(`# redfish hand-off to available: ${handoffMs} ms`);
  } finally {
    core.close();
  }
});
