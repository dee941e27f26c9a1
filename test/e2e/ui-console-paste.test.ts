// A paste larger than the 64 KiB the daemon lets wait for the BMC reaches the node whole from the UI's console:
// renderer/api/console-socket.ts sends at most 32 KiB, then `drain`, and waits for `drained` before the next part,
// as `rackseed console` paces piped stdin (test/interop/api-console.test.ts has the CLI's case). All on 127.0.0.1:
// a real OpenIPMI ipmi_sim BMC (high port) whose SOL serial line this test plays (test/helpers/telnet-serial.ts,
// echo off), `rackseed serve` (API only) seeded with the node matched to that BMC and the BMC credentials, and
// Chromium driving the real UI: open the node's console, paste 160 KiB into the xterm.js terminal (a clipboard
// `paste` event, as the browser fires on Ctrl+V), and the serial line receives it byte for byte, in order, with no
// "input dropped" note; the UI shows how much is left while it sends. Before the pacing the daemon refused the
// whole paste (`input-dropped`) and nothing arrived. Skipped without ipmi_sim (scripts/setup.sh test).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freePort, startDaemon, type RunningDaemon } from '../helpers/ui/daemon.ts';
import { collectPageErrors, ensureRendererBuilt, launchChromium, screenshot } from '../helpers/ui/browser.ts';
import { AppShell, NodeDetailPanel } from '../helpers/ui/pages.ts';
import { expect, waitFor } from '../helpers/ui/expect.ts';
import { addNode, withCore } from '../helpers/ui/seed.ts';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { FakeSerial } from '../helpers/telnet-serial.ts';

const BMC_USER = 'admin';
const BMC_PASSWORD = 'bmc-Paste-ui-7';
const NODE = { mac: '52:54:00:5a:57:01', serial: 'SN-PASTE-UI-1' };
const ready = existsSync('/usr/bin/ipmi_sim');

let daemon: RunningDaemon;
let bmc: IpmiSim;
let serial: FakeSerial;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let errors: string[];

before(async () => {
  if (!ready) return;
  ensureRendererBuilt();
  const bmcPort = await freePort();
  const serialPort = await freePort();
  serial = new FakeSerial();
  await serial.listen(serialPort);
  bmc = await startIpmiSim({ address: '127.0.0.1', port: bmcPort, user: BMC_USER, password: BMC_PASSWORD, guid: '5a570001111122223333444455556601', sol: `telnet:127.0.0.1:${serialPort}` });
  await waitFor(async () => serial.sock !== null, 'ipmi_sim connected its SOL serial line', 30_000, 100);
  daemon = await startDaemon({
    prepare: (dir) => withCore(dir, (core) => {
      core.config.setBmcCredentials({ user: BMC_USER, password: BMC_PASSWORD });
      addNode(core, { ...NODE, bmc: `127.0.0.1:${bmcPort}` });
    }),
  });
  browser = await launchChromium();
  ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await ctx.newPage();
  errors = collectPageErrors(page);
  await page.goto(daemon.loginUrl);
  await new AppShell(page).waitLive();
}, { timeout: 300_000 });

after(async () => {
  await ctx?.close();
  await browser?.close();
  await daemon?.stop();
  await bmc?.stop();
  serial?.close();
});

test('UI console: a 160 KiB paste reaches the serial line whole, sent in parts the BMC takes (drain/drained)', {
  skip: ready ? false : 'needs ipmi_sim (scripts/setup.sh test)', timeout: 400_000,
}, async (t) => {
  const t0 = Date.now();
  await page.goto(`${daemon.baseUrl}/#/fleet`);
  await page.getByText(NODE.mac).first().click();
  const detail = new NodeDetailPanel(page, NODE.mac);
  const section = detail.root().getByRole('region', { name: 'Console' });
  await section.getByRole('button', { name: 'Open console' }).click();
  await expect(section.getByRole('status', { name: 'Console writer' }), /BMC 127\.0\.0\.1:/, 60_000);

  // 160 KiB of numbered lines ending in CR (what xterm.js sends for a pasted line break), printable ASCII only
  const lines: string[] = [];
  for (let i = 0; lines.join('').length < 160 * 1024; i++) lines.push(`paste ${String(i).padStart(6, '0')} ${'y'.repeat(60)}\r`);
  const text = lines.join('');
  serial.echo = false;
  serial.received = Buffer.alloc(0);
  await page.evaluate((s) => {
    const ta = document.querySelector('.console-host textarea') as HTMLTextAreaElement | null;
    if (!ta) throw new Error('no xterm.js textarea in the console window');
    ta.focus();
    const dt = new DataTransfer();
    dt.setData('text/plain', s);
    ta.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, text);
  // while the BMC takes it (ipmi_sim: a small buffer per SOL packet), the UI says how much is left
  await expect(section.getByRole('status', { name: 'Console sending' }), /KiB left/, 30_000);
  await screenshot(page, 'console-paste-sending');
  let last = -1;
  let stalledSince = Date.now();
  let problem: string | null = null;
  await waitFor(async () => {
    const n = serial.received.length;
    if (n !== last) { last = n; stalledSince = Date.now(); }
    const note = await section.getByRole('status', { name: 'Console note' }).innerText().catch(() => '');
    if (/dropped|refused|not open/i.test(note)) problem = `the daemon refused part of the paste: ${note}`;
    else if (Date.now() - stalledSince > 60_000) problem = `the serial line got nothing new for 60 s at ${n} of ${text.length} bytes`;
    return problem !== null || n >= text.length;
  }, 'the whole paste on the serial line', 300_000, 250);
  assert.equal(problem, null);
  t.diagnostic(`${text.length} bytes on the serial line in ${Math.round((Date.now() - t0) / 1000)} s`);
  assert.equal(serial.received.length, text.length);
  assert.ok(serial.received.equals(Buffer.from(text)), 'the paste arrived in order, byte for byte');
  await waitFor(async () => (await section.getByRole('status', { name: 'Console sending' }).count()) === 0, 'the sending note gone once everything was sent', 30_000);
  await section.getByRole('button', { name: 'Close console' }).click();
  assert.deepEqual(errors, [], 'no page errors');
});
