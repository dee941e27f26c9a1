// Authorization is per matched route (daemon/api/access.ts): this test enumerates every route the API server
// registered and proves that each one that needs the token refuses a request without credentials in many
// spellings of its path (percent-encoded letters and slashes, double slashes, trailing dots, case, `..` segments,
// query strings), over HTTP and WebSocket, with no side effect. On the code before access.ts, `GET /%61pi/v1/config`
// answered 200 without a token. Also: the Host and Origin checks, and form bodies refused outside /login.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';

const TOKEN = 'route-access-test-token-0123456789abcdef';
let d: RunningDaemon;
let dir: string;
let ui: string;
let port: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-route-access-'));
  ui = join(dir, 'ui');
  mkdirSync(join(ui, 'assets'), { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>RackSeed</title><div id="root"></div>');
  writeFileSync(join(ui, 'assets', 'app.js'), 'console.log(1)');
  d = await startDaemon({
    dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: ui, repoRoot: process.cwd(),
    network: null, httpPort: 80, safeMode: false, print: () => {},
  });
  port = Number(new URL(d.url).port);
});
after(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Raw { status: number; head: string; body: string }

/** One HTTP/1.1 request with the request target sent exactly as given (no URL normalisation), over raw TCP. */
function raw(method: string, target: string, headers: Record<string, string> = {}, body = ''): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    const done = (): void => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      const i = buf.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : 0, head: i >= 0 ? buf.slice(0, i) : buf, body: i >= 0 ? buf.slice(i + 4) : '' });
    };
    sock.setTimeout(5000, () => { sock.destroy(); done(); });
    sock.on('data', (c) => {
      buf += c.toString('latin1');
      // a WebSocket upgrade that was accepted stays open: the status line is enough
      if (/^HTTP\/1\.1 101/.test(buf)) { sock.destroy(); done(); }
    });
    sock.on('end', done);
    sock.on('error', reject);
    const h = { host: `127.0.0.1:${port}`, connection: 'close', ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
    sock.write(`${method} ${target} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
  });
}

const WS = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };

/** A concrete path for a route pattern: parameters and wildcards become `x`. */
function concrete(url: string): string {
  return url.replace(/:[A-Za-z_]+/g, 'x').replace(/\*/g, 'x');
}

/** Spellings a router, a proxy or a browser might turn into `path`, or that a check on the raw URL would miss. */
function spellings(path: string): string[] {
  const rest = path.slice('/api'.length);
  const last = path.lastIndexOf('/');
  return [
    path, `/%61pi${rest}`, `/%61%70%69${rest}`, `/a%70i${rest}`, `/%41PI${rest}`,
    `/api%2F${rest.slice(1)}`, `/api%2f${rest.slice(1)}`, `/api%252F${rest.slice(1)}`,
    `//api${rest}`, `/api/${rest}`, `///api${rest}`,
    `/api.${rest}`, `${path}.`, `${path}..`, `/API${rest}`, `/Api${rest.toUpperCase()}`,
    `/x/../api${rest}`, `/api/./${rest.slice(1)}`, `${path.slice(0, last)}/../${path.slice(last + 1)}`, `/%2e%2e/api${rest}`, `/api/v1/%2e%2e/v1${rest.slice(3)}`,
    `${path}?token=wrong`, `${path}?`, `${path}?x=1&token=`, `${path}/`, `${path};x=1`, `${path}#frag`,
  ];
}

/** What the daemon's state looks like to a client with the token; a refused request must not change it. */
async function snapshot(): Promise<string> {
  const get = async (p: string) => (await fetch(d.url + p, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const events = JSON.parse(await get('/api/v1/events?limit=1000')) as { message: string }[];
  return JSON.stringify([await get('/api/v1/config'), await get('/api/v1/nodes'), await get('/api/v1/bmc/credentials'), await get('/api/v1/bmcs'),
    await get('/api/v1/jobs'), events.map((e) => e.message)]);
}

const PUBLIC_ROUTES = new Set(['GET /login', 'HEAD /login', 'POST /login', 'GET /', 'HEAD /', 'GET /*', 'HEAD /*']);

test('every route declares its access; the public ones are exactly the login and the UI files', () => {
  const routes = d.api.rackseedRoutes;
  assert.ok(routes.length >= 25, `routes recorded: ${routes.length}`);
  const publicOnes = routes.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
  for (const p of publicOnes) assert.ok(PUBLIC_ROUTES.has(p), `unexpected public route ${p}: a new public route needs a reason (and this list)`);
  for (const r of routes.filter((x) => x.url.startsWith('/api'))) assert.equal(r.access, 'token', `${r.method} ${r.url}`);
  assert.ok(routes.some((r) => r.url === '/api/v1/stream' && r.websocket), 'the WebSocket route is among them');
});

test('every protected route refuses every spelling of its path without credentials, over HTTP, with no side effect', async () => {
  const before = await snapshot();
  const protectedRoutes = d.api.rackseedRoutes.filter((r) => r.access === 'token');
  let tried = 0;
  for (const r of protectedRoutes) {
    const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) ? '{}' : '';
    for (const target of spellings(concrete(r.url))) {
      const res = await raw(r.method, target, body ? { 'content-type': 'application/json' } : {}, body);
      tried++;
      assert.ok(res.status >= 400 && res.status < 500, `${r.method} ${target} → ${res.status} ${res.body.slice(0, 120)}`);
      assert.ok(![405, 200].includes(res.status));
    }
    // the canonical spelling and the percent-encoded one reach the route, which refuses them
    assert.equal((await raw(r.method, concrete(r.url), body ? { 'content-type': 'application/json' } : {}, body)).status, 401, `${r.method} ${r.url}`);
    assert.equal((await raw(r.method, `/%61pi${concrete(r.url).slice(4)}`, body ? { 'content-type': 'application/json' } : {}, body)).status, 401, `${r.method} /%61pi…`);
  }
  assert.ok(tried > 500, `requests tried: ${tried}`);
  assert.equal(await snapshot(), before, 'no refused request changed anything');
});

test('the WebSocket refuses every spelling without credentials, a wrong ?token=, and a foreign Origin even with the token', async () => {
  for (const target of spellings('/api/v1/stream')) {
    const res = await raw('GET', target, WS);
    assert.notEqual(res.status, 101, `upgrade ${target} was accepted`);
    assert.ok(res.status >= 400, `${target} → ${res.status}`);
  }
  assert.equal((await raw('GET', `/api/v1/stream?token=${TOKEN}`, WS)).status, 101, 'the token in the query opens it');
  assert.equal((await raw('GET', '/api/v1/stream', { ...WS, authorization: `Bearer ${TOKEN}` })).status, 101);
  assert.equal((await raw('GET', `/%61pi/v1/stream?token=${TOKEN}`, WS)).status, 101, 'a spelling that reaches the route meets the same check');
  assert.equal((await raw('GET', '/api/v1/stream', { ...WS, authorization: `Bearer ${TOKEN}`, origin: 'http://127.0.0.1:1' })).status, 403);
  assert.equal((await raw('GET', '/api/v1/stream', { ...WS, authorization: `Bearer ${TOKEN}`, origin: 'null' })).status, 403);
  assert.equal((await raw('GET', '/api/v1/stream', { ...WS, authorization: `Bearer ${TOKEN}`, origin: `http://127.0.0.1:${port}` })).status, 101, 'same origin');
});

test('the node console WebSocket (issue 18): every spelling refused without credentials, a wrong ?token=, a foreign Origin; the token opens it', async () => {
  assert.ok(d.api.rackseedRoutes.some((r) => r.url === '/api/v1/nodes/:id/console' && r.websocket && r.access === 'token'), 'the console route is a token WebSocket route');
  assert.ok(d.api.rackseedRoutes.some((r) => r.url === '/api/v1/nodes/:id/console/log' && r.method === 'GET' && r.access === 'token'));
  for (const target of spellings('/api/v1/nodes/x/console')) {
    const res = await raw('GET', target, WS);
    assert.notEqual(res.status, 101, `upgrade ${target} was accepted`);
    assert.ok(res.status >= 400, `${target} → ${res.status}`);
  }
  assert.equal((await raw('GET', '/api/v1/nodes/x/console?token=wrong-token', WS)).status, 401);
  assert.equal((await raw('GET', '/api/v1/nodes/x/console', { ...WS, authorization: `Bearer ${TOKEN}`, origin: 'http://127.0.0.1:1' })).status, 403);
  assert.equal((await raw('GET', '/api/v1/nodes/x/console', { ...WS, cookie: 'rackseed_session=forged' })).status, 401);
  assert.equal((await raw('GET', `/api/v1/nodes/x/console?token=${TOKEN}&client=ui`, WS)).status, 101, 'the token in the query opens it (an unknown node is then refused inside)');
  assert.equal((await raw('GET', '/api/v1/nodes/x/console', { ...WS, authorization: `Bearer ${TOKEN}`, origin: `http://127.0.0.1:${port}` })).status, 101, 'same origin');
  assert.equal((await raw('GET', '/api/v1/nodes/x/console/log')).status, 401);
});

test('Host must name the daemon (DNS rebinding): 421 even with the token; loopback names pass', async () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.equal((await raw('GET', '/api/v1/nodes', { ...auth, host: `rebind.example.com:${port}` })).status, 421);
  assert.equal((await raw('GET', '/', { host: 'attacker.test' })).status, 421, 'the UI too');
  assert.equal((await raw('GET', '/api/v1/nodes', { ...auth, host: '' })).status, 421);
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`, `[::1]:${port}`, '127.0.0.1:8080']) {
    assert.equal((await raw('GET', '/api/v1/nodes', { ...auth, host })).status, 200, host);
  }
});

test('state-changing requests from another origin are refused before anything is done; same-origin and CLI pass', async () => {
  const before = await snapshot();
  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ user: 'evil', password: 'x' });
  assert.equal((await raw('PUT', '/api/v1/bmc/credentials', { ...auth, origin: 'http://127.0.0.1:3000' }, body)).status, 403);
  assert.equal((await raw('PUT', '/api/v1/bmc/credentials', { ...auth, origin: 'http://localhost:' + port }, body)).status, 403, 'another host name is another origin');
  assert.equal((await raw('GET', '/api/v1/nodes', { ...auth, 'sec-fetch-site': 'same-site' })).status, 403);
  assert.equal((await raw('GET', '/api/v1/nodes', { ...auth, 'sec-fetch-site': 'cross-site' })).status, 403);
  assert.equal(await snapshot(), before);
  const ok = await raw('PUT', '/api/v1/bmc/credentials', { ...auth, origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' }, JSON.stringify({ user: 'admin', password: 'pw' }));
  assert.equal(ok.status, 200, ok.body);
  assert.equal((await raw('GET', '/api/v1/bmc/credentials', { authorization: `Bearer ${TOKEN}` })).status, 200, 'no Origin (the CLI) passes');
});

test('form bodies are parsed only on /login: a form post to an API route is refused (415) even with the token', async () => {
  const form = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' };
  assert.equal((await raw('POST', '/api/v1/discovery', form, 'bmcs=10.0.0.1')).status, 415);
  assert.equal((await raw('PUT', '/api/v1/bmc/credentials', form, 'user=a&password=b')).status, 415);
  const login = await raw('POST', '/login', { 'content-type': 'application/x-www-form-urlencoded', origin: `http://127.0.0.1:${port}` }, `token=${TOKEN}`);
  assert.equal(login.status, 303);
  assert.equal((await raw('POST', '/login', { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://127.0.0.1:3000' }, `token=${TOKEN}`)).status, 403,
    'a login form posted from another origin is refused');
});

test('the UI files stay public and deep links fall back to index.html, but API-like paths never do', async () => {
  assert.equal((await raw('GET', '/')).status, 200);
  assert.equal((await raw('GET', '/assets/app.js')).status, 200);
  assert.match((await raw('GET', '/nodes/abc')).body, /id="root"/);
  for (const p of ['/API/v1/nodes', '//api/v1/nodes', '/api%2Fv1/nodes', '/x/../api/v1/nodes']) {
    const res = await raw('GET', p);
    assert.doesNotMatch(res.body, /id="root"/, p);
    assert.equal(res.status, 401, p);
  }
});
