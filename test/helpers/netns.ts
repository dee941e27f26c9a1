// Test-only network namespaces: every namespace, link and process a test creates is registered here and
// torn down by `cleanup()` (call it in `after`/`finally`), even when the test fails.
// Addresses used in tests come from 10.23x.0.0/16 ranges that exist only inside these namespaces.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A unique, short namespace name with a prefix that says who made it (`rs-<tag>-<random>`). */
export function uniqueName(tag: string): string {
  return `rs-${tag}-${randomBytes(3).toString('hex')}`;
}

export class NetnsSandbox {
  private readonly namespaces: string[] = [];
  private readonly processes: ChildProcess[] = [];

  /** Create a namespace with loopback up. */
  addNamespace(tag: string): string {
    const name = uniqueName(tag);
    ip('netns', 'add', name);
    this.namespaces.push(name);
    ip('-n', name, 'link', 'set', 'lo', 'up');
    return name;
  }

  /** Create a bridge inside `ns` and bring it up; optionally give it an address (CIDR). */
  addBridge(ns: string, name: string, cidr?: string): void {
    ip('-n', ns, 'link', 'add', name, 'type', 'bridge');
    // no STP delay: ports forward at once
    ip('-n', ns, 'link', 'set', name, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
    if (cidr) ip('-n', ns, 'addr', 'add', cidr, 'dev', name);
    ip('-n', ns, 'link', 'set', name, 'up');
  }

  /**
   * Connect two namespaces with a veth pair. `a`/`b` give namespace, interface name, optional CIDR and
   * optional bridge (in that namespace) to enslave the end to.
   */
  addVeth(a: VethEnd, b: VethEnd): void {
    const tmpA = `v${randomBytes(4).toString('hex')}`;
    const tmpB = `v${randomBytes(4).toString('hex')}`;
    ip('link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB);
    try {
      for (const [tmp, end] of [[tmpA, a], [tmpB, b]] as const) {
        ip('link', 'set', tmp, 'netns', end.ns);
        ip('-n', end.ns, 'link', 'set', tmp, 'name', end.name);
        if (end.mac) ip('-n', end.ns, 'link', 'set', end.name, 'address', end.mac);
        if (end.bridge) ip('-n', end.ns, 'link', 'set', end.name, 'master', end.bridge);
        if (end.cidr) ip('-n', end.ns, 'addr', 'add', end.cidr, 'dev', end.name);
        ip('-n', end.ns, 'link', 'set', end.name, 'up');
      }
    } catch (err) {
      try { ip('link', 'del', tmpA); } catch { /* moved or gone already */ }
      throw err;
    }
  }

  /** Run a command to completion inside `ns`; returns stdout. Throws with stderr on failure. */
  exec(ns: string, cmd: string, args: string[], timeoutMs = 30_000): string {
    return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], {
      encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** Start a long-running process inside `ns`; it is killed (by PID) at cleanup. */
  spawn(ns: string, cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.processes.push(child);
    return child;
  }

  /** Kill every process we started (SIGTERM, then SIGKILL after `graceMs`), then delete every namespace. */
  async cleanup(graceMs = 2000): Promise<void> {
    const alive = this.processes.filter((p) => p.exitCode === null && p.signalCode === null);
    for (const p of alive) { try { p.kill('SIGTERM'); } catch { /* already gone */ } }
    await Promise.all(alive.map((p) => waitExit(p, graceMs).then((exited) => { if (!exited) { try { p.kill('SIGKILL'); } catch { /* gone */ } } })));
    // Processes inside a namespace that were not started by us through spawn() (daemons that fork) are
    // found by namespace and killed by PID before the namespace goes.
    for (const ns of this.namespaces.reverse()) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean);
        for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
      } catch { /* namespace already gone */ }
      try { ip('netns', 'del', ns); } catch { /* already gone */ }
    }
    this.namespaces.length = 0;
    this.processes.length = 0;
  }
}

export interface VethEnd {
  ns: string;
  name: string;
  cidr?: string;
  bridge?: string;
  mac?: string;
}

export function waitExit(p: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    p.once('exit', () => { clearTimeout(t); resolve(true); });
  });
}

/** True when this process may create namespaces (root with iproute2). Tests that need it fail loudly otherwise. */
export function canUseNetns(): boolean {
  try { execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' }); return process.getuid?.() === 0; } catch { return false; }
}
