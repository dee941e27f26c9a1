// The same-segment DHCP storm: N distinct clients without addresses on the server's own segment (no relay), each
// doing a full DORA, at most `inFlight` outstanding. Every client broadcasts its DISCOVER and REQUEST from
// 0.0.0.0:68 to 255.255.255.255:67 in an Ethernet frame from its own MAC (chaddr), as a PXE ROM or dhclient does;
// even-numbered clients set the broadcast flag (as PXE ROMs do), odd ones do not. Replies are taken the way an
// unconfigured client takes them (RFC 2131 §4.1): broadcast, or unicast to yiaddr at chaddr — whatever the server
// chose is accepted and counted (StormResult.delivery), so a server that always broadcasts and one that unicasts
// when it may are measured alike.
//
// Frames go out and come in on one packet socket (packet-socket.ts) in a synchronous poll() loop: nothing else runs
// in this process, and the generator costs as little CPU per packet as it can. Bounded like the relayed storm:
// each step is retransmitted at most `attempts` times, `stepTimeoutMs` apart, and the storm stops at `deadlineMs`.
import { performance } from 'node:perf_hooks';
import { decodeRelayedReply, ipToU32, MSG_ACK, MSG_DISCOVER, MSG_NAK, MSG_OFFER, MSG_REQUEST, stormMac } from './dhcp-relay-wire.ts';
import { Delivery, deliveryOf, encodeLocalRequestFrame, parseReplyFrame } from './dhcp-local-wire.ts';
import { crossChecked, DISCOVERING, DONE, FAILED, REQUESTING, stormResult, type StormOptions, type StormResult, type StormState } from './dhcp-storm.ts';
import { PacketSocket } from './packet-socket.ts';

const TICK_MS = 20;
/** frames read per wake-up before timers get a turn */
const DRAIN_MAX = 512;

export async function runLocalStorm(opts: StormOptions): Promise<StormResult> {
  if (!opts.interface) throw new Error('the local storm needs the interface of its segment');
  const n = opts.clients;
  if (n < 1 || n > 0xfffff) throw new RangeError(`clients must be 1..${0xfffff}`);
  const subnetBroadcast = opts.subnetBroadcast ? ipToU32(opts.subnetBroadcast) : 0xffffffff;
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
  const r: StormState['counts'] = { completed: 0, naks: 0, timeouts: 0, unfinished: 0, retransmits: 0, mismatches: 0, malformed: 0, crossCheckFailures: 0 };
  const delivery: NonNullable<StormResult['delivery']> = { flagSet: [0, 0, 0, 0], flagClear: [0, 0, 0, 0] };
  const flagSet = (i: number): boolean => (i & 1) === 0;
  const mac = Buffer.alloc(6);
  const macOf = (i: number): Buffer => { mac[0] = 0x02; mac[1] = 0x5e; mac[2] = opts.run & 255; mac[3] = (i >>> 16) & 255; mac[4] = (i >>> 8) & 255; mac[5] = i & 255; return mac; };

  const sock = PacketSocket.open(opts.interface);
  const rx = Buffer.alloc(2048);
  try {
    // Readiness: a DISCOVER from a MAC outside the storm's range, every 200 ms, until something answers.
    const readyStart = performance.now();
    const probeXid = (xidBase | 0xffffff) >>> 0;
    const probe = encodeLocalRequestFrame({ type: MSG_DISCOVER, xid: probeXid, mac: stormMac(opts.run, 0xffffff) }, true);
    let ready = false;
    let nextProbe = 0;
    while (!ready) {
      const now = performance.now();
      if (now - readyStart > opts.readyTimeoutMs) throw new Error(`no answer on ${opts.interface} within ${opts.readyTimeoutMs} ms`);
      if (now >= nextProbe) { sock.send(probe); nextProbe = now + 200; }
      if (!sock.wait(nextProbe - now)) continue;
      for (let len = sock.recv(rx); len >= 0; len = sock.recv(rx)) {
        const f = parseReplyFrame(rx, len);
        const rep = f && decodeRelayedReply(rx.subarray(f.payloadAt, f.payloadEnd));
        if (rep && rep.xid === probeXid) ready = true;
      }
    }
    const readyMs = performance.now() - readyStart;
    warmUp(opts.run);

    let next = 0;
    let lastAck = 0;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();

    const send = (frame: Buffer): void => { sock.send(frame); };
    const launch = (now: number): void => {
      while (inFlight.size < opts.inFlight && next < n && now - t0 < opts.deadlineMs) {
        const i = next++;
        const frame = encodeLocalRequestFrame({ type: MSG_DISCOVER, xid: (xidBase | i) >>> 0, mac: macOf(i) }, flagSet(i));
        state[i] = DISCOVERING;
        attempts[i] = 1;
        started[i] = sentAt[i] = now;
        pending[i] = frame;
        inFlight.add(i);
        send(frame);
      }
    };
    const finish = (i: number, how: number): void => {
      state[i] = how;
      pending[i] = null;
      inFlight.delete(i);
    };
    const onFrame = (len: number): void => {
      const f = parseReplyFrame(rx, len);
      if (!f) { r.malformed++; return; }
      const payload = rx.subarray(f.payloadAt, f.payloadEnd);
      const rep = decodeRelayedReply(payload);
      if (!rep) { r.malformed++; return; }
      if (opts.crossCheck && !crossChecked(payload, rep)) r.crossCheckFailures++;
      if ((rep.xid & 0xff000000) >>> 0 !== xidBase) return;
      const i = rep.xid & 0xffffff;
      if (i >= n) return;
      const now = performance.now();
      const counted = (): void => { (flagSet(i) ? delivery.flagSet : delivery.flagClear)[deliveryOf(rx, f, macOf(i), rep.yiaddr, subnetBroadcast)]++; };
      if (state[i] === DISCOVERING && rep.type === MSG_OFFER) {
        if (rep.serverId === null) { r.malformed++; return; }
        counted();
        offered[i] = rep.yiaddr;
        const frame = encodeLocalRequestFrame({ type: MSG_REQUEST, xid: rep.xid, mac: macOf(i), requestedIp: rep.yiaddr, serverId: rep.serverId }, flagSet(i));
        state[i] = REQUESTING;
        attempts[i] = 1;
        sentAt[i] = now;
        pending[i] = frame;
        send(frame);
      } else if (state[i] === REQUESTING && rep.type === MSG_ACK) {
        counted();
        if (rep.yiaddr !== offered[i]) r.mismatches++;
        leased[i] = rep.yiaddr;
        latency[i] = now - started[i];
        lastAck = now;
        r.completed++;
        finish(i, DONE);
        launch(now);
      } else if (state[i] === REQUESTING && rep.type === MSG_NAK) {
        r.naks++;
        finish(i, FAILED);
        launch(now);
      }
      // anything else: a duplicate answer to a retransmission, ignored
    };
    const tick = (now: number): boolean => {
      if (now - t0 > opts.deadlineMs) {
        r.unfinished += inFlight.size;
        for (const i of inFlight) state[i] = FAILED;
        inFlight.clear();
        return false;
      }
      for (const i of inFlight) {
        if (now - sentAt[i] < opts.stepTimeoutMs) continue;
        if (attempts[i] >= opts.attempts) { r.timeouts++; finish(i, FAILED); continue; }
        attempts[i]++;
        sentAt[i] = now;
        r.retransmits++;
        send(pending[i]!);
      }
      launch(now);
      return true;
    };

    launch(t0);
    let nextTick = t0 + TICK_MS;
    while (inFlight.size > 0) {
      const now = performance.now();
      if (now >= nextTick) {
        if (!tick(now)) break;
        nextTick = now + TICK_MS;
        if (inFlight.size === 0) break;
      }
      if (!sock.wait(nextTick - now)) continue;
      for (let k = 0, len = sock.recv(rx); len >= 0; len = ++k < DRAIN_MAX ? sock.recv(rx) : -1) onFrame(len);
    }
    const cpu = process.cpuUsage(cpu0);
    r.unfinished += n - next;
    return stormResult({ n, state, started, latency, leased, run: opts.run, counts: r, t0, lastAck, readyMs, cpuUs: cpu.user + cpu.system, timelinePath: opts.timelinePath, delivery });
  } finally {
    sock.close();
  }
}

/** The generator's own JIT warm-up before the clock starts (no packet sent): its frame encoder and reader. */
function warmUp(run: number): void {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) {
    const f = encodeLocalRequestFrame({ type: i & 1 ? MSG_REQUEST : MSG_DISCOVER, xid: i, mac: stormMac(run, 0xfffff0), requestedIp: 1, serverId: 2 }, (i & 2) === 0);
    f[0] = 0x02; // make it a "reply" to port 68 for the reader
    f.writeUInt16BE(68, 36);
    const p = parseReplyFrame(f, f.length);
    if (p) sink += deliveryOf(f, p, f.subarray(6, 12), 0, 0) === Delivery.Other ? 1 : 2;
  }
  if (sink === 0) throw new Error('unreachable');
}
