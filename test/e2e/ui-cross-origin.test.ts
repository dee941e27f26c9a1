// The engineer's browser is also on the internet. With a logged-in session to the daemon, a page from another
// origin (another port on 127.0.0.1: the same *site*, so the SameSite=Strict cookie IS sent) tries what such a page
// can: a simple cross-origin PUT, a form post, a WebSocket to the event stream, framing the UI. A DNS-rebinding
// host name (Chromium resolving rebind.test to 127.0.0.1) reaches the daemon under a foreign Host. Each is refused by
// the daemon (Origin 403, Host 421, frame-ancestors), nothing changes, and the UI's responses carry the CSP and
// security headers. Also: POST /login is rate-limited (429). Real `rackseed serve`, Debian's Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { apiFetch, freePort, startDaemon, type RunningDaemon } from '../helpers/ui/daemon.ts';
import { waitFor } from '../helpers/ui/expect.ts';
import { CHROMIUM, ensureRendererBuilt, launchChromium, screenshot } from '../helpers/ui/browser.ts';
import { LOGIN_ATTEMPTS_PER_MINUTE } from '../../daemon/api/routes/login.ts';

let daemon: RunningDaemon;
let browser: Browser;
let victim: BrowserContext;
let attacker: Server;
let attackerUrl: string;

before(async () => {
  ensureRendererBuilt();
  daemon = await startDaemon();
  browser = await launchChromium();
  const port = await freePort();
  attacker = createServer((_req, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>some page</title><p>hello</p>'); });
  await new Promise<void>((r) => attacker.listen(port, '127.0.0.1', r));
  attackerUrl = `http://127.0.0.1:${port}/`;
  victim = await browser.newContext();
  const page = await victim.newPage();
  await page.goto(daemon.loginUrl);
  assert.equal(new URL(page.url()).pathname, '/', 'logged in');
  await page.close();
}, { timeout: 240_000 });

after(async () => {
  await victim?.close();
  await browser?.close();
  await new Promise((r) => attacker?.close(r));
  await daemon?.stop();
});

async function credentialsUser(): Promise<string | null> {
  return ((await (await apiFetch(daemon, '/api/v1/bmc/credentials')).json()) as { user: string | null }).user;
}

test('a page on another origin cannot change anything through the logged-in browser', async () => {
  const page = await victim.newPage();
  await page.goto(attackerUrl);
  const before = await credentialsUser();
  // 1. a "simple" cross-origin request (POST text/plain, no preflight): the cookie goes along, the daemon must refuse it
  const outcome = page.waitForEvent('requestfailed', (r) => r.url().includes('/api/v1/discovery'));
  await page.evaluate(async (base) => {
    await fetch(`${base}/api/v1/discovery`, { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' }).catch(() => null);
  }, daemon.baseUrl);
  // the daemon refused it (its log says why); the answer itself is withheld from the page (Cross-Origin-Resource-Policy)
  assert.match((await outcome).failure()?.errorText ?? '', /BLOCKED_BY_RESPONSE/);
  // (the daemon's log line reaches its stderr asynchronously: a loaded machine may show it a moment later)
  const refusal = /"reason":"cross-origin request","method":"POST","url":"\/api\/v1\/discovery"/;
  await waitFor(() => refusal.test(daemon.output()), 'the refusal in the daemon log', 10_000);
  // 1b. a PUT needs a preflight, which gets no CORS headers: the browser never sends the PUT
  const putResult = await page.evaluate(async (base) => {
    try {
      await fetch(`${base}/api/v1/bmc/credentials`, { method: 'PUT', credentials: 'include', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'evil', password: 'x' }) });
      return 'sent';
    } catch { return 'blocked'; }
  }, daemon.baseUrl);
  assert.equal(putResult, 'blocked');
  // 2. the WebSocket event stream: opened with the cookie, refused by Origin
  const ws = await page.evaluate((base) => new Promise<string>((resolve) => {
    const s = new WebSocket(`${base.replace('http', 'ws')}/api/v1/stream`);
    s.onopen = () => resolve('open');
    s.onerror = () => resolve('error');
    setTimeout(() => resolve('timeout'), 5000);
  }), daemon.baseUrl);
  assert.equal(ws, 'error');
  // 3. a form post (a top-level navigation, the way CSRF worked before fetch)
  const form = page.waitForResponse((r) => r.url().includes('/api/v1/discovery'));
  await page.evaluate((base) => {
    const f = document.createElement('form');
    f.method = 'POST'; f.action = `${base}/api/v1/discovery`; f.enctype = 'application/x-www-form-urlencoded';
    document.body.append(f); f.submit();
  }, daemon.baseUrl);
  assert.equal((await form).status(), 403);
  await page.close();
  assert.equal(await credentialsUser(), before, 'credentials unchanged');
  const jobs = (await (await apiFetch(daemon, '/api/v1/jobs')).json()) as unknown[];
  assert.equal(jobs.length, 0, 'no discovery started');
});

test('the UI cannot be framed by another origin, and carries a strict CSP and the security headers', async () => {
  const res = await apiFetch(daemon, '/', { token: null });
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy') ?? '';
  for (const d of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]) assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
  assert.equal(res.headers.get('referrer-policy'), 'same-origin');
  const api = await apiFetch(daemon, '/api/v1/nodes');
  assert.ok((api.headers.get('content-security-policy') ?? '').includes("frame-ancestors 'none'"), 'API responses too');

  const page = await victim.newPage();
  const refused: string[] = [];
  page.on('console', (m) => { if (/frame|ancestors/i.test(m.text())) refused.push(m.text()); });
  await page.goto(attackerUrl);
  await page.evaluate((base) => { const f = document.createElement('iframe'); f.src = `${base}/`; f.width = '800'; f.height = '400'; document.body.append(f); }, daemon.baseUrl);
  await page.waitForTimeout(2000);
  const framed = page.frames().find((f) => f.url().startsWith(daemon.baseUrl));
  const rendered = framed ? await framed.locator('#root *').count().catch(() => 0) : 0;
  assert.equal(rendered, 0, 'the UI did not render inside the foreign page');
  assert.ok(refused.length > 0, 'Chromium reported the framing as refused');
  await screenshot(page, 'cross-origin-frame-refused');
  await page.close();
});

test('DNS rebinding: the daemon answers a foreign host name with 421, in Chromium and over plain HTTP', async () => {
  const port = new URL(daemon.baseUrl).port;
  const rebinding = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run',
      '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP rebind.test 127.0.0.1'],
  });
  try {
    const page = await rebinding.newPage();
    const ui = await page.goto(`http://rebind.test:${port}/`);
    assert.equal(ui?.status(), 421);
    const api = await page.goto(`http://rebind.test:${port}/api/v1/health?token=${daemon.token}`);
    assert.equal(api?.status(), 421, 'even with the token');
  } finally {
    await rebinding.close();
  }
});

test('POST /login is rate-limited per client: 429 after the allowed attempts, and the right token is then refused too', async () => {
  let last = 0;
  for (let i = 0; i < LOGIN_ATTEMPTS_PER_MINUTE; i++) {
    last = (await fetch(`${daemon.baseUrl}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=wrong${i}` })).status;
  }
  assert.equal(last, 401);
  const flooded = await fetch(`${daemon.baseUrl}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${daemon.token}` });
  assert.equal(flooded.status, 429);
  // the API with the token is not affected
  assert.equal((await apiFetch(daemon, '/api/v1/health')).status, 200);
});
