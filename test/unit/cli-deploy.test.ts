// `rackseed deploy` / `rackseed release` against an in-process daemon (API: shared/deploy.ts), and the deploy
// agent's routes: every bad input gets its own message and exit code (client.ts EXIT) and starts nothing; a wrong BMC
// password (a real ipmi_sim on 127.0.0.1) ends the node `deploy failed` with the BMC's reason and `--wait` exits
// FAILED; the agent's progress/result/config-drive routes check the token and the body; the boot callback takes the
// form cloud-init posts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { registerAgentRoutes } from '../../daemon/agent-routes.ts';
import { EXIT } from '../../daemon/cli/client.ts';
import { hashToken, newToken } from '../../core/ids.ts';
import { biosMbrImage } from '../helpers/images.ts';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { importImage, inventory, MiB } from '../helpers/deploy-fakes.ts';
import type { Deployment } from '../../shared/deploy.ts';
import type { NodeSummary } from '../../shared/node.ts';

const TOKEN = 'cli-deploy-test-token-0123456789abcdef';
const PORT = 16623 + (process.pid % 500);
const BMC = `127.0.0.1:${PORT}`;
let d: RunningDaemon;
let dir: string;
let sim: IpmiSim;
let withBmc: NodeSummary;
let noBmc: NodeSummary;

function addNode(mac: string, serial: string, bmc: string | null, diskBytes = 64 * MiB): NodeSummary {
  const n = d.core.lifecycle.ensureNode(mac, 'dhcp').node;
  const r = d.core.intake.acceptInventory(n, inventory(mac, { serial, firmware: 'bios', disks: [{ name: 'sda', sizeBytes: diskBytes, serial: `D-${serial}` }] }), null);
  assert.equal(r.status, 200);
  if (bmc) {
    d.core.bmcs.upsert(bmc, { nodeId: n.id });
    d.core.nodes.update(n.id, { bmcAddress: bmc, bmcMatchedBy: 'manual' });
  }
  return d.core.nodes.get(n.id)!;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-cli-deploy-'));
  sim = await startIpmiSim({ address: '127.0.0.1', port: PORT, user: 'admin', password: 'right-password', guid: '00112233445566778899aabbccddeeff' });
  d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  d.core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, ramdisk: null };
  d.core.config.setBmcCredentials({ user: 'admin', password: 'wrong-password' });
  const img = join(dir, 'bios.img');
  biosMbrImage(img);
  await importImage(d.core, 'tiny', img);
  withBmc = addNode('52:54:00:c1:00:01', 'CLI-1', BMC);
  noBmc = addNode('52:54:00:c1:00:02', 'CLI-2', null);
});
after(async () => { await d.close(); await sim.stop(); rmSync(dir, { recursive: true, force: true }); });

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, RACKSEED_URL: d.url, RACKSEED_TOKEN: TOKEN };
    execFile(process.execPath, ['bin/rackseed.mjs', ...args], { env }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('refusals: each bad input has its message and exit code, and nothing starts', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, '#cloud-config\nusers:\n  - name: a\n   bad-indent: b\n');
  // through the CLI: the exit code of each kind of refusal
  const cases: [string[], number, RegExp][] = [
    [['deploy', 'CLI-1', '--image', 'nope'], EXIT.NOT_FOUND, /no image nope/],
    [['deploy', 'CLI-1', '--image', 'tiny', '--user-data', bad], EXIT.INVALID, /user data is not valid YAML: line 4, column \d+/],
    [['deploy', 'CLI-1', 'CLI-2', '--image', 'tiny', '--json'], EXIT.CONFLICT, /has no BMC/],
    [['deploy', 'CLI-1', '--image', 'tiny', '--root-device', 'colour=blue'], EXIT.USAGE, /unknown hint colour/],
    [['release', 'CLI-1', 'CLI-2'], EXIT.CONFLICT, /has no BMC/],
  ];
  for (const [args, code, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    if (args.includes('--json')) {
      const body = JSON.parse(r.stdout) as { error: string; detail: { nodes: { node: string; error: string }[] } };
      assert.deepEqual(body.detail.nodes.map((n) => n.node), [noBmc.id], 'the batch names the refused node');
    }
  }
  // through the API: the messages of the other refusals
  const api = async (path: string, body: unknown) => {
    const res = await fetch(`${d.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() as { error: string } };
  };
  const apiCases: [string, unknown, number, RegExp][] = [
    [`/api/v1/nodes/${withBmc.id}/deploy`, { image: 'tiny', userData: `#!/bin/sh\n${'echo x\n'.repeat(12_000)}` }, 400, /user data is over 64 KiB \(84\d{3} bytes; the limit is 65536\)/],
    [`/api/v1/nodes/${withBmc.id}/deploy`, { image: 'tiny', rootDevice: { serial: 'NOPE' } }, 400, /no disk matches the root device hints/],
    [`/api/v1/nodes/${withBmc.id}/deploy`, { image: 'tiny', doneWhen: 'soon' }, 400, /doneWhen/],
    ['/api/v1/deploy', { nodes: ['CLI-1', 'CLI-9'], image: 'tiny' }, 404, /no node CLI-9/],
    [`/api/v1/nodes/${withBmc.id}/release`, { erase: 'yes' }, 400, /erase/],
  ];
  for (const [path, body, status, re] of apiCases) {
    const r = await api(path, body);
    assert.equal(r.status, status, `${path} ${JSON.stringify(body).slice(0, 80)}: ${r.body.error}`);
    assert.match(r.body.error, re);
  }
  assert.deepEqual(d.core.deploys.list(), [], 'nothing started');
  assert.equal(d.core.nodes.get(withBmc.id)!.state, 'available');
});

test('a wrong BMC password: the node ends deploy failed with the BMC\'s reason; --wait exits FAILED; the API shows the deployment', async () => {
  const r = await cli(['deploy', withBmc.mac, '--image', 'tiny', '--hostname', 'web-{index:02}', '--wait', '--timeout', '120']);
  assert.equal(r.code, EXIT.FAILED, r.stderr);
  assert.match(r.stderr, new RegExp(`deploy failed: set-boot-pxe: BMC ${BMC.replace(/\./g, '\\.')}: wrong password for user "admin"`));
  const n = d.core.nodes.get(withBmc.id)!;
  assert.equal(n.state, 'deploy-failed');
  assert.match(n.lastError!, /wrong password/);
  const res = await fetch(`${d.url}/api/v1/nodes/${withBmc.id}/deployment`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const dep = await res.json() as Deployment;
  assert.equal(dep.stage, 'failed');
  assert.equal(dep.hostname, 'web-01');
  assert.equal(dep.disk?.name, 'sda');
  assert.equal(sim.readPower(), '0', 'the BMC refused us: nothing was powered on');
  // a release of the failed node goes the same way, as clean failed
  const rel = await cli(['release', 'CLI-1', '--wait', '--json']);
  assert.equal(rel.code, EXIT.FAILED);
  assert.equal(d.core.nodes.get(withBmc.id)!.state, 'clean-failed');
  const list = await fetch(`${d.url}/api/v1/deployments`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((x) => x.json()) as Deployment[];
  assert.deepEqual(list.map((x) => [x.nodeId, x.kind, x.stage]), [[withBmc.id, 'clean', 'failed']]);
  const settings = await fetch(`${d.url}/api/v1/deploy/settings`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ maxWriters: 2 }) });
  assert.deepEqual(await settings.json(), { maxWriters: 2, readBackCheck: 'fletcher4' });
  // the same through the CLI: show, change the read-back check, refuse what is not one
  const shown = await cli(['deploy-settings', '--json']);
  assert.equal(shown.code, EXIT.OK);
  assert.deepEqual(JSON.parse(shown.stdout), { maxWriters: 2, readBackCheck: 'fletcher4' });
  const changed = await cli(['deploy-settings', '--read-back', 'sha256', '--writers', '3', '--json']);
  assert.deepEqual(JSON.parse(changed.stdout), { maxWriters: 3, readBackCheck: 'sha256' });
  assert.equal(d.core.deploys.settings().readBackCheck, 'sha256');
  const human = await cli(['deploy-settings']);
  assert.match(human.stdout, /^concurrent writers {2}3\nread-back check {5}sha256$/m);
  const bad = await cli(['deploy-settings', '--read-back', 'md5']);
  assert.equal(bad.code, EXIT.USAGE);
  assert.match(bad.stderr, /Allowed choices are fletcher4, sha256/);
  const badApi = await fetch(`${d.url}/api/v1/deploy/settings`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ readBackCheck: 'md5' }) });
  assert.equal(badApi.status, 400);
  assert.equal((await fetch(`${d.url}/api/v1/deploy/settings`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' })).status, 400);
  d.core.deploys.setSettings({ readBackCheck: 'fletcher4' });
});

test('agent routes: bearer token first, bodies checked, another node gets no config drive, the boot callback takes a form', async () => {
  const app = Fastify({ logger: false });
  await registerAgentRoutes(app, d.core);
  // a deploy token bound to the address inject() requests come from (core/agent/tokens.ts)
  const token = d.core.intake.tokens.issue(noBmc.id, 'deploy', '127.0.0.1');
  const auth = { authorization: `Bearer ${token}` };
  assert.equal((await app.inject({ method: 'POST', url: '/agent/v1/deploy/progress', payload: { attempt: 1, stage: 'writing', bytes: 1 } })).statusCode, 401);
  assert.equal((await app.inject({ method: 'POST', url: '/agent/v1/deploy/progress', headers: auth, payload: { attempt: 1, stage: 'flying', bytes: 1 } })).statusCode, 400);
  assert.equal((await app.inject({ method: 'POST', url: '/agent/v1/deploy/result', headers: auth, payload: { attempt: 1, phase: 'write', ok: true, sha256: 'XYZ' } })).statusCode, 400);
  assert.equal((await app.inject({ method: 'POST', url: '/agent/v1/deploy/progress', headers: auth, payload: { attempt: 1, stage: 'writing', bytes: 1 } })).statusCode, 409, 'no deploy runs on this node');
  assert.equal((await app.inject({ method: 'GET', url: '/agent/v1/deploy/config-drive', headers: auth })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/agent/v1/deploy/config-drive/0', headers: auth })).statusCode, 404);
  assert.equal((await app.inject({ method: 'POST', url: '/agent/v1/booted?token=nope-nope-nope-nope', payload: 'instance_id=x' })).statusCode, 404);
  // a deployment waiting for its OS: the callback with cloud-init's form body marks it booted
  const cb = newToken();
  d.core.deploys.store.start({ nodeId: noBmc.id, kind: 'deploy', jobId: 'j-1', image: null, hostname: 'h', sshKeys: [], userData: null, rootHints: {}, disk: null,
    doneWhen: 'callback', bootTimeoutSec: 60, powerOnSec: 60, erase: false, callbackHash: hashToken(cb), totalBytes: 0 });
  d.core.deploys.store.update(noBmc.id, { bootStartedAt: Date.now() - 1000 });
  const ok = await app.inject({ method: 'POST', url: `/agent/v1/booted?token=${cb}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'instance_id=j-1&hostname=h&fqdn=h' });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(d.core.deploys.store.get(noBmc.id)!.bootedVia, 'callback');
  await app.close();
});
