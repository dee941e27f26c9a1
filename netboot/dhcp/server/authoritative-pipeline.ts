// Builds what the authoritative serve loop runs on: the address pool, the handler and the pipeline context.
// One construction site for the real server and for its warm-up (warm-up.ts), so both create objects with the same
// hidden classes (V8 maps). When the warm-up's objects had other shapes (a context without a field, a child
// logger of another parent, a pool config without `reservations`), V8 threw away the code the warm-up had optimised
// on the first real packets ("wrong map" deoptimisations, seen with --trace-deopt) and the storm's first ~300 ms ran
// at half speed: that was most of the p99.
import type { Logger } from 'pino';
import type { BootPolicy, NetbootEventSink } from '../../boot-policy.ts';
import { AddressPool, type Reservation } from './address-pool.ts';
import { AuthoritativeHandler, type NetworkOptions } from './authoritative-handler.ts';
import type { Counters } from './counters.ts';
import type { LeaseStore } from './lease-store.ts';
import type { ReplyPorts } from './reply-target.ts';
import { OfferHold, OFFER_EVENT_HOLD_MS } from './offer-hold.ts';
import { heldOfferEvent, type DecideFn, type PipelineContext } from './serve-loop.ts';

/** The handler's network options (minus poolFirst, taken from `pool`), and everything else the pipeline needs. */
export interface PipelineSpec extends Omit<NetworkOptions, 'poolFirst'> {
  iface: string;
  pool: { first: string; last: string };
  reservations: Reservation[];
  offerHoldMs: number;
  declineHoldMs: number;
  leases: LeaseStore;
  policy: BootPolicy | null;
  ports: ReplyPorts;
  now: () => number;
  log: Logger;
  counters: Counters;
  events: NetbootEventSink | null;
  ownMac: string | null;
  /** how long an OFFER's history entry waits for the REQUEST of its exchange (offer-hold.ts); default 5 s */
  offerEventHoldMs?: number;
}

export interface AuthoritativePipeline { pool: AddressPool; handler: AuthoritativeHandler; decide: DecideFn; ctx: PipelineContext }

export function buildAuthoritativePipeline(s: PipelineSpec): AuthoritativePipeline {
  const pool = new AddressPool({
    first: s.pool.first, last: s.pool.last, subnetMask: s.subnetMask, serverIp: s.serverIp, reservations: s.reservations,
    offerHoldMs: s.offerHoldMs, declineHoldMs: s.declineHoldMs,
  }, s.leases);
  const handler = new AuthoritativeHandler({
    serverIp: s.serverIp, poolFirst: s.pool.first, subnetMask: s.subnetMask, routers: s.routers, dnsServers: s.dnsServers,
    domainName: s.domainName, leaseTimeSec: s.leaseTimeSec, renewalTimeSec: s.renewalTimeSec, rebindingTimeSec: s.rebindingTimeSec,
  }, pool, s.leases, s.policy, s.ports, s.iface, s.now);
  const leases = s.leases;
  const ctx: PipelineContext = { iface: s.iface, log: s.log, counters: s.counters, events: s.events, eventPrefix: '', commit: () => leases.commit(), ownMac: s.ownMac, offers: null };
  const sink = s.events;
  if (sink) ctx.offers = new OfferHold(s.offerEventHoldMs ?? OFFER_EVENT_HOLD_MS, (o) => sink(heldOfferEvent(ctx, o)), s.now);
  return { pool, handler, decide: handler.decide, ctx };
}

/**
 * The logger the warm-up uses: a child of the same parent as the real one (so it has the same map), at `warn` or
 * quieter — the warm-up's synthetic traffic never shows in the log at info or debug.
 */
export function warmUpLogger(parent: Logger, bindings: Record<string, unknown>): Logger {
  const log = parent.child({ ...bindings, warmUp: true });
  if (log.levelVal < 40) log.level = 'warn';
  return log;
}
