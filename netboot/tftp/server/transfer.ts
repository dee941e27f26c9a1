// One read transfer on its own ephemeral socket (RFC 1350 §4 "TID"): optional OACK (RFC 2347), then DATA in
// windows (RFC 7440; window 1 = classic lock-step), retransmission on timeout, block numbers wrapping at 65536.
import type { Socket, RemoteInfo } from 'node:dgram';
import type { Logger } from 'pino';
import { TftpDecodeError } from '../decode-error.ts';
import { errorCodeMessage, errorCodeToString, TftpErrorCode } from '../error-code.ts';
import { formatAcceptedOptions, type TftpAcceptedOptions } from '../options.ts';
import { decodeTftpPacket, encodeDataHeader, encodeTftpPacket, packetToString } from '../packet.ts';
import { BlockSource } from './block-source.ts';
import { enableUdpGso, GSO_MAX_BYTES, GSO_MAX_SEGMENTS } from './udp-gso.ts';
import type { TftpClient, TftpFile, TftpRangeFile } from './handler.ts';

/** A send buffer of the direct path (`segments` packets of 4 + blksize bytes); `views[i]` is packet i's data area. */
interface DirectSlot {
  buf: Buffer;
  views: Buffer[];
}

function newDirectSlot(segments: number, blksize: number): DirectSlot {
  const stride = 4 + blksize;
  const buf = Buffer.allocUnsafe(segments * stride);
  const views: Buffer[] = [];
  for (let i = 0; i < segments; i++) views.push(buf.subarray(i * stride + 4, (i + 1) * stride));
  return { buf, views };
}

/** UDP payload of one 1500-byte Ethernet frame: larger DATA packets are not segmented (the path may not carry them) */
const GSO_MAX_SEGMENT_BYTES = 1472;
/**
 * UDP_SEGMENT applies to every send on the socket, so the OACK and ERROR packets (≤ 205 bytes: reasons are cut
 * at 200) must stay below one segment; smaller blocks are sent one datagram each.
 */
const GSO_MIN_BLKSIZE = 512;

/** What was negotiated for one transfer; shared by the in-thread transfer and the worker hand-over messages. */
export interface TransferSettings {
  client: TftpClient;
  filename: string;
  accepted: TftpAcceptedOptions;
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  /** retransmissions of one window/OACK before giving up */
  retries: number;
}

export interface TransferParams extends TransferSettings {
  socket: Socket;
  file: TftpFile;
  logger: Logger;
}

export type TransferOutcome =
  | { ok: true; bytes: number; blocks: number; retransmits: number }
  | { ok: false; reason: string; bytes: number; retransmits: number; clientAborted: boolean };

/** Runs a transfer to its end; the promise never rejects. The socket is closed and the file released at the end. */
export function runReadTransfer(p: TransferParams): { done: Promise<TransferOutcome>; abort(reason: string): void } {
  const t = new ReadTransfer(p);
  return { done: t.run(), abort: (reason) => t.fail(reason, true) };
}

class ReadTransfer {
  private readonly source: BlockSource;
  /** highest block the client acknowledged (absolute); 0 before any DATA */
  private base = 0;
  /** highest block sent so far (absolute) */
  private highestSent = 0;
  /** absolute number of the last block, once it has been read */
  private lastBlock: number | null = null;
  private lastLength = 0;
  private phase: 'oack' | 'data' = 'data';
  private retriesLeft: number;
  private retransmits = 0;
  /** a duplicate ACK of `base` already caused a resend of this window (RFC 7440 §4; limits amplification) */
  private resentForBase = false;
  /** bumped on every (re)send, so an older send loop waiting on a read stops */
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private finished = false;
  private resolve!: (o: TransferOutcome) => void;
  private readonly oack: Buffer | null;
  /** windows leave as segmented sends (UDP GSO); false for window 1, blocks above one Ethernet frame, or no GSO */
  private gso: boolean;
  /** a segmented send has completed without error on this socket (see sendBatch) */
  private gsoConfirmed = false;
  /** the socket is connected to the client (sends then carry no address) */
  private connected = false;
  /** blocks per segmented send (kernel limits: 64 segments, 65507 bytes) */
  private readonly segmentsPerSend: number;
  /** send buffers of segmentsPerSend packets, back from the kernel and free for reuse (fewer allocations per window) */
  private readonly sendBuffers: Buffer[] = [];
  /**
   * windows are read straight into their send buffer (one readv per segmented send, no block cache, no copy): for
   * files with `readvSync` (the worker threads' descriptors) while GSO works. The size is known, so is the last block.
   */
  private direct: boolean;
  /** send buffers of the direct path with their data views (block i's data at 4 + i·(4 + blksize)), free for reuse */
  private readonly directSlots: DirectSlot[] = [];

  constructor(private readonly p: TransferParams) {
    this.retriesLeft = p.retries;
    const options = formatAcceptedOptions(p.accepted);
    this.oack = options.length ? encodeTftpPacket({ op: 'OACK', options }) : null;
    this.segmentsPerSend = Math.min(GSO_MAX_SEGMENTS, Math.floor(GSO_MAX_BYTES / (p.blksize + 4)));
    this.gso = p.windowsize > 1 && p.blksize >= GSO_MIN_BLKSIZE && p.blksize + 4 <= GSO_MAX_SEGMENT_BYTES && this.segmentsPerSend > 1 && enableUdpGso(p.socket, p.blksize + 4);
    // GSO sends copy every window into a send buffer, so read buffers can be reused once their blocks are acknowledged
    this.source = new BlockSource(p.file, p.blksize, this.gso);
    this.direct = false;
    if (this.gso && p.file.kind === 'ranges' && typeof p.file.readvSync === 'function') {
      this.direct = true;
      // RFC 1350 §6: the block shorter than blksize (possibly empty) is the last
      this.lastBlock = Math.floor(p.file.size / p.blksize) + 1;
      this.lastLength = p.file.size % p.blksize;
    }
  }

  run(): Promise<TransferOutcome> {
    const done = new Promise<TransferOutcome>((r) => (this.resolve = r));
    this.p.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    this.p.socket.on('error', (err: NodeJS.ErrnoException) => {
      // on a connected socket, the client's ICMP port unreachable arrives as ECONNREFUSED: the client has gone
      if (err.code === 'ECONNREFUSED') this.clientGone();
      else this.fail(`socket error: ${err.message}`, false);
    });
    // Connected to the client's TID: the kernel then delivers only the client's packets and skips the route lookup
    // per send. Sending starts once connected (dgram rejects address-less sends before that).
    this.p.socket.connect(this.p.client.port, this.p.client.address, (err?: Error) => {
      if (err) { this.fail(`cannot connect the transfer socket to the client: ${err.message}`, false); return; }
      this.connected = true;
      if (this.finished) return;
      if (this.oack) {
        this.phase = 'oack';
        this.sendOack();
      } else {
        this.sendWindow();
      }
    });
    return done;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.finished) return;
    if (rinfo.address !== this.p.client.address || rinfo.port !== this.p.client.port) {
      // RFC 1350 §4: a packet from another TID gets ERROR 5 and does not disturb the transfer. (Only before the
      // connect in run() completes: after it the kernel answers other sources with ICMP port unreachable.)
      this.sendError(TftpErrorCode.UnknownTransferId, errorCodeMessage(TftpErrorCode.UnknownTransferId), rinfo);
      return;
    }
    let pkt;
    try {
      pkt = decodeTftpPacket(msg);
    } catch (err) {
      if (err instanceof TftpDecodeError) {
        this.p.logger.debug({ err: err.message }, 'tftp: malformed packet on transfer socket dropped');
        return;
      }
      throw err;
    }
    if (pkt.op === 'ERROR') {
      const clientAborted = this.phase === 'oack';
      this.finish({ ok: false, reason: `client sent ${errorCodeToString(pkt.code)}: ${pkt.message}`, bytes: 0, retransmits: this.retransmits, clientAborted });
      return;
    }
    if (pkt.op !== 'ACK') {
      this.p.logger.debug({ packet: packetToString(pkt) }, 'tftp: unexpected packet on transfer socket ignored');
      return;
    }
    if (this.phase === 'oack') {
      if (pkt.block !== 0) return;
      this.phase = 'data';
      this.progress();
      this.sendWindow();
      return;
    }
    // Map the 16-bit block number to the absolute one in [base, highestSent] (rollover past 65535).
    const acked = this.base + ((pkt.block - (this.base & 0xffff)) & 0xffff);
    if (acked > this.highestSent) return; // stale (from before a rollover) or bogus
    if (acked === this.base) {
      // Duplicate ACK: the client is missing base+1. With window 1, resending here would double every later
      // packet (Sorcerer's Apprentice, RFC 1123 §4.2.3.1), so the timeout handles it; with a window, resend once.
      if (this.p.windowsize > 1 && !this.resentForBase && this.base > 0) {
        this.resentForBase = true;
        this.retransmits++;
        this.sendWindow();
      }
      return;
    }
    this.base = acked;
    this.resentForBase = false;
    this.source.release(acked);
    this.progress();
    if (this.lastBlock !== null && acked >= this.lastBlock) {
      const bytes = (this.lastBlock - 1) * this.p.blksize + this.lastLength;
      this.finish({ ok: true, bytes, blocks: this.lastBlock, retransmits: this.retransmits });
      return;
    }
    this.sendWindow();
  }

  /**
   * Send blocks base+1 … base+windowsize (or up to the last block), then arm the retransmission timer. Blocks already
   * in memory are sent synchronously; from the first one that is not yet read on, sending continues after the read.
   */
  private sendWindow(): void {
    const gen = ++this.generation;
    this.armTimer();
    if (this.direct) {
      const end = Math.min(this.base + this.p.windowsize, this.lastBlock!);
      for (let n = this.base + 1; n <= end && this.direct && !this.finished; n += this.segmentsPerSend) this.sendDirect(n, Math.min(this.segmentsPerSend, end - n + 1));
      return;
    }
    this.sendRange(this.base + 1, this.base + this.p.windowsize, gen);
  }

  /**
   * Blocks first … first+count−1 read from the file into one send buffer behind their DATA headers (one readv) and
   * sent as one segmented send. A short read means the file shrank while being served: the transfer fails.
   */
  private sendDirect(first: number, count: number): void {
    const file = this.p.file as TftpRangeFile;
    const stride = 4 + this.p.blksize;
    const slot = this.directSlots.pop() ?? newDirectSlot(this.segmentsPerSend, this.p.blksize);
    const last = first + count - 1;
    const lastLen = last === this.lastBlock ? this.lastLength : this.p.blksize;
    let views = slot.views;
    if (count < this.segmentsPerSend || lastLen < this.p.blksize) {
      views = views.slice(0, count);
      if (lastLen < this.p.blksize) views[count - 1] = slot.buf.subarray((count - 1) * stride + 4, (count - 1) * stride + 4 + lastLen);
    }
    const buf = slot.buf;
    for (let i = 0; i < count; i++) {
      const at = i * stride;
      buf[at] = 0;
      buf[at + 1] = 3; // DATA
      buf[at + 2] = ((first + i) >> 8) & 0xff;
      buf[at + 3] = (first + i) & 0xff;
    }
    const want = (count - 1) * this.p.blksize + lastLen;
    let got;
    try {
      got = file.readvSync!(views, (first - 1) * this.p.blksize);
    } catch (err) {
      this.fail(`read error: ${(err as Error).message}`, true);
      return;
    }
    if (got !== want) {
      this.fail(`read error: the file is shorter than announced (${(first - 1) * this.p.blksize + got} of ${file.size} bytes)`, true);
      return;
    }
    if (last > this.highestSent) this.highestSent = last;
    const out = count === this.segmentsPerSend && lastLen === this.p.blksize ? buf : buf.subarray(0, (count - 1) * stride + 4 + lastLen);
    this.sendSegmented(out, () => {
      if (this.directSlots.length < 4) this.directSlots.push(slot);
    });
  }

  /**
   * Send blocks from … end that are in memory. With GSO, consecutive blocks go out as one segmented send
   * (every block but the file's last is exactly blksize, so each segment is one DATA packet).
   */
  private sendRange(from: number, end: number, gen: number): void {
    let batch: Buffer[] = [];
    let batchFirst = from;
    for (let n = from; n <= end; n++) {
      if (this.lastBlock !== null && n > this.lastBlock) break;
      const data = this.source.peek(n);
      if (!data) {
        this.sendBatch(batchFirst, batch);
        void this.sendRangeAfterRead(n, end, gen);
        return;
      }
      if (!this.gso) {
        this.sendData(n, data);
        continue;
      }
      if (batch.length === 0) batchFirst = n;
      batch.push(data);
      if (batch.length === this.segmentsPerSend || data.length < this.p.blksize) {
        this.sendBatch(batchFirst, batch);
        batch = [];
      }
    }
    this.sendBatch(batchFirst, batch);
  }

  private async sendRangeAfterRead(from: number, end: number, gen: number): Promise<void> {
    try {
      await this.source.get(from);
    } catch (err) {
      this.fail(`read error: ${(err as Error).message}`, true);
      return;
    }
    if (this.finished || gen !== this.generation) return;
    this.sendRange(from, end, gen);
  }

  /** Blocks first … first+k−1 as one GSO send: DATA packets back to back, split by the kernel every 4 + blksize. */
  private sendBatch(first: number, blocks: Buffer[]): void {
    if (blocks.length === 0) return;
    if (blocks.length === 1) {
      this.sendData(first, blocks[0]);
      return;
    }
    let total = 0;
    for (const b of blocks) total += 4 + b.length;
    const out = this.sendBuffers.pop()?.subarray(0, total) ?? Buffer.allocUnsafe(this.segmentsPerSend * (4 + this.p.blksize)).subarray(0, total);
    let at = 0;
    for (let i = 0; i < blocks.length; i++) {
      out[at] = 0;
      out[at + 1] = 3; // DATA
      out.writeUInt16BE((first + i) & 0xffff, at + 2);
      at += 4 + blocks[i].copy(out, at + 4);
    }
    const last = first + blocks.length - 1;
    const tail = blocks[blocks.length - 1];
    if (tail.length < this.p.blksize) {
      this.lastBlock = last;
      this.lastLength = tail.length;
    }
    if (last > this.highestSent) this.highestSent = last;
    this.sendSegmented(out, () => {
      if (this.sendBuffers.length < 4) this.sendBuffers.push(Buffer.from(out.buffer, out.byteOffset, this.segmentsPerSend * (4 + this.p.blksize)));
    });
  }

  /**
   * One segmented send of `out`; `free` is called once the kernel has copied it, so the buffer can carry a later
   * window (sendBatch, sendDirect). Until one segmented send has succeeded on this socket, sends take a completion
   * callback, and a failure falls back to one datagram per block (gsoFailed). After that, segmented sends work on
   * this path: no completion callback from now on (dgram then uses uv_udp_try_send: no send request object and no
   * callback a loop turn later per window). Nothing left in the socket's send queue means the kernel has copied the
   * window, so the buffer is free; otherwise it is left to the queue (and the GC). A later failure goes unreported;
   * the retransmission timeout ends such a transfer with an error.
   */
  private sendSegmented(out: Buffer, free: () => void): void {
    if (this.gsoConfirmed) {
      this.p.socket.send(out);
      if (this.p.socket.getSendQueueCount() === 0) free();
      return;
    }
    this.p.socket.send(out, (err) => {
      free();
      if (!err) this.gsoConfirmed = true;
      else if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.clientGone();
      else this.gsoFailed(err);
    });
  }

  /** A segmented send failed (no checksum offload, MTU below 4 + blksize …): send block by block from now on. */
  private gsoFailed(err: Error): void {
    if (this.finished || !this.gso) return;
    this.gso = false;
    this.direct = false;
    this.source.stopRecycling();
    this.p.logger.debug({ err: err.message }, 'tftp: segmented send failed; sending one datagram per block');
    this.sendWindow();
  }

  private sendData(n: number, data: Buffer): void {
    if (data.length < this.p.blksize) {
      this.lastBlock = n;
      this.lastLength = data.length;
    }
    // with recycled read buffers (GSO) the block is copied: a queued send must not see the buffer's next contents
    this.p.socket.send(this.gso ? Buffer.concat([encodeDataHeader(n), data]) : [encodeDataHeader(n), data]);
    if (n > this.highestSent) this.highestSent = n;
  }

  private sendOack(): void {
    this.armTimer();
    this.p.socket.send(this.oack!);
  }

  private armTimer(): void {
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.onTimeout(), this.p.timeoutMs);
  }

  private progress(): void {
    this.retriesLeft = this.p.retries;
  }

  private onTimeout(): void {
    if (this.finished) return;
    if (this.retriesLeft-- <= 0) {
      this.fail(`timed out after ${this.p.retries} retransmissions (block ${this.base + 1})`, true);
      return;
    }
    this.retransmits++;
    if (this.phase === 'oack') this.sendOack();
    else this.sendWindow();
  }

  private sendError(code: number, message: string, to: { address: string; port: number }): void {
    try {
      const pkt = encodeTftpPacket({ op: 'ERROR', code, message });
      if (this.connected && to === this.p.client) this.p.socket.send(pkt);
      else this.p.socket.send(pkt, to.port, to.address);
    } catch {
      /* socket closed */
    }
  }

  /** The client's port is closed (ICMP port unreachable): after the OACK that is a client ending a size probe. */
  private clientGone(): void {
    this.finish({ ok: false, reason: 'the client went away (port unreachable)', bytes: 0, retransmits: this.retransmits, clientAborted: this.phase === 'oack' });
  }

  /** End unsuccessfully; `tellClient` sends ERROR 0 with the reason first. */
  fail(reason: string, tellClient: boolean): void {
    if (this.finished) return;
    if (tellClient) this.sendError(TftpErrorCode.NotDefined, reason.slice(0, 200), this.p.client);
    this.finish({ ok: false, reason, bytes: 0, retransmits: this.retransmits, clientAborted: false });
  }

  private finish(outcome: TransferOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    // Close after pending sends are flushed (dgram queues them); close() on a closed socket throws.
    setImmediate(() => {
      try { this.p.socket.close(); } catch { /* already closed */ }
    });
    const close = this.p.file.kind === 'ranges' ? this.p.file.close() : this.p.file.close?.();
    Promise.resolve(close)
      .catch((err) => this.p.logger.warn({ err: (err as Error).message }, 'tftp: closing file failed'))
      .finally(() => this.resolve(outcome));
  }
}
