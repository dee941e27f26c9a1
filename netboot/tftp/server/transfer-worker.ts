// Worker-thread side of transfer-pool.ts: runs read transfers handed over as descriptors (a bound UDP socket and
// an open file, both owned by the main thread until handed over) and reports each outcome. Messages:
//   in  { type: 'start', …TransferStart }   { type: 'abort', id, reason }
//   out { type: 'done', id, outcome }
import { createSocket } from 'node:dgram';
import { read, readvSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import pino from 'pino';
import type { TftpRangeFile } from './handler.ts';
import { ipLiteralLookup } from '../../net/ip-literal-lookup.ts';
import { runReadTransfer, type TransferOutcome, type TransferSettings } from './transfer.ts';

/** Everything a worker needs for one transfer; descriptors are process-wide, so numbers suffice. */
export interface TransferStart extends TransferSettings {
  id: number;
  /** a dup of the bound transfer socket: the worker closes it at the end */
  socketFd: number;
  /** the file's descriptor: read-only here, the main thread closes it after `done` */
  fileFd: number;
  size: number;
  logLevel: string;
}

export type ToWorker = ({ type: 'start' } & TransferStart) | { type: 'abort'; id: number; reason: string };
/** `ready`: the worker's modules are loaded (sent once, first) */
export type FromWorker = { type: 'done'; id: number; outcome: TransferOutcome } | { type: 'ready' };

type Running = { done: Promise<TransferOutcome>; abort(reason: string): void };
const loggers = new Map<string, pino.Logger>();

/** Start a transfer from handed-over descriptors: adopt the socket (bind to the fd), read the file by pread/readv. */
function startTransfer(m: TransferStart): Running {
  let logger = loggers.get(m.logLevel);
  if (!logger) loggers.set(m.logLevel, (logger = pino({ level: m.logLevel }, pino.destination(2))));
  const rlog = logger.child({ client: m.client.address, port: m.client.port, file: m.filename, worker: true });
  const file: TftpRangeFile = {
    kind: 'ranges',
    size: m.size,
    read: (buffer, position) => new Promise((ok, fail) => read(m.fileFd, buffer, 0, buffer.length, position, (err, n) => (err ? fail(err) : ok(n)))),
    readvSync: (buffers, position) => readvSync(m.fileFd, buffers, position),
    close: async () => { /* the main thread closes the file */ },
  };
  const socket = createSocket({ type: 'udp4', lookup: ipLiteralLookup });
  let aborted: string | null = null;
  let transfer: Running | null = null;
  const done = new Promise<TransferOutcome>((resolve) => {
    socket.once('error', (err) => resolve({ ok: false, reason: `socket error: ${err.message}`, bytes: 0, retransmits: 0, clientAborted: false }));
    socket.bind({ fd: m.socketFd }, () => {
      socket.removeAllListeners('error');
      transfer = runReadTransfer({
        socket, client: m.client, file, filename: m.filename, accepted: m.accepted, blksize: m.blksize,
        windowsize: m.windowsize, timeoutMs: m.timeoutMs, retries: m.retries, logger: rlog,
      });
      if (aborted !== null) transfer.abort(aborted); // an abort that came while the socket was being adopted
      void transfer.done.then(resolve);
    });
  });
  return { done, abort: (reason) => { if (transfer) transfer.abort(reason); else aborted = reason; } };
}

const port = parentPort;
if (port) {
  const running = new Map<number, Running>();
  port.on('message', (m: ToWorker) => {
    if (m.type === 'abort') {
      running.get(m.id)?.abort(m.reason);
      return;
    }
    const t = startTransfer(m);
    running.set(m.id, t);
    void t.done.then((outcome) => {
      running.delete(m.id);
      port.postMessage({ type: 'done', id: m.id, outcome } satisfies FromWorker);
    });
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}
