// Issue 18 acceptance, Serial-over-LAN, in the virtual rack (lab/): one SeaBIOS node whose QEMU serves ttyS0 as a
// telnet server its ipmi_sim BMC connects to (`sol "telnet:…"`). The node PXE-boots the discovery ramdisk (powered on
// through its BMC by the test, not by RackSeed, so it stays in the ramdisk with its root shell on ttyS0). Chromium
// drives the real UI through the lab's forwarder (Bearer token):
//   1. while `ipmitool sol activate` holds SOL (in a pty), "Open console" is refused with the holder as the BMC names it;
//   2. ipmitool leaves (~.), the console opens: a command typed into the xterm.js terminal reaches the ramdisk's shell
//      and its output comes back; meanwhile `ipmitool sol activate` on the same BMC is refused with
//      "SOL payload already active on another session";
//   3. the daemon is stopped and started again on the same data dir: the console log still holds the output
//      (GET /api/v1/nodes/:id/console/log and the UI's "Console, last lines" under the boot timeline).
// A PXE boot that times out is retried once through the BMC. Screenshots: test-results/ui/console-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { NET, planNodes } from '../../lab/config.ts';
import { Lab, type RackNode } from '../../lab/rack.ts';
import { REPO_ROOT, startDaemon } from '../../lab/appliance.ts';
import { pidAlive, sleep } from '../../lab/processes.ts';
import { collectPageErrors, launchChromium, screenshot } from '../helpers/ui/browser.ts';
import { NodeDetailPanel } from '../helpers/ui/pages.ts';
import { expect, waitFor } from '../helpers/ui/expect.ts';
import type { BmcInfo } from '../../shared/api.ts';
import type { NodeSummary } from '../../shared/node.ts';
import type { ConsoleLogTail } from '../../shared/console.ts';

const isRoot = process.getuid?.() === 0;
const shot = (page: Page, name: string) => screenshot(page, `console-${name}`);

/** iPXE binaries and the discovery ramdisk (rebuilt when its inputs changed: the shell on ttyS0 is in its /init). */
function ensureBuilt(): void {
  if (!existsSync(join(REPO_ROOT, '.cache', 'resources', 'ipxe', 'manifest.json'))) {
    assert.equal(spawnSync('bash', ['scripts/build.sh'], { cwd: REPO_ROOT, stdio: 'inherit' }).status, 0, 'scripts/build.sh');
  }
  assert.equal(spawnSync(process.execPath, ['--import', 'tsx', 'agent/build/cli.ts'], { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, TSX_DISABLE_CACHE: '1' } }).status, 0, 'ramdisk build');
}

/** `ipmitool sol activate` in a pty (util-linux script) inside the appliance namespace, holding the BMC's SOL. */
function ipmitoolSolHolder(lab: Lab, rn: RackNode): { child: ChildProcess; out: () => string } {
  const cmd = `ipmitool -I lanplus -C 3 -H ${rn.bmcAddress} -U ${lab.bmcUser} -P ${lab.bmcPassword} sol activate`;
  const child = spawn('ip', ['netns', 'exec', lab.names.appNs, 'script', '-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  return { child, out: () => out };
}

test('SOL console: typed in the UI reaches the ramdisk shell and back, ipmitool refused meanwhile (and named when it holds SOL), log kept across a daemon restart', {
  skip: isRoot ? false : 'needs root (namespaces, QEMU taps)', timeout: 600_000,
}, async (t) => {
  const t0 = Date.now();
  const lap = (what: string) => t.diagnostic(`${what}: ${Math.round((Date.now() - t0) / 1000)} s`);
  ensureBuilt();
  const lab = await Lab.up({ nodes: planNodes(1, 'bios'), daemon: { mode: 'authoritative' }, forwardPort: 0, log: (l) => t.diagnostic(l) });
  const extraPids: number[] = [];
  let holder: ReturnType<typeof ipmitoolSolHolder> | null = null;
  const browser = await launchChromium();
  try {
    lap('lab up');
    const rn = lab.nodes[0]!;
    const api = () => lab.api;
    await api().put('/api/v1/bmc/credentials', { user: lab.bmcUser, password: lab.bmcPassword });
    await api().post('/api/v1/bmc/sweep', { cidr: NET.bmcNetwork });
    await waitFor(async () => (await api().get<BmcInfo[]>('/api/v1/bmcs')).some((b) => b.address === rn.bmcAddress && b.guid), 'the sweep found the BMC', 90_000, 1000);

    // powered on through its BMC by the test (not a RackSeed job): after its inventory the node stays in the ramdisk
    const inRamdisk = async (ms: number): Promise<NodeSummary | null> => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const n = (await api().get<NodeSummary[]>('/api/v1/nodes')).find((x) => x.mac === rn.identity.mac);
        if (n?.bmc && n.state === 'available' && lab.console(rn).includes('root shell on ttyS0')) return n;
        await sleep(2000);
      }
      return null;
    };
    lab.pxeBoot(rn);
    let node = await inRamdisk(240_000);
    if (!node) {
      t.diagnostic(`no inventory within 240 s; PXE boot again through the BMC. Console tail: ${JSON.stringify(lab.console(rn).slice(-600))}`);
      lab.ipmitool(rn, 'chassis', 'power', 'off');
      await sleep(2000);
      lab.pxeBoot(rn);
      node = await inRamdisk(240_000);
    }
    assert.ok(node, `the node never reached the ramdisk with its BMC matched; console: ${JSON.stringify(lab.console(rn).slice(-800))}`);
    assert.equal(node.bmc!.address, rn.bmcAddress);
    lap('node in the discovery ramdisk');

    const ctx = await browser.newContext({ viewport: { width: 1440, height: 1000 }, extraHTTPHeaders: { authorization: `Bearer ${lab.token}` } });
    const page = await ctx.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${lab.url}/#/fleet/${encodeURIComponent(node.id)}`);
    const detail = new NodeDetailPanel(page, rn.identity.mac);
    const section = detail.root().getByRole('region', { name: 'Console' });
    const rows = section.locator('.xterm-rows');
    await expect(section, /Serial-over-LAN/, 30_000);

    await t.test('ipmitool holds SOL: the UI is refused and names the holder', async () => {
      const h = ipmitoolSolHolder(lab, rn);
      holder = h;
      await waitFor(() => /SOL Session operational/.test(h.out()), 'ipmitool holding SOL', 30_000);
      await section.getByRole('button', { name: 'Open console' }).click();
      const refused = section.getByRole('alert', { name: 'Console refused' });
      await expect(refused, /held by another session[\s\S]*already active on this BMC, held by BMC session 0x[0-9a-f]{8} \(user "admin"/, 30_000);
      await shot(page, '1-refused-ipmitool-holds');
      // ipmitool leaves the way its user would (~. after a line end): SOL is deactivated on the BMC
      h.child.stdin!.write('\r~.');
      await waitFor(() => h.child.exitCode !== null || h.child.signalCode !== null, 'ipmitool left', 20_000);
      holder = null;
    });

    const marker = `rs${randomBytes(3).toString('hex')}`;
    await t.test('the console opens; a command typed in the terminal reaches the ramdisk shell and its output comes back; ipmitool is refused meanwhile', async () => {
      await section.getByRole('button', { name: 'Open console again' }).click();
      await expect(section.getByRole('status', { name: 'Console writer' }), new RegExp(`BMC ${rn.bmcAddress.replace(/\./g, '\\.')}`), 30_000);
      await section.getByLabel('Console terminal').click();
      await page.keyboard.press('Enter');
      await expect(rows, /rackseed-ramdisk#/, 20_000);
      // the shell computes the number: only its output, never the echoed command line, holds "-42"
      await page.keyboard.type(`echo ${marker}-$((6*7)) && cat /proc/cmdline | tr ' ' '\\n' | grep -c console=`, { delay: 40 });
      await page.keyboard.press('Enter');
      await expect(rows, (text) => text.includes(`${marker}-42`) && /\n2\s*\n/.test(`${text}\n`), 30_000);
      await expect(section.getByRole('status', { name: 'Console writer' }), /You are typing/);
      // all 80 columns in view (the terminal floats over the page: the detail panel is narrower than 80 columns)
      const fit = await page.evaluate(() => {
        const w = document.querySelector('.console-window')!;
        const scr = document.querySelector('.xterm-screen')!.getBoundingClientRect();
        return { scrollLeft: w.scrollLeft, left: scr.left, right: scr.right, viewport: window.innerWidth };
      });
      assert.ok(fit.scrollLeft === 0 && fit.left >= 0 && fit.right <= fit.viewport, `terminal not fully in view: ${JSON.stringify(fit)}`);
      await shot(page, '2-typed-output');

      let refusal = '';
      try { lab.ipmitool(rn, 'sol', 'activate'); } catch (err) { refusal = (err as Error).message; }
      assert.match(refusal, /SOL payload already active on another session/, 'ipmitool sol activate must be refused while RackSeed holds SOL');
      t.diagnostic(`ipmitool: ${refusal.split(': ').slice(-1)[0]}`);
    });
    lap('typed through the UI');

    await t.test('the console log survives a daemon restart (API and the UI boot timeline)', async () => {
      const old = lab.daemon!;
      process.kill(old.pid, 'SIGTERM'); // a clean stop deactivates SOL on the BMC
      await waitFor(() => !pidAlive(old.pid), 'the daemon stopped', 30_000);
      process.kill(old.relayPid, 'SIGTERM');
      await expect(section, /The console ended|dropped/, 20_000);
      const again = await startDaemon(lab.names, { mode: 'authoritative', token: lab.token });
      extraPids.push(again.pid, again.relayPid);
      lab.daemon = again;
      const log = await api().get<ConsoleLogTail>(`/api/v1/nodes/${encodeURIComponent(node.id)}/console/log?lines=400`);
      assert.ok(log.lines.some((l) => l.includes(`${marker}-42`)), `the log after the restart: ${log.lines.slice(-10).join(' | ')}`);
      assert.deepEqual(log.viewers, [], 'nobody holds the console after the restart');
      await page.reload();
      const tail = detail.root().getByLabel('Console last lines');
      await page.getByText('Console, last lines').click();
      await expect(tail, new RegExp(`${marker}-42`), 30_000);
      await shot(page, '3-log-after-restart');
      // SOL is free again: the UI opens the console anew, the earlier output comes first
      await section.getByRole('button', { name: 'Open console' }).click();
      await expect(rows, new RegExp(`${marker}-42`), 30_000);
      await section.getByRole('button', { name: 'Close console' }).click();
    });
    lap('restart');

    const csp = errors.filter((e) => /Content Security Policy|Refused to/i.test(e));
    assert.deepEqual(csp, [], 'no CSP violations (xterm.js styles go through constructed stylesheets)');
    await ctx.close();
  } finally {
    const h = holder as ReturnType<typeof ipmitoolSolHolder> | null;
    if (h && h.child.exitCode === null) { try { h.child.kill('SIGKILL'); } catch { /* gone */ } }
    for (const p of extraPids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await browser.close();
    await lab.down();
  }
  lap('done');
});
