// Redfish bench: power status of N lab Redfish BMCs (default 50; lab/bmc/redfish with in-memory power, no VMs, all in
// one helper process on 127.0.0.1 ports, HTTPS with a self-signed certificate), in one run and on the same BMCs:
//   RackSeed            — RedfishClient in this process, every BMC in parallel, each from scratch: TLS handshake
//                         (certificate pinned on first use), GET /redfish/v1, login (SessionService) or basic auth,
//                         GET Systems, GET the system, logout
//   redfishtool loop    — `redfishtool -r H:P -u U -p P -S Always Systems -I 1 get`, once per BMC, one after another
//   xargs -P16          — the same command for every BMC through `xargs -P16` (16 at a time)
// redfishtool authenticates with basic auth by default; RackSeed's figure is given for both its session login (what
// the daemon does) and basic auth (like for like). Every answer is checked against the BMC's real state.
// Run alone: `node --import tsx bench/redfish.ts [--quick] [--write-doc]` (as root, like every bench).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import type { BenchContext, BenchReport, SummaryRow } from './lib/bench-types.ts';
import { load1, machineInfo } from './lib/machine.ts';
import { RedfishClient } from '../bmc/redfish/session/client.ts';
import { MemoryPinStore } from '../bmc/redfish/session/http.ts';
import { stopPid } from '../lab/processes.ts';

export interface RedfishBenchOptions extends BenchContext {
  bmcs?: number;
  runs?: number;
}

const USER = 'admin';
const PASSWORD = 'bench-rf-pw';
const HELPER = fileURLToPath(new URL('./lib/redfish-bmcs.ts', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function expected(i: number): 'on' | 'off' { return i % 2 === 0 ? 'on' : 'off'; }

async function rackseed(ports: number[], auth: 'auto' | 'basic'): Promise<number> {
  const c = new RedfishClient({ pins: new MemoryPinStore(), timeoutMs: 20_000, retries: 1, maxConcurrentPerBmc: 4 });
  const t0 = performance.now();
  const states = await Promise.all(ports.map((port) => c.withSession('127.0.0.1', { user: USER, password: PASSWORD, port, auth }, (s) => s.powerStatus())));
  const ms = performance.now() - t0;
  await c.close();
  states.forEach((st, i) => { if (st !== expected(i)) throw new Error(`RackSeed read ${st} from BMC ${i}, expected ${expected(i)}`); });
  return ms;
}

function redfishtoolArgs(port: number): string[] {
  return ['-r', `127.0.0.1:${port}`, '-u', USER, '-p', PASSWORD, '-S', 'Always', 'Systems', '-I', '1', 'get'];
}

function redfishtoolLoop(ports: number[]): number {
  const t0 = performance.now();
  ports.forEach((port, i) => {
    const r = spawnSync('redfishtool', redfishtoolArgs(port), { encoding: 'utf8', timeout: 60_000 });
    const st = /"PowerState":\s*"(\w+)"/.exec(r.stdout)?.[1];
    if (r.status !== 0 || st?.toLowerCase() !== expected(i)) throw new Error(`redfishtool on BMC ${i}: exit ${r.status}, PowerState ${st}: ${r.stderr.slice(0, 200)}`);
  });
  return performance.now() - t0;
}

function redfishtoolParallel(ports: number[], dir: string): number {
  const list = join(dir, 'ports.txt');
  writeFileSync(list, ports.join('\n') + '\n');
  const cmd = `xargs -P16 -I{} sh -c 'redfishtool -r 127.0.0.1:{} -u ${USER} -p "$RF_PW" -S Always Systems -I 1 get | grep -o "\\"PowerState\\": *\\"[A-Za-z]*\\"" | sed "s/^/{} /"' < ${list}`;
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, RF_PW: PASSWORD } });
  const ms = performance.now() - t0;
  const got = new Map(r.stdout.trim().split('\n').map((l) => { const m = /^(\d+) "PowerState": *"(\w+)"/.exec(l); return [Number(m?.[1]), m?.[2]?.toLowerCase()] as const; }));
  ports.forEach((port, i) => { if (got.get(port) !== expected(i)) throw new Error(`xargs redfishtool on BMC ${i}: ${got.get(port)} (exit ${r.status}: ${r.stderr.slice(0, 200)})`); });
  return ms;
}

export async function runRedfishBench(opts: RedfishBenchOptions): Promise<BenchReport> {
  const n = opts.bmcs ?? (opts.quick ? 10 : 50);
  const runs = opts.runs ?? (opts.quick ? 1 : 3);
  if (spawnSync('redfishtool', ['-h'], { stdio: 'ignore' }).error) throw new Error('redfishtool is missing: bash scripts/setup.sh bench');
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-redfish-'));
  const pwFile = join(dir, 'pw');
  writeFileSync(pwFile, PASSWORD, { mode: 0o600 });
  const helper = spawn(process.execPath, ['--import', 'tsx', HELPER, String(n), dir, USER, pwFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: helper.stdout! });
      rl.once('line', resolve);
      helper.once('exit', (code) => reject(new Error(`the BMC helper exited (${code})`)));
    });
    const { ports } = JSON.parse(line) as { ports: number[] };
    opts.log(`redfish: ${n} lab Redfish BMCs on 127.0.0.1 (pid ${helper.pid}); ${runs} interleaved round(s)`);
    const r = { session: [] as number[], basic: [] as number[], loop: [] as number[], xargs: [] as number[] };
    await rackseed(ports, 'auto'); // warm the helper's JIT once, unmeasured
    for (let k = 0; k < runs; k++) {
      r.session.push(await rackseed(ports, 'auto'));
      r.basic.push(await rackseed(ports, 'basic'));
      r.xargs.push(redfishtoolParallel(ports, dir));
      if (k === 0) r.loop.push(redfishtoolLoop(ports));
      opts.log(`redfish: round ${k + 1}: RackSeed ${r.session.at(-1)!.toFixed(0)} ms (session), ${r.basic.at(-1)!.toFixed(0)} ms (basic); xargs -P16 redfishtool ${r.xargs.at(-1)!.toFixed(0)} ms${k === 0 ? `; redfishtool loop ${r.loop[0]!.toFixed(0)} ms` : ''}`);
    }
    const best = (xs: number[]) => Math.min(...xs);
    const mi = machineInfo();
    const rows: SummaryRow[] = [
      { bench: 'redfish', case: `power status × ${n} BMCs vs xargs -P16 redfishtool, best of ${runs}`, rackseed: `${best(r.session).toFixed(0)} ms`, reference: `${best(r.xargs).toFixed(0)} ms`, ratio: best(r.xargs) / best(r.session), goal: '≥ 5×' },
      { bench: 'redfish', case: `power status × ${n} BMCs vs redfishtool loop`, rackseed: `${best(r.session).toFixed(0)} ms`, reference: `${r.loop[0]!.toFixed(0)} ms`, ratio: r.loop[0]! / best(r.session) },
    ];
    const markdown = [
      `Power status of ${n} lab Redfish BMCs (lab/bmc/redfish/server.ts with in-memory power, all in one helper process on`,
      `127.0.0.1, HTTPS with a self-signed certificate; every answer checked against the BMC's state). Machine: ${mi.nproc} × ${mi.cpuModel},`,
      `load average ${load1()} at the end — a shared machine, so figures are noisy. Command: \`npm run bench -- --only redfish\`.`,
      '',
      '- RackSeed: `RedfishClient` in the bench process, all BMCs in parallel, each from scratch (new TLS connection and',
      '  certificate pin, GET /redfish/v1, login, GET Systems, GET the system, logout).',
      '- redfishtool (Debian 1.1.5): `redfishtool -r H:P -u U -p P -S Always Systems -I 1 get` (basic auth), one process per BMC.',
      '',
      '| tool | wall time, best (median) | RackSeed (session login) faster by, best (median) |',
      '|---|---|---|',
      `| RackSeed, session login + logout | ${best(r.session).toFixed(0)} (${median(r.session).toFixed(0)}) ms | — |`,
      `| RackSeed, basic auth | ${best(r.basic).toFixed(0)} (${median(r.basic).toFixed(0)}) ms | — |`,
      `| \`xargs -P16 redfishtool\` | ${best(r.xargs).toFixed(0)} (${median(r.xargs).toFixed(0)}) ms | **${(best(r.xargs) / best(r.session)).toFixed(1)}×** (${(median(r.xargs) / median(r.session)).toFixed(1)}×) |`,
      `| redfishtool loop (once) | ${r.loop[0]!.toFixed(0)} ms | ${(r.loop[0]! / best(r.session)).toFixed(1)}× |`,
      '',
    ].join('\n');
    return { rows, markdown };
  } finally {
    if (helper.pid) await stopPid(helper.pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const rep = await runRedfishBench({ quick, log: (l) => process.stdout.write(`${l}\n`) });
  for (const row of rep.rows) process.stdout.write(`${row.case}: RackSeed ${row.rackseed}, reference ${row.reference}, ratio ${row.ratio?.toFixed(2)}\n`);
}
