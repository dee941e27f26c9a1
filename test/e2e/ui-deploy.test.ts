// The Deploy step (issue 15 item 7) in Debian's Chromium against the daemon's real API server and renderer bundle, run
// in-process so its BMCs can be the deploy tests' fake ones (test/helpers/deploy-fakes.ts: power and boot device per
// machine, a sparse file per disk, a fake OS that reads its config drive and phones home). The deploy agent is this
// test: when a fake machine powers on into PXE it asks the agent API (the daemon's own agent routes, on a loopback
// listener, with the node's bearer token) for commands, writes the image into the disk file in paced chunks and
// POSTs progress (bytes) as the real agent does, then the result with the SHA-256, the read-back, the config drive.
// Nothing leaves loopback. Shown in the browser: the image upload's progress bar (XHR upload progress, slowed with
// Chromium's network throttling so it can be watched) and the import's end; every available node ticked by default;
// host name pattern preview; SSH key and user-data checks (a YAML error names line and column and blocks the deploy);
// one progress bar per node moving through the write with MB/s, the stages, both nodes active; the node detail's
// deploy stages; the deploy settings (nodes writing at once, the read-back check) changed in the daemon; release from
// the fleet view; Deploy… from the fleet with the selection preset. Screenshots:
// test-results/ui/deploy-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, closeSync, openSync, readSync, writeSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { REPO } from '../helpers/ui/daemon.ts';
import { collectPageErrors, ensureRendererBuilt, launchChromium, screenshot } from '../helpers/ui/browser.ts';
import { AppShell, FleetActionsBar, NodeDetailPanel } from '../helpers/ui/pages.ts';
import { expect, waitFor } from '../helpers/ui/expect.ts';
import { FakeBmcs, addNode, deployCore, MiB, type FakeAgent, type FakeMachine } from '../helpers/deploy-fakes.ts';
import { biosMbrImage } from '../helpers/images.ts';
import { ApiAuth } from '../../daemon/api/auth.ts';
import { buildApiServer } from '../../daemon/api/server.ts';
import { ServiceManager, defaultIpxeRoot } from '../../daemon/services.ts';
import { hostsForListen } from '../../daemon/api/access.ts';
import { registerAgentRoutes } from '../../daemon/agent-routes.ts';
import type { Core } from '../../core/core.ts';
import type { DeployAgentCommand } from '../../shared/deploy.ts';
import type { NodeSummary } from '../../shared/node.ts';

const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVpLWRlcGxveS10ZXN0LWtleS0wMDAwMDAwMDAwMDA= ui@rackseed';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** pace of the fake agent: chunks per image and the pause after each (the real agent reports every ~2 s) */
const CHUNKS = 16;
const PACE_MS = 300;

let dir: string;
let core: Core;
let api: FastifyInstance;
let agentApp: FastifyInstance;
let agentUrl: string;
let url: string;
let auth: ApiAuth;
let bmcs: PacedBmcs;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let errors: string[];
let imagePath: string;
const nodes: NodeSummary[] = [];
const tokens = new Map<string, string>();

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try { const b = Buffer.alloc(length); const n = readSync(fd, b, 0, length, offset); return b.subarray(0, n); } finally { closeSync(fd); }
}
function writeAt(path: string, offset: number, data: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try { writeSync(fd, data, 0, data.length, offset); } finally { closeSync(fd); }
}

/** The deploy agent over HTTP: what agent/ramdisk/deploy.sh does, against a disk file, at a pace a person can watch. */
class PacedAgent {
  private running = true;
  constructor(private readonly b: PacedBmcs, private readonly m: FakeMachine) {}
  stop(): void { this.running = false; }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(agentUrl + path, {
      method, headers: { authorization: `Bearer ${tokens.get(this.m.nodeId)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T;
  }

  async loop(): Promise<void> {
    while (this.running) {
      try {
        const cmd = await this.call<DeployAgentCommand | { action: 'wait' | 'poweroff' | 'reboot' }>('GET', '/agent/v1/next');
        switch (cmd.action) {
          case 'poweroff': this.b.off(this.m); return;
          case 'deploy': await this.deploy(cmd); break;
          case 'verify': await this.verify(cmd.attempt, cmd.size); break;
          case 'configdrive': await this.configDrive(cmd.attempt); break;
          case 'clean': await this.clean(cmd.attempt); break;
          default: await sleep(100);
        }
      } catch { await sleep(200); }
    }
  }

  private async deploy(cmd: Extract<DeployAgentCommand, { action: 'deploy' }>): Promise<void> {
    const img = core.images.readyBySha256(cmd.sha256)!;
    const data = readAt(core.images.rawPath(img), 0, cmd.size);
    const step = Math.ceil(data.length / CHUNKS / 512) * 512;
    for (let off = 0; off < data.length && this.running; off += step) {
      writeAt(this.m.disk, off, data.subarray(off, off + step));
      await this.call('POST', '/agent/v1/deploy/progress', { attempt: cmd.attempt, stage: 'writing', bytes: Math.min(data.length, off + step) });
      await sleep(PACE_MS);
    }
    await this.call('POST', '/agent/v1/deploy/result', { attempt: cmd.attempt, phase: 'write', ok: true, bytes: data.length, sha256: sha(data), disk: 'vda' });
  }

  private async verify(attempt: number, size: number): Promise<void> {
    for (let i = 1; i <= 4 && this.running; i++) {
      await this.call('POST', '/agent/v1/deploy/progress', { attempt, stage: 'verifying', bytes: Math.round((size * i) / 4) });
      await sleep(PACE_MS);
    }
    await this.call('POST', '/agent/v1/deploy/result', { attempt, phase: 'verify', ok: true, bytes: size, sha256: sha(readAt(this.m.disk, 0, size)), disk: 'vda' });
  }

  private async configDrive(attempt: number): Promise<void> {
    const plan = await this.call<string>('GET', '/agent/v1/deploy/config-drive');
    let i = 0;
    for (const line of plan.trim().split('\n')) {
      const [off, len, digest] = line.split(' ');
      const res = await fetch(`${agentUrl}/agent/v1/deploy/config-drive/${i++}`, { headers: { authorization: `Bearer ${tokens.get(this.m.nodeId)}` } });
      const piece = Buffer.from(await res.arrayBuffer());
      assert.equal(piece.length, Number(len));
      assert.equal(sha(piece), digest);
      writeAt(this.m.disk, Number(off), piece);
    }
    await this.call('POST', '/agent/v1/deploy/result', { attempt, phase: 'configdrive', ok: true, disk: 'vda' });
  }

  private async clean(attempt: number): Promise<void> {
    const size = statSync(this.m.disk).size;
    await sleep(PACE_MS * 3);
    writeAt(this.m.disk, 0, Buffer.alloc(MiB));
    writeAt(this.m.disk, size - MiB, Buffer.alloc(MiB));
    await this.call('POST', '/agent/v1/deploy/result', { attempt, phase: 'clean', ok: true, detail: `vda (${size} bytes): 2 regions zeroed` });
  }
}

/** The deploy tests' fake BMCs, with this test's HTTP agent booting when a machine powers on into PXE. */
class PacedBmcs extends FakeBmcs {
  override on(m: FakeMachine): void {
    if (m.bootdev !== 'pxe' || m.ignoresPxe) { super.on(m); return; }
    m.power = 'on';
    if (!m.persistent) m.bootdev = 'default';
    m.boots.push('agent');
    // as FakeBmcs: the firmware's PXE request, then the agent's own DHCP (not a PXE client)
    for (const pxe of [true, false]) core.bus.record({ source: 'dhcp', kind: 'ack', mac: m.mac, nodeId: m.nodeId, message: 'DHCPACK', detail: pxe ? { pxe: true } : {} });
    const a = new PacedAgent(this, m);
    m.agent = a as unknown as FakeAgent;
    void a.loop();
  }
}

before(async () => {
  ensureRendererBuilt();
  dir = mkdtempSync(join(tmpdir(), 'rs-ui-deploy-'));
  bmcs = new PacedBmcs();
  core = deployCore(join(dir, 'data'), bmcs, { agentTimeoutMs: 30_000, stallMs: 30_000, powerOffTimeoutMs: 5_000, pollMs: 50, bmcStepTimeoutMs: 5_000 });
  for (const [i, serial] of ['UI-D1', 'UI-D2'].entries()) {
    const n = addNode(core, bmcs, { mac: `52:54:00:d0:00:0${i + 1}`, serial, address: `10.77.1.${i + 1}`, disk: join(dir, `disk${i + 1}.img`), diskBytes: 128 * MiB });
    // a deploy token bound to loopback, where this test's agent sends from (core/agent/tokens.ts)
    const token = core.intake.tokens.issue(n.id, 'deploy', '127.0.0.1');
    tokens.set(n.id, token);
    nodes.push(n);
  }
  nodes.push(core.lifecycle.ensureNode('52:54:00:d0:00:03', 'dhcp').node); // a third node, discovered: nothing to deploy to yet
  imagePath = join(dir, 'tiny-bios.img');
  biosMbrImage(imagePath);

  agentApp = Fastify({ logger: false });
  await registerAgentRoutes(agentApp, core);
  await agentApp.listen({ host: '127.0.0.1', port: 0 });
  agentUrl = `http://127.0.0.1:${(agentApp.server.address() as { port: number }).port}`;

  const logger = pino({ level: 'silent' });
  auth = new ApiAuth('ui-deploy-test-token-0123456789abcdef');
  const services = new ServiceManager(core, logger, { httpPort: 8080, safeMode: false, ipxeRoot: defaultIpxeRoot(REPO) });
  api = await buildApiServer({
    core, auth, services, logger, version: 'test', uiDir: join(REPO, 'dist', 'renderer'), allowedHosts: () => hostsForListen('127.0.0.1', []),
    bmc: {
      power: (id, action) => core.bmcOps.power(id, action), bootdev: (id, req) => core.bmcOps.bootdev(id, req),
      inspect: (id) => core.runner.inspectNode(id), discovery: (b) => core.runner.discover(b), sweep: (cidr) => core.sweeps.start(cidr),
    },
  });
  await api.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;

  browser = await launchChromium();
  ctx = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  page = await ctx.newPage();
  errors = collectPageErrors(page);
  page.on('dialog', (d) => void d.accept());
  await page.goto(`${url}/login?code=${auth.issueLoginCode()}`);
  await new AppShell(page).waitLive();
}, { timeout: 240_000 });

after(async () => {
  bmcs?.stopAll();
  for (const m of bmcs?.machines.values() ?? []) (m.agent as unknown as PacedAgent | null)?.stop();
  await ctx?.close();
  await browser?.close();
  await api?.close();
  await agentApp?.close();
  core?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Sample a progress bar until `done()`; returns the distinct aria-valuenow values seen, in order. */
async function watchBar(bar: ReturnType<Page['getByRole']>, done: () => Promise<boolean>, what: string, ms: number, onSample?: (v: number) => Promise<void>): Promise<number[]> {
  const seen: number[] = [];
  await waitFor(async () => {
    const v = await bar.getAttribute('aria-valuenow', { timeout: 500 }).catch(() => null);
    if (v !== null && seen.at(-1) !== Number(v)) { seen.push(Number(v)); await onSample?.(Number(v)); }
    return done();
  }, what, ms, 50);
  return seen;
}

test('deploy step: image upload with a moving progress bar, then the import ends ready and is chosen', { timeout: 120_000 }, async () => {
  await page.goto(`${url}/#/setup/deploy`);
  const step = page.getByRole('heading', { name: '4 · Deploy' });
  await expect(step, /Deploy/);
  // slow uploads down to ~0.5 MiB/s so the 4 MiB image takes seconds (Chromium's own network throttling)
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 512 * 1024 });
  const form = page.getByRole('form', { name: 'Import image' });
  await form.getByLabel('Image file').setInputFiles(imagePath);
  assert.equal(await form.getByLabel('Image name').inputValue(), 'tiny-bios', 'the name comes from the file name');
  await form.getByRole('button', { name: 'Upload' }).click();
  const bar = page.getByRole('progressbar', { name: 'Upload of tiny-bios' });
  let shot = false;
  const seen = await watchBar(bar, async () => (await page.getByRole('radio', { name: 'Use image tiny-bios' }).isChecked().catch(() => false)), 'the image is ready and chosen', 90_000,
    async (v) => { if (!shot && v > 0 && v < 4 * MiB) { shot = true; await screenshot(page, 'deploy-1-upload'); } });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const mid = seen.filter((v) => v > 0 && v < 4 * MiB);
  assert.ok(mid.length >= 2, `the upload bar moved through several values (${seen.join(', ')})`);
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b), 'the bar never goes back');
  // the sampler may stop between its last sample and the check that the image is chosen: read the bar once more
  assert.equal(Number(await bar.getAttribute('aria-valuenow')), 4 * MiB, 'the bar ends full');
  const row = page.getByRole('table', { name: 'Images' }).getByRole('row').filter({ hasText: 'tiny-bios' });
  assert.match(await row.innerText(), /ready\s+raw\s+4 MiB\s+BIOS/);
});

test('deploy step: nodes ticked by default, host name preview, SSH key and user-data checks block a bad request', async () => {
  const table = page.getByRole('table', { name: 'Nodes to deploy' });
  for (const n of nodes.slice(0, 2)) assert.equal(await page.getByRole('checkbox', { name: `Deploy to ${n.mac}` }).isChecked(), true, `${n.mac} ticked`);
  assert.equal(await page.getByRole('checkbox', { name: `Deploy to ${nodes[2]!.mac}` }).count(), 0, 'a node without an inventory is not offered');
  await expect(page.getByRole('region', { name: 'Nodes to deploy' }), /1 node is in other states/);
  await page.getByLabel('Host name pattern').fill('rack7-{serial}-{index:02}');
  await expect(table, /rack7-ui-d1-01[\s\S]*rack7-ui-d2-02/);
  await page.getByLabel('Host name pattern').fill('rack7');
  await expect(page.getByRole('region', { name: 'Configuration' }).getByRole('alert'), /would both be rack7: add \{serial\}, \{mac\} or \{index\}/);
  await page.getByLabel('Host name pattern').fill('rack7-{serial}');

  const keys = page.getByLabel('SSH public keys (one per line)');
  await keys.fill('-----BEGIN OPENSSH PRIVATE KEY-----');
  await expect(page.getByRole('alert', { name: 'SSH keys check' }), /line 1 is not an OpenSSH public key .* PRIVATE key: never paste it here/);
  await keys.fill(`# the field engineer\n${SSH_KEY}\n`);
  await expect(page.getByRole('status', { name: 'SSH keys check' }), /^1 key$/);

  const ud = page.getByLabel('User data (cloud-init)');
  await ud.fill('#cloud-config\nruncmd:\n  - [echo, hi\nhostname: x\n');
  const err = await expect(page.getByRole('alert', { name: 'User data check' }), /not valid YAML/);
  assert.match(err, /user data is not valid YAML: line \d+, column \d+/);
  const deploy = page.getByRole('button', { name: /^Deploy \d+ nodes?$/ });
  assert.equal(await deploy.isDisabled(), true, 'invalid user data blocks the deploy');
  await expect(page.getByRole('form', { name: 'Deploy' }), /To deploy: user data is not valid YAML/);
  await screenshot(page, 'deploy-2-checks');
  await ud.fill('#cloud-config\nruncmd:\n  - [sh, -c, "echo deployed-by-rackseed > /dev/ttyS0"]\n');
  await expect(page.getByRole('status', { name: 'User data check' }), /#cloud-config: valid YAML/);
  assert.equal(await deploy.isDisabled(), false);
  await expect(deploy, /^Deploy 2 nodes$/);

  // the daemon's deploy settings, as `rackseed deploy-settings` and PUT /api/v1/deploy/settings change them
  await page.getByText('Disk writes: nodes at once, read-back check').click();
  const check = page.getByLabel('Read-back check');
  assert.equal(await check.inputValue(), 'fletcher4', 'the daemon\'s default, as loaded');
  await check.selectOption('sha256');
  await waitFor(() => core.deploys.settings().readBackCheck === 'sha256', 'the daemon to take the SHA-256 read-back');
  const writers = page.getByLabel('Nodes writing at once');
  await writers.fill('0');
  await expect(page.getByRole('group', { name: 'Deploy settings' }).getByRole('alert'), /a whole number from 1 to 1000/);
  await writers.fill('3');
  await writers.blur();
  await waitFor(() => core.deploys.settings().maxWriters === 3, 'the daemon to take 3 writers');
  await screenshot(page, 'deploy-2b-settings');
  await check.selectOption('fletcher4');
  await waitFor(() => core.deploys.settings().readBackCheck === 'fletcher4', 'the daemon back on Fletcher-4');
});

test('deploy: one progress bar per node moves through the write with MB/s and stages; both nodes end active', { timeout: 180_000 }, async () => {
  await page.getByRole('button', { name: 'Deploy 2 nodes' }).click();
  const [a, b] = nodes;
  const barA = page.getByRole('progressbar', { name: `Deploy progress of ${a!.mac}` });
  const barB = page.getByRole('progressbar', { name: `Deploy progress of ${b!.mac}` });
  const rates = new Set<string>();
  let shot = false;
  const seenB: number[] = [];
  const seenA = await watchBar(barA, async () => {
    const vb = await barB.getAttribute('aria-valuenow', { timeout: 500 }).catch(() => null);
    if (vb !== null && seenB.at(-1) !== Number(vb)) seenB.push(Number(vb));
    const rate = await page.getByLabel(`Rate of ${a!.mac}`).innerText({ timeout: 500 }).catch(() => '');
    if (/MB\/s/.test(rate)) rates.add(rate);
    const text = await page.getByRole('table', { name: 'Deploys' }).innerText({ timeout: 500 }).catch(() => '');
    return (text.match(/\bactive\b/g) ?? []).length === 2;
  }, 'both nodes active', 150_000, async (v) => {
    if (!shot && v > 150 && v < 600) { shot = true; await screenshot(page, 'deploy-3-progress'); }
  });
  const writing = (vals: number[]) => vals.filter((v) => v > 0 && v < 1000);
  assert.ok(new Set(writing(seenA)).size >= 4, `node A's bar moved (${seenA.join(', ')})`);
  assert.ok(new Set(writing(seenB)).size >= 4, `node B's bar moved (${seenB.join(', ')})`);
  assert.ok(rates.size >= 1, 'a write rate was shown');
  const rowA = page.getByRole('row', { name: `Deploy of ${a!.mac}` });
  assert.match(await rowA.innerText(), /rack7-ui-d1/);
  assert.equal(await rowA.getByRole('listitem', { name: 'writing the image: done' }).count(), 1);
  assert.equal(await rowA.getByRole('listitem', { name: 'booting the OS from disk: done' }).count(), 1);
  await expect(page.getByRole('region', { name: 'Deploy progress' }).getByRole('status'), /2 of 2 done/);
  await screenshot(page, 'deploy-4-done');
  for (const n of nodes.slice(0, 2)) assert.equal(core.nodes.get(n.id)!.state, 'active');
});

test('node detail: the deploy stages with their durations', async () => {
  await page.goto(`${url}/#/fleet/${encodeURIComponent(nodes[0]!.id)}`);
  const detail = new NodeDetailPanel(page, nodes[0]!.mac);
  const stages = detail.root().getByRole('list', { name: 'Deploy stages' });
  await expect(stages, /writing the image/);
  for (const s of ['booting the agent', 'writing the image', 'verifying (read back)', 'writing the config drive', 'powering off', 'booting the OS from disk']) {
    const label = await stages.getByRole('listitem', { name: new RegExp(`^${s.replace(/[()]/g, '\\$&')}: done`) }).getAttribute('aria-label');
    assert.ok(label, `${s} done`);
  }
  const writing = await stages.getByRole('listitem', { name: /^writing the image: done/ }).getAttribute('aria-label');
  assert.match(writing!, /done, \d+(\.\d)? s/, 'the write has a duration');
  await expect(detail.root().getByRole('region', { name: 'Deploy' }), /tiny-bios \(4 MiB\)[\s\S]*rack7-ui-d1/);
  await screenshot(page, 'deploy-5-node-detail');
  await detail.close().click();
});

test('fleet view: release a node (cleaning → available); Deploy… opens the step with the selection ticked', { timeout: 120_000 }, async () => {
  const bar = new FleetActionsBar(page);
  const b = nodes[1]!;
  await bar.select(b.mac);
  await bar.root().getByRole('button', { name: 'Release…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Release' });
  await expect(dlg, /wipes the partition tables/);
  assert.match(await dlg.innerText(), new RegExp(`${b.mac} — active`));
  await dlg.getByRole('button', { name: 'Release 1 node' }).click();
  await expect(bar.row(b.mac), /cleaning|available/, 20_000);
  await expect(bar.row(b.mac), /available/, 60_000);
  assert.equal(core.nodes.get(b.id)!.state, 'available');

  await bar.select(nodes[0]!.mac);
  await bar.root().getByRole('button', { name: 'Deploy…' }).click();
  await expect(page.getByRole('heading', { name: '4 · Deploy' }), /Deploy/);
  assert.equal(await page.getByRole('checkbox', { name: `Deploy to ${nodes[0]!.mac}` }).isChecked(), true, 'the active node, to redeploy');
  assert.equal(await page.getByRole('checkbox', { name: `Deploy to ${b.mac}` }).isChecked(), false, 'the other one is not ticked');
  await expect(page.getByRole('button', { name: /^Deploy \d+ nodes?$/ }), /^Deploy 1 node$/);
  await screenshot(page, 'deploy-6-redeploy-preset');
  assert.deepEqual(errors, [], 'no console errors (CSP violations, exceptions)');
});
