// The DHCP storm load generator: N distinct clients, each doing a full DORA (DISCOVER → OFFER → REQUEST →
// ACK), with at most `inFlight` DORAs outstanding at any time. It plays a relay agent: one UDP socket on
// port 67, every request unicast to the server with giaddr set; the server answers the relay at giaddr:67.
// The same generator, unchanged, drives every server under test.
//
// Bounded by construction: each step is retransmitted at most `attempts` times, `stepTimeoutMs` apart,
// and the whole storm stops at `deadlineMs` whatever state it is in.
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { decodePacket } from '../../netboot/dhcp/index.ts';
import {
  decodeRelayedReply, encodeRelayedRequest, ipToU32, MSG_ACK, MSG_DISCOVER, MSG_NAK, MSG_OFFER, MSG_REQUEST, stormMac, u32ToIp, type RelayedReply,
} from './dhcp-relay-wire.ts';

export interface StormOptions {
  server: string;
  giaddr: string;
  clients: number;
  inFlight: number;
  /** retransmit a step after this long without the expected reply */
  stepTimeoutMs: number;
  /** sends per step, including the first */
  attempts: number;
  /** the storm stops here, finished or not */
  deadlineMs: number;
  /** how long to keep probing for the server to come up before the storm starts */
  readyTimeoutMs: number;
  /** 0–255; part of every MAC and xid so runs never collide */
  run: number;
  /** local address to bind port 67 on (default 0.0.0.0, which also receives replies sent to giaddr) */
  bindAddress?: string;
  /**
   * Also decode every reply with RackSeed's codec (netboot/dhcp) and count disagreements with the
   * bench's own reader, and ACKs that lack a subnet mask or lease time. Costs client CPU: smoke tests only.
   */
  crossCheck?: boolean;
  /**
   * Diagnostics: write one CSV line per completed client (index, ms from storm start to its first DISCOVER,
   * latency ms) to this file, to see whether the tail is start-up, periodic stalls or load.
   */
  timelinePath?: string;
  /**
   * relayed (default): this generator, a relay agent on port 67 sending unicast with giaddr set. local: the
   * same-segment generator (dhcp-local-storm.ts), clients without addresses broadcasting from 0.0.0.0:68 on
   * `interface`; `server` and `giaddr` are then unused.
   */
  topology?: 'relayed' | 'local';
  /** local: the load generator's interface (in its namespace) */
  interface?: string;
  /** local: the served subnet's broadcast address, which counts as a broadcast reply like 255.255.255.255 */
  subnetBroadcast?: string;
}

export interface StormResult {
  clients: number;
  completed: number;
  naks: number;
  timeouts: number;
  /** clients cut off by the deadline (never started or still in flight) */
  unfinished: number;
  retransmits: number;
  /** ACKs whose address differs from the one OFFERed, replies that were not well-formed BOOTREPLYs */
  mismatches: number;
  malformed: number;
  /** crossCheck only: replies RackSeed's codec rejected or read differently, and ACKs without mask/lease time */
  crossCheckFailures: number;
  /** first DISCOVER sent → last ACK received */
  durationMs: number;
  doraPerSec: number;
  /** per-DORA latency (first DISCOVER sent → ACK received, retransmissions included), ms */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** how long the server took to answer the readiness probe */
  readyMs: number;
  /** CPU the load generator itself used during the storm (user + system), ms: near durationMs = it was the bottleneck */
  clientCpuMs: number;
  /** [mac as 12 hex digits, leased address] for every ACKed client */
  leases: Array<[string, string]>;
  /**
   * local only: how OFFERs and ACKs reached the clients (RFC 2131 §4.1), for clients that set the broadcast flag
   * and for those that did not, indexed by Delivery (dhcp-local-wire.ts): [broadcast, unicast to yiaddr at chaddr,
   * IP broadcast in a frame to chaddr, other]. null on the relayed path.
   */
  delivery: { flagSet: [number, number, number, number]; flagClear: [number, number, number, number] } | null;
}

/**
 * crossCheck: does RackSeed's codec (netboot/dhcp) read `msg` as the bench's own reader did (`rep`), and does an
 * ACK carry a subnet mask and a lease time?
 */
export function crossChecked(msg: Buffer, rep: RelayedReply): boolean {
  try {
    const p = decodePacket(msg);
    const o = p.options;
    return p.xid === rep.xid && ipToU32(p.yiaddr) === rep.yiaddr && o.messageType === rep.type
      && (rep.serverId === null ? o.serverId === null : o.serverId !== null && ipToU32(o.serverId) === rep.serverId)
      && (rep.type !== MSG_ACK || (o.subnetMask !== null && o.leaseTime !== null));
  } catch {
    return false;
  }
}

/** a client's state in the storm's per-client arrays */
export const DISCOVERING = 1, REQUESTING = 2, DONE = 3, FAILED = 4;

export async function runStorm(opts: StormOptions): Promise<StormResult> {
  const server = opts.server;
  const giaddr = ipToU32(opts.giaddr);
  const n = opts.clients;
  if (n < 1 || n > 0xfffff) throw new RangeError(`clients must be 1..${0xfffff}`);
  const xidBase = ((opts.run & 0xff) << 24) >>> 0;
  const state = new Uint8Array(n);
  const attempts = new Uint8Array(n);
  const started = new Float64Array(n);
  const sentAt = new Float64Array(n);
  const latency = new Float64Array(n);
  const offered = new Uint32Array(n);
  const leased = new Uint32Array(n);
  const pending: Array<Buffer | null> = new Array(n).fill(null);
  const inFlight = new Set<number>();
  const r: StormState['counts'] = {
    completed: 0, naks: 0, timeouts: 0, unfinished: 0, retransmits: 0, mismatches: 0, malformed: 0, crossCheckFailures: 0,
  };
  const crossCheck = (msg: Buffer, rep: RelayedReply): void => { if (!crossChecked(msg, rep)) r.crossCheckFailures++; };

  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(67, opts.bindAddress ?? '0.0.0.0', () => { socket.off('error', reject); resolve(); });
  });
  try { socket.setRecvBufferSize(8 << 20); socket.setSendBufferSize(8 << 20); } catch { /* capped by rmem_max: fine */ }

  const send = (buf: Buffer): void => { socket.send(buf, 67, server); };

  // Readiness: a DISCOVER from a MAC outside the storm's range until something answers.
  const readyStart = performance.now();
  let probeReply: Buffer | null = null;
  const probeXid = (xidBase | 0xffffff) >>> 0;
  const probe = encodeRelayedRequest({ type: MSG_DISCOVER, xid: probeXid, mac: stormMac(opts.run, 0xffffff), giaddr });
  await new Promise<void>((resolve, reject) => {
    const onMsg = (msg: Buffer): void => {
      const rep = decodeRelayedReply(msg);
      if (rep && rep.xid === probeXid) { probeReply = msg; finish(null); }
    };
    const timer = setInterval(() => {
      if (performance.now() - readyStart > opts.readyTimeoutMs) finish(new Error(`no answer from ${server} within ${opts.readyTimeoutMs} ms`));
      else send(probe);
    }, 200);
    const finish = (err: Error | null): void => {
      clearInterval(timer);
      socket.off('message', onMsg);
      if (err) reject(err); else resolve();
    };
    socket.on('message', onMsg);
    send(probe);
  }).catch((err) => { socket.close(); throw err; });
  const readyMs = performance.now() - readyStart;
  if (probeReply) warmUpGenerator(probeReply, giaddr, opts.run);

  let next = 0;
  let lastAck = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => { resolveDone = resolve; });

  const launch = (): void => {
    while (inFlight.size < opts.inFlight && next < n && performance.now() - t0 < opts.deadlineMs) {
      const i = next++;
      const buf = encodeRelayedRequest({ type: MSG_DISCOVER, xid: (xidBase | i) >>> 0, mac: stormMac(opts.run, i), giaddr });
      state[i] = DISCOVERING;
      attempts[i] = 1;
      started[i] = sentAt[i] = performance.now();
      pending[i] = buf;
      inFlight.add(i);
      send(buf);
    }
    if (inFlight.size === 0) resolveDone();
  };
  const finish = (i: number, how: number): void => {
    state[i] = how;
    pending[i] = null;
    inFlight.delete(i);
  };

  socket.on('message', (msg) => {
    const rep = decodeRelayedReply(msg);
    if (!rep) { r.malformed++; return; }
    if (opts.crossCheck) crossCheck(msg, rep);
    if ((rep.xid & 0xff000000) >>> 0 !== xidBase) return;
    const i = rep.xid & 0xffffff;
    if (i >= n) return;
    const now = performance.now();
    if (state[i] === DISCOVERING && rep.type === MSG_OFFER) {
      if (rep.serverId === null) { r.malformed++; return; }
      offered[i] = rep.yiaddr;
      const buf = encodeRelayedRequest({
        type: MSG_REQUEST, xid: rep.xid, mac: stormMac(opts.run, i), giaddr, requestedIp: rep.yiaddr, serverId: rep.serverId,
      });
      state[i] = REQUESTING;
      attempts[i] = 1;
      sentAt[i] = now;
      pending[i] = buf;
      send(buf);
    } else if (state[i] === REQUESTING && rep.type === MSG_ACK) {
      if (rep.yiaddr !== offered[i]) r.mismatches++;
      leased[i] = rep.yiaddr;
      latency[i] = now - started[i];
      lastAck = now;
      r.completed++;
      finish(i, DONE);
      launch();
    } else if (state[i] === REQUESTING && rep.type === MSG_NAK) {
      r.naks++;
      finish(i, FAILED);
      launch();
    }
    // anything else: a duplicate answer to a retransmission, ignored
  });

  const ticker = setInterval(() => {
    const now = performance.now();
    if (now - t0 > opts.deadlineMs) {
      r.unfinished += inFlight.size;
      for (const i of inFlight) state[i] = FAILED;
      inFlight.clear();
      resolveDone();
      return;
    }
    for (const i of inFlight) {
      if (now - sentAt[i] < opts.stepTimeoutMs) continue;
      if (attempts[i] >= opts.attempts) { r.timeouts++; finish(i, FAILED); continue; }
      attempts[i]++;
      sentAt[i] = now;
      r.retransmits++;
      send(pending[i]!);
    }
    launch();
  }, 20);

  launch();
  await done;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(ticker);
  socket.close();
  r.unfinished += n - next;

  return stormResult({ n, state, started, latency, leased, run: opts.run, counts: r, t0, lastAck, readyMs, cpuUs: cpu.user + cpu.system, timelinePath: opts.timelinePath, delivery: null });
}

/** What both generators hand to stormResult at the end of a storm. */
export interface StormState {
  n: number;
  /** per client: DONE (3) when it finished DORA */
  state: Uint8Array;
  started: Float64Array;
  latency: Float64Array;
  leased: Uint32Array;
  run: number;
  counts: Omit<StormResult, 'durationMs' | 'doraPerSec' | 'latencyMs' | 'readyMs' | 'leases' | 'clients' | 'clientCpuMs' | 'delivery'>;
  t0: number;
  lastAck: number;
  readyMs: number;
  cpuUs: number;
  timelinePath?: string;
  delivery: StormResult['delivery'];
}

/** The storm's result from its per-client arrays: latency percentiles, throughput, the leases (and the timeline file). */
export function stormResult(s: StormState): StormResult {
  const { n, state, started, latency, leased, t0 } = s;
  if (s.timelinePath) {
    const lines = ['client,startMs,latencyMs'];
    for (let i = 0; i < n; i++) if (state[i] === DONE) lines.push(`${i},${(started[i] - t0).toFixed(2)},${latency[i].toFixed(2)}`);
    writeFileSync(s.timelinePath, `${lines.join('\n')}\n`);
  }
  const lat = Array.from(latency.filter((_, i) => state[i] === DONE)).sort((a, b) => a - b);
  const pct = (p: number): number => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] : NaN);
  const durationMs = s.counts.completed ? s.lastAck - t0 : performance.now() - t0;
  const leases: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) if (state[i] === DONE) leases.push([stormMac(s.run, i).toString('hex'), u32ToIp(leased[i])]);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    clients: n,
    ...s.counts,
    durationMs: round(durationMs),
    doraPerSec: round(s.counts.completed / (durationMs / 1000)),
    latencyMs: { p50: round(pct(50)), p90: round(pct(90)), p99: round(pct(99)), max: round(lat.length ? lat[lat.length - 1] : NaN) },
    readyMs: round(s.readyMs),
    clientCpuMs: round(s.cpuUs / 1000),
    leases,
    delivery: s.delivery,
  };
}

/**
 * The generator's own JIT warm-up, before the clock starts: its encoder and reply reader run a few thousand
 * times on the readiness probe's real reply, so the first DORAs of the storm do not measure the generator's
 * interpreter (the same for every server under test; no packet is sent).
 */
function warmUpGenerator(reply: Buffer, giaddr: number, run: number): void {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) {
    const rep = decodeRelayedReply(reply);
    const req = encodeRelayedRequest({ type: i & 1 ? MSG_REQUEST : MSG_DISCOVER, xid: i, mac: stormMac(run, 0xfffff0), giaddr, requestedIp: rep?.yiaddr ?? 0, serverId: rep?.serverId ?? 0 });
    sink += req.length;
  }
  if (sink === 0) throw new Error('unreachable');
}
