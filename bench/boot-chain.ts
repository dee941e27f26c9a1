// Boot-chain benchmark (issue 4): power-on → inventory stored, for the same VM (SeaBIOS, e1000 with QEMU's
// iPXE ROM, 256 MiB, TCG — lab/node.ts qemuArgs), three ways, one after the other:
//   (a) rackseed   the virtual rack (lab/): RackSeed's daemon powers the node on through its BMC (ipmi_sim) and
//                  serves DHCP → iPXE script → kernel + initrd → agent → inventory stored (event "inventory")
//   (b) reference  a hand-tuned chain: dnsmasq (no-ping, iPXE user class → script URL) + radvd RAs + a minimal
//                  Node HTTP server serving the same iPXE script, kernel and ramdisk and receiving the POST
//   (c) direct     QEMU -kernel/-initrd with the same kernel arguments (no firmware network boot at all);
//                  the agent's own DHCP is answered by the same dnsmasq
// Each VM is killed by PID when done; every namespace is created here (10.243.0.0/24) and deleted after.
import { copyFileSync, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const RECEIVER = fileURLToPath(new URL('./lib/boot-receiver.ts', import.meta.url));
const REF_ADDR = '10.243.0.1';
const REF_PORT = 8080;
const BRIDGE = 'br-prov';
const TAP = 'tap1';

export type BootPath = 'rackseed' | 'reference' | 'direct';

export interface BootRun {
  path: BootPath;
  /** power-on (QEMU start, or the discovery request for RackSeed) → inventory stored, seconds; null = did not finish */
  seconds: number | null;
  /** milestones, seconds from power-on */
  milestones: Record<string, number>;
  error: string | null;
}

export interface BootChainOptions extends BenchContext {
  paths?: BootPath[];
  timeoutMs?: number;
}

export async function runBootChainBench(opts: BootChainOptions): Promise<BenchReport & { runs: BootRun[] }> {
  const manifest = loadRamdiskManifest();
  if (!manifest) throw new Error('no discovery ramdisk: run `npm run build:ramdisk` (scripts/setup.sh bench does)');
  const timeoutMs = opts.timeoutMs ?? (opts.quick ? 180_000 : 300_000);
  const paths = opts.paths ?? ['rackseed', 'reference', 'direct'];
  const loadBefore = load1();
  const runs: BootRun[] = [];
  for (const path of paths) {
    opts.log(`boot-chain: ${path}…`);
    let run: BootRun;
    try {
      run = path === 'rackseed' ? await rackseedRun(timeoutMs, opts.log) : await referenceRun(path, manifest.kernel.path, manifest.initrd.path, timeoutMs);
    } catch (err) {
      run = { path, seconds: null, milestones: {}, error: (err as Error).message.split('\n')[0] };
    }
    opts.log(`boot-chain: ${path}: ${run.seconds === null ? `failed: ${run.error}` : `${run.seconds.toFixed(1)} s`} ${JSON.stringify(run.milestones)} (load ${load1()})`);
    runs.push(run);
  }
  const loadAfter = load1();
  return { runs, rows: rows(runs), markdown: markdown(runs, manifest.kernelVersion, loadBefore, loadAfter) };
}

// ---- (b) and (c): the reference network, built here

async function referenceRun(path: 'reference' | 'direct', kernel: string, initrd: string, timeoutMs: number): Promise<BootRun> {
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
    sandbox.spawn(ns, 'dnsmasq', [
      '--no-daemon', '--conf-file=/dev/null', '--port=0', '--no-ping', '--bind-interfaces', `--interface=${BRIDGE}`, '--except-interface=lo',
      '--dhcp-range=10.243.0.100,10.243.0.199,255.255.255.0,1h', `--dhcp-leasefile=${join(dir, 'leases')}`, '--dhcp-authoritative',
      '--dhcp-userclass=set:ipxe,iPXE', `--dhcp-boot=tag:ipxe,http://${REF_ADDR}:${REF_PORT}/boot.ipxe`, '--log-facility=-',
    ]);
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
    const t0 = Date.now();
    qemu = sandbox.spawn(ns, 'qemu-system-x86_64', args);
    const consoleFile = createWriteStream(node.consoleLog);
    qemu.stdout?.pipe(consoleFile);
    qemu.stderr?.pipe(consoleFile);
    const done = await events.waitFor('inventory', timeoutMs, qemu);
    const milestones: Record<string, number> = {};
    for (const e of events.seen) if (e.event !== 'ready' && !(e.event in milestones)) milestones[e.event] = round((e.at - t0) / 1000);
    if (!done) return { path, seconds: null, milestones, error: `no inventory within ${timeoutMs / 1000} s (console: ${node.consoleLog})` };
    return { path, seconds: round((done.at - t0) / 1000), milestones, error: null };
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

// ---- (a): RackSeed through the virtual rack

async function rackseedRun(timeoutMs: number, log: (line: string) => void): Promise<BootRun> {
  const { Lab } = await import('../lab/rack.ts');
  const { sweepBmcs, discoverNodes } = await import('../lab/discovery.ts');
  const lab = await Lab.up({ id: `bc${randomBytes(3).toString('hex')}`, nodes: [parseNodeSpec('bios')], daemon: { mode: 'authoritative' }, forwardPort: null });
  try {
    const o = {
      user: lab.bmcUser, password: lab.bmcPassword, cidr: NET.bmcNetwork, expectBmcs: lab.nodes.map((n) => n.bmcAddress),
      discoveryTimeoutMs: timeoutMs, progress: (l: string) => log(`boot-chain: rackseed: ${l}`),
    };
    await sweepBmcs(lab.api, o);
    const t0 = Date.now();
    await discoverNodes(lab.api, 1, o);
    const events = await lab.api.get<Array<{ at: number; kind: string; source: string }>>('/api/v1/events?limit=1000');
    const first = (pred: (e: { kind: string; source: string }) => boolean): number | null => {
      const e = events.find((x) => x.at >= t0 && pred(x));
      return e ? e.at : null;
    };
    const milestones: Record<string, number> = {};
    const mark = (name: string, at: number | null): void => { if (at !== null) milestones[name] = round((at - t0) / 1000); };
    mark('dhcp', first((e) => e.source === 'dhcp' && e.kind === 'discover'));
    mark('script', first((e) => e.source === 'http' && e.kind === 'script'));
    mark('download', first((e) => e.source === 'http' && e.kind === 'download'));
    const inv = first((e) => e.kind === 'inventory');
    mark('inventory', inv);
    return { path: 'rackseed', seconds: inv === null ? null : round((inv - t0) / 1000), milestones, error: inv === null ? 'node available but no inventory event' : null };
  } catch (err) {
    // keep what explains the failure: the node's console and the daemon's log
    const keep = mkdtempSync(join(tmpdir(), 'rs-bench-boot-fail-'));
    for (const n of lab.nodes) { try { copyFileSync(n.consoleLog, join(keep, `${n.identity.name}-console.log`)); } catch { /* none */ } }
    if (lab.daemon) { try { copyFileSync(lab.daemon.log, join(keep, 'daemon.log')); } catch { /* none */ } }
    throw new Error(`${(err as Error).message} (console and daemon log kept in ${keep})`);
  } finally {
    await lab.down({ removeDir: true });
  }
}

// ---- report

const round = (x: number): number => Math.round(x * 10) / 10;

function rows(runs: BootRun[]): SummaryRow[] {
  const rs = runs.find((r) => r.path === 'rackseed');
  const out: SummaryRow[] = [];
  for (const ref of runs.filter((r) => r.path !== 'rackseed')) {
    out.push({
      bench: 'boot-chain', case: `power-on → inventory stored, vs ${ref.path === 'reference' ? 'dnsmasq + iPXE + HTTP' : 'QEMU -kernel/-initrd'}`,
      rackseed: rs?.seconds != null ? `${rs.seconds} s` : 'n/a', reference: ref.seconds != null ? `${ref.seconds} s` : 'failed',
      ratio: rs?.seconds && ref.seconds ? Math.round((ref.seconds / rs.seconds) * 100) / 100 : null,
    });
  }
  return out;
}

function markdown(runs: BootRun[], kernel: string, loadBefore: number, loadAfter: number): string {
  const out = [
    `One VM (SeaBIOS, e1000 with QEMU's iPXE ROM, 256 MiB, \`-accel tcg\`; lab/node.ts), discovery ramdisk with kernel ${kernel}, one boot per path, sequentially. ` +
    `Seconds from power-on to the inventory being stored; ratio = reference ÷ RackSeed (> 1: RackSeed faster). RackSeed's clock starts at the discovery request, so it also carries its job's IPMI steps (read GUID, one-time PXE, power on through ipmi_sim); the other two start at QEMU's start. 1-minute load average ${loadBefore} before, ${loadAfter} after.`,
    '',
    '| path | power-on → inventory (s) | milestones (s from power-on) | note |',
    '|---|---:|---|---|',
  ];
  const what: Record<BootPath, string> = {
    rackseed: 'RackSeed: IPMI power-on by the daemon, its DHCP, iPXE script, HTTP, agent intake',
    reference: 'dnsmasq (no-ping) + radvd + same iPXE script, kernel, ramdisk over a minimal Node HTTP server',
    direct: 'QEMU -kernel/-initrd, same kernel arguments (no firmware, no iPXE)',
  };
  for (const r of runs) {
    const ms = Object.entries(r.milestones).map(([k, v]) => `${k} ${v}`).join(', ');
    out.push(`| ${what[r.path]} | ${r.seconds ?? '–'} | ${ms} | ${r.error ?? ''} |`);
  }
  return out.join('\n');
}
