// One history entry per DORA. An OFFER is nearly always followed, within a second or a few, by the REQUEST of the
// same exchange (same MAC, same xid); its history entry is held back here so that the ACK (or NAK) that answers the
// REQUEST carries both halves in one entry ("DHCPDISCOVER from M → DHCPOFFER a, DHCPREQUEST → DHCPACK a").
// That halves what a DHCP storm writes to the event log (measured: docs/BENCHMARKS.md, the daemon's DHCP path).
//
// Contract: nothing is lost and order per MAC is kept.
// - An offer not taken within `holdMs` is emitted as its own entry, with the time it was sent (`at`).
// - Before any other entry of the same MAC (a new DISCOVER's offer, a dropped request, a RELEASE …) the held offer
//   is emitted first (`take` for another xid, `release`).
// - `releaseAll` (server stop) emits whatever is held.
// - At most `limit` offers are held; past that the oldest is emitted (a storm of clients that never REQUEST).
// Pure bookkeeping: the caller supplies `emit`, which must not throw (NetbootEventSink contract).

/** What an OFFER's history entry needs. */
export interface HeldOffer {
  mac: string;
  xid: number;
  /** the offered address (yiaddr), or null */
  ip: string | null;
  /** option 67 of the offer, or null */
  bootFile: string | null;
  /** the DISCOVER's ciaddr when set, else null */
  ciaddr: string | null;
  /** when the offer was sent (ms since the epoch, the hold's clock): set by hold() */
  at: number;
  /** OFFERs sent in this exchange (a client retransmits its DISCOVER with the same xid): set by hold() */
  offers: number;
}

/** Default hold: iPXE sends its REQUEST ~3 s after its first DISCOVER (it waits for proxyDHCP offers). */
export const OFFER_EVENT_HOLD_MS = 5000;
const DEFAULT_LIMIT = 16_384;

export class OfferHold {
  /** insertion order is hold order (a new exchange is released before it is set; a repeat keeps its place), so the oldest offer is always first */
  private readonly byMac = new Map<string, HeldOffer>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly holdMs: number,
    private readonly emit: (offer: HeldOffer) => void,
    private readonly now: () => number = Date.now,
    private readonly limit = DEFAULT_LIMIT,
  ) {}

  /**
   * Hold `offer`, stamped with the hold's clock. An OFFER of the same exchange (a retransmitted DISCOVER, same xid)
   * replaces the held one and is counted (`offers`); an offer of another exchange of that MAC is emitted first.
   */
  hold(fields: Omit<HeldOffer, 'at' | 'offers'>): void {
    const prev = this.byMac.get(fields.mac);
    const repeat = prev !== undefined && prev.xid === fields.xid;
    const offer: HeldOffer = {
      mac: fields.mac, xid: fields.xid, ip: fields.ip, bootFile: fields.bootFile, ciaddr: fields.ciaddr, at: repeat ? prev.at : this.now(),
      offers: repeat ? prev.offers + 1 : 1,
    };
    // a repeat keeps its place (and its first time), so the map stays in hold-time order for sweep()
    if (!repeat) this.release(offer.mac);
    this.byMac.set(offer.mac, offer);
    if (this.byMac.size > this.limit) this.release(this.byMac.keys().next().value!);
    if (!this.timer) this.arm(this.holdMs);
  }

  /**
   * The held offer of exchange (`mac`, `xid`), removed, for the caller to merge into its entry; null when there is
   * none. A held offer of `mac` from another exchange is emitted first (and null returned).
   */
  take(mac: string, xid: number): HeldOffer | null {
    const o = this.byMac.get(mac);
    if (!o) return null;
    this.byMac.delete(mac);
    if (o.xid === xid) return o;
    this.emit(o);
    return null;
  }

  /** Emit the held offer of `mac`, if any (call before writing another entry of that MAC). */
  release(mac: string): void {
    const o = this.byMac.get(mac);
    if (!o) return;
    this.byMac.delete(mac);
    this.emit(o);
  }

  /** Emit every held offer, oldest first, and stop the timer. */
  releaseAll(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const all = [...this.byMac.values()];
    this.byMac.clear();
    for (const o of all) this.emit(o);
  }

  get size(): number {
    return this.byMac.size;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.sweep(), Math.max(ms, 10));
    this.timer.unref();
  }

  /** Emit the offers held for holdMs or longer; re-arm for the oldest one left. */
  private sweep(): void {
    this.timer = null;
    const cutoff = this.now() - this.holdMs;
    for (const [mac, o] of this.byMac) {
      if (o.at > cutoff) { this.arm(o.at - cutoff); return; }
      this.byMac.delete(mac);
      this.emit(o);
    }
  }
}
