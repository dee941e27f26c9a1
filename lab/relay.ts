// `node --import tsx lab/relay.ts SOCKET HOST:PORT` — run inside the appliance namespace: serve unix socket
// SOCKET and pipe every connection to the daemon's API at HOST:PORT there. Exits on SIGTERM/SIGINT.
import { rmSync } from 'node:fs';
import { startPipe } from './forwarder.ts';

const [socketPath, target] = process.argv.slice(2);
const m = target ? /^(.+):(\d+)$/.exec(target) : null;
if (!socketPath || !m) {
  process.stderr.write('usage: relay.ts SOCKET HOST:PORT\n');
  process.exit(2);
}
rmSync(socketPath, { force: true });
const pipe = await startPipe({ path: socketPath }, { host: m[1], port: Number(m[2]) });
process.stdout.write(`relay: ${socketPath} → ${target}\n`);
const stop = () => { void pipe.close().finally(() => { rmSync(socketPath, { force: true }); process.exit(0); }); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
