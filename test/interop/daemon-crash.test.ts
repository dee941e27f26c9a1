// kill -9 of the daemon during an inspection (issue 4): the daemon runs as a child process inside a test
// namespace, drives a real ipmi_sim BMC, is killed while its inspect job waits for the inventory, and is
// started again on the same data dir. The job resumes from its first unfinished step and, with no inventory
// coming, the node ends in `error` with the reason — never stuck in `inspecting`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { pino } from 'pino';
import { unixApi, waitFor } from '../helpers/daemon-api.ts';
import { NetnsSandbox, canUseNetns, ip, waitExit } from '../helpers/netns.ts';
import { startIpmiSim } from '../helpers/ipmi-sim.ts';
import { Core } from '../../core/core.ts';
import type { Job } from '../../shared/api.ts';
import type { NodeSummary } from '../../shared/node.ts';

const sandbox = new NetnsSandbox();
const dir = mkdtempSync(join(tmpdir(), 'rs-daemon-crash-'));
after(async () => { await sandbox.cleanup(); rmSync(dir, { recursive: true, force: true }); });

const TOKEN = 'crash-test-token-0123456789';
const sock = join(dir, 'api.sock');
const BMC = '10.236.7.11';
const GUID = '6a1f0c2e-93b4-4f7d-8c55-0a1b2c3d4e5f';

const api = unixApi(sock, TOKEN);


function startDaemon(ns: string, inspectTimeoutMs: number): ChildProcess {
  rmSync(sock, { force: true });
  const child = sandbox.spawn(ns, process.execPath, ['--import', 'tsx', 'daemon/cli/main.ts', 'serve', '--listen', `unix:${sock}`, '--data', join(dir, 'data')], {
    cwd: process.cwd(), env: { ...process.env, RACKSEED_TOKEN: TOKEN, RACKSEED_LOG_JSON: '1', RACKSEED_INSPECT_TIMEOUT_MS: String(inspectTimeoutMs) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  return child;
}

test('kill -9 during an inspection: after restart the job resumes and the node ends in error with a reason', async () => {
  assert.ok(canUseNetns(), 'this test needs root (network namespaces)');
  const ns = sandbox.addNamespace('core');
  ip('-n', ns, 'addr', 'add', `${BMC}/32`, 'dev', 'lo');
  const bmc = await startIpmiSim({ sandbox, ns, address: BMC, user: 'admin', password: 'crash-pw', guid: GUID.replace(/-/g, '') });

  // the node as a PXE boot and a sweep would have left it: known MAC, SMBIOS UUID, matched BMC, credentials set
  const seed = new Core({ dataDir: join(dir, 'data'), logger: pino({ level: 'silent' }) });
  const n = seed.nodes.create('52:54:00:c7:a5:01', 'available');
  seed.bmcs.upsert(BMC, { guid: GUID, nodeId: n.id });
  seed.nodes.update(n.id, { uuid: GUID, bmcAddress: BMC, bmcMatchedBy: 'guid' });
  seed.config.setBmcCredentials({ user: 'admin', password: 'crash-pw' });
  seed.close();

  let daemon = startDaemon(ns, 600_000);
  await waitFor('daemon API', 60_000, async () => existsSync(sock) && (await api('GET', '/api/v1/health')).status === 200 ? true : null);
  const started = await api<Job>('POST', `/api/v1/nodes/${n.id}/inspect`);
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const jobId = started.body.id;
  await waitFor('wait-inventory step', 30_000, async () => {
    const j = (await api<Job[]>('GET', '/api/v1/jobs')).body.find((x) => x.id === jobId);
    return j?.steps[2]?.status === 'running' ? j : null;
  });
  assert.equal(bmc.readPower(), '1', 'the BMC powered the node on');
  assert.equal((await api<{ node: NodeSummary }>('GET', `/api/v1/nodes/${n.id}`)).body.node.state, 'inspecting');

  daemon.kill('SIGKILL');
  assert.ok(await waitExit(daemon, 5000));
  assert.equal(daemon.signalCode, 'SIGKILL');

  daemon = startDaemon(ns, 3000);
  await waitFor('daemon API after restart', 60_000, async () => existsSync(sock) && (await api('GET', '/api/v1/health')).status === 200 ? true : null);
  const settled = await waitFor('node to leave inspecting', 30_000, async () => {
    const d = (await api<{ node: NodeSummary; jobs: Job[]; events: { kind: string; message: string }[] }>('GET', `/api/v1/nodes/${n.id}`)).body;
    return d.node.state !== 'inspecting' ? d : null;
  });
  assert.equal(settled.node.state, 'error');
  assert.match(settled.node.lastError ?? '', /no inventory from the node within 3 s/);
  const job = settled.jobs.find((j) => j.id === jobId)!;
  assert.equal(job.status, 'failed');
  assert.deepEqual(job.steps.map((s) => s.status), ['done', 'done', 'failed', 'pending']);
  assert.ok(settled.events.some((e) => e.kind === 'job-resumed'), 'the restart resumed the job');
  daemon.kill('SIGTERM');
  await waitExit(daemon, 5000);
});
