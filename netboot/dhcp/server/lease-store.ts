// Where the authoritative DHCP server keeps its bindings. The server only talks to this interface; the
// SQLite implementation lives in core/leases (layer rule: servers do not import core).
// Calls are synchronous and on the hot path (one lookup per packet, one write per ACK): implementations
// keep an in-memory index. Writes are group-committed: `put`/`remove` change the index at once, `commit`
// makes every change so far durable. The server calls `commit` before it sends the ACKs that depend on
// those changes (once per event-loop turn, so a burst of ACKs costs one transaction).

/**
 * One address binding. `bound`: the client holds it until `expiresAt`; `released`/`expired`: the address
 * is free for others but still remembered, so the same client gets the same address back if it is free.
 */
export interface Lease {
  ip: string;
  /** lower-case colon MAC */
  mac: string;
  state: 'bound' | 'released' | 'expired';
  /** ms since epoch */
  expiresAt: number;
  /** option 12 as last sent by the client, null when none */
  hostname: string | null;
}

export interface LeaseStore {
  /** The lease remembered for this MAC, null when none. At most one lease per MAC. */
  byMac(mac: string): Lease | null;
  /** The lease remembered for this address, null when none. */
  byIp(ip: string): Lease | null;
  /** Insert or replace: the lease replaces any other lease of the same MAC and any lease of the same address. Visible at once; durable after the next commit. */
  put(lease: Lease): void;
  /** Forget the binding of this address (no-op when none). Durable after the next commit. */
  remove(ip: string): void;
  /** Make every put/remove so far durable (one transaction); throws when storage fails. */
  commit(): void;
  /** Every lease (startup, sweeps, the API). */
  all(): Lease[];
}
