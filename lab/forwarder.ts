// Byte pipes between sockets, so HTTP and WebSocket upgrades pass untouched:
//   host forwarder: 127.0.0.1:PORT in the root namespace → the appliance's unix socket (unix sockets are not
//                   namespaced) — the only socket the lab opens in the root namespace;
//   appliance relay (lab/relay.ts, inside the appliance namespace): that unix socket → the daemon's API on
//                   127.0.0.1 there (the daemon prints its one-time login link only for a TCP listener).
import { connect, createServer, type NetConnectOpts, type Server, type Socket } from 'node:net';

export interface Forwarder { server: Server; port: number; close(): Promise<void> }

/** Listen on `listen` (a TCP port on `host`, or a unix socket path) and pipe each connection to `target`. */
export function startPipe(listen: { port: number; host: string } | { path: string }, target: NetConnectOpts): Promise<Forwarder> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target);
    open.add(client); open.add(upstream);
    const done = () => { client.destroy(); upstream.destroy(); open.delete(client); open.delete(upstream); };
    client.on('error', done); upstream.on('error', done);
    client.on('close', done); upstream.on('close', done);
    client.pipe(upstream); upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen, () => {
      server.off('error', reject);
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        server, port: bound,
        close: () => new Promise<void>((r) => { for (const s of open) s.destroy(); server.close(() => r()); }),
      });
    });
  });
}

/** The host forwarder: 127.0.0.1:`port` (0 = any free port) → unix socket `socketPath`. Does not keep the process alive. */
export async function startForwarder(port: number, socketPath: string, host = '127.0.0.1'): Promise<Forwarder> {
  const f = await startPipe({ port, host }, { path: socketPath });
  // never the reason a process stays alive (the CLI keeps itself running; a timed-out test must end)
  f.server.unref();
  return f;
}
