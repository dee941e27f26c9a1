// The hand-off from the UI to a REAL OpenStack Ironic (Debian's ironic 21.4 as one process, SQLite, HTTP basic auth;
// test/helpers/ironic.ts) that drives a real OpenIPMI ipmi_sim BMC with its own ipmitool — all on 127.0.0.1 (high ports),
// so no namespace is needed. `rackseed serve` (API only) is seeded with the node as discovery leaves it. Chromium: the
// engineer ticks the node, gives Ironic's URL, user and password, and watches the progress bar walk the job's steps to
// "handed over" with what RackSeed read back (available, Ironic's power = the BMC's, the port); the owner column and the
// node detail show Ironic; Ironic itself lists the node available with the port. Take back, then a second hand-off with
// the password left empty (the daemon's stored one): Ironic's node is updated, never duplicated. The password never
// reaches the page. Skipped when Debian's Ironic or ipmi_sim is not installed (scripts/setup.sh test).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { apiFetch, freePort, startDaemon, type RunningDaemon } from '../helpers/ui/daemon.ts';
import { collectPageErrors, ensureRendererBuilt, launchChromium, screenshot } from '../helpers/ui/browser.ts';
import { AppShell, FleetActionsBar, HandoffDialogPage, NodeDetailPanel } from '../helpers/ui/pages.ts';
import { expect, waitFor } from '../helpers/ui/expect.ts';
import { addNode, withCore } from '../helpers/ui/seed.ts';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { ironicInstalled, startIronic, type IronicProcess } from '../helpers/ironic.ts';
import type { HandoffRecord } from '../../shared/handoff.ts';

const BMC_USER = 'admin';
const BMC_PASSWORD = 'bmc-Ir-ui-4';
const IRONIC_USER = 'metal3';
const IRONIC_PASSWORD = 'Ir0nic-UI-basic-9';
const NODE = { mac: '52:54:00:4f:00:01', serial: 'SN-IR-UI-1' };
const ready = ironicInstalled() && existsSync('/usr/bin/ipmi_sim');

let daemon: RunningDaemon;
let ironic: IronicProcess;
let bmc: IpmiSim;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let errors: string[];
let nodeId = '';

const shot = (name: string) => screenshot(page, `handoff-ironic-${name}`);
const basicAuth = 'Basic ' + Buffer.from(`${IRONIC_USER}:${IRONIC_PASSWORD}`).toString('base64');

async function ironicNodes(): Promise<{ uuid: string; name: string; provision_state: string; power_state: string | null }[]> {
  const r = await fetch(`${ironic.url}/v1/nodes?fields=uuid,name,provision_state,power_state`, { headers: { authorization: basicAuth, 'x-openstack-ironic-api-version': '1.82' } });
  return ((await r.json()) as { nodes: never[] }).nodes;
}

before(async () => {
  if (!ready) return;
  ensureRendererBuilt();
  const bmcPort = await freePort();
  [bmc, ironic] = await Promise.all([
    startIpmiSim({ address: '127.0.0.1', port: bmcPort, user: BMC_USER, password: BMC_PASSWORD, guid: '4f000001111122223333444455556601' }),
    startIronic({ host: '127.0.0.1', port: await freePort(), auth: { kind: 'http_basic', user: IRONIC_USER, password: IRONIC_PASSWORD }, ipmiRetrySec: 5, syncPowerSec: 5 }),
  ]);
  daemon = await startDaemon({
    prepare: (dir) => withCore(dir, (core) => {
      core.config.setBmcCredentials({ user: BMC_USER, password: BMC_PASSWORD });
      nodeId = addNode(core, { ...NODE, bmc: `127.0.0.1:${bmcPort}` });
    }),
  });
  browser = await launchChromium();
  ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await ctx.newPage();
  errors = collectPageErrors(page);
  await page.goto(daemon.loginUrl);
  await new AppShell(page).waitLive();
  await page.goto(daemon.baseUrl + '/#/fleet');
}, { timeout: 300_000 });

after(async () => {
  await ctx?.close();
  await browser?.close();
  await daemon?.stop();
  await Promise.allSettled([ironic?.stop(), bmc?.stop()]);
});

/** Hand the node over through the dialog; returns the progress values the bar showed. */
async function handOver(password: string | null): Promise<string[]> {
  const bar = new FleetActionsBar(page);
  await bar.select(NODE.mac);
  await bar.button('Hand over…').click();
  const dlg = new HandoffDialogPage(page);
  await dlg.url().fill(ironic.url);
  await dlg.auth('HTTP basic').check();
  await dlg.user().fill(IRONIC_USER);
  if (password === null) {
    assert.equal(await dlg.password().getAttribute('placeholder'), '•••••• stored — type to replace', 'the form says a password is stored');
  } else {
    await dlg.password().fill(password);
  }
  await dlg.submit().click();
  const progress = dlg.progress(NODE.mac);
  const seen: string[] = [];
  let midShot = false;
  await waitFor(async () => {
    const now = await progress.getAttribute('aria-valuenow').catch(() => null);
    const text = await progress.getAttribute('aria-valuetext').catch(() => null);
    const v = `${now}:${text}`;
    if (now !== null && seen.at(-1) !== v) seen.push(v);
    if (!midShot && Number(now) >= 4) { midShot = true; await shot(password === null ? '3-again-progress' : '1-progress'); }
    const row = await dlg.row(NODE.mac).innerText().catch(() => '');
    assert.ok(!/hand-off failed/.test(row), `the hand-off failed: ${row}`);
    return /handed over/.test(row);
  }, 'handed over', 240_000, 100);
  return seen;
}

test('hand-off from the UI to a real Ironic with HTTP basic auth: live progress, verified result, owner; take back; again with the stored password', {
  skip: ready ? false : 'needs Debian\'s Ironic and ipmi_sim (scripts/setup.sh test)', timeout: 600_000,
}, async () => {
  const seen = await handOver(IRONIC_PASSWORD);
  assert.ok(new Set(seen.map((v) => v.split(':')[0])).size >= 3, `the bar walked the steps (${seen.join(', ')})`);
  assert.ok(seen.some((v) => /manage: Ironic reads the BMC/.test(v)), `the manage step was shown (${seen.join(', ')})`);
  const dlg = new HandoffDialogPage(page);
  const row = await dlg.row(NODE.mac).innerText();
  assert.match(row, /available · power off = BMC ✓ · 1 port ✓/);
  assert.match(row, /Ironic node [0-9a-f-]{36}/);
  await shot('2-handed-over');
  await dlg.close().click();

  // Ironic's own view
  const [n] = await ironicNodes();
  assert.equal(n!.provision_state, 'available');
  assert.equal(n!.power_state, 'power off');
  const bar = new FleetActionsBar(page);
  await expect(bar.row(NODE.mac), new RegExp(`Ironic 127\\.0\\.0\\.1:${new URL(ironic.url).port}`));
  assert.match(await bar.row(NODE.mac).innerText(), /handed over/);

  // the node detail: owner, Ironic's node, power controls off-limits; take back from there
  await page.getByRole('link', { name: `Open node ${NODE.mac}` }).click();
  const detail = new NodeDetailPanel(page, NODE.mac);
  const section = detail.root().getByRole('region', { name: 'Hand-off' });
  await expect(section, new RegExp(`Engine node\\s*${n!.uuid}`));
  assert.equal(await detail.powerButton('on').isDisabled(), true);
  await section.getByRole('button', { name: 'Take back…' }).click();
  await page.getByRole('dialog', { name: 'Take back' }).getByRole('button', { name: 'Take back 1 node' }).click();
  await expect(bar.row(NODE.mac), /taken back/);
  assert.equal(await detail.powerButton('on').isDisabled(), false, 'RackSeed drives the BMC again');
  await detail.close().click();

  // again, password left empty: the daemon's sealed one is used; Ironic's node is updated, not duplicated
  await handOver(null);
  const again = await new HandoffDialogPage(page).row(NODE.mac).innerText();
  assert.match(again, new RegExp(`Ironic node ${n!.uuid}`));
  assert.match(again, /found by port 52:54:00:4f:00:01 in state available: updated/);
  await shot('4-again-handed-over');
  await new HandoffDialogPage(page).close().click();
  assert.equal((await ironicNodes()).length, 1, 'one Ironic node');
  const rec = ((await (await apiFetch(daemon, `/api/v1/handoff?nodes=${nodeId}`)).json()) as HandoffRecord[])[0]!;
  assert.equal(rec.status, 'done');
  assert.notEqual(rec.owner, 'rackseed');

  assert.ok(!(await page.content()).includes(IRONIC_PASSWORD), 'the Ironic password is not in the page');
  assert.ok(!(await (await apiFetch(daemon, '/api/v1/engines')).text()).includes(IRONIC_PASSWORD), 'nor in the API');
  assert.deepEqual(errors, [], 'no console errors');
});
