// The authoritative server's address bookkeeping: the pool range, static reservations, pending offers
// and declined addresses, over a LeaseStore. Decides which address a client may have; never does I/O
// besides the store calls. Time comes from the caller (ms since epoch).

import { intToIpv4, ipv4ToInt } from '../ipv4.ts';
import { parseMac } from '../mac.ts';
import type { Lease, LeaseStore } from './lease-store.ts';
import { NewClientLimiter, type NewClientLimited, type NewClientLimitOptions } from './new-client-limit.ts';

export interface Reservation { mac: string; ip: string; hostname?: string | null }

export interface AddressPoolConfig {
  /** first and last address handed out dynamically (inclusive) */
  first: string;
  last: string;
  /** subnet mask of the served network (pool and reservations must be inside it) */
  subnetMask: string;
  /** our own address; never handed out */
  serverIp: string;
  /** MAC in any notation (aa:bb.., AA-BB-.., aabb.ccdd.eeff, aabbccddeeff) → fixed address */
  reservations?: Reservation[];
  /** how long an offered address is held for the client (ms) */
  offerHoldMs: number;
  /** how long a declined address is kept out of use (ms) */
  declineHoldMs: number;
}

export class AddressPool {
  private readonly first: number;
  private readonly last: number;
  private readonly mask: number;
  private readonly network: number;
  private readonly serverIp: string;
  private readonly reservedByMac = new Map<string, Reservation>();
  private readonly reservedByIp = new Map<string, string>();
  private readonly offersByMac = new Map<string, { ip: string; until: number }>();
  private readonly offersByIp = new Map<string, string>();
  private readonly declined = new Map<string, number>();
  private cursor: number;
  /** new-client limit (new-client-limit.ts); null: none */
  private limiter: NewClientLimiter | null = null;

  constructor(private readonly cfg: AddressPoolConfig, private readonly store: LeaseStore) {
    this.first = ipv4ToInt(cfg.first);
    this.last = ipv4ToInt(cfg.last);
    this.mask = ipv4ToInt(cfg.subnetMask);
    if (this.first > this.last) throw new RangeError(`pool first ${cfg.first} is after last ${cfg.last}`);
    this.network = (this.first & this.mask) >>> 0;
    if (((this.last & this.mask) >>> 0) !== this.network) throw new RangeError(`pool ${cfg.first}–${cfg.last} spans more than one ${cfg.subnetMask} subnet`);
    this.serverIp = cfg.serverIp;
    for (const r of cfg.reservations ?? []) {
      const mac = parseMac(r.mac);
      if (!mac) throw new RangeError(`reservation has an invalid MAC ${JSON.stringify(r.mac)}`);
      if (!this.inSubnet(r.ip)) throw new RangeError(`reservation ${r.ip} for ${mac} is outside the served subnet`);
      if (this.reservedByIp.has(r.ip)) throw new RangeError(`address ${r.ip} is reserved twice`);
      this.reservedByMac.set(mac, { mac, ip: r.ip, hostname: r.hostname ?? null });
      this.reservedByIp.set(r.ip, mac);
    }
    this.cursor = this.first;
  }

  /** The reservation of a MAC (lower-case colon), null when none. */
  reservation(mac: string): Reservation | null { return this.reservedByMac.get(mac) ?? null; }

  inSubnet(ip: string): boolean {
    try { return ((ipv4ToInt(ip) & this.mask) >>> 0) === this.network; } catch { return false; }
  }
  inPool(ip: string): boolean {
    try { const n = ipv4ToInt(ip); return n >= this.first && n <= this.last; } catch { return false; }
  }

  /**
   * May `mac` use `ip` now? True for its reservation; false for another client's reservation, active lease
   * or pending offer, a declined address, our own address, or an address outside the pool (reservations
   * excepted) — RFC 2131 §4.3.2 "wrong" addresses that get a DHCPNAK.
   */
  mayUse(mac: string, ip: string, now: number): boolean {
    const own = this.reservedByMac.get(mac);
    if (own) return own.ip === ip;
    if (ip === this.serverIp || this.reservedByIp.has(ip) || !this.inPool(ip)) return false;
    const declinedUntil = this.declined.get(ip);
    if (declinedUntil !== undefined && declinedUntil > now) return false;
    const lease = this.store.byIp(ip);
    if (lease && lease.mac !== mac && lease.state === 'bound' && lease.expiresAt > now) return false;
    const offeredTo = this.offersByIp.get(ip);
    if (offeredTo !== undefined && offeredTo !== mac && this.offersByMac.get(offeredTo)!.until > now) return false;
    return true;
  }

  /**
   * The address to offer `mac` (RFC 2131 §4.3.1): its reservation; else its current or previous binding;
   * else its pending offer; else the address it asked for (option 50) if usable; else the next free one.
   * Records the offer; null when the pool is exhausted.
   */
  offer(mac: string, requested: string | null, now: number): string | null {
    const reserved = this.reservedByMac.get(mac);
    let ip: string | null = reserved ? reserved.ip : null;
    if (!ip) {
      const lease = this.store.byMac(mac);
      if (lease && this.mayUse(mac, lease.ip, now)) ip = lease.ip;
    }
    if (!ip) {
      const pending = this.offersByMac.get(mac);
      if (pending && this.mayUse(mac, pending.ip, now)) ip = pending.ip;
    }
    // the new-client branch: no reservation, usable lease or pending offer — the limiter decides (issue 19 item 3)
    if (!ip && this.limiter !== null && !this.limiter.admit(mac, now)) return null;
    if (!ip && requested && this.mayUse(mac, requested, now)) ip = requested;
    if (!ip) ip = this.nextFree(mac, now);
    if (ip) this.holdOffer(mac, ip, now);
    return ip;
  }

  private holdOffer(mac: string, ip: string, now: number): void {
    this.dropOffer(mac);
    this.offersByMac.set(mac, { ip, until: now + this.cfg.offerHoldMs });
    this.offersByIp.set(ip, mac);
  }

  /** Forget a pending offer (client chose another server, or got its ACK). */
  dropOffer(mac: string): void {
    const o = this.offersByMac.get(mac);
    if (!o) return;
    this.offersByMac.delete(mac);
    if (this.offersByIp.get(o.ip) === mac) this.offersByIp.delete(o.ip);
  }

  /** Next-fit scan from a rotating cursor: O(1) amortised while the pool has room. */
  private nextFree(mac: string, now: number): string | null {
    const size = this.last - this.first + 1;
    for (let i = 0; i < size; i++) {
      const n = this.cursor;
      this.cursor = n >= this.last ? this.first : n + 1;
      const ip = intToIpv4(n);
      if (this.mayUse(mac, ip, now)) return ip; // released/expired addresses of others are reused; the rotating cursor delays that
    }
    return null;
  }

  /**
   * Limit fresh addresses for new clients (new-client-limit.ts): `isKnown` tells a known node's MAC (it may take the
   * reserve), `onLimited` hears of refusals. Without this call the pool serves any client while an address is free.
   */
  limitNewClients(isKnown: (mac: string) => boolean, onLimited: (l: NewClientLimited) => void, opts: NewClientLimitOptions, now: number): NewClientLimiter {
    this.limiter = new NewClientLimiter(this.last - this.first + 1, (t) => this.countFree(t), isKnown, onLimited, opts, now);
    return this.limiter;
  }

  /**
   * May the REQUEST of `mac` for `ip` (already allowed by mayUse) bind it? True for its reservation, its own lease or
   * pending offer at that address; a client asking for an address it was never given (INIT-REBOOT, or a REQUEST
   * without our OFFER) is a new client and goes through the limiter.
   */
  admitsBinding(mac: string, ip: string, now: number): boolean {
    if (this.limiter === null) return true;
    if (this.offersByMac.get(mac)?.ip === ip || this.store.byMac(mac)?.ip === ip || this.reservedByMac.has(mac)) return true;
    return this.limiter.admit(mac, now);
  }

  /** Addresses of the pool no client holds now (a scan: for the limiter's estimate, not per packet). */
  countFree(now: number): number {
    let free = 0;
    for (let n = this.first; n <= this.last; n++) if (this.mayUse('', intToIpv4(n), now)) free++;
    return free;
  }

  /** Record a DHCPDECLINE: the address is not used for declineHoldMs. */
  decline(ip: string, now: number): void {
    this.declined.set(ip, now + this.cfg.declineHoldMs);
    const mac = this.offersByIp.get(ip);
    if (mac) this.dropOffer(mac);
  }

  /** Drop expired offers and declines (called by the server's periodic sweep). */
  sweep(now: number): void {
    for (const [mac, o] of this.offersByMac) if (o.until <= now) this.dropOffer(mac);
    for (const [ip, until] of this.declined) if (until <= now) this.declined.delete(ip);
  }

  /** Build the lease a DHCPACK records. */
  leaseFor(mac: string, ip: string, now: number, leaseMs: number, hostname: string | null): Lease {
    return { ip, mac, state: 'bound', expiresAt: now + leaseMs, hostname };
  }
}
