// Conformance of the lab's Redfish BMC (lab/bmc/redfish, the process `npm run lab -- --redfish N` starts) checked by
// clients nobody here wrote: Debian's python3-sushy (the library Ironic's redfish driver uses; TLS verified against
// the BMC's own self-signed certificate) and redfishtool. The BMC runs as its own process on 127.0.0.1 (a free high
// port) with the in-memory power backend; what one client sets, the other client and RackSeed's read back: power
// state and reset, boot override, UUID, MACs, firmware; a reset type it does not allow and a wrong password are
// refused. The process is stopped by PID in `after`, even on failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedfishBmc, type StartedRedfishBmc } from '../../lab/bmc/redfish-bmc.ts';
import { sleep, stopPid } from '../../lab/processes.ts';
import { RedfishClient } from '../../bmc/redfish/session/client.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const SUSHY = join(HERE, '..', 'helpers', 'sushy-client.py');
const USER = 'admin';
const PASSWORD = 'conformance-pw';
const IDENTITY = { uuid: '0d7c3a52-9e41-4b6f-8a2d-1f5e6c7b8a90', serial: 'RSLAB-CONF-001', macs: ['52:54:00:52:53:0a', '52:54:00:52:53:0b'], firmware: 'lab-fw-3.1' };

let dir: string;
let port: number;
let bmc: StartedRedfishBmc | null = null;
let certFile: string;
// requests would otherwise verify against the system CA bundle these variables name, ignoring verify=
const PY_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'REQUESTS_CA_BUNDLE' && k !== 'CURL_CA_BUNDLE'));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

function sushy(...ops: string[]): unknown[] {
  const r = spawnSync('/usr/bin/python3', [SUSHY, `https://127.0.0.1:${port}/redfish/v1`, USER, certFile, ...ops],
    { encoding: 'utf8', env: { ...PY_ENV, RF_PASSWORD: PASSWORD }, timeout: 60_000 });
  assert.equal(r.status, 0, `sushy ${ops.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as unknown[];
}

function redfishtool(password: string, ...args: string[]): { status: number; out: string; err: string } {
  const r = spawnSync('redfishtool', ['-r', `127.0.0.1:${port}`, '-u', USER, '-p', password, '-S', 'Always', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function rfJson(...args: string[]): Record<string, unknown> {
  const r = redfishtool(PASSWORD, ...args);
  assert.equal(r.status, 0, `redfishtool ${args.join(' ')}: ${r.err}`);
  return JSON.parse(r.out) as Record<string, unknown>;
}

async function rackseed<T>(fn: (s: Awaited<ReturnType<RedfishClient['session']>>) => Promise<T>): Promise<T> {
  const c = new RedfishClient({ timeoutMs: 5000 });
  try { return await c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port }, fn); } finally { await c.close(); }
}

before(async () => {
  for (const [cmd, why] of [['/usr/bin/python3', 'python3'], ['redfishtool', 'redfishtool']]) {
    assert.equal(spawnSync(cmd!, ['--help'], { stdio: 'ignore' }).error, undefined, `${why} is missing: bash scripts/setup.sh test`);
  }
  assert.equal(spawnSync('/usr/bin/python3', ['-c', 'import sushy'], { stdio: 'ignore' }).status, 0, 'python3-sushy is missing: bash scripts/setup.sh test');
  dir = mkdtempSync(join(tmpdir(), 'rs-redfish-conf-'));
  port = await freePort();
  bmc = startRedfishBmc(null, dir, { address: '127.0.0.1', port, user: USER, password: PASSWORD, identity: IDENTITY, nodeDir: null, firmware: 'uefi' });
  certFile = join(dir, 'tls-cert.pem');
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      const c = new RedfishClient({ insecure: true, timeoutMs: 1000, retries: 0 });
      await c.serviceRoot('127.0.0.1', port).finally(() => c.close());
      break;
    } catch (err) {
      if (Date.now() > until) throw new Error(`the lab Redfish BMC did not start: ${(err as Error).message}`);
      await sleep(200);
    }
  }
});

after(async () => {
  if (bmc) await stopPid(bmc.pid);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('sushy (TLS verified against the BMC certificate): version, UUID, serial, MACs, firmware, allowed resets', () => {
  const [version, uuid, serial, macs, fw, resets] = sushy('version', 'uuid', 'serial', 'macs', 'firmware', 'allowed-resets');
  assert.equal(version, '1.11.0');
  assert.equal(uuid, IDENTITY.uuid);
  assert.equal(serial, IDENTITY.serial);
  assert.deepEqual(macs, IDENTITY.macs);
  assert.equal(fw, IDENTITY.firmware);
  assert.deepEqual(resets, ['ForceOff', 'ForceRestart', 'GracefulShutdown', 'On', 'PowerCycle']);
});

test('power: sushy resets, redfishtool and RackSeed read the state; redfishtool resets, sushy reads', async () => {
  assert.deepEqual(sushy('power', 'reset:On', 'power'), ['Off', 'ok', 'On']);
  assert.equal(rfJson('Systems', '-I', '1', 'get').PowerState, 'On');
  assert.equal(await rackseed((s) => s.powerStatus()), 'on');
  const off = redfishtool(PASSWORD, 'Systems', '-I', '1', 'reset', 'ForceOff');
  assert.equal(off.status, 0, off.err);
  assert.deepEqual(sushy('power'), ['Off']);
  assert.deepEqual(sushy('reset:PowerCycle', 'power', 'reset:GracefulShutdown', 'power'), ['ok', 'On', 'ok', 'Off']);
});

test('boot override: sushy sets one-time PXE in UEFI, redfishtool and RackSeed read it; redfishtool sets continuous Hdd, sushy reads it', async () => {
  assert.deepEqual(sushy('bootset:Pxe:Once:UEFI', 'boot'), ['ok', { target: 'Pxe', enabled: 'Once', mode: 'UEFI' }]);
  const boot = rfJson('Systems', '-I', '1', 'get').Boot as Record<string, unknown>;
  assert.equal(boot.BootSourceOverrideTarget, 'Pxe');
  assert.equal(boot.BootSourceOverrideEnabled, 'Once');
  const mine = await rackseed((s) => s.getBoot());
  assert.deepEqual([mine.target, mine.enabled, mine.mode], ['Pxe', 'Once', 'UEFI']);
  const set = redfishtool(PASSWORD, 'Systems', '-I', '1', 'setBootOverride', 'Continuous', 'Hdd');
  assert.equal(set.status, 0, set.err);
  assert.deepEqual(sushy('boot'), [{ target: 'Hdd', enabled: 'Continuous', mode: 'UEFI' }]);
});

test('UUID and MACs: redfishtool reads the same as sushy and RackSeed', async () => {
  assert.equal(rfJson('Systems', '-I', '1', 'get').UUID, IDENTITY.uuid);
  const eth = rfJson('Systems', '-I', '1', 'EthernetInterfaces', '-a');
  const macs = (eth.Members as { MACAddress: string }[]).map((m) => m.MACAddress.toLowerCase()).sort();
  assert.deepEqual(macs, IDENTITY.macs);
  const id = await rackseed((s) => s.identity());
  assert.deepEqual([id.uuid, id.macs, id.serial, id.firmware], [IDENTITY.uuid, IDENTITY.macs, IDENTITY.serial, IDENTITY.firmware]);
});

test('a reset type the BMC does not allow (Nmi) is refused to redfishtool', () => {
  const r = redfishtool(PASSWORD, 'Systems', '-I', '1', 'reset', 'Nmi');
  assert.notEqual(r.status, 0);
  assert.match(r.err, /not supported by the remote service \(via @Redfish.AllowableValues\)/);
});

test('a wrong password is refused with 401 to redfishtool', () => {
  const r = redfishtool('not-the-password', 'Systems', '-I', '1', 'get');
  assert.notEqual(r.status, 0);
  assert.match(r.err, /401 -- Unauthorized/);
});
