// Runs one TFTP server serving a directory, in the foreground, until SIGTERM/SIGINT. Used by the interop tests
// and the benchmark inside network namespaces (`ip netns exec NS node --import tsx …/standalone.ts …`), where
// the namespace confines the plain dgram sockets. Prints "ready <address>:<port>" on stdout once listening,
// and the counters as JSON on stdout at exit.
//   --root DIR  --address A (default 0.0.0.0)  --port N (default 69)  --log-level L (default warn)
//   --timeout-ms N  --retries N  --max-windowsize N  --workers N (transfer worker threads, default 0; loaded before port 69 answers)
//   --max-transfers-per-client N (default 8: more concurrent clients from one address, e.g. the benchmark's, need more)
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createFilesystemHandler } from './fs-handler.ts';
import { dgramSocketFactory } from './dgram-socket-factory.ts';
import { createTftpServer } from './tftp-server.ts';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    address: { type: 'string', default: '0.0.0.0' },
    port: { type: 'string', default: '69' },
    'log-level': { type: 'string', default: 'warn' },
    'timeout-ms': { type: 'string', default: '1000' },
    retries: { type: 'string', default: '5' },
    'max-windowsize': { type: 'string', default: '64' },
    workers: { type: 'string', default: '0' },
    'max-transfers-per-client': { type: 'string', default: '8' },
  },
});
if (!values.root) {
  process.stderr.write('usage: standalone.ts --root DIR [--address A] [--port N]\n');
  process.exit(2);
}
const logger = pino({ level: values['log-level'] }, pino.destination(2));
const server = createTftpServer({
  socketFactory: dgramSocketFactory,
  address: values.address,
  port: Number(values.port),
  handler: createFilesystemHandler(values.root),
  logger,
  timeoutMs: Number(values['timeout-ms']),
  retries: Number(values.retries),
  maxWindowsize: Number(values['max-windowsize']),
  transferWorkers: Number(values.workers),
  maxTransfersPerClient: Number(values['max-transfers-per-client']),
});
// workers loaded before port 69 answers (the benchmark's readiness probe is a download): its transfers all run on
// them (the daemon starts them on first use instead)
await server.warmTransferWorkers();
await server.start();
const a = server.address();
process.stdout.write(`ready ${a.address}:${a.port}\n`);
const stop = async () => {
  await server.stop();
  process.stdout.write(`${JSON.stringify(server.counters())}\n`);
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
