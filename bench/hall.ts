// The 1,000-node hall (issue 19 item 2): `rackseed serve` (bin/rackseed.mjs, authoritative, its data directory,
// history and boot policy) on the provisioning segment of the same-segment topology (bench/lib/dhcp-topology.ts:
// server ns ── bridge ── client ns), and N simulated PXE clients arriving evenly within a minute, each doing DHCP
// (iPXE, then the agent's udhcpc) from its own MAC, the boot script, range requests on the kernel and initrd and
// the agent's inventory POST with its token from its leased address (bench/lib/hall-clients.ts). No VMs.
// Meanwhile Chromium (playwright-core, Debian's /usr/bin/chromium) has the fleet view open and counts long tasks;
// afterwards it times sorting and filtering the N rows, and GET /api/v1/nodes is timed (bench/lib/hall-observer.ts).
// The daemon's RSS is sampled from /proc throughout and after every node's detail (with its history) was read.
// Goals are absolute (the issue's), so the "reference" column holds the goal and the ratio is goal ÷ measured.
//   npm run bench -- --only hall                 1,000 clients within 60 s; writes the doc's "## 1,000-node hall"
//   npm run bench -- --only hall --hall-clients 200
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { BenchContext, BenchReport, SummaryRow } from './lib/bench-types.ts';
import { createLocalDhcpTopology, CLIENT_IF, SERVER_IF } from './lib/dhcp-topology.ts';
import type { HallClientsConfig, HallClientsResult } from './lib/hall-clients.ts';
import type { ObserverConfig, ObserverResult } from './lib/hall-observer.ts';
import { waitExit } from '../test/helpers/netns.ts';
import type { ChildProcess } from 'node:child_process';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
const DAEMON_BIN = join(REPO, 'bin', 'rackseed.mjs');
const CLIENTS = join(REPO, 'bench', 'lib', 'hall-clients.ts');
const OBSERVER = join(REPO, 'bench', 'lib', 'hall-observer.ts');
const API = '127.0.0.1:8443';

export const GOALS = { rssMB: 150, apiMs: 50, uiMs: 100 } as const;

export interface HallResult {
  clients: number;
  arrivalMs: number;
  run: HallClientsResult;
  observer: ObserverResult;
  rss: { peakMB: number; afterMB: number; hwmMB: number };
  /** what the daemon ran: the compiled dist/daemon, or the sources through tsx (bin/rackseed.mjs says why on stderr) */
  code: string;
  events: { rows: number; retention: string };
}

function lastJsonLine<T>(text: string): T | null {
  const lines = text.trim().split('\n').filter((l) => l.startsWith('{'));
  return lines.length ? (JSON.parse(lines.at(-1)!) as T) : null;
}

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-8000); });
  return { out: () => out, err: () => err };
}

function rssMB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch { return 0; }
}

async function waitLine(child: ChildProcess, io: { out: () => string; err: () => string }, test: (out: string) => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!test(io.out())) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}): ${io.err().slice(-2000)}`);
    if (Date.now() - t0 > ms) throw new Error(`${what}: nothing within ${ms / 1000} s: ${io.err().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runHall(o: { clients: number; arrivalMs: number; log: (l: string) => void; keepDir?: boolean }): Promise<HallResult> {
  const topo = createLocalDhcpTopology('hall');
  const dir = mkdtempSync(join(tmpdir(), 'rs-hall-'));
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  let daemon: ChildProcess | null = null;
  try {
    const { sandbox, serverNs, clientNs, net } = topo;
    daemon = sandbox.spawn(serverNs, process.execPath, [DAEMON_BIN, 'serve', '--interface', SERVER_IF, '--mode', 'authoritative',
      '--pool', `${net.poolFirst}-${net.poolLast}`, '--data', data, '--listen', API],
    { cwd: REPO, env: { ...process.env, RACKSEED_TOKEN: token, NO_COLOR: '1' } });
    const dio = collect(daemon);
    const observerCfg: ObserverConfig = { base: `http://${API}`, token, expected: o.clients, apiRuns: 50, waitMs: 120_000 };
    const observer = sandbox.spawn(serverNs, process.execPath, ['--import', 'tsx', OBSERVER, JSON.stringify(observerCfg)], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    const oio = collect(observer);
    await waitLine(observer, { out: oio.out, err: () => `${oio.err()}\n-- daemon: ${dio.err()}` }, (s) => s.includes('"ready":true'), 150_000, 'the observer (daemon start, Chromium login)');
    const fromSource = /running the TypeScript sources through tsx: (.*?)(?: \(`npm run build:daemon`[^\n]*)?\n/.exec(dio.err());
    const code = fromSource ? `the TypeScript sources through tsx (${fromSource[1]})` : 'the precompiled daemon (dist/daemon)';
    o.log(`hall: daemon pid ${daemon.pid} up (RSS ${rssMB(daemon.pid!).toFixed(0)} MB, ${code}), fleet view open; ${o.clients} clients arriving over ${o.arrivalMs / 1000} s`);

    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMB(daemon!.pid!)); }, 250);
    const ccfg: HallClientsConfig = { interface: CLIENT_IF, clients: o.clients, arrivalMs: o.arrivalMs, prefixLen: 16, run: randomBytes(1)[0]! };
    const clients = sandbox.spawn(clientNs, process.execPath, ['--import', 'tsx', CLIENTS, JSON.stringify(ccfg)], { cwd: REPO });
    const cio = collect(clients);
    if (!(await waitExit(clients, o.arrivalMs + 600_000))) throw new Error('the clients did not finish within 10 minutes after the last arrival');
    const run = lastJsonLine<HallClientsResult>(cio.out());
    if (!run) throw new Error(`the clients printed no result (exit ${clients.exitCode}): ${cio.err().slice(-2000)}`);
    o.log(`hall: clients done in ${(run.spanMs / 1000).toFixed(1)} s: ${run.ok} ok, ${run.failed} failed; ${run.firstErrors.slice(0, 3).join(' | ')}`);

    observer.stdin!.write('go\n');
    if (!(await waitExit(observer, 600_000))) throw new Error('the observer did not finish within 10 minutes');
    clearInterval(sampler);
    const obs = lastJsonLine<ObserverResult>(oio.out());
    if (!obs || !('nodes' in obs)) throw new Error(`the observer printed no result (exit ${observer.exitCode}): ${oio.err().slice(-2000)}`);
    const after = rssMB(daemon.pid!);
    const hwm = rssMB(daemon.pid!, 'VmHWM');
    peak = Math.max(peak, after);
    let rows = 0;
    try {
      const db = new Database(join(data, 'events.db'), { readonly: true, fileMustExist: true });
      rows = (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
      db.close();
    } catch (err) { o.log(`hall: events.db not read: ${(err as Error).message}`); }
    return { clients: o.clients, arrivalMs: o.arrivalMs, run, observer: obs, rss: { peakMB: peak, afterMB: after, hwmMB: hwm }, code, events: { rows, retention: 'default (RACKSEED_EVENT_RETENTION unset)' } };
  } finally {
    if (daemon && daemon.exitCode === null) { daemon.kill('SIGTERM'); await waitExit(daemon, 10_000); }
    await topo.sandbox.cleanup();
    if (!o.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

const med = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)]! : 0; };
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');

export function hallRows(r: HallResult): SummaryRow[] {
  const sortMax = Math.max(...r.observer.ui.sort.map((t) => t.ms));
  const filterMax = Math.max(...r.observer.ui.filter.map((t) => t.ms));
  const available = r.observer.nodes.byState.available ?? 0;
  const all = available === r.clients && r.observer.nodes.total === r.clients && r.observer.nodes.duplicateMacs === 0 && r.observer.nodes.duplicateIps === 0;
  return [
    { bench: 'hall', case: `${r.clients} clients within ${r.arrivalMs / 1000} s: nodes available (listed, duplicates)`, rackseed: `${available} (${r.observer.nodes.total}, ${r.observer.nodes.duplicateMacs + r.observer.nodes.duplicateIps})`, reference: `${r.clients} (${r.clients}, 0)`, ratio: available / r.clients, goal: `every node available, none twice: ${verdict(all)}` },
    { bench: 'hall', case: 'daemon RSS, peak / after reading every node\'s history', rackseed: `${r.rss.peakMB.toFixed(0)} / ${r.rss.afterMB.toFixed(0)} MB`, reference: `${GOALS.rssMB} MB`, ratio: GOALS.rssMB / r.rss.peakMB, goal: `≤ ${GOALS.rssMB} MB: ${verdict(r.rss.peakMB <= GOALS.rssMB)}` },
    { bench: 'hall', case: `GET /api/v1/nodes at ${r.observer.nodes.total} nodes, median (p95)`, rackseed: `${fmt(r.observer.api.medianMs)} (${fmt(r.observer.api.p95Ms)})`, reference: `${GOALS.apiMs} ms`, ratio: GOALS.apiMs / r.observer.api.p95Ms, goal: `≤ ${GOALS.apiMs} ms: ${verdict(r.observer.api.p95Ms <= GOALS.apiMs)}` },
    { bench: 'hall', case: `fleet view in Chromium: sort ${r.observer.nodes.total} rows, worst of ${r.observer.ui.sort.length} (median)`, rackseed: `${fmt(sortMax)} (${fmt(med(r.observer.ui.sort.map((t) => t.ms)))})`, reference: `${GOALS.uiMs} ms`, ratio: GOALS.uiMs / sortMax, goal: `≤ ${GOALS.uiMs} ms: ${verdict(sortMax <= GOALS.uiMs)}` },
    { bench: 'hall', case: `fleet view in Chromium: filter, worst of ${r.observer.ui.filter.length} (median)`, rackseed: `${fmt(filterMax)} (${fmt(med(r.observer.ui.filter.map((t) => t.ms)))})`, reference: `${GOALS.uiMs} ms`, ratio: GOALS.uiMs / filterMax, goal: `≤ ${GOALS.uiMs} ms: ${verdict(filterMax <= GOALS.uiMs)}` },
  ];
}

export function hallMarkdown(r: HallResult): string {
  const o = r.observer;
  return [
    `Load: ${r.clients} simulated PXE clients arriving evenly over ${r.arrivalMs / 1000} s on the daemon's own segment (no relay), each: iPXE DHCP`
      + ' (DISCOVER/REQUEST broadcast from its own MAC, PXE options 60/77/93/94/97), the boot script (chain-self followed), range requests on the'
      + ' kernel and initrd (first 64 KiB, last 4 KiB: 206 checked), the agent\'s udhcpc DHCP (same address required), the inventory POST with'
      + ' its kernel-command-line token from its leased address, then GET /agent/v1/next once. Subject: `rackseed serve` (bin/rackseed.mjs,'
      + ' authoritative, a data directory: rackseed.db + events.db). Chromium has the fleet view open throughout. Goals are the issue\'s; the'
      + ' reference column holds the goal, the ratio is goal ÷ measured (≥ 1 met).',
    '',
    hallRows(r).map((x) => `- ${x.case}: **${x.rackseed}** — goal ${x.goal}`).join('\n'),
    '',
    `Clients: ${r.run.ok} of ${r.clients} completed in ${(r.run.spanMs / 1000).toFixed(1)} s (arrival to inventory accepted: p50 ${fmt(r.run.latency.p50)}, p99 ${fmt(r.run.latency.p99)}, max ${fmt(r.run.latency.max)});`
      + ` ${r.run.retransmits} DHCP retransmits, ${r.run.httpRequests} HTTP requests.${r.run.failed ? ` First failures: ${r.run.firstErrors.slice(0, 3).join('; ')}` : ''}`,
    `Nodes by state: ${Object.entries(o.nodes.byState).map(([k, v]) => `${k} ${v}`).join(', ')}. Events in events.db afterwards: ${r.events.rows} (retention: ${r.events.retention}).`,
    `Daemon RSS (running ${r.code}): peak ${r.rss.peakMB.toFixed(0)} MB sampled every 250 ms, ${r.rss.afterMB.toFixed(0)} MB after every node's detail (node, inventory, up to 1,000 events, jobs) was read once; kernel high-water mark ${r.rss.hwmMB.toFixed(0)} MB.`,
    `GET /api/v1/nodes (${(o.api.bytes / 1024).toFixed(0)} KiB JSON, a new connection each, ${o.api.runs} runs): median ${fmt(o.api.medianMs)}, p95 ${fmt(o.api.p95Ms)}, max ${fmt(o.api.maxMs)}.`,
    `Fleet view: ${o.ui.renderedRows} table rows in the DOM for ${o.nodes.total} nodes (virtualized); while the nodes arrived ${o.ui.longTasks.count} long tasks (> 50 ms) totalling ${fmt(o.ui.longTasks.totalMs)}, the longest ${fmt(o.ui.longTasks.maxMs)}; JS heap ${o.ui.heapMB.toFixed(0)} MB.`
      + ' Each sort/filter is timed in the page from the click (or the input event) to the next animation frame after React\'s render.',
    '',
    '| interaction | ms | rows shown |', '|---|---:|---:|',
    ...[...o.ui.sort, ...o.ui.filter].map((t) => `| ${t.what} | ${t.ms.toFixed(1)} | ${t.rows} |`),
  ].join('\n');
}

export async function runHallBench(ctx: BenchContext & { hallClients?: number; hallArrivalS?: number }): Promise<BenchReport & { raw: HallResult }> {
  const clients = ctx.hallClients ?? (ctx.quick ? 100 : 1000);
  const arrivalMs = (ctx.hallArrivalS ?? (ctx.quick ? 10 : 60)) * 1000;
  const r = await runHall({ clients, arrivalMs, log: ctx.log });
  return { rows: hallRows(r), markdown: hallMarkdown(r), raw: r };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 50);
  const r = await runHall({ clients: n, arrivalMs: Number(process.argv[3] ?? 5) * 1000, log: (l) => console.log(l), keepDir: process.env.KEEP === '1' });
  console.log(hallMarkdown(r));
}
