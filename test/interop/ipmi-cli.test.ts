// `rackseed bmc …` end to end against ipmi_sim in a namespace: output, exit codes, password handling.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsSandbox, canUseNetns, ip } from '../helpers/netns.ts';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';

const BMC = '10.241.9.10';
const sandbox = new NetnsSandbox();
let ns = '';
let sim: IpmiSim;
let dir = '';

// Most cases run daemon/cli/bmc.ts directly (it is runnable on its own; the machine is shared and every
// tsx start costs seconds); the first test goes through the real `rackseed` entry (main.ts registers bmcCommand).
function rackseed(args: string[], env: Record<string, string> = { RACKSEED_BMC_PASSWORD: 'secret' }, viaMain = false) {
  const entry = viaMain ? ['--import', 'tsx', 'daemon/cli/main.ts', 'bmc'] : ['--import', 'tsx', 'daemon/cli/bmc.ts'];
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...entry, ...args], {
    encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const base = ['--host', BMC, '--user', 'admin', '--timeout', '300', '--retries', '1'];

before(async () => {
  assert.ok(canUseNetns(), 'interop tests need root and iproute2 (network namespaces)');
  ns = sandbox.addNamespace('ipmicli');
  ip('-n', ns, 'addr', 'add', `${BMC}/24`, 'dev', 'lo');
  sim = await startIpmiSim({ sandbox, ns, address: BMC, user: 'admin', password: 'secret', guid: '0102030405060708090a0b0c0d0e0f10' });
  dir = mkdtempSync(join(tmpdir(), 'rs-ipmi-cli-'));
});

after(async () => {
  await sim?.stop();
  await sandbox.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('power status / on / status, as ipmitool prints them', () => {
  let r = rackseed([...base, 'power', 'status'], undefined, true);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'Chassis Power is off\n');
  r = rackseed([...base, 'power', 'on']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'Chassis Power Control: Up/On\n');
  assert.equal(sim.readPower(), '1');
  r = rackseed([...base, '--json', 'power', 'status']);
  assert.deepEqual(JSON.parse(r.out), { power: 'on' });
});

test('bootdev pxe is set and read back; info shows vendor and GUID', () => {
  let r = rackseed([...base, 'bootdev', 'pxe', '--uefi']);
  assert.equal(r.code, 0, r.err);
  assert.equal(sim.readBoot(), 'pxe');
  r = rackseed([...base, '--json', 'info']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.manufacturer, 'MontaVista Software');
  assert.equal(j.guid, '04030201-0605-0807-090a-0b0c0d0e0f10');
  assert.equal(j.power, 'on');
  assert.equal(j.bootDevice, 'pxe');
});

test('password from --password-file; never from argv', () => {
  const f = join(dir, 'pw');
  writeFileSync(f, 'secret\n', { mode: 0o600 });
  const r = rackseed([...base, '--password-file', f, 'power', 'status'], {});
  assert.equal(r.code, 0, r.err);
  const bad = rackseed([...base, '--password', 'secret', 'power', 'status']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /unknown option '--password'/);
  const none = rackseed([...base, 'power', 'status'], {});
  assert.equal(none.code, 2);
  assert.match(none.err, /RACKSEED_BMC_PASSWORD/);
});

test('distinct exit codes: wrong password 10, unknown user 11, suite 0 refused 14, unreachable 15', () => {
  let r = rackseed([...base, 'power', 'status'], { RACKSEED_BMC_PASSWORD: 'wrong' });
  assert.equal(r.code, 10, r.err);
  assert.match(r.err, /wrong password for user "admin"/);
  assert.ok(!r.err.includes('wrong\n') && !r.out.includes('wrong"'), 'the password is not echoed');
  r = rackseed(['--host', BMC, '--user', 'nobody', '--timeout', '300', 'power', 'status']);
  assert.equal(r.code, 11, r.err);
  r = rackseed([...base, '--cipher', '0', 'power', 'status']);
  assert.equal(r.code, 14, r.err);
  assert.match(r.err, /no authentication/);
  r = rackseed(['--host', '10.241.9.77', '--user', 'admin', '--timeout', '200', '--retries', '1', 'power', 'status']);
  assert.equal(r.code, 15, r.err);
  assert.match(r.err, /unreachable/);
});

test('scan finds the BMC in the subnet', () => {
  const r = rackseed(['--json', '--user', 'admin', 'scan', '10.241.9.8/29']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.address), [BMC]);
  assert.equal(lines[0].vendor, 'MontaVista Software');
});
