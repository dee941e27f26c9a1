// Teardown that is safe to run at any time and from any place — an async path, a signal handler, or
// process 'exit' — so it is synchronous. It stops every process the lab recorded (by PID), then whatever
// else still runs inside the instance's namespaces (by PID, from `ip netns pids`), then deletes the
// namespaces, which takes every tap, bridge and veth with them.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labBaseDir, labNames, NS_PREFIX, type LabNames } from './config.ts';
import { namespacePids, pidAlive, readPidFile } from './processes.ts';

/** What `up` records while it works, so that another process (`lab down`) can undo it. */
export interface LabState {
  id: string;
  /** PID of the process that brought the lab up (the CLI or a test); null once it handed over */
  ownerPid: number | null;
  createdAt: number;
  pids: { radvd?: number; tcpdump?: number; daemon?: number; relay?: number; dnsmasq?: number; bmcs: number[]; ironic?: number; ironicRelay?: number };
  nodeDirs: string[];
}

export function stateFile(n: LabNames): string { return join(n.dir, 'lab.json'); }

export function readState(n: LabNames): LabState | null {
  try { return JSON.parse(readFileSync(stateFile(n), 'utf8')) as LabState; } catch { return null; }
}

export function writeState(n: LabNames, s: LabState): void {
  writeFileSync(stateFile(n), JSON.stringify(s, null, 2));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function killAll(pids: number[], graceMs: number): void {
  const live = pids.filter(pidAlive);
  for (const p of live) { try { process.kill(p, 'SIGTERM'); } catch { /* gone */ } }
  const until = Date.now() + graceMs;
  while (Date.now() < until && live.some(pidAlive)) sleepSync(50);
  for (const p of live.filter(pidAlive)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  const hard = Date.now() + 2000;
  while (Date.now() < hard && live.some(pidAlive)) sleepSync(20);
}

function namespaceList(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
  } catch {
    return [];
  }
}

/** Stop everything of instance `n` and delete its namespaces. Idempotent. `removeDir` also deletes its folder. */
export function teardownInstance(n: LabNames, opts: { removeDir?: boolean; graceMs?: number } = {}): void {
  const st = readState(n);
  const nss = [n.rackNs, n.appNs, n.uplinkNs, n.ironicNs];
  // nodes first (they are the biggest), then the daemon and the helpers
  const nodePids = (st?.nodeDirs ?? []).map((d) => readPidFile(join(d, 'power.pid'))).filter((p): p is number => p !== null);
  killAll(nodePids, 1000);
  const recorded = [st?.pids.ironic, st?.pids.ironicRelay, st?.pids.daemon, st?.pids.relay, st?.pids.dnsmasq, st?.pids.radvd, ...(st?.pids.bmcs ?? []), st?.pids.tcpdump]
    .filter((p): p is number => typeof p === 'number');
  killAll(recorded, opts.graceMs ?? 3000);
  // anything else left inside our namespaces (QEMU started by a BMC after we read its pid file, children)
  const present = new Set(namespaceList());
  const stray = nss.filter((ns) => present.has(ns)).flatMap(namespacePids).filter((p) => p !== process.pid);
  killAll(stray, 500);
  for (const ns of nss) {
    if (present.has(ns)) { try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* gone */ } }
  }
  if (opts.removeDir) rmSync(n.dir, { recursive: true, force: true });
  else if (st && existsSync(n.dir)) writeState(n, { ...st, ownerPid: null });
}

/** Ids of every lab instance on this machine: from namespaces (`rslab-<id>-…`) and from the lab folder. */
export function listInstances(): string[] {
  const ids = new Set<string>();
  for (const ns of namespaceList()) {
    const m = ns.startsWith(NS_PREFIX) ? /^rslab-([a-z0-9]{1,12})-(rack|app|up|ironic)$/.exec(ns) : null;
    if (m) ids.add(m[1]);
  }
  try {
    for (const d of readdirSync(labBaseDir())) if (/^[a-z0-9]{1,12}$/.test(d)) ids.add(d);
  } catch { /* no lab folder yet */ }
  return [...ids].sort();
}

/** True when the process that brought instance `id` up still runs (the lab is in use). */
export function instanceOwned(id: string): boolean {
  const st = readState(labNames(id));
  return st?.ownerPid != null && st.ownerPid !== process.pid && pidAlive(st.ownerPid);
}
