// JIT warm-up of the transfer path, run once per thread that runs transfers (each transfer worker before it
// reports ready; the server's own thread in start() when it has no workers), before port 69 answers.
//
// Why: V8 runs new code in its interpreter and optimises a function only after it has run many times, and every
// worker thread has its own, cold, copy of the code (ours and node's: dgram, fs.read, the socket hand-over). A
// freshly started server therefore spent its first 8 × 30 MB windowed storm longer than the next one (8 atftp
// clients, windowsize 16, 2 workers: see docs/BENCHMARKS.md, TFTP, session 7). The first boot storm after
// RackSeed starts (a rack powered on at once) is exactly that moment. The DHCP server does the same for its serve
// path (src/netboot/dhcp/server/warm-up.ts).
//
// What: one windowed transfer of `bytes` through the code real transfers use — `start` is the caller's own way of
// starting one (the worker: its hand-over of a socket descriptor and a file descriptor; the server thread:
// runReadTransfer with a FileHandle) — from a socket on 127.0.0.1 to a client socket on 127.0.0.1 in the same
// thread, both on ephemeral ports. The bytes come from /dev/zero, read like a file. Nothing leaves loopback and
// nothing touches the server's counters or event sink. Best effort: a warm-up that fails or takes longer than
// `deadlineMs` is ended and reported, and the caller serves anyway.
import { createSocket, type Socket } from 'node:dgram';
import type { TftpClient } from './handler.ts';
import type { TransferOutcome, TransferSettings } from './transfer.ts';

/** The common fast case: a windowed client with Ethernet-sized blocks (atftp, iPXE's own TFTP uses 1432). */
export const WARM_UP_BLKSIZE = 1468;
export const WARM_UP_WINDOWSIZE = 16;
/** the file the warm-up reads (a character device: every read fills the buffer; readers clamp to `size`) */
export const WARM_UP_SOURCE = '/dev/zero';

export interface WarmUpResult {
  ok: boolean;
  bytes: number;
  ms: number;
  /** why it did not complete (ok false) */
  reason?: string;
}

/** Start one transfer of `size` bytes with these settings; the warm-up's client is waiting at `settings.client`. */
export type StartWarmUpTransfer = (settings: TransferSettings, size: number) => Promise<{ done: Promise<TransferOutcome>; abort(reason: string): void }>;

/** Run the warm-up transfer of `bytes` (0: none); never rejects. */
export async function warmUpTransferPath(bytes: number, start: StartWarmUpTransfer, deadlineMs = 10_000): Promise<WarmUpResult> {
  const started = Date.now();
  if (bytes <= 0) return { ok: true, bytes: 0, ms: 0 };
  let client: Socket | null = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    client = await boundLoopbackSocket();
    const settings: TransferSettings = {
      client: { address: '127.0.0.1', port: client.address().port }, filename: 'warm-up',
      accepted: { blksize: WARM_UP_BLKSIZE, windowsize: WARM_UP_WINDOWSIZE }, blksize: WARM_UP_BLKSIZE,
      windowsize: WARM_UP_WINDOWSIZE, timeoutMs: 200, retries: 5,
    };
    ackWindows(client, WARM_UP_BLKSIZE, WARM_UP_WINDOWSIZE);
    const transfer = await start(settings, bytes);
    const deadline = new Promise<'deadline'>((r) => { timer = setTimeout(() => r('deadline'), deadlineMs); });
    const out = await Promise.race([transfer.done, deadline]);
    if (out === 'deadline') {
      transfer.abort('warm-up deadline');
      await transfer.done;
      return { ok: false, bytes: 0, ms: Date.now() - started, reason: `not done within ${deadlineMs} ms` };
    }
    return out.ok ? { ok: true, bytes: out.bytes, ms: Date.now() - started } : { ok: false, bytes: out.bytes, ms: Date.now() - started, reason: out.reason };
  } catch (err) {
    return { ok: false, bytes: 0, ms: Date.now() - started, reason: (err as Error).message };
  } finally {
    clearTimeout(timer);
    try { client?.close(); } catch { /* closed */ }
  }
}

/** A udp4 socket bound to 127.0.0.1 on an ephemeral port. */
export function boundLoopbackSocket(): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', (err) => { try { s.close(); } catch { /* closed */ } reject(err); });
    s.bind(0, '127.0.0.1', () => { s.removeAllListeners('error'); resolve(s); });
  });
}

/**
 * The client side, as atftp behaves with a window: ACK 0 for the OACK, then an ACK of the last block of every
 * complete window and of the short last block. A block out of order is answered with an ACK of the last block
 * received in order (the server then resends from there, RFC 7440 §4).
 */
function ackWindows(client: Socket, blksize: number, windowsize: number): void {
  let expected = 1;
  let inWindow = 0;
  const ack = (block: number, to: TftpClient) => {
    client.send(Buffer.from([0, 4, (block >> 8) & 0xff, block & 0xff]), to.port, to.address);
  };
  client.on('message', (msg, rinfo) => {
    if (msg.length < 4) return;
    const op = msg.readUInt16BE(0);
    if (op === 6) { ack(0, rinfo); return; } // OACK
    if (op !== 3) return; // DATA only; an ERROR ends the transfer on the server's side
    const block = msg.readUInt16BE(2);
    if (block !== (expected & 0xffff)) { ack((expected - 1) & 0xffff, rinfo); inWindow = 0; return; }
    expected++;
    inWindow++;
    if (inWindow === windowsize || msg.length - 4 < blksize) {
      ack(block, rinfo);
      inWindow = 0;
    }
  });
}
