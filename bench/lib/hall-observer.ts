// The 1,000-node hall's observer (bench/hall.ts), run inside the daemon's namespace (its API listens on
// 127.0.0.1 there):  ip netns exec NS node --import tsx bench/lib/hall-observer.ts '<ObserverConfig as JSON>'
//   1. waits until GET /api/v1/health answers, logs Chromium in (POST /login with the launch's token), opens the
//      fleet view and starts counting long tasks (PerformanceObserver 'longtask': main-thread work > 50 ms), then
//      prints {"ready":true};
//   2. on a line "go" on stdin (the clients are done): waits until `expected` nodes are listed, times
//      GET /api/v1/nodes (`apiRuns` times, each a fresh connection), and in Chromium sorts by every column and
//      filters with several terms, each timed from the click/keystroke to the next frame after React's render
//      (requestAnimationFrame + a task: layout and paint included);
//   3. prints one JSON line (ObserverResult) and exits.
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import type { NodeSummary } from '../../shared/node.ts';

export interface ObserverConfig { base: string; token: string; expected: number; apiRuns: number; waitMs: number }

export interface UiTiming { what: string; ms: number; rows: number }

export interface ObserverResult {
  nodes: { total: number; byState: Record<string, number>; duplicateMacs: number; duplicateIps: number; waitedMs: number };
  api: { runs: number; medianMs: number; p95Ms: number; maxMs: number; bytes: number };
  ui: {
    /** long tasks while the nodes arrived (the table live-updating) */
    longTasks: { count: number; totalMs: number; maxMs: number };
    renderedRows: number;
    sort: UiTiming[];
    filter: UiTiming[];
    heapMB: number;
  };
}

const cfg = JSON.parse(process.argv[2] ?? '') as ObserverConfig;
const auth = { authorization: `Bearer ${cfg.token}` };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function nodes(): Promise<{ list: NodeSummary[]; ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(`${cfg.base}/api/v1/nodes`, { headers: { ...auth, connection: 'close' } });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`GET /api/v1/nodes: ${res.status} ${text.slice(0, 200)}`);
  const v = JSON.parse(text) as NodeSummary[] | { nodes: NodeSummary[] };
  return { list: Array.isArray(v) ? v : v.nodes, ms, bytes: text.length };
}

const until = Date.now() + 90_000;
for (;;) {
  try { if ((await fetch(`${cfg.base}/api/v1/health`, { headers: auth })).ok) break; } catch { /* not yet */ }
  if (Date.now() > until) throw new Error('the daemon\'s API did not answer within 90 s');
  await sleep(250);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  timeout: 60_000,
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await ctx.newPage();
  await page.goto(`${cfg.base}/login`);
  await page.fill('#token', cfg.token);
  await page.click('button[type=submit]');
  await page.waitForURL(`${cfg.base}/`);
  await page.goto(`${cfg.base}/#/fleet`);
  await page.waitForSelector('table.grid[aria-label="Nodes"]');
  await page.evaluate(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) w.__longTasks.push(e.duration); }).observe({ type: 'longtask', buffered: false });
  });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => rl.on('line', (l) => { if (l.trim() === 'go') resolve(); }));
  rl.close();

  // every node listed (the clients have finished; their last inventories may still be settling)
  const w0 = performance.now();
  let list: NodeSummary[] = [];
  for (;;) {
    list = (await nodes()).list;
    const available = list.filter((n) => n.state === 'available').length;
    if (available >= cfg.expected || performance.now() - w0 > cfg.waitMs) break;
    await sleep(500);
  }
  const waitedMs = performance.now() - w0;
  const byState: Record<string, number> = {};
  for (const n of list) byState[n.state] = (byState[n.state] ?? 0) + 1;
  const dup = (xs: (string | null)[]): number => { const s = new Set<string>(); let d = 0; for (const x of xs) { if (x === null) continue; if (s.has(x)) d++; s.add(x); } return d; };

  const times: number[] = [];
  let bytes = 0;
  await nodes(); // warm the route's prepared statements the way any UI load does
  for (let i = 0; i < cfg.apiRuns; i++) { const r = await nodes(); times.push(r.ms); bytes = r.bytes; }
  times.sort((a, b) => a - b);
  // every node's detail once (node, inventory, its history, jobs): the daemon holds what a UI user browses
  for (const n of list) {
    const r = await fetch(`${cfg.base}/api/v1/nodes/${encodeURIComponent(n.id)}`, { headers: auth });
    if (!r.ok) throw new Error(`GET /api/v1/nodes/${n.id}: ${r.status}`);
    await r.arrayBuffer();
  }
  const q = (p: number): number => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;

  // the stream has delivered everything: the fleet view lists every node
  await page.waitForFunction((n) => document.querySelector('.filter .muted')?.textContent?.startsWith(`${n} node`), cfg.expected, { timeout: 60_000 });
  const longTasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks.slice());

  /** one timed interaction: `act` runs in the page, then the next frame after the render */
  const timed = (what: string, act: string): Promise<UiTiming> => page.evaluate(async ({ what, act }) => {
    const t0 = performance.now();
    if (act.startsWith('sort:')) {
      (document.querySelector(`button[aria-label="Sort by ${act.slice(5)}"]`) as HTMLButtonElement).click();
    } else {
      const input = document.querySelector('#node-filter') as HTMLInputElement;
      const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      set.call(input, act.slice(7));
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }
    await new Promise<void>((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const ms = performance.now() - t0;
    return { what, ms, rows: document.querySelectorAll('table.grid[aria-label="Nodes"] tbody tr:not(.spacer)').length };
  }, { what, act });

  const sort: UiTiming[] = [];
  for (const col of ['MAC', 'IP', 'State', 'Serial', 'CPU', 'RAM', 'Disk', 'MAC']) {
    sort.push(await timed(`sort by ${col}`, `sort:${col}`));
    sort.push(await timed(`sort by ${col} (reversed)`, `sort:${col}`));
  }
  const filter: UiTiming[] = [];
  for (const term of ['0', '02:', 'hall0004', 'available', '10.211.1.', 'nonexistent', 'avail 10.211', '']) {
    filter.push(await timed(`filter "${term}"`, `filter:${term}`));
  }
  const renderedRows = await page.evaluate(() => document.querySelectorAll('table.grid[aria-label="Nodes"] tbody tr:not(.spacer)').length);
  const heap = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0);

  const result: ObserverResult = {
    nodes: { total: list.length, byState, duplicateMacs: dup(list.map((n) => n.mac)), duplicateIps: dup(list.map((n) => n.ip)), waitedMs },
    api: { runs: times.length, medianMs: q(0.5), p95Ms: q(0.95), maxMs: times.at(-1) ?? 0, bytes },
    ui: {
      longTasks: { count: longTasks.length, totalMs: longTasks.reduce((a, b) => a + b, 0), maxMs: Math.max(0, ...longTasks) },
      renderedRows, sort, filter, heapMB: heap / 2 ** 20,
    },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await browser.close();
}
