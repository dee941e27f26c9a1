// Test helper: a real `rackseed serve` daemon on 127.0.0.1:<free high port> with a throw-away data dir and a
// known token, API only (no --interface: no network services). Stopped by PID in `stop()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');

export interface RunningDaemon {
  baseUrl: string;
  token: string;
  /** the one-time login URL the daemon printed */
  loginUrl: string;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM (SIGKILL after 5 s), then remove the data dir unless keepData (to start a daemon on it again) */
  stop(o?: { keepData?: boolean }): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bind 0, read, close). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

export interface StartOptions {
  /** extra CLI arguments after `serve` */
  args?: string[];
  /** run inside this network namespace (`ip netns exec NS …`; needs root) */
  netns?: string;
  /** listen address host (default 127.0.0.1) */
  host?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** runs on the fresh data dir before the daemon starts (tests seed nodes through the daemon's own store: seed.ts) */
  prepare?: (dataDir: string) => void | Promise<void>;
  /** use this data dir (a daemon stopped with keepData: a restart) instead of a fresh one; removed by this one's stop() */
  dataDir?: string;
}

export async function startDaemon(opts: StartOptions = {}): Promise<RunningDaemon> {
  const port = await freePort();
  const host = opts.host ?? '127.0.0.1';
  const token = randomBytes(24).toString('base64url');
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'rs-ui-daemon-'));
  if (opts.prepare) {
    try { await opts.prepare(dataDir); } catch (err) { rmSync(dataDir, { recursive: true, force: true }); throw err; }
  }
  const cli = ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve', '--listen', `${host}:${port}`, '--data', dataDir, ...(opts.args ?? [])];
  const [cmd, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, process.execPath, ...cli]] : [process.execPath, cli];
  const child = spawn(cmd, argv as string[], {
    cwd: REPO,
    env: { ...process.env, RACKSEED_TOKEN: token, RACKSEED_LOG_JSON: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const stop = async (o: { keepData?: boolean } = {}) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    if (!o.keepData) rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  try {
    for (;;) {
      const m = /(http:\/\/\S+\/login\?code=[A-Za-z0-9_-]+)/.exec(out);
      if (m) return { baseUrl: `http://${host}:${port}`, token, loginUrl: m[1], dataDir, child, output: () => out, stop };
      if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`daemon did not print its login URL in time:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

/** fetch against the daemon with the Bearer token (or none when `token` is null). */
export async function apiFetch(d: RunningDaemon, path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? d.token : init.token;
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return fetch(d.baseUrl + path, { ...init, headers });
}
