// TFTP throughput: RackSeed's server vs tftpd-hpa (`in.tftpd`), same run, same machine, same clients.
// Topology: namespace "srv" (10.232.9.1, the server under test on port 69) ↔ veth ↔ namespace "cli" (10.232.9.2);
// N clients start at once in "cli", each fetching the same file; aggregate MB/s = N × size ÷ wall time until the
// last client finished (MB = 10^6 bytes). Every downloaded copy is checked (size and sha256).
// Cases: atftp with windowsize 16 + blksize 1468 (RackSeed negotiates the window; tftpd-hpa 5.2 has no
// windowsize option, so the same client falls back to lock-step there), and curl --tftp-blksize 1468 (lock-step
// on both: like for like). Rounds alternate the servers (A B A B …); the median round is reported.
//   node --import tsx bench/tftp.ts [--quick] [--write-doc] [--help]   (root; or via `npm run bench -- --only tftp`)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { NetnsSandbox, waitExit } from '../test/helpers/netns.ts';
import type { BenchContext, BenchReport, SummaryRow } from './lib/bench-types.ts';
import { load1, machineInfo } from './lib/machine.ts';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SERVER_IP = '10.232.9.1';
const CLIENT_IP = '10.232.9.2';

/** `rackseed`: one thread (the library default); `rackseed-w2`: `transferWorkers: 2` (standalone --workers 2) */
export type TftpServerKind = 'rackseed' | 'rackseed-w2' | 'tftpd-hpa';
const ALL_SERVERS: TftpServerKind[] = ['rackseed', 'rackseed-w2', 'tftpd-hpa'];
const isRackseed = (k: TftpServerKind) => k !== 'tftpd-hpa';
export type TftpClientKind = 'atftp-window16' | 'curl';

export interface TftpBenchOptions extends Partial<BenchContext> {
  clients?: number;
  /** file size in MB (10^6 bytes) */
  sizeMB?: number;
  rounds?: number;
  cases?: TftpClientKind[];
  /** servers to measure (default both); ratios need both */
  servers?: TftpServerKind[];
  /** write a V8 CPU profile of the RackSeed server (node --cpu-prof) into this directory */
  cpuProfDir?: string;
  /** extra arguments for standalone.ts (e.g. --workers 2) */
  serverArgs?: string[];
}

/** One (server, client) case: the median round and every round's figure. */
export interface BenchResult {
  server: TftpServerKind;
  client: TftpClientKind;
  clients: number;
  bytesEach: number;
  /** aggregate MB/s of the median round */
  mbPerSec: number;
  /** wall seconds of the median round */
  seconds: number;
  rounds: number[];
  /** server CPU seconds (user + system, children included) per 100 MB delivered, median round */
  cpuPer100MB: number;
  /** CPU seconds of all clients together (user + system) per 100 MB, median round */
  clientCpuPer100MB: number;
  /** what the server agreed to */
  note: string;
}

export interface TftpBenchReport extends BenchReport {
  results: BenchResult[];
  command: string;
}

const CLIENT_LINES: Record<TftpClientKind, string> = {
  'atftp-window16': 'atftp --option "windowsize 16" --option "blksize 1468" -g -r FILE -l OUT 10.232.9.1',
  curl: 'curl --tftp-blksize 1468 -o OUT tftp://10.232.9.1/FILE',
};

function clientArgs(kind: TftpClientKind, out: string): [string, string[]] {
  if (kind === 'curl') return ['curl', ['-sS', '--max-time', '600', '--tftp-blksize', '1468', '-o', out, `tftp://${SERVER_IP}/bench.bin`]];
  return ['atftp', ['--option', 'windowsize 16', '--option', 'blksize 1468', '-g', '-r', 'bench.bin', '-l', out, SERVER_IP]];
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system, plus reaped children) of one process: /proc/PID/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after the command: state(0) … utime(11) stime(12) cutime(13) cstime(14)
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
}

/**
 * Samples CPU seconds of a process plus its children every 50 ms, remembering each child's last figure, because
 * tftpd-hpa's children are reaped without being added to the parent's cutime (SIGCHLD ignored). Undercounts each
 * child by at most one interval.
 */
function cpuSampler(pid: number): { stop(): Promise<number> } {
  const seen = new Map<number, number>();
  const sample = async () => {
    try {
      seen.set(pid, await cpuSeconds(pid));
      const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).split(' ').filter(Boolean).map(Number);
      for (const k of kids) seen.set(k, await cpuSeconds(k).catch(() => seen.get(k) ?? 0));
    } catch { /* process gone between listing and reading */ }
  };
  const timer = setInterval(() => void sample(), 50);
  const first = sample();
  return {
    async stop() {
      await first;
      await sample();
      clearInterval(timer);
      return [...seen.values()].reduce((a, b) => a + b, 0);
    },
  };
}

function sha256(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash('sha256');
    createReadStream(path).on('error', fail).on('data', (c) => h.update(c)).on('end', () => ok(h.digest('hex')));
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((ok) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', (code) => ok({ code, out }));
  });
}

export async function runTftpBench(opts: TftpBenchOptions = {}): Promise<TftpBenchReport> {
  const quick = opts.quick ?? false;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const clients = opts.clients ?? (quick ? 4 : 8);
  const sizeMB = opts.sizeMB ?? (quick ? 5 : 30);
  const rounds = opts.rounds ?? (quick ? 1 : 3);
  const cases = opts.cases ?? ['atftp-window16', 'curl'];
  const servers = opts.servers ?? ALL_SERVERS;
  const bytesEach = sizeMB * 1_000_000;
  const sandbox = new NetnsSandbox();
  const dir = await mkdtemp(join(tmpdir(), 'rs-tftp-bench-'));
  const loadBefore = load1();
  const t0 = Date.now();
  try {
    // tftpd-hpa chroots into the root and drops to user "tftp": the tree must be world-readable.
    const root = join(dir, 'root');
    await mkdir(root);
    await chmod(dir, 0o755);
    const fh = await open(join(root, 'bench.bin'), 'w');
    for (let left = bytesEach; left > 0; left -= 1_000_000) await fh.write(randomBytes(Math.min(left, 1_000_000)));
    await fh.close();
    await writeFile(join(root, 'probe.txt'), 'ready\n');
    await chmod(join(root, 'bench.bin'), 0o644);
    await chmod(join(root, 'probe.txt'), 0o644);
    const want = await sha256(join(root, 'bench.bin'));
    const outDir = join(dir, 'out');
    await mkdir(outDir);

    const srv = sandbox.addNamespace('tftpb-srv');
    const cli = sandbox.addNamespace('tftpb-cli');
    sandbox.addVeth({ ns: srv, name: 'eth0', cidr: `${SERVER_IP}/24` }, { ns: cli, name: 'eth0', cidr: `${CLIENT_IP}/24` });

    const startServer = async (kind: TftpServerKind): Promise<ChildProcess> => {
      const p = isRackseed(kind)
        ? sandbox.spawn(srv, process.execPath, [...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : []), '--import', 'tsx', 'netboot/tftp/server/standalone.ts', ...(opts.serverArgs ?? []), '--root', root, '--address', SERVER_IP, '--port', '69', '--log-level', 'error', ...(kind === 'rackseed-w2' ? ['--workers', '2'] : [])], { cwd: REPO })
        : sandbox.spawn(srv, 'in.tftpd', ['-L', '-s', root, '-a', `${SERVER_IP}:69`]);
      p.stdout?.resume();
      p.stderr?.on('data', (d) => log(`[${kind}] ${String(d).trim()}`));
      // ready when a probe download succeeds
      for (let i = 0; i < 100; i++) {
        const r = await run('ip', ['netns', 'exec', cli, 'curl', '-s', '--max-time', '1', '-o', '-', `tftp://${SERVER_IP}/probe.txt`]);
        if (r.out === 'ready\n') return p;
        if (p.exitCode !== null) throw new Error(`${kind} exited with ${p.exitCode}`);
        await new Promise((ok) => setTimeout(ok, 200));
      }
      throw new Error(`${kind} did not answer within 20 s`);
    };
    const stopServer = async (p: ChildProcess) => {
      p.kill('SIGTERM');
      if (!(await waitExit(p, 3000))) p.kill('SIGKILL');
    };

    const oneRound = async (kind: TftpClientKind, serverPid: number): Promise<{ seconds: number; cpu: number; clientCpu: number }> => {
      const cpu0 = await cpuSeconds(serverPid);
      const sampler = cpuSampler(serverPid);
      const outs = Array.from({ length: clients }, (_, i) => join(outDir, `c${i}.bin`));
      await Promise.all(outs.map((o) => rm(o, { force: true })));
      const started = process.hrtime.bigint();
      const results = await Promise.all(outs.map((o) => {
        const [cmd, args] = clientArgs(kind, o);
        // bash's `times` prints the CPU its children used: the client's own CPU, the same accounting for every server
        return run('ip', ['netns', 'exec', cli, 'bash', '-c', `${[cmd, ...args].map(shellQuote).join(' ')} && times`]);
      }));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = (await sampler.stop()) - cpu0;
      let clientCpu = 0;
      for (const [i, r] of results.entries()) {
        clientCpu += childCpuFromTimes(r.out);
        if (r.code !== 0) throw new Error(`client ${i} (${kind}) exited ${r.code}: ${r.out.slice(0, 300)}`);
        const st = await stat(outs[i]);
        if (st.size !== bytesEach || (await sha256(outs[i])) !== want) throw new Error(`client ${i} (${kind}) got a corrupt copy (${st.size} bytes)`);
      }
      return { seconds, cpu, clientCpu };
    };

    const results: BenchResult[] = [];
    for (const kind of cases) {
      const per: Record<TftpServerKind, { seconds: number; cpu: number; clientCpu: number }[]> = { rackseed: [], 'rackseed-w2': [], 'tftpd-hpa': [] };
      for (let r = 0; r < rounds; r++) {
        const order = (r % 2 === 0 ? ALL_SERVERS : [...ALL_SERVERS].reverse()).filter((x) => servers.includes(x));
        for (const server of order) {
          const p = await startServer(server);
          try {
            const s = await oneRound(kind, p.pid!);
            per[server].push(s);
            log(`tftp ${kind} ${server} round ${r + 1}: ${clients} × ${sizeMB} MB in ${s.seconds.toFixed(2)} s = ${((clients * bytesEach) / 1e6 / s.seconds).toFixed(1)} MB/s, server CPU ${s.cpu.toFixed(2)} s, clients CPU ${s.clientCpu.toFixed(2)} s`);
          } finally {
            await stopServer(p);
          }
        }
      }
      for (const server of ALL_SERVERS) {
        if (per[server].length === 0) continue;
        const sorted = [...per[server]].sort((a, b) => a.seconds - b.seconds);
        const median = sorted[Math.floor(sorted.length / 2)];
        results.push({
          server, client: kind, clients, bytesEach, seconds: median.seconds, mbPerSec: (clients * bytesEach) / 1e6 / median.seconds,
          rounds: per[server].map((s) => (clients * bytesEach) / 1e6 / s.seconds),
          cpuPer100MB: (median.cpu / ((clients * bytesEach) / 1e6)) * 100,
          clientCpuPer100MB: (median.clientCpu / ((clients * bytesEach) / 1e6)) * 100,
          note: kind === 'curl' ? `lock-step (window 1), blksize 1468${server === 'rackseed-w2' ? ', 2 transfer workers' : ''}` : server === 'rackseed' ? 'windowsize 16, blksize 1468, 1 thread' : server === 'rackseed-w2' ? 'windowsize 16, blksize 1468, 2 transfer workers' : 'windowsize refused (not supported), lock-step, blksize 1468',
        });
      }
    }
    const loadAfter = load1();
    for (const r of results) log(`tftp ${r.client} ${r.server}: median ${r.mbPerSec.toFixed(1)} MB/s, server CPU ${r.cpuPer100MB.toFixed(2)} s per 100 MB`);
    if (!servers.includes('tftpd-hpa') || !servers.some(isRackseed)) return { rows: [], markdown: '', results, command: '' };
    const rows: SummaryRow[] = cases.flatMap((kind) => {
      const b = results.find((x) => x.client === kind && x.server === 'tftpd-hpa')!;
      return results.filter((x) => x.client === kind && isRackseed(x.server)).map((a) => ({
        bench: 'tftp',
        case: `${clients} × ${sizeMB} MB, ${kind === 'curl' ? 'curl lock-step' : 'atftp windowsize 16'}, ${a.server === 'rackseed-w2' ? '2 transfer workers' : '1 thread'}, MB/s vs tftpd-hpa`,
        rackseed: a.mbPerSec.toFixed(1), reference: b.mbPerSec.toFixed(1), ratio: a.mbPerSec / b.mbPerSec,
        goal: kind === 'curl' || a.server !== 'rackseed-w2' ? undefined : '≥ 2.0× (daemon default: 2 transfer workers)',
      }));
    });
    const command = 'npm run bench -- --only tftp   (or: node --import tsx bench/tftp.ts --write-doc)';
    const m = machineInfo();
    const markdown = [
      `_Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${((Date.now() - t0) / 1000).toFixed(0)} s, on ${m.nproc} × ${m.cpuModel}, Node ${m.node}; 1-min load ${loadBefore} → ${loadAfter} (shared machine: noisy)._`,
      '',
      `${clients} clients start at once in one namespace and each download the same ${sizeMB} MB random file from the server in another namespace`,
      `(veth, ${SERVER_IP} ↔ ${CLIENT_IP}); aggregate MB/s (10^6 B) = ${clients} × ${sizeMB} MB ÷ wall time until the last client`,
      `finished; every copy is checked (size + sha256). ${rounds} round(s) per server, alternating A B / B A; the median is shown.`,
      '',
      '- RackSeed (`rackseed`): `node --import tsx netboot/tftp/server/standalone.ts --root DIR --address 10.232.9.1 --port 69` (the daemon\'s server with a plain dgram socket factory, everything on one thread); `rackseed-w2`: the same with `--workers 2` (`transferWorkers: 2`: transfers run on 2 worker threads, the main thread keeps port 69 and the handler).',
      '- tftpd-hpa 5.2: `in.tftpd -L -s DIR -a 10.232.9.1:69` (foreground, killed by PID). It supports blksize/tsize/timeout but **not windowsize** (RFC 7440), so with the same atftp command it runs lock-step.',
      ...cases.map((k) => `- client \`${k}\`: \`${CLIENT_LINES[k]}\``),
      '',
      '| client | server | agreed | MB/s (median) | rounds MB/s | server CPU s per 100 MB | clients CPU s per 100 MB | ratio RackSeed ÷ tftpd-hpa (MB/s) |',
      '|---|---|---|---:|---|---:|---:|---:|',
      ...results.map((r) => {
        const other = results.find((x) => x.client === r.client && x.server === 'tftpd-hpa')!;
        return `| ${r.client} | ${r.server} | ${r.note} | ${r.mbPerSec.toFixed(1)} | ${r.rounds.map((x) => x.toFixed(1)).join(', ')} | ${r.cpuPer100MB.toFixed(2)} | ${r.clientCpuPer100MB.toFixed(2)} | ${isRackseed(r.server) ? `${(r.mbPerSec / other.mbPerSec).toFixed(2)}×` : ''} |`;
      }),
      '',
      'Goal: ≥ 2× tftpd-hpa aggregate with windowsize (the atftp-window16 rows).',
      '',
      reading(results),
    ].join('\n');
    return { rows, markdown, results, command };
  } finally {
    await sandbox.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The interpretation under the table: whether the goal was met and why the figures are what they are. */
function reading(results: BenchResult[]): string {
  const pick = (client: TftpClientKind, server: TftpServerKind) => results.find((r) => r.client === client && r.server === server);
  const ref = pick('atftp-window16', 'tftpd-hpa');
  const one = pick('atftp-window16', 'rackseed');
  const w2 = pick('atftp-window16', 'rackseed-w2');
  const lb = pick('curl', 'tftpd-hpa');
  const la = pick('curl', 'rackseed');
  const lw = pick('curl', 'rackseed-w2');
  const parts: string[] = [];
  if (ref && (one || w2)) {
    const goalRow = w2 ?? one!;
    const ratio = goalRow.mbPerSec / ref.mbPerSec;
    const fig = (r: BenchResult | undefined, label: string) => (r ? `${label} ${(r.mbPerSec / ref.mbPerSec).toFixed(2)}× (server ${r.cpuPer100MB.toFixed(2)}, clients ${r.clientCpuPer100MB.toFixed(2)} CPU s per 100 MB)` : '');
    parts.push(`**Reading.** With windowsize 16 RackSeed reaches ${[fig(w2, 'with two transfer workers (the daemon\'s default on ≥ 2 cores)'), fig(one, 'on one thread')].filter(Boolean).join(', ')} ` +
      `of tftpd-hpa's aggregate (server ${ref.cpuPer100MB.toFixed(2)}, clients ${ref.clientCpuPer100MB.toFixed(2)} CPU s per 100 MB): goal (${w2 ? 'two workers' : 'one thread'}) ${ratio >= 2 ? 'met' : '**not met**'} in this run. ` +
      'Each window leaves as one `sendmsg` with UDP_SEGMENT (UDP GSO, `server/udp-gso.ts`): the kernel cuts the buffer into ' +
      'the 16 DATA datagrams, so one trip through the UDP/IP stack and one wake-up of the client carry a whole window; on the transfer ' +
      'workers each window is also read with one readv straight into its send buffer, behind the DATA headers (no block cache, no copy). ' +
      'The server\'s remaining CPU is mostly the kernel: that send (which also delivers into the peer namespace) and the read. tftpd-hpa has no ' +
      `windowsize, so the same atftp command runs lock-step there: one ACK per block, which also costs the clients ${(ref.clientCpuPer100MB / goalRow.clientCpuPer100MB).toFixed(1)}× the CPU. ` +
      'Everything shares 2 cores, so the wall-clock ratio is close to the ratio of total CPU (server + clients) per MB, and it moves ' +
      'with the machine\'s load (the load average is in the header). With one thread, every client waits for that thread between ' +
      'windows; with two workers the transfers use both cores, as tftpd-hpa\'s forked processes do.');
  }
  if (la && lb) {
    parts.push(`In lock-step (curl: one block per ACK, so GSO cannot apply) RackSeed needs ${(la.cpuPer100MB / lb.cpuPer100MB).toFixed(1)}× tftpd-hpa's CPU per MB ` +
      `(one JavaScript turn and two syscalls per block) and reaches ${(la.mbPerSec / lb.mbPerSec).toFixed(2)}×${lw ? ` (${(lw.mbPerSec / lb.mbPerSec).toFixed(2)}× with two workers)` : ''}.`);
  }
  return parts.join(' ');
}

/** Write `markdown` under "## TFTP" in docs/BENCHMARKS.md, between bench:tftp markers (other sections untouched). */
export async function writeTftpSection(markdown: string): Promise<void> {
  const path = join(REPO, 'docs/BENCHMARKS.md');
  const doc = await readFile(path, 'utf8').catch(() => '# Benchmarks\n');
  const start = '<!-- bench:tftp:start -->';
  const end = '<!-- bench:tftp:end -->';
  const block = `${start}\n${markdown.trim()}\n${end}`;
  let next: string;
  if (doc.includes(start) && doc.includes(end)) next = doc.slice(0, doc.indexOf(start)) + block + doc.slice(doc.indexOf(end) + end.length);
  else if (doc.includes('\n## TFTP\n')) {
    const at = doc.indexOf('\n## TFTP\n') + '\n## TFTP\n'.length;
    const rest = doc.slice(at);
    const nextHeading = rest.search(/\n## /);
    next = `${doc.slice(0, at)}\n${block}\n${nextHeading >= 0 ? rest.slice(nextHeading) : ''}`;
  } else next = `${doc.trimEnd()}\n\n## TFTP\n\n${block}\n`;
  await writeFile(path, next);
}

const HELP = `usage: node --import tsx bench/tftp.ts [options]   (root: network namespaces)
  --quick               4 clients × 5 MB, 1 round
  --clients N  --size-mb N  --rounds N
  --cases LIST          atftp-window16,curl (default both)
  --servers LIST        rackseed,rackseed-w2,tftpd-hpa (default all; the doc needs tftpd-hpa and one RackSeed)
  --server-arg ARG      extra argument for standalone.ts (repeatable, e.g. --server-arg=--workers=2)
  --cpu-prof DIR        V8 CPU profile of the RackSeed server into DIR
  --write-doc           rewrite the TFTP section of docs/BENCHMARKS.md
`;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values: a } = parseArgs({
    options: {
      help: { type: 'boolean' }, quick: { type: 'boolean' }, 'write-doc': { type: 'boolean' },
      clients: { type: 'string' }, 'size-mb': { type: 'string' }, rounds: { type: 'string' },
      cases: { type: 'string' }, servers: { type: 'string' }, 'server-arg': { type: 'string', multiple: true }, 'cpu-prof': { type: 'string' },
    },
  });
  if (a.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (spawnSync('id', ['-u'], { encoding: 'utf8' }).stdout.trim() !== '0') throw new Error('bench/tftp.ts needs root (network namespaces)');
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const report = await runTftpBench({
    quick: a.quick ?? false, log: (l) => console.error(l),
    clients: num(a.clients), sizeMB: num(a['size-mb']), rounds: num(a.rounds),
    cases: a.cases?.split(',') as TftpClientKind[] | undefined, servers: a.servers?.split(',') as TftpServerKind[] | undefined,
    serverArgs: a['server-arg'], cpuProfDir: a['cpu-prof'] ? resolve(a['cpu-prof']) : undefined,
  });
  for (const r of report.rows) console.log(`${r.case}: RackSeed ${r.rackseed}, tftpd-hpa ${r.reference}, ratio ${r.ratio?.toFixed(2)}`);
  if (report.markdown && a['write-doc']) await writeTftpSection(report.markdown);
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The second line of bash's `times` (children's user and system time, e.g. "0m1.234s 0m0.567s") in seconds. */
export function childCpuFromTimes(out: string): number {
  const lines = out.trim().split('\n').filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l.trim()));
  const last = lines[lines.length - 1];
  if (!last) return 0;
  return last.trim().split(' ').reduce((sum, t) => { const m = /^(\d+)m([\d.]+)s$/.exec(t); return sum + (m ? Number(m[1]) * 60 + Number(m[2]) : 0); }, 0);
}
