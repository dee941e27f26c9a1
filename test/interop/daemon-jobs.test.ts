// Discovery jobs against a real ipmi_sim BMC (daemon as a child process in a test namespace, API on a unix
// socket): the sweep stores the BMC; with a wrong password the job fails at its first step with the BMC's
// reason; with the right one it reads the System GUID, sets one-time PXE, powers on (the simulated chassis
// really switches), and — no node ever reports — fails at wait-inventory with that reason, keeping every step's
// status; the node it powered on is powered off again (safe state). Failures are kept, nothing is left running.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unixApi, waitFor } from '../helpers/daemon-api.ts';
import { NetnsSandbox, canUseNetns, ip, waitExit } from '../helpers/netns.ts';
import { startIpmiSim } from '../helpers/ipmi-sim.ts';
import type { BmcInfo, Job, SweepStatus } from '../../shared/api.ts';
import { guidsMatch } from '../../core/guid.ts';

const sandbox = new NetnsSandbox();
const dir = mkdtempSync(join(tmpdir(), 'rs-daemon-jobs-'));
after(async () => { await sandbox.cleanup(); rmSync(dir, { recursive: true, force: true }); });

const TOKEN = 'jobs-test-token-0123456789';
const sock = join(dir, 'api.sock');
const BMC = '10.236.8.11';
const GUID = '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9';

const api = unixApi(sock, TOKEN);


const finished = (id: string) => waitFor(`job ${id} to finish`, 60_000, async () => {
  const j = (await api<Job[]>('GET', '/api/v1/jobs')).body.find((x) => x.id === id);
  return j && (j.status === 'done' || j.status === 'failed') ? j : null;
});

test('discovery jobs against ipmi_sim: wrong password and missing inventory fail with their reasons, steps kept', { timeout: 180_000 }, async () => {
  assert.ok(canUseNetns(), 'this test needs root (network namespaces)');
  const ns = sandbox.addNamespace('core');
  ip('-n', ns, 'addr', 'add', `${BMC}/32`, 'dev', 'lo');
  const bmc = await startIpmiSim({ sandbox, ns, address: BMC, user: 'admin', password: 'right-pw', guid: GUID.replace(/-/g, '') });
  const daemon = sandbox.spawn(ns, process.execPath, ['--import', 'tsx', 'daemon/cli/main.ts', 'serve', '--listen', `unix:${sock}`, '--data', join(dir, 'data')], {
    cwd: process.cwd(), env: { ...process.env, RACKSEED_TOKEN: TOKEN, RACKSEED_LOG_JSON: '1', RACKSEED_INSPECT_TIMEOUT_MS: '3000' }, stdio: ['ignore', 'ignore', 'ignore'],
  });
  await waitFor('daemon API', 60_000, async () => existsSync(sock) && (await api('GET', '/api/v1/health')).status === 200 ? true : null);

  assert.equal((await api('POST', '/api/v1/discovery', {})).status, 409, 'no credentials yet');
  assert.equal((await api('PUT', '/api/v1/bmc/credentials', { user: 'admin', password: 'wrong-pw' })).status, 200);
  const sweep = await api<SweepStatus>('POST', '/api/v1/bmc/sweep', { cidr: `${BMC}/32` });
  assert.equal(sweep.status, 200);
  assert.equal(sweep.body.total, 1);
  const found = await waitFor('sweep to find the BMC', 30_000, async () => {
    const b = (await api<BmcInfo[]>('GET', '/api/v1/bmcs')).body.find((x) => x.address === BMC);
    return b ?? null;
  });
  assert.equal(found.ipmiVersion, '2.0');
  assert.equal(found.nodeId, null);

  // wrong password: the job fails at read-guid, the chassis is untouched
  const [j1] = (await api<Job[]>('POST', '/api/v1/discovery', {})).body;
  assert.ok(j1);
  assert.equal(j1.bmcAddress, BMC);
  const f1 = await finished(j1.id);
  assert.equal(f1.status, 'failed');
  assert.deepEqual(f1.steps.map((s) => s.status), ['failed', 'pending', 'pending', 'pending', 'pending']);
  assert.match(f1.error ?? '', /password|RAKP|auth/i);
  assert.equal(bmc.readPower(), '0');

  // right password: GUID read, one-time PXE set, powered on; no node reports → failed at wait-inventory
  assert.equal((await api('PUT', '/api/v1/bmc/credentials', { user: 'admin', password: 'right-pw' })).status, 200);
  const [j2] = (await api<Job[]>('POST', '/api/v1/discovery', { bmcs: [BMC] })).body;
  assert.ok(j2 && j2.id !== j1.id);
  const f2 = await finished(j2.id);
  assert.equal(f2.status, 'failed');
  assert.deepEqual(f2.steps.map((s) => `${s.name}:${s.status}`), ['read-guid:done', 'set-boot-pxe:done', 'power-on:done', 'wait-inventory:failed', 'power-off:pending']);
  assert.match(f2.error ?? '', /no inventory from the node within 3 s/);
  assert.equal(f2.nodeId, null);
  assert.equal(bmc.readPower(), '0', 'the chassis was powered on, then off again when the job failed');
  assert.equal(bmc.readBoot(), 'pxe', 'one-time PXE was set');
  const b = (await api<BmcInfo[]>('GET', '/api/v1/bmcs')).body.find((x) => x.address === BMC)!;
  // lan.conf holds the GUID as wire bytes; the client reports it in SMBIOS order: the same id, fields swapped
  assert.ok(b.guid && guidsMatch(b.guid, GUID), `${b.guid} vs ${GUID}`);
  assert.equal(b.power, 'off');
  const events = (await api<{ kind: string; level?: string; message: string }[]>('GET', '/api/v1/events')).body;
  assert.equal(events.filter((e) => e.kind === 'job-failed' && e.level === 'error').length, 2);
  const kinds = events.map((e) => e.kind);
  assert.ok(kinds.lastIndexOf('power-on') < kinds.lastIndexOf('power-off') && kinds.lastIndexOf('power-off') < kinds.lastIndexOf('job-failed'),
    `power-on, then the safe-state power-off, then job-failed: ${kinds.join(' ')}`);
  assert.match(events.find((e) => e.kind === 'power-off')!.message, /job failed/);
  assert.equal(kinds.filter((k) => k === 'power-off').length, 1, 'no power-off after the wrong-password job (it never powered on)');

  daemon.kill('SIGTERM');
  assert.ok(await waitExit(daemon, 10_000));
});
