// Seed benchmark (issue 17): seed → "the laptop can be unplugged" for the 3-node lab (node 1 the control node:
// 1536 MiB and a second NIC on br-bmc, lab/seed.ts seedNodeSpecs), against the sum of its parts measured alone in the
// same run. `npm run bench -- --only seed` (root; ~25–40 min: two labs, each with a TCG Debian boot):
//   (a) lab A: Lab.up + daemon, BMC sweep + discovery until the 3 nodes are available, lab-control imported, then
//       POST /api/v1/seed with the lab's seed (lab/seed.ts seedRequest, what `npm run lab -- --seed` runs), polled to
//       its end. Total = the report's finishedAt − the seed's startedAt (the daemon's clock); each stage's
//       startedAt → finishedAt from the seed record. Lab A is torn down.
//   (b) lab B, fresh, brought up the same way; then each part alone, in the seed's order, timed by this process
//       (polling every second, as the seed's stages do):
//         deploy       POST /api/v1/nodes/NODE1/deploy with the config drive the seed would give (image lab-control,
//                      hostname rackseed-control, user_data from core/seed/control-user-data.ts with a fresh password)
//                      until the deployment is `done` (the OS booted, as deploy-control waits for)
//         Ironic start from then until the control node's Ironic answers GET / and an authenticated GET /v1/nodes
//                      (IronicClient.negotiate(), what wait-ironic does), from inside the appliance namespace
//                      (bench/lib/ironic-wait.ts, started beforehand so node's start-up is not timed)
//         hand-off     POST /api/v1/handoff of nodes 2 and 3 to that Ironic (HTTP basic) until both are done
//       Lab B is torn down. (The seed's handoff stage also PATCHes each Ironic node's ramdisk settings afterwards —
//       a few requests — and its pivot and report stages have no part alone: they count in the seed's total only.)
// Ratio = seed total ÷ (deploy + Ironic start + hand-off). Goal ≤ 1.1×. The goal missed is reported, not an error.
// Labs use unique ids (rslab-s{a,b}XXXX-…) and are always torn down (finally; SIGINT/SIGTERM too); a lab's folder
// (/tmp/rslab/ID: node disks, logs, consoles) is removed unless that lab failed.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { ramdiskPaths } from '../agent/build/manifest.ts';
import { CONTROL_IRONIC_USER, controlIronicUrl } from '../core/seed/control-config.ts';
import { seedControlUserData } from '../core/seed/control-user-data.ts';
import { CONTROL_HOSTNAME } from '../core/seed/service.ts';
import { REPO_ROOT } from '../lab/appliance.ts';
import { NET, planNodes } from '../lab/config.ts';
import { discoverNodes, sweepBmcs } from '../lab/discovery.ts';
import { ensureLabImages, type LabImage } from '../lab/images/index.ts';
import { registerLabImage } from '../lab/library.ts';
import { Lab } from '../lab/rack.ts';
import { seedNodeSpecs, seedRequest } from '../lab/seed.ts';
import { teardownInstance } from '../lab/teardown.ts';
import type { Deployment } from '../shared/deploy.ts';
import type { HandoffRecord } from '../shared/handoff.ts';
import type { NodeSummary } from '../shared/node.ts';
import type { SeedRecord, SeedStageName } from '../shared/seed.ts';
import type { BenchContext, BenchReport, SummaryRow } from './lib/bench-types.ts';

const IRONIC_WAIT = join(REPO_ROOT, 'bench', 'lib', 'ironic-wait.ts');
const POLL_MS = 1000;
const GOAL = 1.1;
/** the lab daemon's HTTP boot port (lab/appliance.ts passes none: `rackseed serve`'s default) */
const LAB_HTTP_PORT = 80;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => ms / 1000;
const fmt = (ms: number | null) => (ms === null ? '–' : `${secs(ms).toFixed(1)} s`);

export interface SeedBenchResult {
  seed: { totalMs: number; wallMs: number; stages: { name: SeedStageName; ms: number | null; detail: string | null }[]; discoveryMs: number };
  alone: { deployMs: number; deployDaemonMs: number | null; ironicMs: number; ironicMicroversion: string; handoffMs: number; discoveryMs: number };
  sumMs: number;
  ratio: number;
  load: { min: number; max: number; mean: number; samples: number };
}

/** Lab ids in use by this process, for the signal handlers. */
const live = new Set<Lab>();

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`${what}: not reached within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(POLL_MS);
  }
}

/** A seed lab (3 nodes, node 1 the control node) with its daemon, discovered, lab-control imported. */
async function bringUp(tag: 'a' | 'b', control: LabImage, say: (l: string) => void): Promise<{ lab: Lab; nodes: NodeSummary[]; discoveryMs: number }> {
  const id = `s${tag}${randomBytes(2).toString('hex')}`;
  say(`lab ${tag.toUpperCase()} (${id}): bringing up 3 nodes (bios, uefi, bios; node 1 the control node)`);
  const lab = await Lab.up({ id, nodes: seedNodeSpecs(planNodes(3, 'bios,uefi,bios')), daemon: { mode: 'authoritative' }, forwardPort: null, log: say });
  live.add(lab);
  const t0 = Date.now();
  const opts = {
    user: lab.bmcUser, password: lab.bmcPassword, cidr: NET.bmcNetwork, expectBmcs: lab.nodes.map((n) => n.bmcAddress),
    discoveryTimeoutMs: 1_800_000, progress: say,
  };
  await sweepBmcs(lab.api, opts);
  const { nodes } = await discoverNodes(lab.api, lab.nodes.length, opts);
  const discoveryMs = Date.now() - t0;
  say(`lab ${tag.toUpperCase()}: ${nodes.length} nodes available in ${fmt(discoveryMs)}`);
  await registerLabImage(control, { url: `unix:${lab.names.apiSocket}`, token: lab.token, progress: say });
  return { lab, nodes, discoveryMs };
}

/** Tear a lab down; its folder (node disks: ~2.3 GB) goes too, unless the lab failed (its logs and consoles are kept). */
async function down(lab: Lab | null, failed: boolean, say: (l: string) => void): Promise<void> {
  if (!lab) return;
  try {
    await lab.down({ removeDir: !failed });
    say(`lab ${lab.names.id}: torn down${failed ? ` (logs and consoles kept in ${lab.names.dir})` : ''}`);
  } finally { live.delete(lab); }
}

function nodeByMac(nodes: NodeSummary[], mac: string): NodeSummary {
  const n = nodes.find((x) => x.mac.toLowerCase() === mac.toLowerCase());
  if (!n) throw new Error(`no discovered node has the MAC ${mac}`);
  return n;
}

/** (a) The seed, whole. */
async function seedWhole(lab: Lab, say: (l: string) => void): Promise<SeedBenchResult['seed'] & { discoveryMs: number }> {
  const body = { ...seedRequest(lab), ironicTimeoutSec: 600 };
  const t0 = Date.now();
  let rec = await lab.api.post<SeedRecord>('/api/v1/seed', body);
  say(`seed ${rec.id} started: control node ${rec.controlNode}, ${rec.nodes.length} node(s) to hand over to ${rec.ironicUrl}`);
  let shown = '';
  rec = await until('the seed', 3_600_000, async () => {
    const r = await lab.api.get<SeedRecord | null>('/api/v1/seed');
    if (!r) throw new Error('the seed record disappeared');
    const st = r.stages.find((s) => s.name === r.stage);
    const line = st ? `${st.name}: ${st.status}${st.detail ? ` — ${st.detail}` : ''}` : '';
    if (line && line !== shown) { say(`seed: ${line}`); shown = line; }
    return r.status === 'running' ? null : r;
  });
  const wallMs = Date.now() - t0;
  if (rec.status !== 'done' || !rec.report) throw new Error(`the seed stopped: ${rec.status}${rec.error ? ` — ${rec.error}` : ''}`);
  if (!rec.report.unplugReady) throw new Error(`the seed ended but the laptop cannot be unplugged: ${JSON.stringify(rec.report.nodes)}`);
  return {
    totalMs: rec.report.finishedAt - rec.startedAt, wallMs, discoveryMs: 0,
    stages: rec.stages.map((s) => ({ name: s.name, ms: s.startedAt !== null && s.finishedAt !== null ? s.finishedAt - s.startedAt : null, detail: s.detail })),
  };
}

/** The Ironic probe inside the appliance namespace, started and ready (node loaded) before anything is timed. */
async function startIronicProbe(lab: Lab, url: string, password: string): Promise<{ child: ChildProcess; go: () => Promise<{ at: number; microversion: string }> }> {
  const child = spawn('ip', ['netns', 'exec', lab.names.appNs, process.execPath, '--import', 'tsx', IRONIC_WAIT, url, CONTROL_IRONIC_USER], {
    cwd: REPO_ROOT, env: { ...process.env, TSX_DISABLE_CACHE: '1', IRONIC_PASSWORD: password, IRONIC_WAIT_TIMEOUT_MS: '900000' }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const lines = createInterface({ input: child.stdout! });
  const next = () => new Promise<string>((resolve, reject) => {
    const onLine = (l: string) => { cleanup(); resolve(l); };
    const onExit = (code: number | null) => { cleanup(); reject(new Error(`the Ironic probe exited (${code}) before answering: ${stderr.slice(-1000)}`)); };
    const cleanup = () => { lines.off('line', onLine); child.off('exit', onExit); };
    lines.on('line', onLine);
    child.on('exit', onExit);
  });
  const ready = await Promise.race([next(), sleep(120_000).then(() => 'timeout')]);
  if (ready !== 'ready') throw new Error(`the Ironic probe did not start: ${ready} ${stderr.slice(-1000)}`);
  return {
    child,
    go: async () => {
      const answer = next();
      child.stdin!.write('go\n');
      const r = JSON.parse(await answer) as { ok: boolean; at?: number; microversion?: string; error?: string };
      if (!r.ok) throw new Error(`the control node's Ironic (alone): ${r.error}`);
      return { at: r.at!, microversion: r.microversion! };
    },
  };
}

/** (b) The parts, alone, on a fresh lab. */
async function partsAlone(lab: Lab, nodes: NodeSummary[], say: (l: string) => void): Promise<Omit<SeedBenchResult['alone'], 'discoveryMs'>> {
  const req = seedRequest(lab);
  const control = nodeByMac(nodes, req.control);
  const others = lab.nodes.slice(1).map((n) => nodeByMac(nodes, n.identity.mac).id);
  const password = randomBytes(18).toString('base64url');
  const ironicUrl = controlIronicUrl({ provisioning: { mac: control.mac, cidr: req.network.provisioningCidr } });
  // the daemon's boot settings as the seed reads them (core.bootSettings): its address on prov0, its HTTP port, the
  // ramdisk's URL paths (daemon/ramdisk-files.ts serves them as /files/<name>) — checked from the appliance below
  const paths = ramdiskPaths();
  if (!paths) throw new Error('the discovery ramdisk is not built (npm run build:ramdisk)');
  const boot = { serverIp: NET.provAppliance, httpPort: LAB_HTTP_PORT, ramdisk: { kernelPath: `/files/${basename(paths.kernel)}`, initrdPath: `/files/${basename(paths.initrd)}` } };
  for (const p of [boot.ramdisk.kernelPath, boot.ramdisk.initrdPath]) {
    const u = `http://${boot.serverIp}:${boot.httpPort}${p}`;
    const code = execFileSync('ip', ['netns', 'exec', lab.names.appNs, 'curl', '-s', '-o', '/dev/null', '-I', '-w', '%{http_code}', '--max-time', '30', u], { encoding: 'utf8' }).trim();
    if (code !== '200') throw new Error(`the daemon does not serve the ramdisk the seed would give at ${u} (HTTP ${code}): the bench's view of its boot settings is wrong`);
  }
  const userData = seedControlUserData({ boot, network: req.network, password, controlMac: control.mac });
  const probe = await startIronicProbe(lab, ironicUrl, password);
  try {
    // deploy alone
    say(`alone: deploy ${control.id} with ${req.image} (hostname ${CONTROL_HOSTNAME}, the seed's config drive)`);
    const d0 = Date.now();
    await lab.api.post(`/api/v1/nodes/${encodeURIComponent(control.id)}/deploy`, { image: req.image, hostname: CONTROL_HOSTNAME, userData, sshKeys: [] });
    let shown = '';
    const dep = await until('the control node deployed (alone)', 3_600_000, async () => {
      const d = await lab.api.get<Deployment>(`/api/v1/nodes/${encodeURIComponent(control.id)}/deployment`);
      const line = `deploy ${d.stage}${d.totalBytes ? ` ${Math.round((100 * d.bytes) / d.totalBytes)} %` : ''}`;
      if (line !== shown) { say(`alone: ${line}`); shown = line; }
      if (d.stage === 'failed') throw new Error(`the control node's deploy (alone) failed: ${d.error ?? 'no reason given'}`);
      return d.stage === 'done' ? d : null;
    });
    const d1 = Date.now();
    say(`alone: deploy done in ${fmt(d1 - d0)} (booted via ${dep.bootedVia ?? '?'})`);

    // Ironic start alone
    const ironic = await probe.go();
    const ironicMs = ironic.at - d1;
    say(`alone: Ironic answers at ${ironicUrl} (API ${ironic.microversion}) ${fmt(ironicMs)} after active`);

    // hand-off alone
    const h0 = Date.now();
    await lab.api.post('/api/v1/handoff', { nodes: others, engine: { kind: 'ironic', url: ironicUrl, auth: 'basic', user: CONTROL_IRONIC_USER, password } });
    let hShown = '';
    const recs = await until('the hand-off (alone)', 1_800_000, async () => {
      const rs = await lab.api.get<HandoffRecord[]>(`/api/v1/handoff?nodes=${others.join(',')}`);
      const line = rs.map((r) => `${r.nodeId} ${r.status ?? 'none'}`).join(', ');
      if (line !== hShown) { say(`alone: hand-off ${line}`); hShown = line; }
      return rs.length === others.length && rs.every((r) => r.status !== null && r.status !== 'running') ? rs : null;
    });
    const h1 = Date.now();
    const failed = recs.filter((r) => r.status !== 'done');
    if (failed.length) throw new Error(`the hand-off (alone) failed: ${failed.map((r) => `${r.nodeId}: ${r.status} ${r.error ?? ''}`).join('; ')}`);
    say(`alone: hand-off of ${others.length} nodes done in ${fmt(h1 - h0)}`);
    return {
      deployMs: d1 - d0, deployDaemonMs: dep.finishedAt !== null ? dep.finishedAt - dep.startedAt : null,
      ironicMs, ironicMicroversion: ironic.microversion, handoffMs: h1 - h0,
    };
  } finally {
    if (probe.child.exitCode === null && probe.child.pid) { try { process.kill(probe.child.pid, 'SIGTERM'); } catch { /* gone */ } }
  }
}

export async function runSeedBench(ctx: BenchContext): Promise<BenchReport & { raw: SeedBenchResult }> {
  if (process.getuid?.() !== 0) throw new Error('the seed bench needs root (lab namespaces, QEMU taps)');
  const started = Date.now();
  const say = (l: string) => ctx.log(`[${new Date().toISOString().slice(11, 19)}] ${l}`);
  const loads: number[] = [];
  const sampler = setInterval(() => loads.push(loadavg()[0]), 15_000);
  loads.push(loadavg()[0]);
  // a signal mid-run: tear the labs down synchronously, then exit as the signal would
  const onSignal = (sig: NodeJS.Signals) => {
    for (const lab of live) { try { teardownInstance(lab.names); } catch { /* best effort */ } }
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { control } = await ensureLabImages({ control: true }, { ifMissing: true, log: say });
    // (a) the seed, whole
    let lab: Lab | null = null;
    let seed: SeedBenchResult['seed'];
    let ok = false;
    try {
      const a = await bringUp('a', control!, say);
      lab = a.lab;
      seed = { ...(await seedWhole(lab, say)), discoveryMs: a.discoveryMs };
      say(`seed done: ${fmt(seed.totalMs)} (seed start → report, the daemon's clock; ${fmt(seed.wallMs)} as this process saw it)`);
      ok = true;
    } finally {
      await down(lab, !ok, say);
    }
    // (b) the parts alone, on a fresh lab
    let labB: Lab | null = null;
    let alone: SeedBenchResult['alone'];
    ok = false;
    try {
      const b = await bringUp('b', control!, say);
      labB = b.lab;
      alone = { ...(await partsAlone(labB, b.nodes, say)), discoveryMs: b.discoveryMs };
      ok = true;
    } finally {
      await down(labB, !ok, say);
    }
    loads.push(loadavg()[0]);
    const sumMs = alone.deployMs + alone.ironicMs + alone.handoffMs;
    const ratio = seed.totalMs / sumMs;
    const load = { min: Math.min(...loads), max: Math.max(...loads), mean: loads.reduce((a, b) => a + b, 0) / loads.length, samples: loads.length };
    const raw: SeedBenchResult = { seed, alone, sumMs, ratio, load };
    const table = resultTable(raw);
    ctx.log(`\n${table}\n\nratio seed ÷ sum of parts: ${ratio.toFixed(3)}× (goal ≤ ${GOAL}×: ${ratio <= GOAL ? 'met' : 'missed'}); bench ${fmt(Date.now() - started)}`);
    const goalText = `≤ ${GOAL}× the sum of its parts: ${ratio.toFixed(2)}×, ${ratio <= GOAL ? 'met' : '**missed**'}`;
    const rows: SummaryRow[] = [{
      bench: 'seed', case: 'seed → laptop can be unplugged, 3-node lab (TCG)', rackseed: fmt(seed.totalMs),
      reference: `${fmt(sumMs)} (deploy + Ironic start + hand-off, each alone)`, ratio: sumMs / seed.totalMs, goal: goalText,
    }];
    return { rows, markdown: markdown(raw, goalText, Date.now() - started), raw };
  } finally {
    clearInterval(sampler);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function resultTable(r: SeedBenchResult): string {
  const alone: Partial<Record<SeedStageName, number>> = { 'deploy-control': r.alone.deployMs, 'wait-ironic': r.alone.ironicMs, handoff: r.alone.handoffMs };
  const lines = ['| stage | seed | alone |', '|---|---:|---:|'];
  for (const s of r.seed.stages) lines.push(`| ${s.name} | ${fmt(s.ms)} | ${alone[s.name] !== undefined ? fmt(alone[s.name]!) : '–'} |`);
  const stagesSum = r.seed.stages.reduce((n, s) => n + (s.ms ?? 0), 0);
  lines.push(`| between stages (seed start → report end − the stages) | ${fmt(r.seed.totalMs - stagesSum)} | – |`);
  lines.push(`| **total** (seed start → laptop can be unplugged) / **sum of parts** | **${fmt(r.seed.totalMs)}** | **${fmt(r.sumMs)}** |`);
  return lines.join('\n');
}

function markdown(r: SeedBenchResult, goalText: string, benchMs: number): string {
  return [
    'Seed → "the laptop can be unplugged" in the 3-node lab (`lab/seed.ts`: node 1, 1536 MiB and a second NIC on br-bmc,',
    'becomes the control node; nodes bios, uefi, bios under TCG), against the sum of its parts measured alone in the same',
    'run on a fresh lab (bench/seed.ts). Lab A: discovery, lab-control imported, `POST /api/v1/seed` with the lab\'s seed',
    '(what `npm run lab -- --seed` runs), polled to its end; total = report time − seed start, stages from the seed record.',
    'Lab B: discovery, lab-control imported, then alone and in order: the deploy of node 1 with the config drive the seed',
    'gives (`core/seed/control-user-data.ts`) until `done` (OS booted); from then until the control node\'s Ironic answers',
    'an authenticated `GET /v1/nodes` (the wait-ironic probe, from the appliance\'s namespace); `POST /api/v1/handoff` of',
    'nodes 2 and 3 to it (HTTP basic) until both are done. Pivot and report have no part alone; the seed\'s handoff',
    'stage also sets each Ironic node\'s ramdisk (a PATCH per node) after the hand-off proper.',
    '',
    resultTable(r),
    '',
    `Ratio seed ÷ sum of parts: **${r.ratio.toFixed(2)}×**. Goal (issue 17): ${goalText}.`,
    '',
    `Context: discovery ${fmt(r.seed.discoveryMs)} (lab A) and ${fmt(r.alone.discoveryMs)} (lab B), not part of either figure; the`,
    `deploy alone by the daemon's own clock ${fmt(r.alone.deployDaemonMs)}; control node's Ironic API ${r.alone.ironicMicroversion}.`,
    `1-min load during the run (${r.load.samples} samples, every 15 s): min ${r.load.min.toFixed(2)}, mean ${r.load.mean.toFixed(2)}, max ${r.load.max.toFixed(2)} on`,
    `2 cores. The whole bench took ${fmt(benchMs)} (both labs, first bring-up to last teardown; as root, the command above).`,
  ].join('\n');
}
