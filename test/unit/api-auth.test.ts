// The API refuses every request without the per-launch token (HTTP and WebSocket); the one-time login code
// works exactly once and yields a session cookie; secrets are never returned.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';

let d: RunningDaemon;
let dir: string;
const printed: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-api-auth-'));
  d = await startDaemon({
    dataDir: dir, listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: null, uiDir: null, repoRoot: process.cwd(),
    network: null, httpPort: 80, safeMode: false, print: (l) => printed.push(l),
  });
});
after(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

const ROUTES: [string, string, unknown?][] = [
  ['GET', '/api/v1/health'], ['GET', '/api/v1/interfaces'], ['GET', '/api/v1/config'],
  ['PUT', '/api/v1/config/network', { interface: 'lo', mode: 'proxy' }], ['GET', '/api/v1/survey'], ['POST', '/api/v1/survey', {}],
  ['GET', '/api/v1/services'], ['GET', '/api/v1/nodes'], ['GET', '/api/v1/nodes/x'], ['POST', '/api/v1/nodes/x/inspect'],
  ['POST', '/api/v1/nodes/x/power', { action: 'on' }], ['POST', '/api/v1/nodes/x/bootdev', { device: 'pxe' }], ['PUT', '/api/v1/nodes/x/maintenance', { maintenance: true }],
  ['POST', '/api/v1/nodes/x/allow', {}], ['POST', '/api/v1/nodes/allow', { macs: ['52:54:00:00:00:01'] }],
  ['GET', '/api/v1/events'], ['PUT', '/api/v1/bmc/credentials', { user: 'a', password: 'b' }], ['GET', '/api/v1/bmc/credentials'],
  ['POST', '/api/v1/bmc/sweep', { cidr: '10.0.0.0/30' }], ['GET', '/api/v1/bmcs'], ['GET', '/api/v1/jobs'], ['POST', '/api/v1/discovery', {}],
  ['GET', '/api/v1/stream'], ['GET', '/api/v1/no-such-route'],
];

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(d.url + path, {
    method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined, redirect: 'manual',
  });
}

/** Raw WebSocket upgrade attempt over a plain TCP socket; resolves with the HTTP status (101 = accepted). */
function upgrade(path: string, headers: Record<string, string> = {}): Promise<number> {
  const u = new URL(d.url + path);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    let buf = '';
    sock.on('data', (c) => {
      buf += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m) { sock.destroy(); resolve(Number(m[1])); }
    });
    sock.on('error', reject);
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`);
  });
}

test('the token is printed once with a one-time login URL', () => {
  assert.equal(printed.filter((l) => l.includes(d.auth.token)).length, 1);
  assert.equal(printed.filter((l) => /\/login\?code=/.test(l)).length, 1);
});

test('every /api route answers 401 without credentials, and with a wrong token, and changes nothing', async () => {
  for (const [m, p, b] of ROUTES) {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${d.auth.token}` }, { cookie: 'rackseed_session=forged' }] as Record<string, string>[]) {
      const r = await call(m, p, b, headers);
      assert.equal(r.status, 401, `${m} ${p} ${JSON.stringify(headers)}`);
      assert.ok(typeof ((await r.json()) as { error: string }).error === 'string');
    }
  }
  assert.equal(d.core.config.bmcCredentialsPublic().passwordSet, false);
  assert.equal(d.core.config.network(), null);
  assert.equal(await upgrade('/api/v1/stream'), 401);
  assert.equal(await upgrade('/api/v1/stream?token=wrong'), 401);
});

test('the bearer token opens every route; the WebSocket accepts ?token= and receives events', async () => {
  const auth = { authorization: `Bearer ${d.auth.token}` };
  const h = await call('GET', '/api/v1/health', undefined, auth);
  assert.equal(h.status, 200);
  assert.deepEqual(Object.keys(await h.json() as object).sort(), ['configured', 'uptimeSec', 'version']);
  assert.deepEqual(await (await call('GET', '/api/v1/nodes', undefined, auth)).json(), []);
  const ifs = await (await call('GET', '/api/v1/interfaces', undefined, auth)).json() as { name: string; addresses: string[] }[];
  assert.ok(ifs.some((i) => i.name === 'lo' && i.addresses.includes('127.0.0.1/8')));
  assert.equal((await call('GET', '/api/v1/nodes/nope', undefined, auth)).status, 404);
  assert.equal((await call('POST', '/api/v1/nodes/x/power', { action: 'explode' }, auth)).status, 400);
  assert.equal(await upgrade('/api/v1/stream', auth), 101);

  const { WebSocket } = (await import('ws' as string)) as { WebSocket: new (url: string) => { on(e: string, f: (...a: any[]) => void): void; close(): void } };
  const ws = new WebSocket(`${d.url.replace('http', 'ws')}/api/v1/stream?token=${encodeURIComponent(d.auth.token)}`);
  await new Promise<void>((res, rej) => { ws.on('open', () => res()); ws.on('error', rej); });
  const got = new Promise<any>((res) => ws.on('message', (data: Buffer) => res(JSON.parse(data.toString()))));
  d.core.bus.record({ source: 'api', kind: 'probe', mac: null, nodeId: null, message: 'hello stream' });
  const msg = await got;
  assert.equal(msg.type, 'event');
  assert.equal(msg.payload.message, 'hello stream', 'a lone message is a JSON object frame');
  // the messages of one turn travel as one frame: a JSON array, in order
  const frames: unknown[] = [];
  ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString())));
  for (let i = 0; i < 300; i++) d.core.bus.record({ source: 'api', kind: 'probe', mac: null, nodeId: null, message: `burst ${i}` });
  for (let i = 0; frames.length < 1 && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(frames.length, 1, 'one frame for the burst');
  assert.ok(Array.isArray(frames[0]));
  assert.deepEqual((frames[0] as { payload: { message: string } }[]).map((m) => m.payload.message), Array.from({ length: 300 }, (_, i) => `burst ${i}`));
  ws.close();
});

test('the one-time login code works once; its cookie authenticates HTTP and the WebSocket', async () => {
  const code = d.auth.issueLoginCode();
  const r1 = await call('GET', `/login?code=${code}`);
  assert.equal(r1.status, 302);
  assert.equal(r1.headers.get('location'), '/');
  const setCookie = r1.headers.get('set-cookie')!;
  assert.match(setCookie, /^rackseed_session=[A-Za-z0-9_-]+; HttpOnly; SameSite=Strict; Path=\/$/);
  const cookie = setCookie.split(';')[0]!;
  assert.equal((await call('GET', `/login?code=${code}`)).status, 401, 'second use refused');
  assert.equal((await call('GET', '/login?code=madeup')).status, 401);
  assert.equal((await call('GET', '/login')).status, 401);
  assert.equal((await call('GET', '/api/v1/nodes', undefined, { cookie })).status, 200);
  assert.equal(await upgrade('/api/v1/stream', { cookie }), 101);
});

test('a spent login link: the same browser goes on to the UI; another gets a page with a token form, and the token logs it in', async () => {
  const code = d.auth.issueLoginCode();
  const cookie = (await call('GET', `/login?code=${code}`)).headers.get('set-cookie')!.split(';')[0]!;
  const again = await call('GET', `/login?code=${code}`, undefined, { cookie });
  assert.equal(again.status, 302, 'the browser that used the link is logged in: on to the UI');
  assert.equal(again.headers.get('location'), '/');
  assert.equal(again.headers.get('set-cookie'), null, 'no second session');

  const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
  const page = await call('GET', `/login?code=${code}`, undefined, html);
  assert.equal(page.status, 401);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  const body = await page.text();
  assert.match(body, /already used/);
  assert.match(body, /<form method="post" action="\/login">/);
  assert.match(body, /name="token"/);
  assert.ok(!body.includes(d.auth.token), 'the page never shows the token');
  assert.equal(page.headers.get('cache-control'), 'no-store');
  assert.match(await (await call('GET', '/login', undefined, html)).text(), /Log in with the API token/);

  const post = (token: string) => fetch(`${d.url}/login`, {
    method: 'POST', redirect: 'manual', body: new URLSearchParams({ token }), headers: html,
  });
  const wrong = await post('not-the-token');
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /not the API token/);
  assert.equal(wrong.headers.get('set-cookie'), null);
  const right = await post(` ${d.auth.token}\n`);
  assert.equal(right.status, 303, 'pasted with stray whitespace');
  assert.equal(right.headers.get('location'), '/');
  const session = right.headers.get('set-cookie')!;
  assert.match(session, /^rackseed_session=[A-Za-z0-9_-]+; HttpOnly; SameSite=Strict; Path=\/$/);
  assert.equal((await call('GET', '/api/v1/nodes', undefined, { cookie: session.split(';')[0]! })).status, 200);
  const tooBig = await fetch(`${d.url}/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token: 'x'.repeat(10_000) }) });
  assert.equal(tooBig.status, 413, 'a login form is small');
  const api = await fetch(`${d.url}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'nope' }) });
  assert.equal(api.status, 401);
  assert.deepEqual(await api.json(), { error: 'wrong token' }, 'API clients get { error }');
});

test('BMC credentials: the password is write-only', async () => {
  const auth = { authorization: `Bearer ${d.auth.token}` };
  const put = await call('PUT', '/api/v1/bmc/credentials', { user: 'admin', password: 's3cret-pw' }, auth);
  assert.deepEqual(await put.json(), { user: 'admin', passwordSet: true });
  const get = await (await call('GET', '/api/v1/bmc/credentials', undefined, auth)).text();
  assert.equal(get, JSON.stringify({ user: 'admin', passwordSet: true }));
  const events = await (await call('GET', '/api/v1/events', undefined, auth)).text();
  assert.ok(!events.includes('s3cret-pw'));
});

test('optional bodies: POST /discovery and /survey accept no body; bad bodies are 400; errors are { error }', async () => {
  const auth = { authorization: `Bearer ${d.auth.token}` };
  const noBody = await fetch(`${d.url}/api/v1/discovery`, { method: 'POST', headers: auth });
  assert.equal(noBody.status, 200, 'reaches the handler');
  assert.deepEqual(await noBody.json(), [], 'no BMC known: no job');
  const unknown = await call('POST', '/api/v1/discovery', { bmcs: ['10.255.0.1'] }, auth);
  assert.equal(unknown.status, 404);
  assert.match(((await unknown.json()) as { error: string }).error, /unknown BMC/);
  assert.equal((await call('POST', '/api/v1/discovery', { bmcs: [1] }, auth)).status, 400);
  assert.equal((await call('POST', '/api/v1/discovery', { nope: true }, auth)).status, 400);
  const survey = await fetch(`${d.url}/api/v1/survey`, { method: 'POST', headers: auth });
  assert.equal(survey.status, 400);
  assert.match(((await survey.json()) as { error: string }).error, /no interface/);
  assert.equal((await call('PUT', '/api/v1/config/network', { interface: 'lo', mode: 'authoritative' }, auth)).status, 400, 'authoritative needs a pool');
  assert.equal((await call('PUT', '/api/v1/config/network', { interface: 'no-such-if0', mode: 'proxy' }, auth)).status, 400);
});
