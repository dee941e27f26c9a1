// The daemon's local socket: the API also on a unix socket in the data dir's private run folder
// (`<data dir>/run/api.sock`), beside its TCP listener, for `rackseed` commands on this host (issue 18).
// Why: a console keystroke goes CLI → daemon → BMC → daemon → CLI; over a unix socket the CLI ↔ daemon round trip
// costs ~20 µs on this VM against ~80 µs over TCP loopback (stop 26's measurements), which is most of what
// `rackseed console` adds to a keystroke's echo beyond `ipmitool sol activate` (bench/sol.ts).
// Contract:
// - the socket is served by the same HTTP server as TCP (its connections are handed to it), so every route, check
//   and timeout is the same, with one exception: the Host check (access.ts) does not apply to connections that came
//   through here (no browser can open a unix socket, so DNS rebinding cannot reach it). The token is required as
//   on TCP.
// - who can reach it: the run folder is 0700 and owned by the daemon's user (core/safe-path.ts privateSubdir), the
//   socket 0600; so only that user (root for `rackseed serve` on a laptop) can connect. Others use TCP.
// - a socket file left by a daemon killed with SIGKILL is replaced; a socket another live daemon answers on is not
//   (that daemon keeps it: this one serves TCP only and says so); anything at the path that is not a socket is never
//   deleted (no local socket, and a warning).
// - null from openLocalSocket means "no local socket" (the reason logged): TCP works regardless.
// - close() stops listening and removes the socket file at once; connections already open are the HTTP server's to
//   close (it does not wait for them).
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** The socket's file name in the run folder. */
export const LOCAL_SOCKET_NAME = 'api.sock';
/** sun_path holds 108 bytes on Linux, the last a NUL. */
const MAX_SOCKET_PATH = 107;

/** Connections accepted on a local socket (a WeakSet: nothing added to the socket object itself). */
const localConnections = new WeakSet<object>();

/** Whether this connection came through a daemon's local socket (access.ts: no Host check for it). */
export function cameThroughLocalSocket(socket: object | null | undefined): boolean {
  return socket != null && localConnections.has(socket);
}

export interface LocalSocket {
  /** the socket's absolute path */
  readonly path: string;
  close(): Promise<void>;
}

/** Whether a live process answers on the unix socket at `path` (a connect within `timeoutMs`). */
function answers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Socket = connect({ path });
    const done = (v: boolean): void => { clearTimeout(t); s.destroy(); resolve(v); };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Listens on `<runDir>/api.sock` and hands each connection to `http` (the API's server). `runDir` must be a folder
 * already checked private (core/safe-path.ts privateSubdir). Resolves null (and logs why) when there will be none.
 */
export async function openLocalSocket(http: HttpServer, runDir: string, log: Logger): Promise<LocalSocket | null> {
  const path = join(runDir, LOCAL_SOCKET_NAME);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    log.info({ path }, `no local API socket: its path is longer than a unix socket's ${MAX_SOCKET_PATH} bytes (this host's CLI uses TCP)`);
    return null;
  }
  let st;
  try { st = lstatSync(path); } catch { st = null; }
  if (st) {
    if (!st.isSocket()) {
      log.warn({ path }, 'no local API socket: something that is not a socket is in its place (left as it is; this host\'s CLI uses TCP)');
      return null;
    }
    if (await answers(path)) {
      log.warn({ path }, 'no local API socket: another daemon answers on it (same data dir?); this host\'s CLI reaches this one by TCP');
      return null;
    }
    unlinkSync(path); // left by a daemon that did not stop cleanly
  }
  const server: Server = createServer((socket) => {
    localConnections.add(socket);
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
  let closed = false;
  return {
    path,
    // net.Server's close callback waits for every connection it accepted to end — a keep-alive one would hold the
    // daemon's stop for fastify's 72 s keep-alive timeout — but those connections are the HTTP server's to close
    // (api.close() ends idle ones and the WebSockets); here: stop accepting, which removes the socket file (libuv
    // unlinks a bound path when its handle closes)
    close: async () => {
      if (closed) return;
      closed = true;
      server.close();
    },
  };
}
