// The daemon's local socket: the API also on a unix socket in the data dir's private run folder, beside its TCP
// listener, for `rackseed` commands on this host (issue 18; the CLI's side is daemon/cli/local-socket.ts).
// Why: a console keystroke goes CLI → daemon → BMC → daemon → CLI; a socket-to-socket round trip between two Node
// processes costs ~20 µs over a unix socket against ~80 µs over TCP loopback on this VM (stop 26). End to end a fresh
// `rackseed console` gained 0.01–0.07 ms per keystroke from it (docs/BENCHMARKS.md, SOL).
// Contract:
// - the path is `<run folder>/api-<32 hex>.sock`, the hex random per launch: a CLI that was told a path by a daemon
//   it reaches through a tunnel (RACKSEED_URL a forwarded loopback port) finds no such socket on its own host, and
//   nobody can name this daemon's socket without having asked this daemon (with the token).
// - the socket is served by the same HTTP server as TCP (its connections are handed to it), so every route, check
//   and timeout is the same, with one exception: the Host check (access.ts) does not apply to connections that came
//   through here (no browser can open a unix socket, so DNS rebinding cannot reach it). The token is required as
//   on TCP.
// - who can reach it: the socket is 0600 in the run folder (owned by the daemon's user, not writable by others:
//   core/safe-path.ts privateSubdir; 0700 when RackSeed makes it), so only that user — root for `rackseed serve` on a
//   laptop — can connect. Others use TCP.
// - sockets left by daemons killed with SIGKILL (`api-<hex>.sock` refusing connections: ECONNREFUSED) are removed
//   at start; any other file is left as it is.
// - null from openLocalSocket means "no local socket" (the reason logged): TCP works regardless. A path longer than a
//   unix socket's or with characters outside [A-Za-z0-9._/+-] (the `ws` client cannot name those) gives none.
// - close(): stops accepting at once (the socket file is removed), then waits up to `graceMs` for the connections
//   that came through it (the HTTP server does not count them), then ends those still open.
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, readdirSync, unlinkSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** A local socket's file name: `api-<32 hex>.sock` (the CLI refuses any other). */
export const LOCAL_SOCKET_NAME = /^api-[0-9a-f]{32}\.sock$/;
/** Characters a local socket's path may have: the `ws` client's `ws+unix:` URL takes these as they are. */
export const LOCAL_SOCKET_PATH_CHARS = /^[A-Za-z0-9._/+-]+$/;
/** sun_path holds 108 bytes on Linux, the last a NUL. */
export const MAX_SOCKET_PATH = 107;

/** Connections accepted on a local socket (a WeakSet: nothing added to the socket object itself). */
const localConnections = new WeakSet<object>();

/** Whether this connection came through a daemon's local socket (access.ts: no Host check for it). */
export function cameThroughLocalSocket(socket: object | null | undefined): boolean {
  return socket != null && localConnections.has(socket);
}

/** A TCP peer address on this host: 127/8, ::1 or an IPv4-mapped 127/8 (GET /api/v1/local-socket tells only these). */
export function isLoopbackPeer(address: string | undefined): boolean {
  const a = address ?? '';
  return a === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(a);
}

export interface LocalSocket {
  /** the socket's absolute path */
  readonly path: string;
  /** stop accepting, wait up to `graceMs` for its connections to end, then end the rest (contract above) */
  close(graceMs?: number): Promise<void>;
}

/**
 * How a connect to the unix socket at `path` went: 'up' (someone listens and lets us in), or the error code
 * ('ECONNREFUSED': nobody listens; 'EACCES': not ours to open; 'ETIMEDOUT'). The daemon's stale-socket sweep and the
 * CLI's last check (cli/local-socket.ts) both ask it.
 */
export function probeSocket(path: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const s: Socket = connect({ path });
    const done = (v: string): void => { clearTimeout(t); s.destroy(); resolve(v); };
    const t = setTimeout(() => done('ETIMEDOUT'), timeoutMs);
    s.once('connect', () => done('up'));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
  });
}

/** Removes the sockets of daemons that died in `runDir` (only `api-<hex>.sock` sockets nobody listens on). */
async function removeStale(runDir: string, log: Logger): Promise<void> {
  let names: string[];
  try { names = readdirSync(runDir); } catch { return; }
  for (const name of names) {
    if (!LOCAL_SOCKET_NAME.test(name)) continue;
    const path = join(runDir, name);
    try {
      if (!lstatSync(path).isSocket()) continue;
      if (await probeSocket(path) !== 'ECONNREFUSED') continue; // another daemon's, or busy: left alone
      unlinkSync(path);
      log.debug({ path }, 'removed the local API socket of a daemon that did not stop cleanly');
    } catch { /* gone meanwhile, or not ours to remove */ }
  }
}

/**
 * Listens on `<runDir>/api-<hex>.sock` and hands each connection to `http` (the API's server). `runDir` must be a
 * folder already checked private (core/safe-path.ts privateSubdir). Resolves null (and logs why) when there will be none.
 */
export async function openLocalSocket(http: HttpServer, runDir: string, log: Logger): Promise<LocalSocket | null> {
  const path = join(runDir, `api-${randomBytes(16).toString('hex')}.sock`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH || !LOCAL_SOCKET_PATH_CHARS.test(path)) {
    log.info({ path }, `no local API socket: its path is longer than ${MAX_SOCKET_PATH} bytes or has characters outside [A-Za-z0-9._/+-] (this host's CLI uses TCP)`);
    return null;
  }
  await removeStale(runDir, log);
  const open = new Set<Socket>();
  const server: Server = createServer((socket) => {
    localConnections.add(socket);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    http.emit('connection', socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path }, () => { server.off('error', reject); resolve(); });
    });
    chmodSync(path, 0o600);
  } catch (err) {
    server.close();
    log.warn({ path, err: (err as Error).message }, 'no local API socket: it could not be opened (this host\'s CLI uses TCP)');
    return null;
  }
  server.on('error', (err) => log.warn({ path, err: err.message }, 'local API socket error'));
  let closed: Promise<void> | null = null;
  return {
    path,
    close: (graceMs = 2000) => closed ??= (async () => {
      // net.Server's own close callback would wait for every connection without end (a keep-alive one: fastify keeps
      // them 72 s); here the socket file goes at once (libuv unlinks a bound path when its handle closes), then the
      // connections get `graceMs`
      server.close();
      const end = Date.now() + graceMs;
      while (open.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      for (const s of open) s.destroy();
    })(),
  };
}
