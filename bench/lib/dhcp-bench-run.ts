// One measured storm against one server: fresh namespaces, start the server, run the storm from the client
// namespace, kill -9 the server right after the last ACK, then check the leases it made durable.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLIENT_IF, createDhcpTopology, createLocalDhcpTopology, GIADDR, LOCAL_SUBNET_BROADCAST, SERVER_ADDR } from './dhcp-topology.ts';
import {
  startDnsmasq, startKea, startKeaLogged, startKeaLoggedMt, startKeaLoggedSt, startKeaMt, startKeaSt, type DhcpServerName, type RunningDhcpServer, type StartOptions,
} from './dhcp-servers.ts';
import { ipToU32 } from './dhcp-relay-wire.ts';
import type { StormOptions, StormResult } from './dhcp-storm.ts';

const STORM_CLI = fileURLToPath(new URL('./dhcp-storm-cli.ts', import.meta.url));

export type ServerStarter = (opts: StartOptions) => RunningDhcpServer | Promise<RunningDhcpServer>;

export interface DhcpRunResult extends Omit<StormResult, 'leases'> {
  server: DhcpServerName;
  topology: 'relayed' | 'local';
  describe: string;
  /** ACKed leases whose MAC → address was found in the server's durable store after kill -9 */
  durable: number;
  /** ACKed leases missing (or with another address) in the durable store */
  lost: number;
  /** addresses ACKed to more than one MAC, or outside the pool */
  duplicateAddresses: number;
  outOfPool: number;
  /** CPU time (user + system, all threads) the server process used from the storm's start to its end; null if unreadable */
  serverCpuMs: number | null;
}

const CLK_TCK = (() => { try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; } })();

/** user + system CPU of process `pid` (all its threads) in ms, from /proc/PID/stat (clock-tick resolution); null if gone. */
function processCpuMs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // fields 14 and 15 of proc(5): utime, stime
  } catch {
    return null;
  }
}

export const STARTERS: Partial<Record<DhcpServerName, ServerStarter>> = {
  kea: startKea, 'kea-logged': startKeaLogged, 'kea-st': startKeaSt, 'kea-mt': startKeaMt, 'kea-logged-st': startKeaLoggedSt, 'kea-logged-mt': startKeaLoggedMt, dnsmasq: startDnsmasq,
};

export interface RunOneOptions {
  server: DhcpServerName;
  start: ServerStarter;
  clients: number;
  inFlight: number;
  run: number;
  deadlineMs: number;
  /** see StormOptions.crossCheck */
  crossCheck?: boolean;
  /** relayed (default): dhcp-topology.ts's relay topology; local: the same-segment bridge, clients without addresses */
  topology?: 'relayed' | 'local';
}

export async function runOneStorm(o: RunOneOptions): Promise<DhcpRunResult> {
  const local = o.topology === 'local';
  const topo = local ? createLocalDhcpTopology('bl') : createDhcpTopology('bn');
  let srv: RunningDhcpServer | null = null;
  try {
    srv = await o.start({ sandbox: topo.sandbox, serverNs: topo.serverNs, net: topo.net });
    const storm: StormOptions = {
      server: SERVER_ADDR, giaddr: GIADDR, clients: o.clients, inFlight: o.inFlight, stepTimeoutMs: 2000, attempts: 4,
      deadlineMs: o.deadlineMs, readyTimeoutMs: 20_000, run: o.run, crossCheck: o.crossCheck ?? false,
      ...(local ? { topology: 'local', interface: CLIENT_IF, subnetBroadcast: LOCAL_SUBNET_BROADCAST } : {}),
      ...(process.env.RS_BENCH_DHCP_TIMELINE ? { timelinePath: `${process.env.RS_BENCH_DHCP_TIMELINE}-${o.topology ?? 'relayed'}-${o.server}-${o.clients}-${o.run}.csv` } : {}),
    };
    const cpuBefore = processCpuMs(srv.process.pid);
    const result = await runStormProcess(topo.sandbox, topo.clientNs, storm, o.deadlineMs + 60_000).catch((err: Error) => {
      throw new Error(`${o.server}: ${err.message}\n--- server output ---\n${srv?.output() ?? ''}`);
    });
    const cpuAfter = processCpuMs(srv.process.pid);
    const serverCpuMs = cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null;
    await srv.kill9();
    const durableMap = srv.durableLeases();
    let durable = 0, lost = 0, outOfPool = 0;
    const seen = new Set<string>();
    let duplicateAddresses = 0;
    const first = ipToU32(topo.net.poolFirst), last = ipToU32(topo.net.poolLast);
    for (const [mac, ip] of result.leases) {
      if (durableMap.get(mac) === ip) durable++; else lost++;
      if (seen.has(ip)) duplicateAddresses++;
      seen.add(ip);
      const n = ipToU32(ip);
      if (n < first || n > last) outOfPool++;
    }
    const { leases: _leases, ...rest } = result;
    return { server: o.server, topology: o.topology ?? 'relayed', describe: srv.describe, ...rest, durable, lost, duplicateAddresses, outOfPool, serverCpuMs };
  } finally {
    await topo.sandbox.cleanup();
    srv?.dispose();
  }
}

/** Run the storm CLI inside `ns` and parse its JSON; killed by PID if it overruns `timeoutMs`. */
export function runStormProcess(sandbox: { spawn: StartOptions['sandbox']['spawn'] }, ns: string, storm: StormOptions, timeoutMs: number): Promise<StormResult> {
  return new Promise((resolve, reject) => {
    const child = sandbox.spawn(ns, process.execPath, ['--import', 'tsx', STORM_CLI, JSON.stringify(storm)]);
    let out = '', err = '';
    child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        try { resolve(JSON.parse(out) as StormResult); } catch (e) { reject(new Error(`storm printed no JSON: ${String(e)}; ${err}`)); }
      } else reject(new Error(`storm exited ${code ?? signal}: ${err.trim()}`));
    });
  });
}
