// createDhcpServer: the authoritative DHCP service on one interface (see README.md).

import type { Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { BootPolicy, NetbootEventSink } from '../../boot-policy.ts';
import type { DatagramDrain } from '../../net/datagram-drain.ts';
import type { LinkLayerSender } from '../../net/link-layer.ts';
import type { UdpSocketFactory } from '../../net/udp-socket.ts';
import type { Reservation } from './address-pool.ts';
import { buildAuthoritativePipeline, warmUpLogger, type PipelineSpec } from './authoritative-pipeline.ts';
import { newCounters } from './counters.ts';
import type { LeaseStore } from './lease-store.ts';
import { attachPipeline, type PipelineHandle } from './serve-loop.ts';
import type { UdpSendBatch } from '../../net/send-batch.ts';
import { WARM_UP_NET, warmUpServePath, type ScratchStore, type WarmUpBuilder } from './warm-up.ts';
import { NEW_CLIENT_LIMIT_DEFAULTS, type NewClientLimitOptions } from './new-client-limit.ts';
import { interfaceMac } from '../../net/interface-mac.ts';

const DEFAULT_WARM_UP_DORAS = 2000;

export interface DhcpServerOptions {
  /** interface to serve (the socket is confined to it by the factory) */
  interface: string;
  /**
   * The interface's own MAC: requests from it are our foreign-DHCP survey's probes and are not answered. Default:
   * read from /sys/class/net (right when this process runs in the interface's network namespace, as the daemon
   * does); pass it when the sockets live in another namespace than the process (tests), null to turn it off.
   */
  ownMac?: string | null;
  /** our address on that interface: server identifier (54), TFTP next-server */
  serverIp: string;
  subnetMask: string;
  /** dynamic range (inclusive) */
  pool: { first: string; last: string };
  /** static reservations; MAC in any notation */
  reservations?: Reservation[];
  routers?: string[];
  dnsServers?: string[];
  domainName?: string | null;
  /** option 51, default 3600 */
  leaseTimeSec?: number;
  /** option 58, default lease/2 */
  renewalTimeSec?: number;
  /** option 59, default lease·7/8 */
  rebindingTimeSec?: number;
  leases: LeaseStore;
  /** null/undefined: nobody gets boot information */
  bootPolicy?: BootPolicy | null;
  socketFactory: UdpSocketFactory;
  logger: Logger;
  events?: NetbootEventSink;
  /** clock, ms since epoch (tests inject) */
  now?: () => number;
  /** ports and broadcast address; defaults 67, 68, 255.255.255.255 (loopback tests override) */
  ports?: { server?: number; relay?: number; client?: number; broadcastAddress?: string };
  /** local address to bind, default 0.0.0.0 */
  bindAddress?: string;
  /** default 60 s */
  offerHoldSec?: number;
  /** how long an OFFER's history entry waits to be written with the ACK of its exchange (one entry per DORA); default 5000 */
  offerEventHoldMs?: number;
  /** default 600 s */
  declineHoldSec?: number;
  /** lease-expiry sweep period, default 10 s */
  sweepIntervalMs?: number;
  /**
   * The limit on fresh addresses for new clients (new-client-limit.ts: a rate once the pool is under pressure and a
   * reserve for known nodes; defaults NEW_CLIENT_LIMIT_DEFAULTS); `{ enabled: false }` turns it off.
   */
  newClientLimit?: NewClientLimitOptions;
  /**
   * Synthetic DORAs run through the serve path before the socket is bound, so the first real storm meets
   * optimised code (warm-up.ts says why and what it touches: nothing real). Default 2000; 0 turns it off.
   */
  warmUpDoras?: number;
  /** a fresh, throwaway store of the same class as `leases`, for the warm-up; default an in-memory Map store */
  warmUpLeases?: () => ScratchStore;
  /**
   * Answer clients without an address on our own segment at the link layer (RFC 2131 §4.1: unicast to yiaddr at
   * chaddr when the broadcast flag is clear, an Ethernet broadcast otherwise) through the socket factory's
   * `linkLayer` (net/link-layer.ts). Default true; false, or a factory without it: every such reply is a UDP
   * broadcast from the socket, which those clients accept too.
   */
  linkLayerReplies?: boolean;
  /**
   * Read the socket's queue in batches (recvmmsg) when the factory offers it (`drain`, net/datagram-drain.ts): a busy
   * server then makes one read for what has queued instead of one per datagram. Default true.
   */
  batchedReads?: boolean;
  /**
   * Send each event-loop turn's replies together (sendmmsg through the factory's `sendBatch` and the link-layer
   * sender, net/send-batch.ts) instead of one system call each. Default true.
   */
  batchedSends?: boolean;
}

export interface DhcpService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** received, discover, offer, request, ack, nak, release, decline, declineRefused, inform, expired, dropped, errors */
  counters(): Record<string, number>;
}

export function createDhcpServer(opts: DhcpServerOptions): DhcpService {
  const now = opts.now ?? Date.now;
  const lease = opts.leaseTimeSec ?? 3600;
  const ports = { server: opts.ports?.server ?? 67, relay: opts.ports?.relay ?? opts.ports?.server ?? 67, client: opts.ports?.client ?? 68, broadcastAddress: opts.ports?.broadcastAddress ?? '255.255.255.255' };
  const bindings = { component: 'dhcp', mode: 'authoritative', interface: opts.interface };
  const log = opts.logger.child(bindings);
  const events: NetbootEventSink | null = opts.events ?? null;
  const counters = newCounters();
  const spec: PipelineSpec = {
    iface: opts.interface, serverIp: opts.serverIp, subnetMask: opts.subnetMask, pool: opts.pool, reservations: opts.reservations ?? [],
    routers: opts.routers ?? [], dnsServers: opts.dnsServers ?? [], domainName: opts.domainName ?? null,
    leaseTimeSec: lease, renewalTimeSec: opts.renewalTimeSec ?? Math.floor(lease / 2), rebindingTimeSec: opts.rebindingTimeSec ?? Math.floor((lease * 7) / 8),
    offerHoldMs: (opts.offerHoldSec ?? 60) * 1000, declineHoldMs: (opts.declineHoldSec ?? 600) * 1000,
    leases: opts.leases, policy: opts.bootPolicy ?? null, ports, now, log, counters, events,
    ownMac: opts.ownMac === undefined ? interfaceMac(opts.interface) : opts.ownMac,
    offerEventHoldMs: opts.offerEventHoldMs,
  };
  const { handler, decide, ctx, pool } = buildAuthoritativePipeline(spec);
  // pool exhaustion by random MACs (issue 19 item 3): only the new-client branch of the pool consults this
  pool.limitNewClients((mac) => opts.bootPolicy?.knownClient?.(mac) ?? false, (l) => {
    const message = l.reason === 'reserve'
      ? `DHCP pool on ${opts.interface} nearly exhausted: ${l.free} of ${l.size} addresses free, the last ${l.reserve} kept for known nodes; ${l.refused} new client(s) refused (a client cycling MACs?)`
      : `DHCP pool on ${opts.interface} under pressure (${l.free} of ${l.size} free): new clients limited to ${opts.newClientLimit?.ratePerSec ?? NEW_CLIENT_LIMIT_DEFAULTS.ratePerSec}/s; ${l.refused} refused (a client cycling MACs?)`;
    log.warn({ ...l }, message);
    events?.({ source: 'dhcp', kind: 'pool-pressure', mac: null, ip: null, level: 'warn', message, detail: { ...l, interface: opts.interface } });
  }, opts.newClientLimit ?? {}, now());
  // the warm-up: the same construction with a scratch network, store, counters, a quiet logger and a sink that drops
  const warmUp: WarmUpBuilder = (pool, leases) => buildAuthoritativePipeline({
    ...spec, iface: 'warm-up', serverIp: WARM_UP_NET.serverIp, subnetMask: WARM_UP_NET.subnetMask, pool, reservations: [], leases,
    log: warmUpLogger(opts.logger, bindings), counters: newCounters(), events: events ? () => {} : null,
  });

  // an expiry entry of a MAC comes after that MAC's held OFFER (offer-hold.ts: order per MAC)
  const expiryEvents: NetbootEventSink = events ? (e) => { if (e.mac) ctx.offers?.release(e.mac); events(e); } : () => {};
  let socket: Socket | null = null;
  let link: LinkLayerSender | null = null;
  let drain: DatagramDrain | null = null;
  let sendBatch: UdpSendBatch | null = null;
  let pipeline: PipelineHandle | null = null;
  let timer: NodeJS.Timeout | null = null;
  return {
    async start() {
      if (socket) return;
      const t0 = performance.now();
      const warmed = await warmUpServePath(opts.warmUpDoras ?? DEFAULT_WARM_UP_DORAS, warmUp, opts.warmUpLeases);
      if (warmed > 0) log.debug({ doras: warmed, ms: Math.round(performance.now() - t0) }, 'serve path warmed up');
      socket = await opts.socketFactory({ port: ports.server, address: opts.bindAddress, interface: opts.interface, broadcast: true, reuseAddr: true });
      const openLink = opts.linkLayerReplies === false ? undefined : opts.socketFactory.linkLayer;
      if (openLink) {
        try {
          link = await openLink({ interface: opts.interface, sourceIp: opts.serverIp, sourcePort: ports.server });
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'no link-layer replies (clients without an address get broadcasts)');
        }
      }
      if (opts.batchedReads !== false) drain = opts.socketFactory.drain?.(socket) ?? null;
      if (opts.batchedSends !== false) sendBatch = opts.socketFactory.sendBatch?.(socket) ?? null;
      pipeline = attachPipeline(socket, ctx, decide, { link, drain, sendBatch });
      timer = setInterval(() => {
        try { handler.expire(counters, expiryEvents); } catch (err) { counters.errors++; log.error({ err }, 'lease expiry sweep failed'); }
      }, opts.sweepIntervalMs ?? 10_000);
      timer.unref();
      log.info({ serverIp: opts.serverIp, pool: opts.pool, linkLayerReplies: link !== null }, 'authoritative DHCP listening');
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      const s = socket;
      socket = null;
      pipeline?.flushSends();
      pipeline = null;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
      sendBatch?.close();
      sendBatch = null;
      link?.close();
      link = null;
      drain?.close();
      drain = null;
      try { opts.leases.commit(); } catch (err) { log.error({ err }, 'final lease commit failed'); }
      ctx.offers?.releaseAll();
      log.info('authoritative DHCP stopped');
    },
    counters: () => ({ ...counters }),
  };
}
