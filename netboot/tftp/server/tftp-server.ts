// Read-only TFTP server (RFC 1350 + RFC 2347/2348/2349/7440 options). Pipeline per request packet:
// receive → decode (malformed: log, drop) → filter (RRQ only; WRQ refused) → handler(path, client) →
// negotiate options → transfer on a fresh ephemeral socket. One bad packet or failing transfer never stops it.
import type { Socket, RemoteInfo } from 'node:dgram';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { NetbootEventSink } from '../../boot-policy.ts';
import type { UdpSocketFactory } from '../../net/udp-socket.ts';
import { TftpDecodeError } from '../decode-error.ts';
import { errorCodeMessage, TftpErrorCode } from '../error-code.ts';
import { encodeNetascii } from '../netascii.ts';
import { BLKSIZE_MAX, BLKSIZE_MIN, TIMEOUT_MAX, TIMEOUT_MIN, WINDOWSIZE_MAX, WINDOWSIZE_MIN } from '../options.ts';
import { decodeTftpPacket, encodeTftpPacket, packetToString, type TftpRequestPacket } from '../packet.ts';
import { TftpHandlerError, type TftpClient, type TftpFile, type TftpHandler } from './handler.ts';
import { negotiateReadOptions } from './negotiate.ts';
import { runReadTransfer } from './transfer.ts';
import { TransferPool, type TransferPoolState } from './transfer-pool.ts';

export interface TftpServerOptions {
  /** where sockets come from: the listening socket and one ephemeral socket per transfer */
  socketFactory: UdpSocketFactory;
  /** Linux interface to confine every socket to (passed to the factory); undefined = none */
  interface?: string;
  /** local address for the listening and the transfer sockets; default 0.0.0.0 */
  address?: string;
  /** listening port; default 69; 0 = ephemeral (tests; see address()) */
  port?: number;
  handler: TftpHandler;
  logger: Logger;
  onEvent?: NetbootEventSink;
  /** retransmission timeout when the client did not negotiate one (RFC 2349); default 1000 ms */
  timeoutMs?: number;
  /**
   * ceiling on a client's timeout option (RFC 2349), in s, 1..255; default 5. A request up to it is acknowledged
   * as asked; a larger one is left out of the OACK and the server retransmits after the ceiling (negotiate.ts).
   */
  maxTimeoutSec?: number;
  /** retransmissions of one window before a transfer is abandoned; default 5 */
  retries?: number;
  /** cap on negotiated blksize, 8..65464 (RFC 2348; larger values are taken as 65464); default 65464 */
  maxBlksize?: number;
  /** cap on negotiated windowsize (RFC 7440), 1..65535; default 64 */
  maxWindowsize?: number;
  /** concurrent transfers; more RRQs get ERROR 0 "Server busy"; default 512 */
  maxTransfers?: number;
  /**
   * concurrent transfers per client address (any port); more RRQs from that address get ERROR 0 "Too many transfers
   * from this client" and count in `clientLimited`. A PXE client needs 1–2 (a tsize probe, then the download); default 8
   */
  maxTransfersPerClient?: number;
  /**
   * worker threads for transfers of files whose handler exposes `fd` (the filesystem handler does); 0 (default)
   * runs every transfer on the calling thread. Other files (streams, netascii) always stay on the calling thread.
   * The workers start with the first such transfer (it, and any before a worker has loaded, run on the calling
   * thread) and end after `transferWorkerIdleMs` without a transfer; warmTransferWorkers() starts them at once.
   */
  transferWorkers?: number;
  /** idle time after which the transfer workers are ended (the next transfer starts them again); default 60 s */
  transferWorkerIdleMs?: number;
}

export interface TftpCounters {
  /** read requests accepted for processing (duplicates of an active transfer not counted) */
  rrq: number;
  /** transfers completed (last block acknowledged) */
  done: number;
  /** requests answered with an error, or transfers that failed (timeout, read error, client error mid-transfer) */
  errors: number;
  /** transfers the client ended after the OACK (PXE ROMs do this to learn tsize); not errors */
  aborted: number;
  /** file bytes of completed transfers */
  bytes: number;
  /** packets that did not decode, or were not requests, on the listening port */
  dropped: number;
  /** transfers in progress now */
  active: number;
  /** read requests refused because their client address already had maxTransfersPerClient transfers (also in errors) */
  clientLimited: number;
}

export interface TftpServer {
  /** Bind the listening socket. Rejects when the factory does (EACCES, EADDRINUSE, ENODEV). */
  start(): Promise<void>;
  /** Close the listening socket and abandon the transfers in progress. */
  stop(): Promise<void>;
  counters(): TftpCounters;
  /** Bound address and port (after start). */
  address(): { address: string; port: number };
  /** The transfer workers now (all 0 when `transferWorkers` is 0). */
  transferWorkers(): TransferPoolState;
  /** Start the transfer workers now and resolve once they have loaded (at most 30 s); no-op without workers. */
  warmTransferWorkers(): Promise<void>;
}

export function createTftpServer(o: TftpServerOptions): TftpServer {
  const address = o.address ?? '0.0.0.0';
  const port = o.port ?? 69;
  const timeoutMs = o.timeoutMs ?? 1000;
  const retries = o.retries ?? 5;
  // the OACK never promises more than the server does: every cap is a value the option's RFC allows
  const limits = {
    maxBlksize: setting('maxBlksize', Math.min(o.maxBlksize ?? BLKSIZE_MAX, BLKSIZE_MAX), BLKSIZE_MIN, BLKSIZE_MAX),
    maxWindowsize: setting('maxWindowsize', o.maxWindowsize ?? 64, WINDOWSIZE_MIN, WINDOWSIZE_MAX),
    maxTimeoutSec: setting('maxTimeoutSec', o.maxTimeoutSec ?? 5, TIMEOUT_MIN, TIMEOUT_MAX),
  };
  const maxTransfers = o.maxTransfers ?? 512;
  const maxPerClient = setting('maxTransfersPerClient', o.maxTransfersPerClient ?? 8, 1, Number.MAX_SAFE_INTEGER);
  const pool = (o.transferWorkers ?? 0) > 0 ? new TransferPool(o.transferWorkers!, o.transferWorkerIdleMs) : null;
  const log = o.logger;
  const counters: TftpCounters = { rrq: 0, done: 0, errors: 0, aborted: 0, bytes: 0, dropped: 0, active: 0, clientLimited: 0 };
  const active = new Map<string, { abort(reason: string): void }>();
  /** requests being served (handler, transfer on this thread or a worker) per client address; entries at 0 are deleted */
  const perClient = new Map<string, number>();
  let listener: Socket | null = null;

  const emit = (kind: string, client: TftpClient, message: string, detail: Record<string, unknown>, level?: 'info' | 'warn' | 'error') => {
    try {
      o.onEvent?.({ source: 'tftp', kind, mac: null, ip: client.address, message, detail, level });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'tftp: event sink threw');
    }
  };

  const replyError = (sock: Socket, to: TftpClient, code: number, message: string) => {
    try {
      sock.send(encodeTftpPacket({ op: 'ERROR', code, message }), to.port, to.address);
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'tftp: could not send error');
    }
  };

  function onPacket(msg: Buffer, rinfo: RemoteInfo): void {
    const client: TftpClient = { address: rinfo.address, port: rinfo.port };
    let pkt;
    try {
      pkt = decodeTftpPacket(msg);
    } catch (err) {
      counters.dropped++;
      if (err instanceof TftpDecodeError) log.debug({ client: client.address, port: client.port, err: err.message }, 'tftp: malformed packet dropped');
      else log.warn({ client: client.address, err: (err as Error).message }, 'tftp: decoder failure');
      return;
    }
    if (pkt.op === 'WRQ') {
      counters.errors++;
      log.info({ client: client.address, file: pkt.filename }, 'tftp: write request refused (read-only server)');
      replyError(listener!, client, TftpErrorCode.AccessViolation, 'Access violation: read-only server');
      return;
    }
    if (pkt.op !== 'RRQ') {
      counters.dropped++;
      log.debug({ client: client.address, packet: packetToString(pkt) }, 'tftp: non-request packet on listening port ignored');
      return;
    }
    const key = `${client.address}:${client.port}`;
    if (active.has(key)) return; // the client retransmitted its RRQ; the transfer is already answering it
    void serveRead(pkt, client, key);
  }

  async function serveRead(req: TftpRequestPacket, client: TftpClient, key: string): Promise<void> {
    const started = Date.now();
    const file = req.filename;
    const rlog = log.child({ client: client.address, port: client.port, file });
    counters.rrq++;
    active.set(key, { abort: () => {} });
    counters.active = active.size;
    const fromClient = (perClient.get(client.address) ?? 0) + 1;
    perClient.set(client.address, fromClient);
    const failRequest = (code: number, message: string, level: 'info' | 'warn' = 'info') => {
      counters.errors++;
      rlog[level]({ code, message }, 'tftp: read request refused');
      replyError(listener!, client, code, message);
      emit('rrq-error', client, `${file}: ${message}`, { file, code, error: message, ms: Date.now() - started }, level === 'warn' ? 'warn' : 'info');
    };
    let tftpFile: TftpFile | null = null;
    let socket: Socket | null = null;
    let heldFile: TftpFile | null = null;
    try {
      const mode = req.mode.toLowerCase();
      if (mode !== 'octet' && mode !== 'netascii') {
        failRequest(TftpErrorCode.IllegalOperation, `Illegal TFTP operation: mode "${req.mode}" not supported`);
        return;
      }
      if (fromClient > maxPerClient) {
        counters.clientLimited++;
        failRequest(TftpErrorCode.NotDefined, 'Too many transfers from this client', 'warn');
        return;
      }
      if (active.size > maxTransfers) {
        failRequest(TftpErrorCode.NotDefined, 'Server busy', 'warn');
        return;
      }
      try {
        tftpFile = await o.handler(file, client);
      } catch (err) {
        if (err instanceof TftpHandlerError) failRequest(err.code, err.message, 'warn');
        else {
          rlog.error({ err: (err as Error).message }, 'tftp: handler failed');
          failRequest(TftpErrorCode.NotDefined, 'Internal error', 'warn');
        }
        return;
      }
      if (!tftpFile) {
        failRequest(TftpErrorCode.FileNotFound, errorCodeMessage(TftpErrorCode.FileNotFound));
        return;
      }
      if (mode === 'netascii') tftpFile = toNetascii(tftpFile);
      const size = tftpFile.kind === 'ranges' ? tftpFile.size : tftpFile.size;
      const n = negotiateReadOptions(req.options, size, limits);
      if (!listener) {
        rlog.info('tftp: server stopped before the transfer began');
        return;
      }
      socket = await o.socketFactory({ port: 0, address, interface: o.interface });
      rlog.info({ blksize: n.blksize, windowsize: n.windowsize, tsize: size, options: req.options }, 'tftp: read request');
      emit('rrq', client, `RRQ ${file}`, { file, blksize: n.blksize, windowsize: n.windowsize, size });
      const pooled = pool && tftpFile.kind === 'ranges' && tftpFile.fd !== undefined
        ? pool.run({
          socket, fileFd: tftpFile.fd, size: tftpFile.size, client, filename: file, accepted: n.accepted, blksize: n.blksize,
          windowsize: n.windowsize, timeoutMs: n.timeoutMs ?? timeoutMs, retries, logLevel: rlog.level,
        })
        : null;
      if (pooled) heldFile = tftpFile; // the worker reads it by fd; closed here once the transfer is done
      const t = pooled ?? runReadTransfer({
        socket, client, file: tftpFile, filename: file, accepted: n.accepted, blksize: n.blksize,
        windowsize: n.windowsize, timeoutMs: n.timeoutMs ?? timeoutMs, retries, logger: rlog,
      });
      tftpFile = null; // owned by the transfer now
      socket = null;
      active.set(key, t);
      const out = await t.done;
      const ms = Date.now() - started;
      const detail = { file, bytes: out.bytes, ms, blksize: n.blksize, windowsize: n.windowsize, retransmits: out.retransmits };
      if (out.ok) {
        counters.done++;
        counters.bytes += out.bytes;
        rlog.info(detail, 'tftp: transfer done');
        emit('rrq-done', client, `${file}: ${out.bytes} bytes in ${ms} ms`, detail);
      } else if (out.clientAborted) {
        counters.aborted++;
        rlog.info({ ...detail, reason: out.reason }, 'tftp: client ended the transfer after the OACK');
        emit('rrq-error', client, `${file}: client ended after OACK (${out.reason})`, { ...detail, error: out.reason, aborted: true }, 'info');
      } else {
        counters.errors++;
        rlog.warn({ ...detail, reason: out.reason }, 'tftp: transfer failed');
        emit('rrq-error', client, `${file}: ${out.reason}`, { ...detail, error: out.reason }, 'warn');
      }
    } catch (err) {
      counters.errors++;
      rlog.error({ err: (err as Error).message }, 'tftp: read request failed');
      replyError(listener!, client, TftpErrorCode.NotDefined, 'Internal error');
      emit('rrq-error', client, `${file}: ${(err as Error).message}`, { file, error: (err as Error).message }, 'error');
    } finally {
      if (tftpFile) await closeQuietly(tftpFile);
      if (heldFile) await closeQuietly(heldFile);
      if (socket) try { socket.close(); } catch { /* closed */ }
      active.delete(key);
      counters.active = active.size;
      const left = (perClient.get(client.address) ?? 1) - 1;
      if (left > 0) perClient.set(client.address, left);
      else perClient.delete(client.address);
    }
  }

  /** bumped by stop(): a start() still waiting for its socket then gives up (and closes the socket) */
  let generation = 0;
  let starting: Promise<void> | null = null;

  const start = async (): Promise<void> => {
    const gen = generation;
    const socket = await o.socketFactory({ port, address, interface: o.interface, reuseAddr: true });
    if (gen !== generation) { socket.close(); return; }
    listener = socket;
    listener.on('message', (msg, rinfo) => {
      try {
        onPacket(msg, rinfo);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'tftp: packet handling failed');
      }
    });
    listener.on('error', (err) => log.error({ err: err.message }, 'tftp: listening socket error'));
    const a = listener.address();
    log.info({ address: a.address, port: a.port, interface: o.interface }, 'tftp: listening');
  };

  return {
    /** Resolves once port 69 answers; a second call while starting waits for the first. */
    async start() {
      if (listener) return;
      starting ??= start().finally(() => { starting = null; });
      await starting;
    },
    async stop() {
      generation++;
      const l = listener;
      listener = null;
      for (const t of active.values()) t.abort('server stopping');
      await pool?.close();
      if (l) await new Promise<void>((r) => l.close(() => r()));
    },
    counters: () => ({ ...counters }),
    transferWorkers: () => pool?.state() ?? { running: 0, loaded: 0, transfers: 0, starts: 0 },
    warmTransferWorkers: async () => { await pool?.warm(); },
    address() {
      if (!listener) throw new Error('tftp server not started');
      const a = listener.address();
      return { address: a.address, port: a.port };
    },
  };
}

/** A numeric server option, checked: an integer in min..max, else a RangeError at construction. */
function setting(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`tftp: ${name} must be an integer from ${min} to ${max}, not ${value}`);
  return value;
}

/** netascii (RFC 1350): served as a stream of converted chunks; the size is no longer known up front. */
function toNetascii(f: TftpFile): TftpFile {
  async function* chunks(): AsyncGenerator<Buffer> {
    if (f.kind === 'stream') {
      for await (const c of f.stream) yield encodeNetascii(Buffer.from(c));
      return;
    }
    let pos = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(65536);
      const n = await f.read(buf, pos);
      if (n === 0) return;
      pos += n;
      yield encodeNetascii(buf.subarray(0, n));
    }
  }
  return { kind: 'stream', stream: Readable.from(chunks()), size: null, close: () => closeQuietly(f) };
}

async function closeQuietly(f: TftpFile): Promise<void> {
  try {
    await (f.kind === 'ranges' ? f.close() : f.close?.());
  } catch {
    /* nothing to do */
  }
}
