// Small process helpers for the lab: run a command (optionally inside a namespace), start a detached
// long-running one whose PID we record, and stop processes by PID. Never by name.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** Run to completion; returns stdout; throws with stderr on failure. `ns` null = root namespace. */
export function run(ns: string | null, cmd: string, args: string[], timeoutMs = 30_000): string {
  const [c, a] = ns ? ['ip', ['netns', 'exec', ns, cmd, ...args]] : [cmd, args];
  try {
    return execFileSync(c, a, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Like `run` but returns null instead of throwing. */
export function tryRun(ns: string | null, cmd: string, args: string[], timeoutMs = 30_000): string | null {
  try { return run(ns, cmd, args, timeoutMs); } catch { return null; }
}

/**
 * Start `cmd` in its own session (it survives our exit and gets no terminal signals), stdout and stderr
 * appended to `logFile`. `ip netns exec` execs the command, so the returned PID is the command's own.
 */
export function spawnDetached(ns: string | null, cmd: string, args: string[], logFile: string,
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): number {
  const fd = openSync(logFile, 'a');
  try {
    const [c, a] = ns ? ['ip', ['netns', 'exec', ns, cmd, ...args]] : [cmd, args];
    const child = spawn(c, a, { detached: true, stdio: ['ignore', fd, fd], env: opts.env ?? process.env, cwd: opts.cwd });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // a zombie still answers kill(0); count it as gone
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves when the PID is gone (or after the SIGKILL). */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  if (!pidAlive(pid)) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if (!pidAlive(pid)) return;
    await sleep(50);
  }
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  const hard = Date.now() + 2000;
  while (Date.now() < hard && pidAlive(pid)) await sleep(50);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** PIDs of every process inside namespace `ns` (empty when it does not exist). */
export function namespacePids(ns: string): number[] {
  const out = tryRun(null, 'ip', ['netns', 'pids', ns]);
  return out ? out.split(/\s+/).filter(Boolean).map(Number) : [];
}

export function readPidFile(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
