// Issue 6 acceptance in the virtual rack (lab/): Chromium drives the real UI served by the real daemon running
// in the lab's appliance namespace (reached through the lab's 127.0.0.1 forwarder, Bearer token). It completes
// the wizard (survey + apply on prov0, BMC credentials + sweep, discovery), sees the
// nodes appear live, opens a node, powers it on and off through the UI (QEMU really starts and stops) and
// reads its boot timeline. Screenshots of each step go to test-results/ui/lab-*.png; the fleet view also
// to docs/screenshots/fleet.png (README).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { NET, planNodes } from '../../lab/config.ts';
import { Lab } from '../../lab/rack.ts';
import { pidAlive } from '../../lab/processes.ts';
import { collectPageErrors, launchChromium, screenshot } from '../helpers/ui/browser.ts';
import { REPO } from '../helpers/ui/daemon.ts';
import { AppShell, BmcStep, DiscoverStep, FleetView, NetworkStep, NodeDetailPanel } from '../helpers/ui/pages.ts';
import { expect, waitFor } from '../helpers/ui/expect.ts';

const isRoot = process.getuid?.() === 0;
const shot = (page: Page, name: string) => screenshot(page, `lab-${name}`);

test('virtual rack through the UI: wizard, live discovery, node detail, power on/off, boot timeline', {
  skip: isRoot ? false : 'needs root (namespaces, QEMU taps)', timeout: 600_000,
}, async (t) => {
  // no ensureRendererBuilt() here: Lab.up builds the UI itself (as `npm run lab` needs on a fresh clone), which this test shows
  const lab = await Lab.up({ nodes: planNodes(2, 'bios'), daemon: { mode: 'authoritative' }, forwardPort: 0, log: (l) => t.diagnostic(l) });
  const browser = await launchChromium();
  const started: number[] = [];
  try {
    // The lab's daemon listens on a unix socket (no one-time URL is printed for that); the browser uses the
    // other documented credential, the Bearer token, on every request including the stream's handshake.
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, extraHTTPHeaders: { authorization: `Bearer ${lab.token}` } });
    const page = await ctx.newPage();
    page.on('dialog', (d) => void d.accept()); // "Power off this node?" confirmations
    const errors = collectPageErrors(page);
    const shell = new AppShell(page);
    await page.goto(`${lab.url}/`);
    await shell.waitLive();

    await t.test('network step: the appliance NICs, a survey that finds no other DHCP server, apply', async () => {
      const net = new NetworkStep(page);
      await page.goto(`${lab.url}/#/setup/network`);
      await waitFor(async () => (await net.interfaceNames()).includes('prov0'), 'prov0 listed');
      assert.deepEqual((await net.interfaceNames()).filter((n) => n !== 'lo').sort(), ['bmc0', 'prov0', 'uplink0']);
      await net.choose('prov0');
      // the lab starts the daemon already serving on prov0 (it surveyed first): the UI shows that survey and
      // says a new one happens on Apply, instead of offering a survey the daemon would refuse (409)
      await expect(page.getByRole('region', { name: 'DHCP survey' }), /No other DHCP server answered on prov0/, 30_000);
      assert.equal(await net.surveyButton().isDisabled(), true);
      await expect(page.getByRole('region', { name: 'DHCP survey' }), /applying the settings again surveys first/);
      await net.mode('Authoritative').check();
      await net.poolFirst().fill(NET.pool.first);
      await net.poolLast().fill(NET.pool.last);
      await shot(page, '1-network');
      await net.applyButton().click();
      await expect(net.applied(), /Network services started on prov0/, 30_000);
      await net.next().click();
    });

    const bmc = new BmcStep(page);
    await t.test('BMC step: credentials stored (never shown back), sweep finds both BMCs live', async () => {
      await bmc.setCredentials(lab.bmcUser, lab.bmcPassword);
      await expect(bmc.credentialState(), new RegExp(`password set for ${lab.bmcUser}`));
      assert.equal(await bmc.password().inputValue(), '');
      await bmc.subnet().fill(NET.bmcNetwork);
      await bmc.sweep().click();
      await waitFor(async () => (await bmc.progress().getAttribute('aria-valuemax')) === '256' || (await bmc.progress().count()) > 0, 'progress bar');
      await expect(bmc.results(), (text) => lab.nodes.every((n) => text.includes(n.bmcAddress)), 90_000);
      await waitFor(async () => {
        const now = Number(await bmc.progress().getAttribute('aria-valuenow'));
        const max = Number(await bmc.progress().getAttribute('aria-valuemax'));
        return max > 0 && now === max;
      }, 'sweep finished', 90_000);
      assert.ok(!(await page.content()).includes(lab.bmcPassword), 'the BMC password is not in the page');
      await shot(page, '2-bmc-sweep');
      await bmc.next().click();
    });

    await t.test('discover step: nodes appear live in the table and reach available', async () => {
      const disc = new DiscoverStep(page);
      await disc.start().click();
      const seen = new Set<string>();
      let midShot = false;
      await waitFor(async () => {
        const text = await disc.table().innerText().catch(() => '');
        for (const st of ['discovered', 'inspecting', 'available', 'error']) if (text.includes(st)) seen.add(st);
        const rows = await disc.table().locator('tbody tr').count();
        if (rows > 0 && !midShot) { midShot = true; await shot(page, '3-discover-live'); }
        assert.ok(!text.includes('error'), `a node failed: ${text}`);
        return rows === lab.nodes.length && (text.match(/available/g) ?? []).length === lab.nodes.length;
      }, 'both nodes available', 420_000, 500);
      assert.ok(seen.has('discovered') || seen.has('inspecting'), `the table updated live (states seen: ${[...seen].join(', ')})`);
      for (const n of lab.nodes) assert.match(await disc.table().innerText(), new RegExp(n.identity.mac));
      await shot(page, '4-discover-done');
      await disc.openFleet().click();
    });

    const fleet = new FleetView(page);
    const target = lab.nodes[0];
    await t.test('fleet view: all nodes with serial, BMC, hardware; filter and sort', async () => {
      await expect(fleet.table(), (text) => lab.nodes.every((n) => text.includes(n.identity.serial) && text.includes(n.bmcAddress)), 15_000);
      await expect(fleet.services(), /running/);
      await fleet.sortBy('IP').click();
      await shot(page, '5-fleet');
      await screenshot(page, 'fleet', join(REPO, 'docs', 'screenshots'));
      await fleet.filter().fill(target.identity.serial);
      await waitFor(async () => (await fleet.rows().count()) === 1, 'filter leaves one row');
      await fleet.filter().fill('');
    });

    const detail = new NodeDetailPanel(page, target.identity.mac);
    await t.test('node detail: inventory and the boot timeline DHCP → HTTP → agent with durations', async () => {
      await fleet.nodeLink(target.identity.mac).click();
      await expect(detail.inventory(), new RegExp(target.identity.serial), 15_000);
      await expect(detail.stage('DHCP'), /done/);
      await expect(detail.stage('HTTP'), /done/);
      await expect(detail.stage('Agent'), /done/);
      const dhcpLabel = await detail.stage('DHCP').getAttribute('aria-label');
      assert.match(dhcpLabel ?? '', /DHCP: done, [\d.]+ (ms|s)/, 'the DHCP stage has a duration');
      await shot(page, '6-node-detail');
    });

    await t.test('power on and off from the node detail really starts and stops the node', async () => {
      assert.equal(lab.qemuPid(target), null, 'discovery left the node powered off');
      await detail.powerButton('on').click();
      const pid = await waitFor(() => lab.qemuPid(target), 'QEMU running after Power on', 30_000);
      started.push(pid);
      await expect(detail.root().locator('.facts'), /Power\s*on/, 15_000);
      await shot(page, '7-powered-on');
      await detail.powerButton('off').click();
      await waitFor(() => !pidAlive(pid), 'QEMU gone after Power off', 30_000);
      await expect(detail.root().locator('.facts'), /Power\s*off/, 15_000);
      await page.reload();
      await shell.waitLive();
      await expect(new NodeDetailPanel(page, target.identity.mac).stage('DHCP'), /done|in progress/, 15_000);
      await shot(page, '8-after-power');
    });

    assert.deepEqual(errors, [], 'no console errors (CSP violations, exceptions)');
    await ctx.close();
  } finally {
    started.push(...lab.livePids());
    await browser.close();
    await lab.down();
  }
  const left = started.filter(pidAlive);
  assert.deepEqual(left, [], `processes left behind: ${left.join(', ')}`);
});
