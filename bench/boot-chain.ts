// Boot-chain benchmark (issue 4): power-on → inventory stored, for the same VM (SeaBIOS, e1000 with QEMU's
// iPXE ROM, 256 MiB, TCG — lab/node.ts qemuArgs), three ways, interleaved a, b, c, a, b, c … (--boot-repeats N,
// default 3; medians and min–max reported):
//   (a) rackseed   the virtual rack (lab/): RackSeed's daemon powers the node on through its BMC (ipmi_sim) and
//                  serves DHCP → iPXE script → kernel + initrd → agent → inventory stored (event "inventory")
//   (b) reference  a hand-tuned chain: dnsmasq (no-ping, iPXE user class → script URL) + radvd RAs + a minimal
//                  Node HTTP server serving the same iPXE script, kernel and ramdisk and receiving the POST
//   (c) direct     QEMU -kernel/-initrd with the same kernel arguments (no firmware network boot at all);
//                  the agent's own DHCP is answered by the same dnsmasq
// One clock for all three: it starts at the QEMU process's start time (/proc/PID/stat; bench/lib/boot-clock.ts).
// For (a) the IPMI part (discovery request → GUID, one-time PXE, power on → QEMU running) is reported apart.
// Milestones come from the servers (DHCP, script, inventory) and from the serial console, timestamped on arrival
// (iPXE's "initrd … ok", the ramdisk's uptime-stamped `rackseed-init:`/`rackseed-agent:` lines).
// Each VM is killed by PID when done; every namespace is created here (10.243.0.0/24) and deleted after.
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { loadRamdiskManifest, agentKernelArgs } from '../agent/build/manifest.ts';
import { NetnsSandbox, waitExit } from '../test/helpers/netns.ts';
import { nodeIdentity, parseNodeSpec, NET } from '../lab/config.ts';
import { prepareNode, qemuArgs, type LabNode } from '../lab/node.ts';
import { radvdConf } from '../lab/radvd.ts';
import type { BenchContext, BenchReport, SummaryRow } from './lib/bench-types.ts';
import { load1 } from './lib/machine.ts';
import { ConsoleWatch, median, processStartMs, tailFile, type ConsoleMarks } from './lib/boot-clock.ts';

const RECEIVER = fileURLToPath(new URL('./lib/boot-receiver.ts', import.meta.url));
const REF_ADDR = '10.243.0.1';
const REF_PORT = 8080;
const BRIDGE = 'br-prov';
const TAP = 'tap1';

export type BootPath = 'rackseed' | 'reference' | 'direct';

/** Milestones, in boot order; each is seconds from the QEMU process's start. */
export const MILESTONES = ['dhcp', 'script', 'loaded', 'kernel', 'init', 'agent', 'agentLease', 'stored'] as const;
export type Milestone = (typeof MILESTONES)[number];

const MILESTONE_TEXT: Record<Milestone, string> = {
  dhcp: 'first DHCP packet at the server (firmware + iPXE start)',
  script: 'iPXE script fetched (iPXE DHCP done)',
  loaded: 'kernel + initrd downloaded (iPXE "ok")',
  kernel: 'guest kernel starts',
  init: 'ramdisk /init runs',
  agent: 'agent starts',
  agentLease: 'agent has its DHCP lease',
  stored: 'inventory stored',
};

export interface BootRun {
  path: BootPath;
  /** 1-based round of the interleaved sequence */
  round: number;
  /** QEMU process start → inventory stored, seconds; null = did not finish */
  seconds: number | null;
  /** (a) only: discovery API request → QEMU process start (IPMI GUID read, one-time PXE, power on), seconds */
  ipmiSeconds: number | null;
  /** (a) only: the daemon's BMC events (GUID read, one-time PXE, power on), seconds from the discovery request */
  ipmiSteps?: Record<string, number>;
  /** seconds from QEMU start; a milestone the path does not have, or that was not seen, is absent */
  milestones: Partial<Record<Milestone, number>>;
  /** 1-minute load average when the boot finished */
  load: number;
  error: string | null;
}

export interface BootChainOptions extends BenchContext {
  paths?: BootPath[];
  /** boots per path, interleaved (default 3; 1 with --quick); the runner passes --boot-repeats */
  bootRepeats?: number | string;
  timeoutMs?: number;
}

export async function runBootChainBench(opts: BootChainOptions): Promise<BenchReport & { runs: BootRun[] }> {
  const manifest = loadRamdiskManifest();
  if (!manifest) throw new Error('no discovery ramdisk: run `npm run build:ramdisk` (scripts/setup.sh bench does)');
  const timeoutMs = opts.timeoutMs ?? (opts.quick ? 180_000 : 300_000);
  const paths = opts.paths ?? ['rackseed', 'reference', 'direct'];
  const repeats = Math.max(1, Math.floor(Number(opts.bootRepeats ?? process.env.RS_BENCH_BOOT_REPEATS ?? (opts.quick ? 1 : 3)) || 3));
  const loadBefore = load1();
  const runs: BootRun[] = [];
  for (let round = 1; round <= repeats; round++) {
    for (const path of paths) {
      opts.log(`boot-chain: round ${round}/${repeats}: ${path}…`);
      let run: BootRun;
      try {
        run = path === 'rackseed' ? await rackseedRun(round, timeoutMs, opts.log) : await referenceRun(path, round, manifest.kernel.path, manifest.initrd.path, timeoutMs);
      } catch (err) {
        run = { path, round, seconds: null, ipmiSeconds: null, milestones: {}, load: load1(), error: (err as Error).message.split('\n')[0] };
      }
      opts.log(`boot-chain: ${path}: ${run.seconds === null ? `failed: ${run.error}` : `${run.seconds.toFixed(1)} s`}${run.ipmiSeconds !== null ? ` (+ IPMI ${run.ipmiSeconds} s ${JSON.stringify(run.ipmiSteps ?? {})})` : ''} ${JSON.stringify(run.milestones)} (load ${run.load})`);
      runs.push(run);
    }
  }
  const loadAfter = load1();
  return { runs, rows: rows(runs), markdown: markdown(runs, repeats, manifest.kernelVersion, loadBefore, loadAfter) };
}

/** Seconds from `t0` for each present host time. */
function relative(t0: number, at: Partial<Record<Milestone, number | null>>): Partial<Record<Milestone, number>> {
  const out: Partial<Record<Milestone, number>> = {};
  for (const k of MILESTONES) { const v = at[k]; if (typeof v === 'number') out[k] = round2((v - t0) / 1000); }
  return out;
}

const fromConsole = (m: ConsoleMarks): Partial<Record<Milestone, number | null>> =>
  ({ loaded: m.loaded, kernel: m.kernel, init: m.init, agent: m.agent, agentLease: m.agentLease });

// ---- (b) and (c): the reference network, built here

async function referenceRun(path: 'reference' | 'direct', roundNo: number, kernel: string, initrd: string, timeoutMs: number): Promise<BootRun> {
  const sandbox = new NetnsSandbox();
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-boot-'));
  let qemu: ChildProcess | null = null;
  try {
    const ns = sandbox.addNamespace('bc');
    sandbox.addBridge(ns, BRIDGE, `${REF_ADDR}/24`);
    sandbox.exec(ns, 'ip', ['tuntap', 'add', 'dev', TAP, 'mode', 'tap']);
    sandbox.exec(ns, 'ip', ['link', 'set', TAP, 'master', BRIDGE, 'up']);
    writeFileSync(join(dir, 'radvd.conf'), radvdConf(BRIDGE, NET.ulaPrefix));
    sandbox.spawn(ns, 'radvd', ['-n', '-C', join(dir, 'radvd.conf'), '-p', join(dir, 'radvd.pid'), '-m', 'stderr']);
    const dnsmasq = sandbox.spawn(ns, 'dnsmasq', [
      '--no-daemon', '--conf-file=/dev/null', '--port=0', '--no-ping', '--bind-interfaces', `--interface=${BRIDGE}`, '--except-interface=lo',
      '--dhcp-range=10.243.0.100,10.243.0.199,255.255.255.0,1h', `--dhcp-leasefile=${join(dir, 'leases')}`, '--dhcp-authoritative',
      '--dhcp-userclass=set:ipxe,iPXE', `--dhcp-boot=tag:ipxe,http://${REF_ADDR}:${REF_PORT}/boot.ipxe`, '--log-facility=-',
    ]);
    // dnsmasq logs each DHCP message on stderr: the first DISCOVER is the firmware's (iPXE's), in (b)
    let firstDhcp: number | null = null;
    const dnsmasqLog: string[] = [];
    const onDnsmasq = (d: Buffer): void => {
      if (firstDhcp === null && /DHCPDISCOVER/.test(d.toString())) firstDhcp = Date.now();
      dnsmasqLog.push(...d.toString().split('\n').filter(Boolean).map((l) => `${new Date().toISOString()} ${l}`));
    };
    dnsmasq.stderr?.on('data', onDnsmasq);
    dnsmasq.stdout?.on('data', onDnsmasq);
    const identity = { ...nodeIdentity('bench', 1), tap: TAP };
    const node: LabNode = { identity, spec: parseNodeSpec('bios'), dir: join(dir, 'node'), consoleLog: join(dir, 'node', 'console.log') };
    prepareNode(node);
    const token = randomBytes(18).toString('base64url');
    const receiver = sandbox.spawn(ns, process.execPath, ['--import', 'tsx', RECEIVER, JSON.stringify({
      address: REF_ADDR, port: REF_PORT, kernel, initrd, token, nodeId: 'bench-node', mac: identity.mac,
    })]);
    const events = lines(receiver);
    await events.waitFor('ready', 20_000);
    const args = qemuArgs(node);
    if (path === 'reference') args.push('-boot', 'n');
    else args.push('-kernel', kernel, '-initrd', initrd, '-append', agentKernelArgs({ url: `http://${REF_ADDR}:${REF_PORT}`, token, nodeId: 'bench-node', mac: identity.mac }));
    const spawnedAt = Date.now();
    qemu = sandbox.spawn(ns, 'qemu-system-x86_64', args); // `ip netns exec` execs QEMU: same PID
    const t0 = (qemu.pid !== undefined ? processStartMs(qemu.pid) : null) ?? spawnedAt;
    const watch = new ConsoleWatch();
    const consoleFile = createWriteStream(node.consoleLog);
    for (const s of [qemu.stdout, qemu.stderr]) s?.on('data', (d: Buffer) => { consoleFile.write(d); watch.feed(d.toString('latin1')); });
    const done = await events.waitFor('inventory', timeoutMs, qemu);
    const ev = (name: string): number | null => events.seen.find((e) => e.event === name)?.at ?? null;
    const at: Partial<Record<Milestone, number | null>> = { ...fromConsole(watch.marks()), stored: done?.at ?? null };
    if (path === 'reference') {
      at.dhcp = firstDhcp;
      at.script = ev('script');
      at.loaded ??= ev('initrd-done');
    }
    const milestones = relative(t0, at);
    consoleFile.end();
    keepLogs(`${path}-${roundNo}`, { 'dnsmasq.log': dnsmasqLog.join('\n'), 'console.log': watch.stamped() });
    if (!done) return { path, round: roundNo, seconds: null, ipmiSeconds: null, milestones, load: load1(), error: `no inventory within ${timeoutMs / 1000} s` };
    return { path, round: roundNo, seconds: round2((done.at - t0) / 1000), ipmiSeconds: null, milestones, load: load1(), error: null };
  } finally {
    if (qemu && qemu.exitCode === null) { qemu.kill('SIGKILL'); await waitExit(qemu, 5000); }
    await sandbox.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ReceiverEvent { event: string; at: number }

/** JSON lines from the receiver, with a wait for the first of a kind (null on timeout or when `dies` exits). */
function lines(child: ChildProcess): { seen: ReceiverEvent[]; waitFor(event: string, ms: number, dies?: ChildProcess): Promise<ReceiverEvent | null> } {
  const seen: ReceiverEvent[] = [];
  const waiters: Array<() => void> = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try { seen.push(JSON.parse(line) as ReceiverEvent); } catch { /* not an event */ }
      for (const w of waiters) w();
    }
  });
  return {
    seen,
    waitFor(event, ms, dies) {
      return new Promise((resolve) => {
        const check = (): boolean => {
          const e = seen.find((x) => x.event === event);
          if (e) { finish(e); return true; }
          return false;
        };
        const timer = setTimeout(() => finish(null), ms);
        const onExit = (): void => { setTimeout(() => { if (!check()) finish(null); }, 500); };
        const finish = (e: ReceiverEvent | null): void => {
          clearTimeout(timer);
          dies?.off('exit', onExit);
          const i = waiters.indexOf(tick);
          if (i >= 0) waiters.splice(i, 1);
          resolve(e);
        };
        const tick = (): void => { check(); };
        if (check()) return;
        waiters.push(tick);
        dies?.once('exit', onExit);
        child.once('exit', () => { if (!check()) finish(null); });
      });
    },
  };
}

/** With RS_BENCH_BOOT_KEEP=DIR, each boot's logs (console with host arrival times, dnsmasq) are written to DIR/NAME-*. */
function keepLogs(name: string, files: Record<string, string>): void {
  const dir = process.env.RS_BENCH_BOOT_KEEP;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, `${name}-${file}`), text);
}

// ---- (a): RackSeed through the virtual rack

interface DaemonEvent { at: number; kind: string; source: string; mac: string | null; detail?: Record<string, unknown> }

async function rackseedRun(roundNo: number, timeoutMs: number, log: (line: string) => void): Promise<BootRun> {
  const { Lab } = await import('../lab/rack.ts');
  const { sweepBmcs, discoverNodes } = await import('../lab/discovery.ts');
  const lab = await Lab.up({ id: `bc${randomBytes(3).toString('hex')}`, nodes: [parseNodeSpec('bios')], daemon: { mode: 'authoritative' }, forwardPort: null });
  const node = lab.nodes[0];
  const watch = new ConsoleWatch();
  const stopTail = tailFile(node.consoleLog, (text, at) => watch.feed(text, at));
  // QEMU is started by ipmi_sim's chassis-control script; catch its PID while it runs (it powers off at the end)
  let qemuStart: number | null = null;
  const pidPoll = setInterval(() => { const pid = lab.qemuPid(node); if (pid !== null && qemuStart === null) qemuStart = processStartMs(pid); }, 50);
  try {
    const o = {
      user: lab.bmcUser, password: lab.bmcPassword, cidr: NET.bmcNetwork, expectBmcs: lab.nodes.map((n) => n.bmcAddress),
      discoveryTimeoutMs: timeoutMs, progress: (l: string) => log(`boot-chain: rackseed: ${l}`),
    };
    await sweepBmcs(lab.api, o);
    const requested = Date.now();
    await discoverNodes(lab.api, 1, o);
    clearInterval(pidPoll);
    stopTail();
    if (qemuStart === null) throw new Error('QEMU\'s start time was not caught (power.pid never seen alive)');
    const t0: number = qemuStart;
    const events = await lab.api.get<DaemonEvent[]>('/api/v1/events?limit=1000');
    const mac = node.identity.mac.toLowerCase();
    const first = (pred: (e: DaemonEvent) => boolean): number | null => {
      const e = events.filter((x) => x.at >= t0 && pred(x)).sort((x, y) => x.at - y.at)[0];
      return e ? e.at : null;
    };
    const ipmiSteps: Record<string, number> = {};
    for (const kind of ['bmc-guid', 'bootdev', 'power-on']) {
      const e = events.filter((x) => x.at >= requested && x.source === 'bmc' && x.kind === kind).sort((x, y) => x.at - y.at)[0];
      if (e) ipmiSteps[kind] = round2((e.at - requested) / 1000);
    }
    keepLogs(`rackseed-${roundNo}`, { 'console.log': watch.stamped(), 'events.json': JSON.stringify(events.filter((e) => e.at >= requested), null, 1) });
    const marks = watch.marks();
    const stored = first((e) => e.kind === 'inventory');
    const at: Partial<Record<Milestone, number | null>> = {
      ...fromConsole(marks),
      // the first DHCP answer: a DORA's one entry is stamped at its ACK and carries its OFFER's time as detail.offeredAt
      dhcp: firstDhcpAnswer(events, mac, t0),
      script: first((e) => e.source === 'http' && e.kind === 'script'),
      stored,
    };
    return {
      path: 'rackseed', round: roundNo, seconds: stored === null ? null : round2((stored - t0) / 1000), ipmiSeconds: round2((t0 - requested) / 1000), ipmiSteps,
      milestones: relative(t0, at), load: load1(), error: stored === null ? 'node available but no inventory event' : null,
    };
  } catch (err) {
    // keep what explains the failure: the node's console and the daemon's log
    const keep = mkdtempSync(join(tmpdir(), 'rs-bench-boot-fail-'));
    for (const n of lab.nodes) { try { copyFileSync(n.consoleLog, join(keep, `${n.identity.name}-console.log`)); } catch { /* none */ } }
    if (lab.daemon) { try { copyFileSync(lab.daemon.log, join(keep, 'daemon.log')); } catch { /* none */ } }
    throw new Error(`${(err as Error).message} (console and daemon log kept in ${keep})`);
  } finally {
    clearInterval(pidPoll);
    stopTail();
    await lab.down({ removeDir: true });
  }
}

// ---- report

const round2 = (x: number): number => Math.round(x * 100) / 100;
const fmt = (x: number | null): string => (x === null ? '–' : x.toFixed(1));

interface PathStats { n: number; ok: number; median: number | null; min: number | null; max: number | null }

function stats(runs: BootRun[], path: BootPath, pick: (r: BootRun) => number | null | undefined = (r) => r.seconds): PathStats {
  const mine = runs.filter((r) => r.path === path);
  const v = mine.map(pick).filter((x): x is number => typeof x === 'number');
  return { n: mine.length, ok: v.length, median: median(v), min: v.length ? Math.min(...v) : null, max: v.length ? Math.max(...v) : null };
}

const spread = (s: PathStats, digits = 1): string => (s.median === null ? '–' : `${s.median.toFixed(digits)} (${s.min!.toFixed(digits)}–${s.max!.toFixed(digits)}, ${s.ok}/${s.n})`);

function rows(runs: BootRun[]): SummaryRow[] {
  const rs = stats(runs, 'rackseed');
  const out: SummaryRow[] = [];
  for (const path of ['reference', 'direct'] as const) {
    const ref = stats(runs, path);
    if (ref.n === 0) continue;
    out.push({
      bench: 'boot-chain', case: `QEMU start → inventory stored (median of ${Math.max(rs.n, ref.n)}), vs ${path === 'reference' ? 'dnsmasq + iPXE + HTTP' : 'QEMU -kernel/-initrd'}`,
      rackseed: rs.median !== null ? `${fmt(rs.median)} s` : 'failed', reference: ref.median !== null ? `${fmt(ref.median)} s` : 'failed',
      ratio: rs.median && ref.median ? Math.round((ref.median / rs.median) * 100) / 100 : null,
      goal: path === 'reference' ? 'RackSeed ≤ 1.1× reference time (ratio ≥ 0.91)' : 'the floor (report only)',
    });
  }
  return out;
}

const PHASES: Array<{ name: string; from: Milestone | null; to: Milestone }> = [
  { name: 'firmware + iPXE start (QEMU start → first DHCP)', from: null, to: 'dhcp' },
  { name: 'iPXE DHCP (first DHCP → script fetched)', from: 'dhcp', to: 'script' },
  { name: 'kernel + initrd download (script → iPXE "ok")', from: 'script', to: 'loaded' },
  { name: 'iPXE hands over → kernel clock starts (decompression, early boot; c: from QEMU start)', from: 'loaded', to: 'kernel' },
  { name: 'kernel → /init', from: 'kernel', to: 'init' },
  { name: '/init: modules → agent start', from: 'init', to: 'agent' },
  { name: 'agent DHCP', from: 'agent', to: 'agentLease' },
  { name: 'inventory collected, POSTed, stored', from: 'agentLease', to: 'stored' },
];

/** Phase length for one run: `to` minus `from` (QEMU start when `from` is null or, for (c), absent). */
function phase(r: BootRun, p: (typeof PHASES)[number]): number | null {
  const to = r.milestones[p.to];
  if (to === undefined) return null;
  if (p.from === null) return to;
  const from = r.milestones[p.from];
  if (from !== undefined) return round2(to - from);
  // (c) has no firmware network boot: its kernel phase starts at QEMU start
  return r.path === 'direct' && p.to === 'kernel' ? to : null;
}

function markdown(runs: BootRun[], repeats: number, kernel: string, loadBefore: number, loadAfter: number): string {
  const paths: BootPath[] = ['rackseed', 'reference', 'direct'];
  const label: Record<BootPath, string> = { rackseed: '(a) RackSeed', reference: '(b) reference', direct: '(c) direct' };
  const a = stats(runs, 'rackseed');
  const b = stats(runs, 'reference');
  const c = stats(runs, 'direct');
  const ipmi = stats(runs, 'rackseed', (r) => r.ipmiSeconds);
  const ratio = (x: PathStats, y: PathStats): string => (x.median && y.median ? `${(x.median / y.median).toFixed(2)}×` : '–');
  const out = [
    `One VM (SeaBIOS, e1000 with QEMU's iPXE ROM, 256 MiB, \`-accel tcg\`; lab/node.ts), discovery ramdisk with kernel ${kernel}; ` +
    `${repeats} boot(s) per path, interleaved (a, b, c, a, b, c …). Every clock starts at the QEMU process's start time (/proc/PID/stat), ` +
    `so the three paths share one start point; (a)'s IPMI steps before it (discovery request → BMC GUID read, one-time PXE, power on through ipmi_sim → QEMU running) are reported apart. ` +
    `Medians, with min–max and successful/attempted boots. 1-minute load average ${loadBefore} before, ${loadAfter} after (per boot below).`,
    '',
    '| path | QEMU start → inventory stored (s) | ratio to (b) | ratio to (c) |',
    '|---|---:|---:|---:|',
    `| (a) RackSeed: its DHCP, iPXE script, HTTP, agent intake | ${spread(a)} | ${ratio(a, b)} | ${ratio(a, c)} |`,
    `| (b) dnsmasq (no-ping) + radvd + same iPXE script, kernel, ramdisk over a minimal Node HTTP server | ${spread(b)} | 1.00× | ${ratio(b, c)} |`,
    `| (c) QEMU -kernel/-initrd, same kernel arguments (no firmware, no iPXE) | ${spread(c)} | ${ratio(c, b)} | 1.00× |`,
    '',
    `(a)'s IPMI power-on, discovery request → QEMU start: ${spread(ipmi, 2)} s (not in the figures above). Goal (a) ≤ 1.1× (b): ${a.median && b.median ? (a.median <= 1.1 * b.median ? '**met**' : '**not met**') : 'not measured'}.`,
    '',
    'Where the seconds go (median per phase over the boots, s; phase ends from server events and console arrival times):',
    '',
    `| phase | ${paths.map((p) => label[p]).join(' | ')} |`,
    `|---|${paths.map(() => '---:').join('|')}|`,
  ];
  for (const p of PHASES) out.push(`| ${p.name} | ${paths.map((path) => fmt(median(runs.filter((r) => r.path === path).map((r) => phase(r, p))))).join(' | ')} |`);
  out.push(`| **total** | ${paths.map((p) => fmt(stats(runs, p).median)).join(' | ')} |`);
  out.push('', 'Every boot (milestones in s from QEMU start: ' + MILESTONES.map((m) => `${m} = ${MILESTONE_TEXT[m]}`).join('; ') + '):', '',
    '| round | path | total (s) | IPMI (s) | milestones | load | note |', '|---:|---|---:|---:|---|---:|---|');
  for (const r of runs) {
    const ms = MILESTONES.filter((m) => r.milestones[m] !== undefined).map((m) => `${m} ${r.milestones[m]!.toFixed(1)}`).join(', ');
    const steps = r.ipmiSteps ? Object.entries(r.ipmiSteps).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') : '';
    out.push(`| ${r.round} | ${label[r.path]} | ${fmt(r.seconds)} | ${r.ipmiSeconds === null ? '' : `${r.ipmiSeconds.toFixed(2)}${steps ? ` (events logged at: ${steps})` : ''}`} | ${ms} | ${r.load} | ${r.error ?? ''} |`);
  }
  return out.join('\n');
}

/** Time of the first DHCP answer to `mac` at or after `t0`: an OFFER's time (detail.offeredAt of a DORA's entry), else the entry's. */
function firstDhcpAnswer(events: readonly DaemonEvent[], mac: string, t0: number): number | null {
  let best: number | null = null;
  for (const e of events) {
    if (e.source !== 'dhcp' || (e.mac ?? '').toLowerCase() !== mac) continue;
    const offeredAt = e.detail?.offeredAt;
    const t = typeof offeredAt === 'number' ? offeredAt : e.at;
    if (t >= t0 && (best === null || t < best)) best = t;
  }
  return best;
}
