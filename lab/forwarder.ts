// The only socket the lab opens in the root namespace: 127.0.0.1:PORT piped byte for byte to the daemon's
// unix socket (unix sockets are not namespaced), so HTTP and WebSocket upgrades both pass untouched.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Forwarder { server: Server; port: number; close(): Promise<void> }

export function startForwarder(port: number, socketPath: string, host = '127.0.0.1'): Promise<Forwarder> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(socketPath);
    open.add(client); open.add(upstream);
    const done = () => { client.destroy(); upstream.destroy(); open.delete(client); open.delete(upstream); };
    client.on('error', done); upstream.on('error', done);
    client.on('close', done); upstream.on('close', done);
    client.pipe(upstream); upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      // never the reason a process stays alive (the CLI keeps itself running; a timed-out test must end)
      server.unref();
      server.off('error', reject);
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      resolve({
        server, port: bound,
        close: () => new Promise<void>((r) => { for (const s of open) s.destroy(); server.close(() => r()); }),
      });
    });
  });
}
