// The UI against a real daemon (API only: no --interface, so no DHCP/TFTP is started and nothing leaves
// loopback). Chromium (Debian) through playwright-core. Proves: the API refuses requests without the token,
// the one-time login URL works exactly once, the wizard's Network step lists the daemon's real interfaces,
// the BMC step stores credentials and never shows the password back, and the pages load without CSP or
// script errors. Screenshots go to test-results/ui/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext } from 'playwright-core';
import { apiFetch, startDaemon, type RunningDaemon } from '../helpers/ui/daemon.ts';
import { collectPageErrors, ensureRendererBuilt, launchChromium, screenshot } from '../helpers/ui/browser.ts';
import { AppShell, BmcStep, FleetView, NetworkStep } from '../helpers/ui/pages.ts';
import { expect, waitFor } from '../helpers/ui/expect.ts';
import type { NetInterface } from '../../shared/api.ts';

let daemon: RunningDaemon;
let browser: Browser;
/** the browser context logged in through the one-time URL (reused by the wizard test) */
let session: BrowserContext | null = null;

before(async () => {
  ensureRendererBuilt();
  daemon = await startDaemon();
  browser = await launchChromium();
}, { timeout: 240_000 });

after(async () => {
  await session?.close();
  await browser?.close();
  await daemon?.stop();
});

test('the API refuses requests without the token or with a wrong one (401)', async () => {
  for (const path of ['/api/v1/health', '/api/v1/interfaces', '/api/v1/nodes', '/api/v1/bmc/credentials']) {
    const none = await apiFetch(daemon, path, { token: null });
    assert.equal(none.status, 401, `${path} without a token`);
    const body = (await none.json()) as { error?: unknown };
    assert.equal(typeof body.error, 'string');
    const wrong = await apiFetch(daemon, path, { token: daemon.token.slice(0, -2) + 'xx' });
    assert.equal(wrong.status, 401, `${path} with a wrong token`);
  }
  const put = await apiFetch(daemon, '/api/v1/bmc/credentials', { token: null, method: 'PUT', body: JSON.stringify({ user: 'x', password: 'y' }) });
  assert.equal(put.status, 401);
  const ok = await apiFetch(daemon, '/api/v1/health');
  assert.equal(ok.status, 200);
});

test('without a session the UI shows the login hint; the one-time URL logs in exactly once', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 860 } });
  session = ctx;
  {
    const page = await ctx.newPage();
    const shell = new AppShell(page);
    await page.goto(daemon.baseUrl + '/');
    await expect(shell.loginRequired(), /one-time login URL/);
    await expect(shell.streamStatus(), /not logged in/);
    await screenshot(page, '01-login-required');

    await page.goto(daemon.loginUrl);
    assert.equal(new URL(page.url()).pathname, '/', 'login redirects to the UI');
    await shell.waitLive();
    assert.equal(await shell.loginRequired().count(), 0);
    const cookies = await ctx.cookies(daemon.baseUrl);
    const session = cookies.find((c) => c.name === 'rackseed_session');
    assert.ok(session, 'session cookie set');
    assert.equal(session.httpOnly, true, 'session cookie is HttpOnly');
    await page.close();
  }
  // A second use of the same code, from a fresh browser, is refused.
  const again = await fetch(daemon.loginUrl, { redirect: 'manual' });
  assert.equal(again.status, 401);
  const ctx2 = await browser.newContext();
  try {
    const page = await ctx2.newPage();
    await page.goto(daemon.loginUrl);
    // the spent link explains itself and offers the token form (routes/login.ts) instead of a bare JSON error
    await expect(page.locator('p.why'), /already used/);
    await screenshot(page, '01b-login-link-spent');
    await page.goto(daemon.baseUrl + '/');
    const shell = new AppShell(page);
    await expect(shell.loginRequired(), /one-time login URL/);
    // from the login hint to the token form, and in with the launch's token
    await page.getByRole('link', { name: 'Log in with the API token' }).click();
    await page.fill('#token', 'wrong-token');
    await page.click('button[type=submit]');
    await expect(page.locator('p.why'), /not the API token/);
    await page.fill('#token', daemon.token);
    await page.click('button[type=submit]');
    await page.waitForURL(daemon.baseUrl + '/');
    await shell.waitLive();
    assert.equal(await shell.loginRequired().count(), 0, 'logged in with the token');
  } finally {
    await ctx2.close();
  }
});

test('wizard: Network lists the real interfaces; BMC credentials are stored and never shown back', async () => {
  // the context logged in by the one-time URL above: the session cookie authenticates API and stream
  assert.ok(session, 'logged-in browser context from the previous test');
  const ctx = session;
  {
    const page = await ctx.newPage();
    const errors = collectPageErrors(page);
    const shell = new AppShell(page);
    await page.goto(daemon.baseUrl + '/#/setup/network');
    await shell.waitLive();

    const net = new NetworkStep(page);
    const expected = ((await (await apiFetch(daemon, '/api/v1/interfaces')).json()) as NetInterface[]);
    assert.ok(expected.length > 0, 'the daemon reports at least one interface');
    await waitFor(async () => (await net.interfaceNames()).length === expected.length, 'interface rows');
    assert.deepEqual((await net.interfaceNames()).sort(), expected.map((i) => i.name).sort());
    const lo = expected.find((i) => i.name === 'lo');
    if (lo) {
      const row = net.interfaceTable().getByRole('row').filter({ has: net.interfaceRadio('lo') });
      assert.match(await row.innerText(), /127\.0\.0\.1\/8/, 'addresses are shown');
    }
    // explanations of both modes are on screen, one sentence each
    assert.match(await net.mode('Authoritative').locator('..').innerText(), /only DHCP server/);
    assert.match(await net.mode('Proxy').locator('..').innerText(), /site's DHCP server keeps assigning/);
    await net.mode('Authoritative').check();
    assert.equal(await net.poolFirst().isVisible(), true, 'pool inputs appear in authoritative mode');
    await net.mode('Proxy').check();
    assert.equal(await net.applyButton().isDisabled(), true, 'Apply needs a chosen NIC');
    await screenshot(page, '02-wizard-network');

    // BMC step: keyboard only — Tab into the stepper link and press Enter
    await page.getByRole('link', { name: /BMCs/ }).focus();
    await page.keyboard.press('Enter');
    const bmc = new BmcStep(page);
    await expect(bmc.credentialState(), /no password set/);
    const password = 'Wo-' + Date.now().toString(36); // IPMI 2.0: ≤ 20 characters
    await bmc.setCredentials('rsadmin', password);
    await expect(bmc.credentialState(), /password set for rsadmin/);
    assert.equal(await bmc.password().inputValue(), '', 'the password field is cleared after saving');
    const stored = (await (await apiFetch(daemon, '/api/v1/bmc/credentials')).json()) as Record<string, unknown>;
    assert.deepEqual(stored, { user: 'rsadmin', passwordSet: true });
    assert.ok(!(await page.content()).includes(password), 'password not in the page');
    await screenshot(page, '03-wizard-bmc');

    // after a reload the state comes from the daemon: still set, still not shown
    await page.reload();
    await shell.waitLive();
    await expect(bmc.credentialState(), /password set for rsadmin/);
    assert.equal(await bmc.password().inputValue(), '');
    assert.equal(await bmc.user().inputValue(), 'rsadmin');
    assert.ok(!(await page.content()).includes(password));
    // the event log recorded the change without the secret
    const events = await (await apiFetch(daemon, '/api/v1/events?limit=50')).text();
    assert.ok(!events.includes(password), 'password not in events');

    await shell.open('Fleet');
    const fleet = new FleetView(page);
    await expect(fleet.services(), /DHCP/);
    await expect(fleet.eventLog(), /BMC credentials set for user rsadmin/);
    await screenshot(page, '04-fleet-empty');
    assert.deepEqual(errors, [], 'no console errors (CSP violations, exceptions)');
    assert.equal(await shell.errorNotices().count(), 0, 'no error notices');
  }
});
