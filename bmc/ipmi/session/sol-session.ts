// A Serial-over-LAN console on an established RMCP+ session (IPMI 2.0 §15, §24).
//
// Activation: Activate Payload (type 1, instance 1) with encryption and authentication as the session has them.
// A BMC that says "payload already active" (0x80) is asked who holds it (Get Payload Instance Info → the
// BMC's session id → Get Session Info → user id and address → Get User Name) and SolInUseError names them;
// "invalid command" / "payload type disabled" / no SOL become SolUnavailableError.
//
// Transfer rules (§15.10–15.12), both ways stop-and-wait:
//  - console → BMC: one data packet outstanding; sequence numbers 1..15 (wrapping past 0). The BMC acks it
//    with the accepted character count; characters it did not accept go out again in the next packet (a new
//    sequence number). A NACK (BMC buffer full) or silence means: send again after `retryMs`, at most
//    `retries` times, then the console fails with a clear error.
//  - BMC → console: every packet with a non-zero sequence number is acknowledged with its full length; the
//    same sequence number again is a retransmission (our ack was lost): acknowledged again, not delivered twice.
//  - Acks and operations ride on our data packets when there are any (break is sent as a sequenced packet
//    so that a BMC's duplicate detection does not swallow it).
//  - Packets that fail the session's HMAC, belong to another session or replay a session sequence number are
//    dropped (counted in `stats`).
//
// Input bound: keystrokes the BMC has not acknowledged yet (queued or in flight) never pass `maxPendingBytes`
// (64 KiB): a write that would pass it is refused whole with SolInputOverflowError (nothing of it is sent, so a
// paste never reaches the node cut short) and counted in `stats.inputRefused` / `stats.inputDropped`; a break while
// another is still queued is the same break (`stats.breaksMerged`). A BMC that stops acking thus costs at most that
// much memory until the retries run out and the console closes. write()/sendBreak() on an ended console throw
// SolConsoleClosedError with the reason it ended. 'drain' is emitted when the BMC has acknowledged every typed byte
// (the backlog fell to 0): a writer with more than `maxPendingBytes` to send waits for it between parts (the CLI
// pacing a piped file through the daemon).
import { EventEmitter } from 'node:events';
import { PayloadType } from '../rmcpplus.ts';
import {
  activatePayloadRequest, CC_NEEDS_ENCRYPTION, CC_NEEDS_NO_ENCRYPTION, CC_PAYLOAD_ALREADY_ACTIVE, CC_PAYLOAD_DISABLED,
  CC_PAYLOAD_LIMIT_REACHED, deactivatePayloadRequest, decodeActivatePayload, decodePayloadActivationStatus,
  decodePayloadInstanceInfo, decodeSessionInfo, decodeSolPacket, decodeUserName, encodeSolPacket,
  getPayloadActivationStatusRequest, getPayloadInstanceInfoRequest, getSessionInfoRequest, getUserNameRequest,
  nextSolSeq, type ActivatedPayload, type SolBmcPacket,
} from '../sol.ts';
import { ConfAlg, IntegrityAlg } from '../cipher-suites.ts';
import { privilegeName } from '../open-session.ts';
import type { BmcSession } from './bmc-session.ts';
import {
  BmcProtocolError, IpmiCommandError, SolConsoleClosedError, SolInUseError, SolInputOverflowError, SolUnavailableError,
} from './errors.ts';

/** Default bound of typed bytes waiting for the BMC's acknowledgement (SolOptions.maxPendingBytes). */
export const SOL_MAX_PENDING_BYTES = 64 * 1024;

export interface SolOptions {
  /** wait for an ack before resending, ms (default 500) */
  retryMs?: number;
  /** resends of one packet before the console fails (default 7) */
  retries?: number;
  /** typed bytes queued or in flight, not yet acknowledged by the BMC, at most (default SOL_MAX_PENDING_BYTES);
   * a write that would pass it is refused whole (SolInputOverflowError) */
  maxPendingBytes?: number;
}

export interface SolStats {
  sentPackets: number;
  resent: number;
  receivedPackets: number;
  duplicates: number;
  /** datagrams refused (bad HMAC, other session, replayed, undecodable) */
  dropped: number;
  nacks: number;
  overruns: number;
  /** writes refused because the BMC had not taken `maxPendingBytes` typed earlier (SolInputOverflowError) */
  inputRefused: number;
  /** bytes of those refused writes (never sent) */
  inputDropped: number;
  /** breaks asked for while one was still queued (sent as that one) */
  breaksMerged: number;
}

interface Outgoing { data: Buffer; breakSignal: boolean }

/**
 * Events: 'data' (Buffer from the host's serial port), 'break' (the BMC saw a break from the host), 'drain' (every
 * typed byte acknowledged: backlog 0),
 * 'overrun' (the BMC dropped host characters), 'close' (reason: string | null — null when we deactivated),
 * 'error' is never emitted: a failed console emits 'close' with the reason. Refused input is reported by the
 * throwing write() and counted in `stats`.
 */
export class SolConsole extends EventEmitter {
  readonly stats: SolStats = {
    sentPackets: 0, resent: 0, receivedPackets: 0, duplicates: 0, dropped: 0, nacks: 0, overruns: 0, inputRefused: 0, inputDropped: 0, breaksMerged: 0,
  };
  closed = false;
  /** why the console ended (null: closed on purpose or still open) */
  closeReason: string | null = null;
  /** the bound of typed bytes waiting for the BMC (SolOptions.maxPendingBytes) */
  readonly maxPendingBytes: number;
  private readonly queue: Outgoing[] = [];
  private outstanding: (Outgoing & { seq: number; tries: number }) | null = null;
  private seq = 0;
  private lastInSeq = 0;
  private pendingAck: { seq: number; count: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;
  private readonly retryMs: number;
  private readonly retries: number;
  private readonly chunk: number;
  /** typed bytes queued or outstanding (not yet acknowledged) */
  private pending = 0;
  private breakQueued = false;

  constructor(readonly session: BmcSession, readonly payload: ActivatedPayload, opts: SolOptions = {}) {
    super();
    this.retryMs = opts.retryMs ?? 500;
    this.retries = opts.retries ?? 7;
    this.maxPendingBytes = opts.maxPendingBytes ?? SOL_MAX_PENDING_BYTES;
    if (!Number.isInteger(this.maxPendingBytes) || this.maxPendingBytes < 1) throw new RangeError(`maxPendingBytes must be a whole number of bytes ≥ 1, not ${this.maxPendingBytes}`);
    // inbound payload size is the BMC's buffer; keep each packet within it (at least 1, at most 255: the accepted
    // count is one byte)
    this.chunk = Math.max(1, Math.min(255, payload.inboundSize > 4 ? payload.inboundSize - 4 : payload.inboundSize || 32));
    this.unsubscribe = session.onPayload(PayloadType.Sol, payload.port, (p) => this.receive(p), () => { this.stats.dropped++; });
    // an empty sequenced packet first: a BMC that keeps the previous console's last sequence number (ipmi_sim
    // does) would take our first packet for a retransmission of its and drop the characters in it
    this.queue.push({ data: Buffer.alloc(0), breakSignal: false });
    this.pump();
  }

  /**
   * Queues characters for the host's serial port. Throws SolInputOverflowError (nothing queued, console still
   * open) when the BMC has not yet taken so much that these would pass `maxPendingBytes`, SolConsoleClosedError
   * when the console has ended.
   */
  write(data: Uint8Array | string): void {
    if (this.closed) throw new SolConsoleClosedError(this.session.host, 'type into the console', this.closeReason);
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    if (b.length === 0) return;
    if (this.pending + b.length > this.maxPendingBytes) {
      this.stats.inputRefused++;
      this.stats.inputDropped += b.length;
      throw new SolInputOverflowError(this.session.host, b.length, this.pending, this.maxPendingBytes);
    }
    this.pending += b.length;
    for (let i = 0; i < b.length; i += this.chunk) this.queue.push({ data: b.subarray(i, i + this.chunk), breakSignal: false });
    this.pump();
  }

  /** Sends a serial break to the host (one still queued counts for this one too); SolConsoleClosedError when ended. */
  sendBreak(): void {
    if (this.closed) throw new SolConsoleClosedError(this.session.host, 'send a break', this.closeReason);
    if (this.breakQueued) { this.stats.breaksMerged++; return; }
    this.breakQueued = true;
    this.queue.push({ data: Buffer.alloc(0), breakSignal: true });
    this.pump();
  }

  /** Characters queued or in flight (not yet acknowledged by the BMC); at most `maxPendingBytes`. */
  get backlog(): number { return this.pending; }

  private pump(): void {
    if (this.closed || this.outstanding) return;
    const next = this.queue.shift();
    if (!next) {
      if (this.pendingAck) this.transmit(0, Buffer.alloc(0), false);
      return;
    }
    if (next.breakSignal) this.breakQueued = false;
    this.seq = nextSolSeq(this.seq);
    this.outstanding = { ...next, seq: this.seq, tries: 0 };
    this.transmit(this.seq, next.data, next.breakSignal);
    this.arm();
  }

  private transmit(seq: number, data: Buffer, breakSignal: boolean): void {
    const ack = this.pendingAck;
    this.pendingAck = null;
    const pkt = encodeSolPacket({ seq, ackSeq: ack?.seq ?? 0, accepted: ack?.count ?? 0, breakSignal, data });
    this.stats.sentPackets++;
    this.session.sendPayload(PayloadType.Sol, pkt, this.payload.port).catch((err: unknown) => this.fail((err as Error).message));
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.resend(), this.retryMs);
  }

  private resend(): void {
    this.timer = null;
    const o = this.outstanding;
    if (!o || this.closed) return;
    if (o.tries >= this.retries) {
      this.fail(`the BMC did not acknowledge SOL packet ${o.seq} after ${o.tries + 1} sends (${this.retryMs} ms apart)`);
      return;
    }
    o.tries++;
    this.stats.resent++;
    this.transmit(o.seq, o.data, o.breakSignal);
    this.arm();
  }

  private receive(payload: Buffer): void {
    if (this.closed) return;
    let p: SolBmcPacket;
    try { p = decodeSolPacket(payload); } catch { this.stats.dropped++; return; }
    this.stats.receivedPackets++;
    let drained = false;
    const o = this.outstanding;
    if (o && p.ackSeq === o.seq) {
      if (this.timer) { clearTimeout(this.timer); this.timer = null; }
      const accepted = p.nack ? 0 : Math.min(p.accepted, o.data.length);
      if (p.nack) this.stats.nacks++;
      const rest = o.data.subarray(accepted);
      this.pending -= accepted;
      this.outstanding = null;
      if (accepted > 0 && this.pending === 0) drained = true;
      if (rest.length > 0) {
        // not accepted: goes again first, in a new packet (a NACK waits a retry interval)
        this.queue.unshift({ data: rest, breakSignal: false });
        if (p.nack || accepted === 0) {
          this.timer = setTimeout(() => { this.timer = null; this.pump(); }, p.nack ? this.retryMs : 20);
        }
      }
    }
    if (p.seq !== 0) {
      if (p.seq === this.lastInSeq) {
        this.stats.duplicates++;
      } else {
        this.lastInSeq = p.seq;
        if (p.data.length) this.emit('data', p.data);
      }
      this.pendingAck = { seq: p.seq, count: p.data.length };
    }
    if (p.breakDetected) this.emit('break');
    if (p.overrun) { this.stats.overruns++; this.emit('overrun'); }
    if (p.deactivating) { this.finish('the BMC deactivated Serial-over-LAN'); return; }
    if (!this.outstanding && !this.timer) this.pump();
    else if (this.pendingAck) this.transmit(0, Buffer.alloc(0), false);
    if (drained && !this.closed) this.emit('drain');
  }

  private fail(reason: string): void { this.finish(reason); }

  private finish(reason: string | null): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    // what was typed and not taken will not be sent: let it go
    this.queue.length = 0;
    this.outstanding = null;
    this.pending = 0;
    this.unsubscribe();
    this.emit('close', reason);
  }

  /** Deactivate Payload (best effort) and stop; the session stays open for the caller to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.finish(null);
    try {
      await this.session.command('Deactivate Payload (SOL)', deactivatePayloadRequest());
    } catch { /* the BMC may have dropped it already (0x80: already deactivated) */ }
  }
}

/** Describes who holds the SOL payload, as far as the BMC says (each step best effort). */
export async function solHolder(s: BmcSession): Promise<string> {
  let sessionId: number;
  try {
    sessionId = decodePayloadInstanceInfo(await s.command('Get Payload Instance Info', getPayloadInstanceInfoRequest())).sessionId;
  } catch { return 'another session (the BMC does not say which)'; }
  let text = `BMC session 0x${sessionId.toString(16).padStart(8, '0')}`;
  if (sessionId === s.bmcSessionId) return `${text} (this session)`;
  try {
    const info = decodeSessionInfo(await s.command('Get Session Info', getSessionInfoRequest(sessionId)));
    const parts: string[] = [];
    if (info.userId) {
      let name = `user id ${info.userId}`;
      try {
        const n = decodeUserName(await s.command('Get User Name', getUserNameRequest(info.userId)));
        if (n) name = `user "${n}"`;
      } catch { /* keep the id */ }
      parts.push(name);
    }
    if (info.address && info.address !== '0.0.0.0') parts.push(`from ${info.address}${info.remotePort ? `:${info.remotePort}` : ''}`);
    if (info.privilege) parts.push(`privilege ${privilegeName(info.privilege)}`);
    if (parts.length) text += ` (${parts.join(', ')})`;
  } catch { /* the id alone */ }
  return text;
}

/**
 * Activates SOL on an established session and returns the console. Rejects with SolInUseError (naming the
 * holder), SolUnavailableError, or the session's BmcErrors.
 */
export async function activateSol(s: BmcSession, opts: SolOptions = {}): Promise<SolConsole> {
  const suite = s.suite;
  if (!suite) throw new BmcProtocolError(s.host, 'SOL needs an established session');
  const encrypt = suite.confidentiality !== ConfAlg.None;
  const authenticate = suite.integrity !== IntegrityAlg.None;
  let data: Buffer;
  try {
    data = await s.command('Activate Payload (SOL)', activatePayloadRequest({ encrypt, authenticate }));
  } catch (err) {
    if (!(err instanceof IpmiCommandError)) throw err;
    const cc = err.completionCode;
    if (cc === CC_PAYLOAD_ALREADY_ACTIVE || cc === CC_PAYLOAD_LIMIT_REACHED) throw new SolInUseError(s.host, await solHolder(s));
    if (cc === CC_PAYLOAD_DISABLED) throw new SolUnavailableError(s.host, 'SOL is disabled on this BMC (payload type disabled; enable it with `ipmitool sol set enabled true`)');
    if (cc === 0xc1 || cc === 0xcc || cc === 0xd5 || cc === 0xd6) {
      // ask whether it has SOL at all, for a precise message
      let why = `Activate Payload answered ${err.message.replace(/^.*completion code /, '')}`;
      try {
        const st = decodePayloadActivationStatus(await s.command('Get Payload Activation Status', getPayloadActivationStatusRequest()));
        if (st.capacity === 0) why = 'the BMC reports no SOL payload instances';
      } catch (e) { if (e instanceof IpmiCommandError) why = 'the BMC does not implement payload activation (no SOL)'; }
      throw new SolUnavailableError(s.host, why);
    }
    if (cc === CC_NEEDS_ENCRYPTION || cc === CC_NEEDS_NO_ENCRYPTION) throw new SolUnavailableError(s.host, `the BMC refuses SOL ${cc === CC_NEEDS_ENCRYPTION ? 'without' : 'with'} encryption on this session`);
    throw err;
  }
  const payload = decodeActivatePayload(data);
  return new SolConsole(s, { ...payload, port: payload.port || s.port }, opts);
}

