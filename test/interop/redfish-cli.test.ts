// `rackseed bmc … --protocol redfish|auto` against the lab's Redfish BMC served in this process on 127.0.0.1 (free
// high port, in-memory power; the CLI runs as a child process, asynchronously so this process keeps serving): power,
// boot device read back, info (UUID, MACs, firmware, the pinned certificate), auto-detection, and each refusal with
// its own exit code: wrong password (10), a reset type the system does not allow (20), a changed certificate (21,
// nothing sent) — and --insecure only when asked. The password comes from the environment, never argv.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSelfSignedCert, type LabCert } from '../../lab/bmc/redfish/cert.ts';
import { FakePower } from '../../lab/bmc/redfish/power.ts';
import { LabRedfishBmc } from '../../lab/bmc/redfish/server.ts';

const IDENTITY = { uuid: '3e2d1c0b-9a88-4776-8655-443322110099', serial: 'RSLAB-CLI-001', macs: ['52:54:00:31:00:01'], firmware: 'cli-fw-1.2' };
let dir: string;
let pins: string;
let cert: LabCert;
let port: number;
let bmc: LabRedfishBmc;
let power: FakePower;

interface Run { code: number; out: string; err: string }

function rackseedBmc(args: string[], password = 'cli-pw'): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'daemon/cli/bmc.ts', '--host', '127.0.0.1', '--redfish-port', String(port), '--user', 'admin', '--pins', pins, '--timeout', '3000', '--retries', '1', ...args],
      { env: { ...process.env, RACKSEED_BMC_PASSWORD: password }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c; });
    child.stderr.on('data', (c: Buffer) => { err += c; });
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

async function serve(c: LabCert, resetTypes?: string[]): Promise<void> {
  power = new FakePower('Legacy');
  bmc = new LabRedfishBmc({ user: 'admin', password: 'cli-pw', identity: IDENTITY, power, resetTypes });
  port = await bmc.listen('127.0.0.1', port ?? 0, c);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-redfish-cli-'));
  pins = join(dir, 'pins.json');
  cert = makeSelfSignedCert(dir, '127.0.0.1', { name: 'a' });
  await serve(cert, ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart']);
});
after(async () => {
  await bmc.close();
  rmSync(dir, { recursive: true, force: true });
});

test('power status/on over Redfish; the certificate is pinned on first use and printed', { timeout: 60_000 }, async () => {
  const st = await rackseedBmc(['--protocol', 'redfish', 'power', 'status']);
  assert.equal(st.code, 0, st.err);
  assert.equal(st.out, 'Chassis Power is off\n');
  assert.match(st.err, new RegExp(`127\\.0\\.0\\.1:${port} presents TLS certificate SHA-256 ${cert.sha256}; pinned in .*pins\\.json \\(trust on first use\\)`));
  assert.deepEqual(JSON.parse(readFileSync(pins, 'utf8')), { [`127.0.0.1:${port}`]: cert.sha256 });
  const on = await rackseedBmc(['--protocol', 'redfish', 'power', 'on']);
  assert.equal(on.code, 0, on.err);
  assert.equal(on.out, 'Chassis Power Control: Up/On (Redfish ResetType On)\n');
  assert.equal(power.state, 'On');
  assert.doesNotMatch(on.err, /pinned/, 'pinned once only');
});

test('bootdev pxe --uefi (auto-detected Redfish), read back; info shows UUID, MACs, firmware and the pinned certificate', { timeout: 60_000 }, async () => {
  const b = await rackseedBmc(['--json', 'bootdev', 'pxe', '--uefi']);
  assert.equal(b.code, 0, b.err);
  assert.deepEqual(JSON.parse(b.out), { ok: true, device: 'pxe', protocol: 'redfish', target: 'Pxe', enabled: 'Once', mode: 'UEFI', uefi: true, persistent: false });
  const i = await rackseedBmc(['info']);
  assert.equal(i.code, 0, i.err);
  for (const line of [`System UUID        : ${IDENTITY.uuid}`, `MAC Addresses      : ${IDENTITY.macs[0]}`, `Firmware Revision  : ${IDENTITY.firmware}`,
    `Serial Number      : ${IDENTITY.serial}`, 'Boot Override      : Pxe (Once, UEFI)', `TLS Certificate    : SHA-256 ${cert.sha256}`, 'Redfish 1.11.0, session login']) {
    assert.ok(i.out.includes(line), `info lacks "${line}":\n${i.out}`);
  }
});

test('a wrong password exits 10 with the BMC\'s refusal', { timeout: 60_000 }, async () => {
  const r = await rackseedBmc(['--protocol', 'redfish', 'power', 'status'], 'wrong-pw');
  assert.equal(r.code, 10);
  assert.match(r.err, /HTTP 401 on login \(SessionService\): the BMC refused user "admin"/);
  assert.doesNotMatch(r.err + r.out, /wrong-pw/);
});

test('power cycle falls back to ForceRestart where PowerCycle is not listed; a reset type the system does not allow exits 20 naming the allowed ones', { timeout: 60_000 }, async () => {
  const r = await rackseedBmc(['--protocol', 'redfish', 'power', 'cycle']);
  assert.equal(r.code, 0, 'cycle falls back to ForceRestart, which is allowed');
  assert.match(r.out, /ResetType ForceRestart/);
  await bmc.close();
  await serve(cert, ['On', 'ForceOff']);
  const refused = await rackseedBmc(['--protocol', 'redfish', 'power', 'reset']);
  assert.equal(refused.code, 20);
  assert.match(refused.err, /reset type ForceRestart is not allowed by this system; it allows On, ForceOff/);
});

test('a changed certificate exits 21 with both fingerprints and nothing sent; --insecure only when asked', { timeout: 60_000 }, async () => {
  await bmc.close();
  const other = makeSelfSignedCert(dir, '127.0.0.1', { name: 'b' });
  await serve(other);
  const r = await rackseedBmc(['power', 'status']);
  assert.equal(r.code, 21, r.err);
  assert.ok(r.err.includes(`pinned SHA-256 ${cert.sha256}, the BMC now presents ${other.sha256}`), r.err);
  assert.deepEqual(bmc.requests, [], 'no request reached the new certificate');
  const ok = await rackseedBmc(['--protocol', 'redfish', '--insecure', 'power', 'status']);
  assert.equal(ok.code, 0, ok.err);
  assert.deepEqual(JSON.parse(readFileSync(pins, 'utf8')), { [`127.0.0.1:${port}`]: cert.sha256 }, '--insecure pins nothing and changes no pin');
});
