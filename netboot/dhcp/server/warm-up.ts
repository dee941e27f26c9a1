// JIT warm-up of the authoritative serve path, run once by createDhcpServer before it binds its socket.
//
// Why: V8 runs new code in its interpreter and optimises a function only after it has run many times. A
// freshly started server therefore answers its first few thousand packets 3–4× slower than later ones —
// measured with the storm timeline (RS_BENCH_DHCP_TIMELINE, docs/BENCHMARKS.md): in a 10,000-client storm the
// first 200 DORAs averaged 29–37 ms against 8.6 ms for the rest, and that start-up made most of the p99.
// A site's first PXE storm (a rack powered on at once) is exactly that moment.
//
// What: `doras` synthetic DORAs — half relayed, half from clients without an address on the server's own segment
// (giaddr 0; every other one with the broadcast flag, as PXE ROMs send it) — go through the very functions real
// traffic uses (handleDatagram → decodePacket → AuthoritativeHandler → AddressPool → encodePacket, and the
// group-commit flush), with a scratch pool on a documentation subnet, an in-memory lease store and a send function
// that only decodes the reply. Nothing touches the network, the real lease store, the event sink or the counters of the server.
// The server builds the warm-up's pipeline with its own construction code and scratch values (WarmUpBuilder,
// authoritative-pipeline.ts), and may pass a factory for a fresh scratch store of the same class as its real one
// (the daemon: an in-memory SQLite store): the code V8 optimises then fits the objects real traffic meets.
// Cost: a few hundred ms of CPU at start-up.

import type { RemoteInfo } from 'node:dgram';
import type { Logger } from 'pino';
import { ipv4ToInt, intToIpv4 } from '../ipv4.ts';
import { DhcpMessageType } from '../message-type.ts';
import { decodePacket, encodePacket, FLAG_BROADCAST, newPacket } from '../packet.ts';
import { buildAuthoritativePipeline, warmUpLogger } from './authoritative-pipeline.ts';
import { newCounters } from './counters.ts';
import type { Lease, LeaseStore } from './lease-store.ts';
import { handleDatagram, type DecideFn, type PipelineContext } from './serve-loop.ts';

/** RFC 5737 TEST-NET-2 for the server and its relay; the pool is RFC 2544's benchmarking range (never routed). */
const SERVER_IP = '198.51.100.1';
const RELAY_IP = '198.18.0.1';
const FROM: RemoteInfo = { address: RELAY_IP, family: 'IPv4', port: 67, size: 0 };
/** a client without an address on the server's segment */
const FROM_LOCAL: RemoteInfo = { address: '0.0.0.0', family: 'IPv4', port: 68, size: 0 };
/** DORAs per event-loop turn: one group commit each, like a busy server sees */
const BATCH = 64;

/** A LeaseStore in two Maps; `commit` has nothing to make durable. */
class ScratchLeaseStore implements LeaseStore {
  private readonly macs = new Map<string, Lease>();
  private readonly ips = new Map<string, Lease>();
  byMac(mac: string): Lease | null { return this.macs.get(mac) ?? null; }
  byIp(ip: string): Lease | null { return this.ips.get(ip) ?? null; }
  put(lease: Lease): void {
    const old = this.macs.get(lease.mac);
    if (old) this.ips.delete(old.ip);
    this.macs.set(lease.mac, { ...lease });
    this.ips.set(lease.ip, { ...lease });
  }
  remove(ip: string): void {
    const old = this.ips.get(ip);
    if (!old) return;
    this.ips.delete(ip);
    this.macs.delete(old.mac);
  }
  commit(): void { /* in memory only */ }
  all(): Lease[] { return [...this.ips.values()]; }
}

/** The scratch network the warm-up serves (a documentation subnet nobody routes). */
export const WARM_UP_NET = { serverIp: SERVER_IP, subnetMask: '255.254.0.0', relayIp: RELAY_IP, poolFirst: '198.18.0.10' } as const;

/**
 * Builds the warm-up's pipeline for a scratch `pool` and `leases`: the caller's real construction code with scratch
 * values (authoritative-pipeline.ts), so the optimised code fits the real objects too.
 */
export type WarmUpBuilder = (pool: { first: string; last: string }, leases: LeaseStore) => { decide: DecideFn; ctx: PipelineContext };

/** A builder for callers without a server of their own (tests): plain options, the given logger at warn or quieter. */
export function defaultWarmUpBuilder(log: Logger): WarmUpBuilder {
  return (pool, leases) => buildAuthoritativePipeline({
    iface: 'warm-up', serverIp: SERVER_IP, subnetMask: WARM_UP_NET.subnetMask, pool, reservations: [], routers: [RELAY_IP], dnsServers: [],
    domainName: null, leaseTimeSec: 3600, renewalTimeSec: 1800, rebindingTimeSec: 3150, offerHoldMs: 60_000, declineHoldMs: 600_000,
    leases, policy: null, ports: { server: 67, relay: 67, client: 68, broadcastAddress: '255.255.255.255' }, now: Date.now,
    log: warmUpLogger(log, {}), counters: newCounters(), events: null, ownMac: null,
  });
}

/**
 * Run `doras` DORAs (DISCOVER → OFFER → REQUEST → ACK) through the serve path built by `build` (a Logger: the
 * default builder); resolves with the number of ACKs seen (equal to `doras` unless the path is broken, which is
 * logged). 0 does nothing. The DORAs are not PXE requests, so a boot policy in the pipeline is never consulted.
 */
export async function warmUpServePath(doras: number, build: WarmUpBuilder | Logger, scratchLeases?: () => ScratchStore): Promise<number> {
  if (doras <= 0) return 0;
  const builder = typeof build === 'function' ? build : defaultWarmUpBuilder(build);
  const leases: ScratchStore = scratchLeases?.() ?? new ScratchLeaseStore();
  try {
    return await runDoras(doras, builder, leases);
  } finally {
    leases.close?.();
  }
}

/** A throwaway LeaseStore for the warm-up; closed afterwards when it can be. */
export type ScratchStore = LeaseStore & { close?(): void };

async function runDoras(doras: number, build: WarmUpBuilder, leases: LeaseStore): Promise<number> {
  const { decide, ctx } = build({ first: WARM_UP_NET.poolFirst, last: intToIpv4(ipv4ToInt(WARM_UP_NET.poolFirst) + Math.max(doras, 1) + 16) }, leases);
  const log = ctx.log;
  let acks = 0;
  /** locally administered MAC 02:52:02:… numbered by xid */
  const chaddr = Buffer.from([0x02, 0x52, 0, 0, 0, 0]);
  const macOf = (xid: number): Buffer => { chaddr.writeUInt32BE(0x02000000 | xid, 2); return chaddr; };
  // odd xids: a client on the server's own segment (giaddr 0), with the broadcast flag when xid % 4 === 1
  const giaddrOf = (xid: number): string => (xid & 1 ? '0.0.0.0' : RELAY_IP);
  const flagsOf = (xid: number): number => ((xid & 3) === 1 ? FLAG_BROADCAST : 0);
  const request = (xid: number, offered: string): Buffer => {
    const p = newPacket({ xid, giaddr: giaddrOf(xid), flags: flagsOf(xid), chaddr: macOf(xid) });
    p.options.messageType = DhcpMessageType.REQUEST;
    p.options.requestedIp = offered;
    p.options.serverId = SERVER_IP;
    p.options.parameterRequestList = [1, 3, 6, 15, 51, 54];
    return encodePacket(p);
  };
  const send = (bytes: Buffer, _to: unknown, done: (err: Error | null) => void): void => {
    const reply = decodePacket(bytes);
    if (reply.options.messageType === DhcpMessageType.OFFER) handleDatagram(ctx, decide, request(reply.xid, reply.yiaddr), reply.xid & 1 ? FROM_LOCAL : FROM, send);
    else if (reply.options.messageType === DhcpMessageType.ACK) acks++;
    done(null);
  };
  for (let start = 0; start < doras; start += BATCH) {
    for (let i = start; i < Math.min(doras, start + BATCH); i++) {
      const d = newPacket({ xid: i, giaddr: giaddrOf(i), flags: flagsOf(i), chaddr: macOf(i) });
      d.options.messageType = DhcpMessageType.DISCOVER;
      d.options.parameterRequestList = [1, 3, 6, 15, 51, 54];
      handleDatagram(ctx, decide, encodePacket(d), i & 1 ? FROM_LOCAL : FROM, send);
    }
    await new Promise<void>((resolve) => setImmediate(resolve)); // lets the group commit flush the ACKs
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (acks !== doras || ctx.counters.errors > 0) log.warn({ doras, acks, errors: ctx.counters.errors }, 'DHCP warm-up saw fewer ACKs than DORAs');
  return acks;
}
