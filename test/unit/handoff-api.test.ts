// Hand-off API and client without a real Ironic (the real one: test/interop/handoff-ironic.test.ts): microversion
// choice and Ironic's error texts; the routes' refusals — unknown node, no BMC/inventory, an unreachable Ironic or one too
// old (502 naming both versions) with nothing started; import errors naming the line; take-back of a node RackSeed
// owns; hand over and stop; the CLI never accepts a password on its command line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { chooseMicroversion, ironicFault, IronicClient, IronicError } from '../../core/handoff/ironic/client.ts';
import { EXIT } from '../../daemon/cli/client.ts';
import type { HandoffRecord } from '../../shared/handoff.ts';
import { inventoryFor } from './core-inventory-fixture.ts';

const TOKEN = 'handoff-api-test-token-0123456789abcdef';
let d: RunningDaemon;
let dir: string;
let oldIronic: Server;
let oldUrl: string;
/** a port nothing listens on (fetch refuses "bad ports" such as 1 before connecting) */
let deadUrl: string;
let nodeId: string;
let bare: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-handoff-api-'));
  d = await startDaemon({ dataDir: dir, listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  const n = d.core.lifecycle.ensureNode('52:54:00:77:00:01', 'api').node;
  d.core.nodes.update(n.id, { inventory: inventoryFor(n.mac, n.id, '77777777-0000-0000-0000-000000000001'), serial: 'SN-77', bmcAddress: '127.0.0.1:16999', bmcMatchedBy: 'manual' });
  nodeId = n.id;
  bare = d.core.lifecycle.ensureNode('52:54:00:77:00:02', 'api').node.id;
  d.core.config.setBmcCredentials({ user: 'admin', password: 'pw' });
  // an "Ironic" that only speaks API 1.1–1.10
  oldIronic = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/') res.end(JSON.stringify({ name: 'OpenStack Ironic API', default_version: { id: 'v1', min_version: '1.1', version: '1.10' } }));
    else { res.statusCode = 404; res.end('{}'); }
  });
  await new Promise<void>((r) => oldIronic.listen(0, '127.0.0.1', r));
  oldUrl = `http://127.0.0.1:${(oldIronic.address() as { port: number }).port}`;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadUrl = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise((r) => probe.close(r));
});
after(async () => {
  await d.close();
  await new Promise((r) => oldIronic.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }> {
  const r = await fetch(d.url + path, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* text */ }
  return { status: r.status, body: parsed as T, headers: r.headers };
}

test('microversion: min(server max, 1.82), refused below 1.22; Ironic\'s error texts unwrapped', () => {
  assert.equal(chooseMicroversion({ min: '1.1', max: '1.82' }), '1.82');
  assert.equal(chooseMicroversion({ min: '1.1', max: '1.95' }), '1.82');
  assert.equal(chooseMicroversion({ min: '1.1', max: '1.46' }), '1.46');
  assert.equal(chooseMicroversion({ min: '1.1', max: '1.9' }), null, '1.9 < 1.22 numerically, not as text');
  assert.equal(ironicFault('{"error_message": "{\\"faultcode\\": \\"Client\\", \\"faultstring\\": \\"A port with MAC address x already exists.\\", \\"debuginfo\\": null}"}'), 'A port with MAC address x already exists.');
  assert.equal(ironicFault('{"error_message": "{\\"code\\": 406, \\"title\\": \\"Not Acceptable\\", \\"description\\": \\"Version 1.99 was requested\\"}"}'), 'Version 1.99 was requested');
  assert.equal(ironicFault('<html>bad gateway</html>'), '<html>bad gateway</html>');
});

test('IronicClient: an old Ironic and an unreachable one are clear errors', async () => {
  await assert.rejects(new IronicClient({ url: oldUrl, auth: { kind: 'none' } }).negotiate(),
    (e: unknown) => e instanceof IronicError && e.kind === 'version' && e.message === `Ironic at ${oldUrl} speaks API 1.1–1.10; RackSeed needs microversion 1.22 or newer`);
  await assert.rejects(new IronicClient({ url: deadUrl, auth: { kind: 'none' } }).negotiate(),
    (e: unknown) => e instanceof IronicError && e.kind === 'unreachable' && e.message === `Ironic at ${deadUrl} is unreachable (ECONNREFUSED)`);
});

test('POST /api/v1/handoff refuses before starting anything', async () => {
  const engine = { kind: 'ironic', url: oldUrl };
  let r = await call<{ error: string }>('POST', '/api/v1/handoff', { nodes: [nodeId], engine });
  assert.equal(r.status, 502);
  assert.match(r.body.error, /speaks API 1\.1–1\.10; RackSeed needs microversion 1\.22/);
  r = await call('POST', '/api/v1/handoff', { nodes: ['SN-77'], engine: { kind: 'ironic', url: deadUrl } });
  assert.equal(r.status, 502);
  assert.match(r.body.error, /unreachable/);
  r = await call('POST', '/api/v1/handoff', { nodes: ['no-such-node'], engine });
  assert.equal(r.status, 404);
  r = await call('POST', '/api/v1/handoff', { nodes: [bare], engine });
  assert.equal(r.status, 409);
  assert.match(r.body.error, /has no BMC/);
  r = await call('POST', '/api/v1/handoff', { nodes: [nodeId], engine: { kind: 'ironic', url: 'http://user:pw@127.0.0.1:1' } });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /not in the URL/);
  r = await call('POST', '/api/v1/handoff', { nodes: [nodeId], engine: { kind: 'ironic', url: oldUrl, auth: 'basic' } });
  assert.equal(r.status, 400);
  r = await call('POST', '/api/v1/handoff', { nodes: [nodeId], engine: { kind: 'metal3', url: oldUrl } });
  assert.equal(r.status, 400);
  assert.equal(d.core.jobs.list().length, 0, 'no job started');
  assert.deepEqual((await call<HandoffRecord[]>('GET', '/api/v1/handoff')).body, []);
  assert.deepEqual((await call('GET', '/api/v1/engines')).body, [], 'an engine that failed its check is not saved');
});

test('take-back of a node RackSeed owns changes nothing; GET /api/v1/handoff?nodes= by MAC', async () => {
  const r = await call<HandoffRecord[]>('POST', '/api/v1/takeback', { nodes: ['52-54-00-77-00-01'] });
  assert.equal(r.status, 200);
  assert.equal(r.body[0]!.owner, 'rackseed');
  assert.equal(r.body[0]!.status, null);
  const g = await call<HandoffRecord[]>('GET', '/api/v1/handoff?nodes=52:54:00:77:00:01');
  assert.deepEqual(g.body.map((x) => x.nodeId), [nodeId]);
});

test('export and import through the API: content type, secrets header, a bad row is a 400 naming it', async () => {
  const e = await call<string>('GET', '/api/v1/export?format=csv&nodes=SN-77');
  assert.equal(e.status, 200);
  assert.equal(e.headers.get('x-rackseed-secrets'), 'omitted');
  assert.match(e.headers.get('content-type') ?? '', /text\/csv/);
  assert.match(e.body, /^# no secrets/);
  assert.equal((await call('GET', '/api/v1/export?format=xml')).status, 400);
  const bad = await call<{ error: string }>('POST', '/api/v1/import', { csv: 'boot_mac,bmc_address\n52:54:00:77:00:09,10.0.0.1\nnope,10.0.0.2\n' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /^line 3, field boot_mac: 'nope' is not a MAC address; nothing was imported$/);
  assert.equal(d.core.nodes.getByMac('52:54:00:77:00:09'), null);
  const ok = await call<{ created: string[] }>('POST', '/api/v1/import', { csv: 'position,serial,bmc_address,mac\nR2-U1,SN-78,10.0.0.8,52:54:00:77:00:08\n' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.created.length, 1);
});

test('hand over and stop: the netboot services are stopped', async () => {
  const r = await call<{ services: { dhcp: { running: boolean }; proxy: { running: boolean }; tftp: { running: boolean }; http: { running: boolean } }; owned: number }>('POST', '/api/v1/handoff/stop');
  assert.equal(r.status, 200);
  assert.deepEqual([r.body.services.dhcp.running, r.body.services.proxy.running, r.body.services.tftp.running, r.body.services.http.running], [false, false, false, false]);
  assert.equal(r.body.owned, 0);
});

test('the CLI takes no password on its command line and says where it comes from', async () => {
  const run = (args: string[]) => new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, ['bin/rackseed.mjs', ...args], { env: { ...process.env, RACKSEED_URL: d.url, RACKSEED_TOKEN: TOKEN } }, (err, _o, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }));
  });
  const r = await run(['handoff', nodeId, '--ironic', oldUrl, '--password', 'x']);
  assert.equal(r.code, 2, 'commander refuses an unknown option: EXIT.USAGE, like the CLI\'s own refusals');
  assert.match(r.stderr, /unknown option '--password'/);
  const help = await run(['handoff', '--help']);
  assert.doesNotMatch(help.stderr, /--password </);
  const noUrl = await run(['handoff', nodeId]);
  assert.equal(noUrl.code, EXIT.USAGE);
});

test('PUT /api/v1/engines registers a hand-off target only when it answers (502 naming the reason otherwise); unauthenticated 401', async () => {
  const dead = await call<{ error: string }>('PUT', '/api/v1/engines', { kind: 'ironic', url: deadUrl });
  assert.equal(dead.status, 502);
  const old = await call<{ error: string }>('PUT', '/api/v1/engines', { kind: 'ironic', url: oldUrl });
  assert.equal(old.status, 502);
  assert.match(old.body.error, /1\.10/);
  const engines = await call<{ url: string }[]>('GET', '/api/v1/engines');
  assert.ok(!engines.body.some((e) => e.url === deadUrl || e.url === oldUrl), 'nothing saved for a refused engine');
  const anon = await fetch(d.url + '/api/v1/engines', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'ironic', url: deadUrl }) });
  assert.equal(anon.status, 401);
});
