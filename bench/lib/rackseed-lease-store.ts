// The lease store the RackSeed storm uses: the daemon's own SQLite store (core/leases), in a fresh file.
import Database from 'better-sqlite3';
import type { LeaseStore } from '../../netboot/dhcp/server/lease-store.ts';
import { openSqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';

export function openBenchLeaseStore(dbPath: string): { store: LeaseStore; close(): void } {
  const store = openSqliteLeaseStore(dbPath);
  return { store, close: () => store.close() };
}

/**
 * Bound leases found in the SQLite file after the server was killed with SIGKILL (opening it replays the
 * WAL, exactly as a restarted daemon would): 12-hex-digit MAC → address.
 */
export function readDurableLeases(dbPath: string): Map<string, string> {
  const db = new Database(dbPath);
  try {
    const rows = db.prepare("SELECT mac, ip FROM dhcp_leases WHERE state = 'bound'").all() as Array<{ mac: string; ip: string }>;
    return new Map(rows.map((r) => [r.mac.replace(/:/g, ''), r.ip]));
  } finally {
    db.close();
  }
}
