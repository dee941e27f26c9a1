// `npm run bench` — runs each benchmark in turn (DHCP; TFTP, IPMI and the boot chain when their modules
// exist), prints a summary table and rewrites the runner's sections of docs/BENCHMARKS.md.
//   npm run bench                       everything, full counts; writes the doc
//   npm run bench -- --only dhcp,tftp   a subset (`npm run bench -- dhcp tftp` is the same)
//   npm run bench -- --only sol         SOL keystroke → echo: rackseed serve's console (WebSocket, `rackseed console`) vs ipmitool
//   npm run bench -- --quick            small counts, a smoke run; the doc is left alone unless --write-doc
//   npm run bench -- --only dhcp --dhcp-servers rackseed --dhcp-counts 10000 --profile /tmp/prof
//                                       profile RackSeed's DHCP server (then: node --import tsx bench/lib/cpuprofile-summary.ts FILE)
//   npm run bench -- --only hall            the 1,000-node hall (bench/hall.ts): rackseed serve, 1,000 simulated PXE clients, Chromium
//   npm run bench -- --only seed            the seed in the 3-node lab vs its parts alone (bench/seed.ts; two labs, ~15 min at load 2-8)
//   npm run bench -- --only deploy          lab-debian on 3 TCG nodes: RackSeed's deploy vs wget | dd in the ramdisk + disk boot (bench/deploy.ts)
//   npm run bench -- --only dhcp --dhcp-topology local --dhcp-servers rackseed-daemon,kea-st
//                                       one DHCP topology: relayed, or local (the same segment, clients without addresses)
// Needs root (network namespaces). Every bench runs its subject side by side with reference implementations.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { BenchContext, SummaryRow } from './lib/bench-types.ts';
import { readDoc, replaceSection, writeDoc } from './lib/bench-doc.ts';
import { load1, machineInfo } from './lib/machine.ts';
import { labNames } from '../lab/config.ts';
import { listInstances, readState, teardownInstance } from '../lab/teardown.ts';

interface BenchEntry {
  name: string;
  /** module beside this file, and the function it exports */
  file: string;
  fn: string;
  heading: string;
  /** the runner writes this section (otherwise only when the bench returns markdown and the doc has its markers) */
  owned: boolean;
}

const BENCHES: BenchEntry[] = [
  { name: 'dhcp', file: 'dhcp.ts', fn: 'runDhcpBench', heading: '## DHCP', owned: true },
  { name: 'tftp', file: 'tftp.ts', fn: 'runTftpBench', heading: '## TFTP', owned: false },
  { name: 'ipmi', file: 'ipmi.ts', fn: 'runIpmiBench', heading: '## IPMI', owned: false },
  { name: 'boot-chain', file: 'boot-chain.ts', fn: 'runBootChainBench', heading: '## Boot chain', owned: true },
  { name: 'redfish', file: 'redfish.ts', fn: 'runRedfishBench', heading: '## Redfish', owned: true },
  { name: 'images', file: 'images.ts', fn: 'runImagesBench', heading: '## Image serving', owned: true },
  { name: 'hall', file: 'hall.ts', fn: 'runHallBench', heading: '## 1,000-node hall', owned: true },
  { name: 'sol', file: 'sol.ts', fn: 'runSolBench', heading: '## Serial-over-LAN console', owned: true },
  { name: 'seed', file: 'seed.ts', fn: 'runSeedBench', heading: '## Seed', owned: true },
  { name: 'deploy', file: 'deploy.ts', fn: 'runDeployBench', heading: '## Deploy', owned: true },
];

const DOC = fileURLToPath(new URL('../docs/BENCHMARKS.md', import.meta.url));
const SKELETON = `# Benchmarks

\`npm run bench\` (as root) runs every benchmark below and rewrites the marked sections of this file; each
benchmark runs RackSeed side by side with reference implementations in the same run, on the same machine,
in network namespaces it creates, and reports ratios (> 1 is better for RackSeed). \`npm run bench -- --only dhcp\`
runs a subset; \`--quick\` is a smoke run with small counts that leaves this file alone. These are measurements,
not tests: the machine is shared, so the load average is recorded beside every figure.

## Summary
`;

const program = new Command()
  .name('bench')
  .argument('[names...]', 'benchmarks to run, as --only takes them')
  .option('--only <names>', `comma-separated subset of: ${BENCHES.map((b) => b.name).join(', ')}`)
  .option('--quick', 'small counts (smoke run); does not write the doc', false)
  .option('--write-doc', 'write docs/BENCHMARKS.md even with --quick', false)
  .option('--dhcp-servers <names>', 'dhcp: subset of rackseed,rackseed-daemon,kea,kea-logged,dnsmasq (relayed) and rackseed-serve,kea-st,kea-mt,kea-logged-st,kea-logged-mt (same segment) (implies no doc write)')
  .option('--dhcp-topology <name>', 'dhcp: relayed or local (same segment) only, instead of both (implies no doc write)')
  .option('--dhcp-counts <n,…>', 'dhcp: client counts instead of 1000,10000 (implies no doc write)')
  .option('--dhcp-repeats <n>', 'dhcp: runs per (server, count) instead of 5, to keep a recorded run short (the doc names the count)')
  .option('--hall-clients <n>', 'hall: simulated PXE clients instead of 1000 (arriving within a minute; implies no doc write)')
  .option('--boot-repeats <n>', 'boot-chain: boots per path, interleaved (default 3)')
  .option('--profile <dir>', "dhcp: run RackSeed's server under node --cpu-prof, profiles in DIR (stopped with SIGTERM, so no durability check; implies no doc write)")
  .parse();
const opts = program.opts<{ only?: string; quick: boolean; writeDoc: boolean; dhcpServers?: string; dhcpCounts?: string; dhcpTopology?: string; dhcpRepeats?: string; profile?: string; bootRepeats?: string; hallClients?: string }>();
const partial = Boolean(opts.dhcpServers || opts.dhcpCounts || opts.dhcpTopology || opts.profile || opts.hallClients);
if (opts.dhcpTopology && opts.dhcpTopology !== 'relayed' && opts.dhcpTopology !== 'local') program.error('--dhcp-topology is relayed or local');
if (opts.profile) {
  process.env.RS_BENCH_NODE_FLAGS = `--cpu-prof --cpu-prof-dir=${opts.profile}`;
  process.env.RS_BENCH_GRACEFUL = '1';
}

// Ctrl-C or SIGTERM in the middle of a bench that brought up a virtual rack (deploy, seed, boot-chain …): its VMs,
// BMCs, daemon and namespaces are torn down by PID before we exit — without this the instance stayed behind for
// `npm run lab:down`. The benches' own servers in other namespaces end with their process group.
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.on(sig, () => {
    for (const id of listInstances()) {
      const n = labNames(id);
      if (readState(n)?.ownerPid === process.pid) { process.stderr.write(`bench: ${sig}: tearing down lab ${id}\n`); teardownInstance(n, { removeDir: true }); }
    }
    process.exit(code);
  });
}

const named = [...(opts.only ? opts.only.split(',') : []), ...program.args.flatMap((a) => a.split(','))].map((s) => s.trim()).filter(Boolean);
const only = named.length ? named : null;
for (const n of only ?? []) if (!BENCHES.some((b) => b.name === n)) program.error(`unknown bench "${n}"`);
if (process.getuid?.() !== 0) program.error('benchmarks need root (they create network namespaces)');

const command = process.env.npm_lifecycle_event === 'bench'
  ? `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
  : `node --import tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim();
const machine = machineInfo();
const machineLine = `${machine.nproc} × ${machine.cpuModel}, ${machine.memGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}`;
const log = (line: string): void => { process.stdout.write(`${line}\n`); };
const ctx: BenchContext & Record<string, unknown> = {
  quick: opts.quick, log,
  ...(opts.dhcpServers ? { servers: opts.dhcpServers.split(',') } : {}),
  ...(opts.dhcpCounts ? { counts: opts.dhcpCounts.split(',').map(Number) } : {}),
  ...(opts.dhcpTopology ? { topologies: [opts.dhcpTopology] } : {}),
  ...(opts.dhcpRepeats ? { repeats: Number(opts.dhcpRepeats) } : {}),
  ...(opts.bootRepeats ? { bootRepeats: Number(opts.bootRepeats) } : {}),
  ...(opts.hallClients ? { hallClients: Number(opts.hallClients) } : {}),
};

interface Outcome { bench: BenchEntry; rows: SummaryRow[]; markdown: string | null; raw: unknown; error: string | null; seconds: number; loadBefore: number; loadAfter: number; at: string }
const outcomes: Outcome[] = [];

for (const bench of BENCHES) {
  if (only && !only.includes(bench.name)) continue;
  const path = fileURLToPath(new URL(`./${bench.file}`, import.meta.url));
  if (!existsSync(path)) { log(`== ${bench.name}: ${bench.file} not present, skipped`); continue; }
  log(`== ${bench.name}`);
  const t0 = Date.now();
  const loadBefore = load1();
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  try {
    const mod = (await import(path)) as Record<string, unknown>;
    const fn = mod[bench.fn];
    if (typeof fn !== 'function') throw new Error(`${bench.file} does not export ${bench.fn}()`);
    const raw: unknown = await fn(ctx);
    const r = (raw ?? {}) as { rows?: unknown; markdown?: unknown };
    const rows = Array.isArray(r.rows) ? (r.rows as SummaryRow[]) : [];
    outcomes.push({ bench, rows, markdown: typeof r.markdown === 'string' ? r.markdown : null, raw, error: null, seconds: (Date.now() - t0) / 1000, loadBefore, loadAfter: load1(), at });
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`!! ${bench.name} failed: ${message}`);
    outcomes.push({ bench, rows: [], markdown: null, raw: null, error: shorten(message.split('\n')[0]), seconds: (Date.now() - t0) / 1000, loadBefore, loadAfter: load1(), at });
  }
}

// Terminal summary
log('');
log(summaryTable(outcomes.flatMap((o) => o.rows)));
for (const o of outcomes) {
  if (o.error) log(`${o.bench.name}: FAILED — ${o.error}`);
  else if (o.rows.length === 0) log(`${o.bench.name}: ${JSON.stringify(o.raw)?.slice(0, 2000)}`);
}

// A run with a product or bench knob changed in the environment is an experiment (an A/B of the warm-up, a profile),
// not a record: it leaves the doc alone unless --write-doc says otherwise (an A/B once overwrote a recorded run).
const KNOBS = ['RACKSEED_CONSOLE_WARM_UP_KEYS', 'RACKSEED_DEPLOY_READ_BACK', 'RACKSEED_DEPLOY_WRITERS', 'RS_BENCH_NODE_FLAGS', 'RS_BENCH_WARMUP'];
const knobs = KNOBS.filter((k) => process.env[k] !== undefined && !(k === 'RS_BENCH_NODE_FLAGS' && opts.profile));
if (knobs.length && !opts.writeDoc && !opts.quick && !partial) log(`\n${knobs.join(', ')} set: an experiment, so ${DOC} is left alone (--write-doc records it anyway)`);
if ((!opts.quick && !partial && !knobs.length) || opts.writeDoc) {
  let doc = readDoc(DOC, SKELETON);
  for (const o of outcomes) {
    const stamp = `_Last run ${o.at} (${o.seconds.toFixed(0)} s) on ${machineLine}; 1-min load ${o.loadBefore} → ${o.loadAfter}. Command: \`${command}\`._`;
    const summary = o.error ? `${stamp}\n\n**${o.bench.name} failed:** ${o.error}` : `${stamp}\n\n${o.rows.length ? summaryTable(o.rows) : 'No summary rows returned.'}`;
    doc = replaceSection(doc, `summary:${o.bench.name}`, `### ${o.bench.name}`, summary, BENCHES.find((b) => b.owned && b.name === 'dhcp')!.heading);
    if (o.markdown === null) continue;
    const hasMarkers = doc.includes(`<!-- bench:${o.bench.name}:start -->`);
    if (o.bench.owned || hasMarkers) doc = replaceSection(doc, o.bench.name, o.bench.heading, `${stamp}\n\n${o.markdown}`);
  }
  writeDoc(DOC, doc);
  log(`\nwrote ${DOC}`);
}
process.exitCode = outcomes.some((o) => o.error) ? 1 : 0;

/** Long error lines (a command line with 50 hosts) cut to something a table can hold. */
function shorten(line: string, max = 240): string {
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function summaryTable(rows: SummaryRow[]): string {
  if (rows.length === 0) return '(no results)';
  const lines = ['| bench | case | RackSeed | reference | ratio | goal |', '|---|---|---:|---:|---:|---|'];
  for (const r of rows) lines.push(`| ${r.bench} | ${r.case} | ${r.rackseed} | ${r.reference} | ${r.ratio === null ? '–' : `${r.ratio.toFixed(2)}×`} | ${r.goal ?? ''} |`);
  return lines.join('\n');
}
