// Starting or attaching to the rackseed daemon from the (unprivileged) Electron main process. No Electron
// import: unit-tested with plain Node (test/unit/electron-daemon-process.test.ts).
//
// Attach: RACKSEED_DAEMON_URL + RACKSEED_TOKEN name a daemon that already runs (a service, the lab, a jump host).
// Start (Linux): `pkexec /bin/sh -c WRAPPER …` — the daemon needs root for ports 67/69/4011 and SO_BINDTODEVICE.
//   pkexec clears the environment and argv is world-readable (/proc/PID/cmdline), so the per-launch token goes
//   through the child's stdin: the wrapper reads one line into RACKSEED_TOKEN, starts the daemon, then keeps
//   reading stdin; when Electron exits (or closes the pipe) the wrapper sees EOF and stops the daemon. That is
//   the parent heartbeat, and it needs no root privileges on Electron's side to stop a root process.
// Start (macOS, or RACKSEED_NO_ELEVATE=1): the same wrapper without pkexec. Windows: node directly, token in
//   its environment. (Low ports there need the daemon installed as a service; this path serves development.)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

export interface DaemonEndpoint {
  /** http://127.0.0.1:PORT, no trailing slash */
  baseUrl: string;
  token: string;
}

/** POSIX sh wrapper; $1 = working directory, $2… = the daemon command. Reads the token line from stdin. */
export const WRAPPER_SCRIPT = [
  'cd "$1" || exit 70',
  'shift',
  'IFS= read -r RACKSEED_TOKEN || exit 71',
  'export RACKSEED_TOKEN',
  '"$@" </dev/null &',
  'pid=$!',
  "trap 'kill -TERM $pid 2>/dev/null' TERM INT HUP",
  'cat >/dev/null',
  'kill -TERM $pid 2>/dev/null',
  'wait $pid',
].join('\n');

export interface LaunchOptions {
  platform: NodeJS.Platform;
  /** absolute path of the Node binary that runs the daemon (not Electron: the daemon has native modules) */
  nodePath: string;
  /** directory holding package.json, node_modules and src/ of the daemon (the repo, or resources/daemon) */
  daemonRoot: string;
  port: number;
  dataDir: string;
  /** skip pkexec even on Linux (already root, or a development setup) */
  noElevate?: boolean;
  /** absolute path of pkexec (default /usr/bin/pkexec) */
  pkexecPath?: string;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  /** true: write `${token}\n` to stdin and keep stdin open for the daemon's lifetime (the heartbeat);
   *  false (Windows): RACKSEED_TOKEN in the child's environment */
  tokenOnStdin: boolean;
  elevated: boolean;
}

/** The exact command that starts the daemon. Pure. The token never appears in it. */
export function daemonLaunchPlan(o: LaunchOptions): LaunchPlan {
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new RangeError(`bad port ${o.port}`);
  // bin/rackseed.mjs, not `node --import tsx …`: it turns tsx's compile cache off (a root daemon must not run
  // "compiled" code from /tmp/tsx-0, which any local user can create first) and refuses an install others can write
  const daemon = [o.nodePath, 'bin/rackseed.mjs', 'serve', '--listen', `127.0.0.1:${o.port}`, '--data', o.dataDir];
  const wrapped = ['/bin/sh', '-c', WRAPPER_SCRIPT, 'rackseed-daemon', o.daemonRoot, ...daemon];
  const elevated = o.platform === 'linux' && !o.noElevate;
  if (o.platform === 'win32') {
    // no POSIX sh: node directly; the token goes in the child's environment (private to the user on Windows)
    return { command: o.nodePath, args: daemon.slice(1), tokenOnStdin: false, elevated: false };
  }
  return elevated
    ? { command: o.pkexecPath ?? '/usr/bin/pkexec', args: wrapped, tokenOnStdin: true, elevated: true }
    : { command: wrapped[0], args: wrapped.slice(1), tokenOnStdin: true, elevated: false };
}

/** A daemon named by the environment, or null. Throws when the variables are present but unusable. */
export function attachFromEnv(env: Record<string, string | undefined>): DaemonEndpoint | null {
  const url = env.RACKSEED_DAEMON_URL;
  if (!url) return null;
  const token = env.RACKSEED_TOKEN;
  if (!token) throw new Error('RACKSEED_DAEMON_URL is set but RACKSEED_TOKEN is not');
  let u: URL;
  try { u = new URL(url); } catch { throw new Error(`RACKSEED_DAEMON_URL is not a URL: ${url}`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('RACKSEED_DAEMON_URL must be http(s)');
  if (u.username || u.password || u.search || u.hash) throw new Error('RACKSEED_DAEMON_URL must be a plain origin');
  return { baseUrl: u.origin + u.pathname.replace(/\/+$/, ''), token };
}

/** 32 random bytes, base64url: the per-launch API token. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A free TCP port on 127.0.0.1. (Racy by nature; the daemon fails loudly if someone takes it first.) */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface SpawnedDaemon extends DaemonEndpoint {
  child: ChildProcess;
  /** stop the daemon: closes the heartbeat pipe (the wrapper then stops it), SIGTERM after `graceMs` */
  stop(graceMs?: number): Promise<void>;
}

/** Spawn the plan and hand over the token on stdin. Resolves once the process is spawned (not yet ready). */
export function spawnDaemon(plan: LaunchPlan, cwd: string, port: number, token: string, onOutput?: (line: string) => void): SpawnedDaemon {
  const env = { ...process.env, RACKSEED_TOKEN: plan.tokenOnStdin ? undefined : token };
  const child = spawn(plan.command, plan.args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env });
  if (plan.tokenOnStdin) child.stdin!.write(`${token}\n`);
  const forward = (b: Buffer) => { for (const line of b.toString().split('\n')) if (line) onOutput?.(line); };
  child.stdout!.on('data', forward);
  child.stderr!.on('data', forward);
  child.stdin!.on('error', () => { /* daemon gone: nothing to tell it */ });
  const stop = async (graceMs = 5000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin!.end();
    if (!plan.tokenOnStdin) child.kill('SIGTERM');
    const t = setTimeout(() => { if (!plan.elevated) child.kill('SIGKILL'); }, graceMs);
    await exited;
    clearTimeout(t);
  };
  return { baseUrl: `http://127.0.0.1:${port}`, token, child, stop };
}

/** Poll GET /api/v1/health with the token until it answers 200; throws after `timeoutMs` or when `child` exits. */
export async function waitUntilReady(ep: DaemonEndpoint, timeoutMs = 60_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`daemon exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${ep.baseUrl}/api/v1/health`, { headers: { authorization: `Bearer ${ep.token}` }, signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
      if (res.status === 401) throw new Error('daemon refused the token (401)');
    } catch (err) {
      if (err instanceof Error && err.message.includes('401')) throw err;
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`daemon not ready after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
