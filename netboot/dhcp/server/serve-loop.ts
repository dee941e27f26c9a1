// The serve loop both DHCP modes share (STYLE.md: a pipeline of small named steps):
//   receive → decode → filter → decide (mode handler) → build → send
// One bad packet is logged with mac, xid and interface and dropped; the loop never stops on it.

import type { RemoteInfo, Socket } from 'node:dgram';
import type { Logger } from 'pino';
import type { NetbootEvent, NetbootEventSink } from '../../boot-policy.ts';
import type { DatagramDrain } from '../../net/datagram-drain.ts';
import type { LinkLayerSender } from '../../net/link-layer.ts';
import { bufferFull, type UdpSendBatch, type Unsent } from '../../net/send-batch.ts';
import { DhcpDecodeError } from '../decode-error.ts';
import { IPV4_ANY } from '../ipv4.ts';
import { messageTypeName, messageTypeVerb } from '../message-type.ts';
import { isNetbootClient } from '../netboot-client.ts';
import { BOOTREQUEST, decodePacket, encodePacket, packetMac, type DhcpPacket } from '../packet.ts';
import type { Counters, CounterName } from './counters.ts';
import type { HeldOffer, OfferHold } from './offer-hold.ts';
import { describeTarget, type ReplyTarget } from './reply-target.ts';

/** What a mode handler decided for one request. */
export type Decision =
  /** send `reply` to `to`; `durable`: only after the lease store committed (ACKs) */
  | { action: 'reply'; reply: DhcpPacket; to: ReplyTarget; durable?: boolean }
  /** handled; nothing to send (RELEASE, DECLINE); `durable`: the store changed and needs a commit */
  | { action: 'done'; durable?: boolean }
  /** not ours to answer: a debug line, counted as dropped — not an error; `counter`: also counted there */
  | { action: 'drop'; reason: string; counter?: CounterName };

export type DecideFn = (packet: DhcpPacket, from: RemoteInfo) => Decision;

export interface PipelineContext {
  /** interface name, for logs and events */
  iface: string;
  log: Logger;
  counters: Counters;
  /** null: nobody listens, and the hot path skips building events */
  events: NetbootEventSink | null;
  /** event kind prefix: "" (authoritative) or "proxy-" */
  eventPrefix: string;
  /** group commit of the lease store (authoritative mode); null when nothing is stored (proxy) */
  commit: (() => void) | null;
  /**
   * The serving interface's own MAC (null: unknown). Requests from it are our own foreign-DHCP survey probes
   * (survey.ts sends its DISCOVER from this MAC on this interface): dropped without an answer or a history entry,
   * so the periodic survey neither holds a pool address nor fills the event log with a MAC nobody knows.
   */
  ownMac?: string | null;
  /**
   * Authoritative mode with an event sink: OFFER entries held for the REQUEST of the same exchange, so a DORA is one
   * history entry (offer-hold.ts); null: every exchange is its own entry (proxy mode, no sink).
   */
  offers?: OfferHold | null;
}

type SendFn = (bytes: Buffer, to: ReplyTarget, done: (err: Error | null) => void) => void;
interface Pending { req: DhcpPacket; reply: DhcpPacket; mac: string; bytes: Buffer; to: ReplyTarget; send: SendFn }

/**
 * Replies waiting for the lease store's commit. Every durable reply decided during one event-loop turn is
 * committed in one transaction (setImmediate runs after the poll phase has handed over all readable
 * datagrams), then sent: an ACK never leaves before its lease is on disk.
 */
const outboxes = new WeakMap<PipelineContext, { pending: Pending[]; scheduled: boolean }>();

function scheduleFlush(ctx: PipelineContext): { pending: Pending[]; scheduled: boolean } {
  let box = outboxes.get(ctx);
  if (!box) { box = { pending: [], scheduled: false }; outboxes.set(ctx, box); }
  if (!box.scheduled) {
    box.scheduled = true;
    const b = box;
    setImmediate(() => flush(ctx, b));
  }
  return box;
}

function flush(ctx: PipelineContext, box: { pending: Pending[]; scheduled: boolean }): void {
  box.scheduled = false;
  const batch = box.pending;
  box.pending = [];
  try {
    ctx.commit?.();
  } catch (err) {
    ctx.counters.errors += Math.max(1, batch.length);
    ctx.log.error({ interface: ctx.iface, err, replies: batch.length }, 'lease store commit failed; ACKs withheld');
    for (const p of batch) requestEvent(ctx, p.req, p.mac, 'no reply: the lease store could not be written', 'error');
    return;
  }
  for (const p of batch) {
    try { transmit(ctx, p); } catch (err) { ctx.counters.errors++; ctx.log.error({ interface: ctx.iface, mac: p.mac, xid: p.req.xid, err }, 'failed to send DHCP reply'); }
  }
  // batched sends (attachPipeline): the ACKs just queued leave now, with whatever else this turn queued
  sendFlushes.get(ctx)?.();
}

/** Step: send, count and report one reply. */
function transmit(ctx: PipelineContext, p: Pending): void {
  const { req, reply, mac, bytes, to } = p;
  const replyVerb = messageTypeVerb(reply.options.messageType);
  count(ctx, replyVerb);
  p.send(bytes, to, (err) => {
    if (err) { ctx.counters.errors++; ctx.log.warn({ interface: ctx.iface, mac, xid: req.xid, to: describeTarget(to), err: err.message }, 'sending DHCP reply failed'); }
  });
  const ip = reply.yiaddr !== IPV4_ANY ? reply.yiaddr : reply.ciaddr !== IPV4_ANY ? reply.ciaddr : null;
  if (ctx.events) exchangeEvent(ctx, ctx.events, req, reply, replyVerb, mac, ip);
  if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ interface: ctx.iface, mac, xid: req.xid, ip, to: describeTarget(to) }, `sent ${messageTypeName(reply.options.messageType)}`);
}

/**
 * Step: the history entry of an answered request: the request and the reply it got (kind = the reply, detail.request =
 * the request); with ctx.offers one per DORA: the OFFER is held and written with the ACK/NAK of the same xid
 * (detail.offered, detail.offeredAt; detail.offers when a retransmitted DISCOVER got several OFFERs).
 */
function exchangeEvent(ctx: PipelineContext, events: NetbootEventSink, req: DhcpPacket, reply: DhcpPacket, replyVerb: string, mac: string, ip: string | null): void {
  const boot = reply.options.bootfileName;
  const offers = ctx.offers;
  if (offers && replyVerb === 'offer') {
    offers.hold({ mac, xid: req.xid, ip, bootFile: boot, ciaddr: req.ciaddr !== IPV4_ANY ? req.ciaddr : null });
  } else {
    const offer = offers ? (replyVerb === 'ack' || replyVerb === 'nak' ? offers.take(mac, req.xid) : (offers.release(mac), null)) : null;
    const requested = clientIp(req);
    const answer = `${messageTypeName(reply.options.messageType)}${ip ? ` ${ip}` : ''}${boot ? ` boot ${boot}` : ''}${replyVerb === 'nak' ? `: ${reply.options.message ?? ''}` : ''}`;
    events({
      source: 'dhcp', kind: ctx.eventPrefix + replyVerb, mac, ip,
      message: offer
        ? `DHCPDISCOVER from ${mac} → DHCPOFFER${offer.ip ? ` ${offer.ip}` : ''}, ${messageTypeName(req.options.messageType)} → ${answer}`
        : `${messageTypeName(req.options.messageType)} from ${mac} → ${answer}`,
      detail: exchangeDetail(ctx, req, offer, replyVerb === 'nak' ? requested : null, boot),
      level: replyVerb === 'nak' ? 'warn' : 'info',
    });
  }
}

/**
 * detail of an exchange's entry: xid, interface, request (its verb); offered, offeredAt (and offers when > 1) when
 * the OFFER is merged in; ciaddr, requested (NAKs), bootFile when set; pxe: true when the request came from a
 * network-boot client (PXE/HTTP/iPXE: isNetbootClient), so a deployed OS's own DHCP request (no pxe) can be told apart
 * from its firmware's (core/deploy/service.ts). Built by assignment, not spreads: it is on the serving thread once
 * per DORA.
 */
function exchangeDetail(ctx: PipelineContext, req: DhcpPacket, offer: HeldOffer | null, requested: string | null, boot: string | null): Record<string, unknown> {
  const d: Record<string, unknown> = { xid: req.xid, interface: ctx.iface, request: messageTypeVerb(req.options.messageType) };
  if (offer) {
    d.offered = offer.ip;
    d.offeredAt = offer.at;
    if (offer.offers > 1) d.offers = offer.offers;
  }
  if (req.ciaddr !== IPV4_ANY) d.ciaddr = req.ciaddr;
  if (requested) d.requested = requested;
  if (boot) d.bootFile = boot;
  if (isNetbootClient(req)) d.pxe = true;
  return d;
}

const COUNTED = new Set<string>(['discover', 'offer', 'request', 'ack', 'nak', 'release', 'decline', 'inform']);

function count(ctx: PipelineContext, verb: string): void {
  if (COUNTED.has(verb)) ctx.counters[verb as CounterName]++;
}

function clientIp(p: DhcpPacket): string | null {
  if (p.yiaddr !== IPV4_ANY) return p.yiaddr;
  if (p.ciaddr !== IPV4_ANY) return p.ciaddr;
  return p.options.requestedIp;
}

/**
 * At most WARN_BURST malformed-packet warnings per WARN_WINDOW_MS per pipeline, so a flood of garbage
 * cannot turn into a flood of log lines; the rest are summarised once per window (all are counted in `errors`).
 */
const WARN_BURST = 10;
const WARN_WINDOW_MS = 10_000;
const warnWindows = new WeakMap<PipelineContext, { start: number; count: number }>();
function allowWarning(ctx: PipelineContext): boolean {
  const now = Date.now();
  let w = warnWindows.get(ctx);
  if (!w || now - w.start >= WARN_WINDOW_MS) {
    if (w && w.count > WARN_BURST) ctx.log.warn({ interface: ctx.iface, suppressed: w.count - WARN_BURST }, 'more malformed DHCP packets dropped without a log line');
    w = { start: now, count: 0 };
    warnWindows.set(ctx, w);
  }
  return ++w.count <= WARN_BURST;
}

/** Step: receive one datagram and run it through the pipeline. Exported for tests that drive it without a socket. */
export function handleDatagram(ctx: PipelineContext, decide: DecideFn, msg: Buffer, from: RemoteInfo, send: SendFn): void {
  ctx.counters.received++;
  // decode
  let req: DhcpPacket;
  try {
    req = decodePacket(msg);
  } catch (err) {
    ctx.counters.errors++;
    if (!(err instanceof DhcpDecodeError)) ctx.log.error({ interface: ctx.iface, err }, 'DHCP decoder failed unexpectedly');
    else if (allowWarning(ctx)) ctx.log.warn({ interface: ctx.iface, from: `${from.address}:${from.port}`, offset: err.offset, bytes: msg.length }, `malformed DHCP packet dropped: ${err.message}`);
    return;
  }
  let mac = '';
  try {
    mac = packetMac(req);
    // filter: only client requests with a DHCP message type (replies of other servers and plain BOOTP are not ours)
    const type = req.options.messageType;
    if (mac === ctx.ownMac) {
      ctx.counters.dropped++;
      if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ interface: ctx.iface, mac, xid: req.xid }, 'our own survey probe; not answered');
      return;
    }
    if (req.op !== BOOTREQUEST || type === null) {
      ctx.counters.dropped++;
      if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ interface: ctx.iface, mac, xid: req.xid, op: req.op }, 'not a DHCP request; ignored');
      return;
    }
    count(ctx, messageTypeVerb(type));
    // decide
    const decision = decide(req, from);
    if (decision.action === 'drop') {
      ctx.counters.dropped++;
      if (decision.counter) ctx.counters[decision.counter]++;
      requestEvent(ctx, req, mac, `ignored: ${decision.reason}`, 'info');
      if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ interface: ctx.iface, mac, xid: req.xid, type: messageTypeName(type) }, `ignored: ${decision.reason}`);
      return;
    }
    if (decision.action === 'done') {
      requestEvent(ctx, req, mac, null, 'info');
      if (decision.durable && ctx.commit) scheduleFlush(ctx);
      return;
    }
    // build
    const pending: Pending = { req, reply: decision.reply, mac, bytes: encodePacket(decision.reply), to: decision.to, send };
    // send (after the commit, for durable replies)
    if (decision.durable && ctx.commit) scheduleFlush(ctx).pending.push(pending);
    else transmit(ctx, pending);
  } catch (err) {
    ctx.counters.errors++;
    ctx.log.error({ interface: ctx.iface, mac, xid: req.xid, err }, 'failed to handle DHCP packet; dropped');
    if (mac && req.options.messageType !== null) {
      try { requestEvent(ctx, req, mac, `dropped: ${(err as Error).message}`, 'error'); } catch { /* the sink never throws */ }
    }
  }
}

/**
 * History entry for a request that got no reply (dropped with `outcome`, or RELEASE/DECLINE: outcome null). A
 * request that is answered is recorded with its reply, as one entry (transmit).
 */
function requestEvent(ctx: PipelineContext, req: DhcpPacket, mac: string, outcome: string | null, level: 'info' | 'error'): void {
  if (!ctx.events) return;
  ctx.offers?.release(mac);
  const type = req.options.messageType;
  ctx.events({
    source: 'dhcp', kind: ctx.eventPrefix + messageTypeVerb(type), mac, ip: clientIp(req),
    message: `${messageTypeName(type)} from ${mac}${outcome ? ` ${outcome}` : ''}`,
    detail: { xid: req.xid, interface: ctx.iface, ...(req.ciaddr !== IPV4_ANY ? { ciaddr: req.ciaddr } : {}), ...(outcome ? { outcome } : {}) },
    level,
  });
}

/** The history entry of an OFFER that no REQUEST of its exchange followed in time (offer-hold.ts). */
export function heldOfferEvent(ctx: PipelineContext, o: HeldOffer): NetbootEvent {
  return {
    source: 'dhcp', kind: ctx.eventPrefix + 'offer', mac: o.mac, ip: o.ip, at: o.at,
    message: `DHCPDISCOVER from ${o.mac} → DHCPOFFER${o.ip ? ` ${o.ip}` : ''}${o.bootFile ? ` boot ${o.bootFile}` : ''}`,
    detail: { xid: o.xid, interface: ctx.iface, request: 'discover', ...(o.ciaddr ? { ciaddr: o.ciaddr } : {}), ...(o.bootFile ? { bootFile: o.bootFile } : {}), ...(o.offers > 1 ? { offers: o.offers } : {}) },
    level: 'info',
  };
}

/** What the serve loop sends and reads with, beside the dgram socket (all optional; net/ offers them). */
export interface PipelineIo {
  /** replies with a link-layer target (clients without an address on our segment, reply-target.ts) go through it */
  link?: LinkLayerSender | null;
  /** after each datagram node delivers, the rest of the socket's queue is read through it in batches */
  drain?: DatagramDrain | null;
  /**
   * Batched sends: replies are queued — UDP ones here, link-layer ones in `link` — and sent once per event-loop turn
   * (one sendmmsg each), after the turn's lease commit. null: each reply is sent when it is decided.
   */
  sendBatch?: UdpSendBatch | null;
}

export interface PipelineHandle {
  /** send what is queued now (stop() calls it before closing the socket) */
  flushSends(): void;
}

/** The send flush of each attached pipeline, for the group commit's flush to call after queueing its ACKs. */
const sendFlushes = new WeakMap<PipelineContext, () => void>();

/**
 * Attach the pipeline to a socket. Socket errors are logged, never thrown. With `io.link`, replies with a link-layer
 * target go through it; when it cannot take one (buffer full, too big for a frame) or is absent, they go by the socket
 * to the target's UDP address (broadcast). With `io.drain`, after each datagram node delivers, the rest of the
 * socket's queue is read in batches (net/datagram-drain.ts) and run through the pipeline in arrival order; a drain
 * that fails is logged once and not used again. With `io.sendBatch`, replies are queued and sent once per turn
 * (net/send-batch.ts); what a full socket buffer refuses is sent one by one as without it.
 */
export function attachPipeline(socket: Socket, ctx: PipelineContext, decide: DecideFn, io: PipelineIo = {}): PipelineHandle {
  const link = io.link ?? null;
  const batch = io.sendBatch ?? null;
  /** one reply now: at the link layer when it has such a target and the sender takes it, else by the socket */
  const sendNow = (bytes: Buffer, to: ReplyTarget, done: (err: Error | null) => void): void => {
    if (link !== null && to.link !== null) {
      try {
        if (link.send(bytes, to.link.ip, to.port, to.link.mac)) { done(null); return; }
      } catch (err) {
        done(err as Error);
        return;
      }
    }
    socket.send(bytes, to.port, to.address, (err) => done(err ?? null));
  };
  let send: SendFn = sendNow;
  let flushSends = (): void => {};
  if (batch !== null) {
    // replies queued this turn, in the order of each batch's slots (to send them otherwise if a batch is refused)
    const linkQ: Array<[Buffer, ReplyTarget, (err: Error | null) => void]> = [];
    const udpQ: Array<[Buffer, ReplyTarget, (err: Error | null) => void]> = [];
    let scheduled = false;
    const settle = (unsent: Unsent | null, q: typeof linkQ): void => {
      if (unsent) {
        for (let i = unsent.from; i < q.length; i++) {
          const [bytes, to, done] = q[i]!;
          if (bufferFull(unsent.errno)) sendNow(bytes, to, done);
          else done(new Error(`sendmmsg failed (errno ${unsent.errno})`));
        }
      }
      q.length = 0;
    };
    flushSends = () => {
      scheduled = false;
      if (link !== null && linkQ.length > 0) settle(link.flush(), linkQ);
      if (udpQ.length > 0) settle(batch.flush(), udpQ);
    };
    const queue = (bytes: Buffer, to: ReplyTarget, done: (err: Error | null) => void): boolean => {
      if (link !== null && to.link !== null) {
        if (!link.queue(bytes, to.link.ip, to.port, to.link.mac)) return false;
        linkQ.push([bytes, to, done]);
      } else {
        if (!batch.queue(bytes, to.address, to.port)) return false;
        udpQ.push([bytes, to, done]);
      }
      return true;
    };
    send = (bytes, to, done) => {
      if (!queue(bytes, to, done)) {
        flushSends(); // a full batch goes now; then a reply too big for a slot goes alone
        if (!queue(bytes, to, done)) { sendNow(bytes, to, done); return; }
      }
      if (!scheduled) { scheduled = true; setImmediate(flushSends); }
    };
    sendFlushes.set(ctx, flushSends);
  }
  let queued = io.drain ?? null;
  const onQueued = (msg: Buffer, from: RemoteInfo): void => handleDatagram(ctx, decide, msg, from, send);
  socket.on('message', (msg, from) => {
    handleDatagram(ctx, decide, msg, from, send);
    if (queued === null) return;
    try {
      queued.drain(onQueued);
    } catch (err) {
      queued = null;
      ctx.counters.errors++;
      ctx.log.error({ interface: ctx.iface, err }, 'batched DHCP reads failed; reading one datagram at a time');
    }
  });
  socket.on('error', (err) => { ctx.counters.errors++; ctx.log.error({ interface: ctx.iface, err }, 'DHCP socket error'); });
  return { flushSends: () => flushSends() };
}
