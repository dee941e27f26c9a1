// SQLite implementation of the DHCP server's LeaseStore (src/netboot/dhcp/server/lease-store.ts).
// Hot path: reads come from an in-memory index (two Maps); each put/remove is one synchronous prepared
// statement in WAL mode with synchronous=NORMAL — committed to the WAL before the call returns, so the
// binding survives `kill -9` of the daemon (not a power cut between checkpoints; acceptable for leases).

import Database from 'better-sqlite3';
import type { Lease, LeaseStore } from '../../netboot/dhcp/server/lease-store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dhcp_leases (
  ip         TEXT PRIMARY KEY,
  mac        TEXT NOT NULL UNIQUE,
  state      TEXT NOT NULL CHECK (state IN ('bound', 'released', 'expired')),
  expires_at INTEGER NOT NULL,
  hostname   TEXT
) WITHOUT ROWID`;

interface Row { ip: string; mac: string; state: Lease['state']; expires_at: number; hostname: string | null }

export class SqliteLeaseStore implements LeaseStore {
  private readonly byMacIndex = new Map<string, Lease>();
  private readonly byIpIndex = new Map<string, Lease>();
  private readonly upsert: Database.Statement;
  private readonly deleteIp: Database.Statement;
  private readonly putMoving: (lease: Lease, stale: string[]) => void;

  /** `db` is owned by the caller when passed in (close it yourself); a path is opened and closed here. */
  constructor(private readonly db: Database.Database, private readonly ownsDb: boolean) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    this.upsert = db.prepare('INSERT OR REPLACE INTO dhcp_leases (ip, mac, state, expires_at, hostname) VALUES (?, ?, ?, ?, ?)');
    this.deleteIp = db.prepare('DELETE FROM dhcp_leases WHERE ip = ?');
    this.putMoving = db.transaction((lease: Lease, stale: string[]) => {
      for (const ip of stale) this.deleteIp.run(ip);
      this.upsert.run(lease.ip, lease.mac, lease.state, lease.expiresAt, lease.hostname);
    });
    for (const r of db.prepare('SELECT ip, mac, state, expires_at, hostname FROM dhcp_leases').all() as Row[]) {
      const lease: Lease = { ip: r.ip, mac: r.mac, state: r.state, expiresAt: r.expires_at, hostname: r.hostname };
      this.byIpIndex.set(lease.ip, lease);
      this.byMacIndex.set(lease.mac, lease);
    }
  }

  byMac(mac: string): Lease | null { return this.byMacIndex.get(mac) ?? null; }
  byIp(ip: string): Lease | null { return this.byIpIndex.get(ip) ?? null; }

  put(lease: Lease): void {
    const copy = { ...lease };
    const oldOfMac = this.byMacIndex.get(copy.mac);
    const oldAtIp = this.byIpIndex.get(copy.ip);
    // rows that the new one displaces: the MAC's lease elsewhere, and another MAC's lease at this address
    const stale: string[] = [];
    if (oldOfMac && oldOfMac.ip !== copy.ip) stale.push(oldOfMac.ip);
    if (stale.length) this.putMoving(copy, stale);
    else this.upsert.run(copy.ip, copy.mac, copy.state, copy.expiresAt, copy.hostname); // REPLACE also drops a row of another MAC at this ip
    if (oldOfMac && oldOfMac.ip !== copy.ip) this.byIpIndex.delete(oldOfMac.ip);
    if (oldAtIp && oldAtIp.mac !== copy.mac) this.byMacIndex.delete(oldAtIp.mac);
    this.byIpIndex.set(copy.ip, copy);
    this.byMacIndex.set(copy.mac, copy);
  }

  remove(ip: string): void {
    const old = this.byIpIndex.get(ip);
    if (!old) return;
    this.deleteIp.run(ip);
    this.byIpIndex.delete(ip);
    if (this.byMacIndex.get(old.mac) === old) this.byMacIndex.delete(old.mac);
  }

  all(): Lease[] { return [...this.byIpIndex.values()].map((l) => ({ ...l })); }

  close(): void { if (this.ownsDb) this.db.close(); }
}

/** Open (or create) the lease store in the SQLite file at `path`, or in an already open database. */
export function openSqliteLeaseStore(target: string | Database.Database): SqliteLeaseStore {
  if (typeof target === 'string') return new SqliteLeaseStore(new Database(target), true);
  return new SqliteLeaseStore(target, false);
}
