// Pool exhaustion on a hostile segment (issue 19 item 3): a client cycling random MACs must not take the whole pool.
// The authoritative pool asks this limiter only on its new-client branch — a MAC with no reservation, no lease
// (bound, released or expired) and no pending offer, about to be given a fresh address — so clients the server
// already knows (renewals, reboots, DORAs after an OFFER) never reach it and the hot path pays nothing.
//   - pressure: while at least `pressureFreeFraction` of the pool is free, new clients are not limited at all (a hall
//     of 1,000 machines arriving in a minute, or the 10,000-client bench storm in its /16, never is);
//   - below it, new clients get at most `ratePerSec` fresh addresses per second on this segment (token bucket of
//     `burst`);
//   - the last `reserve` free addresses go only to known clients (`isKnown`: nodes RackSeed has inventoried, deployed
//     or powered on), never to a MAC seen for the first time.
// A refusal is silence (no OFFER, no ACK: RFC 2131 lets a server not answer); the first refusal, and then one every
// `warnEveryMs` while it lasts, is reported through `onLimited` (the daemon turns it into a warning event that the UI
// shows under Services).
// Free addresses are counted by a scan of the pool (AddressPool.countFree) at construction and then at most once per
// `rescanMs` when the estimate gets near the pressure line; between scans each fresh address lowers the estimate.

export interface NewClientLimitOptions {
  /** fresh addresses per second for new clients once the pool is under pressure; default 5 */
  ratePerSec?: number;
  /** token-bucket depth for that rate; default 20 */
  burst?: number;
  /** below this fraction of free addresses the rate applies; default 0.5 */
  pressureFreeFraction?: number;
  /** addresses kept for known clients, as a fraction of the pool; default 0.1 (at least `reserveMin`, 1) */
  reserveFraction?: number;
  /** the smallest reserve; default 1 */
  reserveMin?: number;
  /** how often a warning is reported while clients are refused (ms); default 30 s */
  warnEveryMs?: number;
  /** least time between two scans of the pool (ms); default 5 s */
  rescanMs?: number;
  /** false turns the limiter off (every new client gets an address while one is free) */
  enabled?: boolean;
}

export const NEW_CLIENT_LIMIT_DEFAULTS: Required<NewClientLimitOptions> = {
  ratePerSec: 5, burst: 20, pressureFreeFraction: 0.5, reserveFraction: 0.1, reserveMin: 1, warnEveryMs: 30_000, rescanMs: 5_000, enabled: true,
};

export interface NewClientLimited {
  /** 'rate': the per-segment rate of new clients under pressure; 'reserve': only known clients may take the rest */
  reason: 'rate' | 'reserve';
  /** new clients refused since the last report (this one included) */
  refused: number;
  /** free addresses (estimate) and pool size */
  free: number;
  size: number;
  reserve: number;
  /** the last MAC refused */
  mac: string;
}

/** Settings from RACKSEED_DHCP_NEW_CLIENT_RATE, _BURST, _RESERVE (fraction), _PRESSURE (fraction), _LIMIT=0 (off). */
export function newClientLimitFromEnv(env: NodeJS.ProcessEnv = process.env): NewClientLimitOptions {
  const num = (k: string): number | undefined => {
    const v = env[k];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`${k}=${v} is not a non-negative number`);
    return n;
  };
  const o: NewClientLimitOptions = {};
  const rate = num('RACKSEED_DHCP_NEW_CLIENT_RATE'); if (rate !== undefined) o.ratePerSec = rate;
  const burst = num('RACKSEED_DHCP_NEW_CLIENT_BURST'); if (burst !== undefined) o.burst = burst;
  const reserve = num('RACKSEED_DHCP_RESERVE'); if (reserve !== undefined) o.reserveFraction = Math.min(1, reserve);
  const pressure = num('RACKSEED_DHCP_PRESSURE'); if (pressure !== undefined) o.pressureFreeFraction = Math.min(1, pressure);
  if (env.RACKSEED_DHCP_NEW_CLIENT_LIMIT === '0') o.enabled = false;
  return o;
}

export class NewClientLimiter {
  readonly size: number;
  readonly reserve: number;
  private readonly o: Required<NewClientLimitOptions>;
  private readonly pressureLine: number;
  private free: number;
  private scannedAt: number;
  private tokens: number;
  private filledAt: number;
  private refusedSinceReport = 0;
  private reportedAt = -Infinity;

  constructor(
    size: number,
    private readonly countFree: (now: number) => number,
    private readonly isKnown: (mac: string) => boolean,
    private readonly onLimited: (l: NewClientLimited) => void,
    opts: NewClientLimitOptions,
    now: number,
  ) {
    this.o = { ...NEW_CLIENT_LIMIT_DEFAULTS, ...opts };
    this.size = size;
    this.reserve = Math.min(size, Math.max(this.o.reserveMin, Math.floor(size * this.o.reserveFraction)));
    this.pressureLine = Math.floor(size * this.o.pressureFreeFraction);
    this.free = countFree(now);
    this.scannedAt = now;
    this.tokens = this.o.burst;
    this.filledAt = now;
  }

  /** May a new client (`mac`) have a fresh address now? Counts it against the estimate when it may. */
  admit(mac: string, now: number): boolean {
    if (!this.o.enabled) return true;
    if (this.free < this.pressureLine + this.o.burst && now - this.scannedAt >= this.o.rescanMs) {
      this.free = this.countFree(now);
      this.scannedAt = now;
    }
    if (this.free >= this.pressureLine) { this.free--; return true; }
    const known = this.isKnown(mac);
    if (!known && this.free <= this.reserve) return this.refuse('reserve', mac, now);
    if (!known) {
      this.tokens = Math.min(this.o.burst, this.tokens + ((now - this.filledAt) / 1000) * this.o.ratePerSec);
      this.filledAt = now;
      if (this.tokens < 1) return this.refuse('rate', mac, now);
      this.tokens--;
    }
    this.free--;
    return true;
  }

  /** The free-address estimate (tests, diagnostics). */
  get freeEstimate(): number { return this.free; }

  private refuse(reason: NewClientLimited['reason'], mac: string, now: number): false {
    this.refusedSinceReport++;
    if (now - this.reportedAt >= this.o.warnEveryMs) {
      const refused = this.refusedSinceReport;
      this.refusedSinceReport = 0;
      this.reportedAt = now;
      try { this.onLimited({ reason, refused, free: this.free, size: this.size, reserve: this.reserve, mac }); } catch { /* a report never breaks the server */ }
    }
    return false;
  }
}
