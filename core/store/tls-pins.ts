// Certificate pins of Redfish BMCs (trust on first use): the SHA-256 fingerprint first seen at each "host:port",
// checked by the Redfish client before every connection is used (bmc/redfish/session/http.ts). Forgetting a pin
// is the engineer's explicit decision after a BMC's certificate was replaced on purpose.
import { prepared } from './prepared.ts';
import type { Db } from '../db.ts';
import type { TlsPinStore } from '../../bmc/redfish/session/http.ts';

export interface TlsPin { endpoint: string; sha256: string; pinnedAt: number }

export class TlsPinTable implements TlsPinStore {
  constructor(private readonly db: Db) {}

  get(endpoint: string): string | null {
    const row = prepared(this.db, 'SELECT sha256 FROM bmc_tls_pins WHERE endpoint = ?').get(endpoint) as { sha256: string } | undefined;
    return row?.sha256 ?? null;
  }

  /** Pin `sha256` for `endpoint` unless one is pinned already (a pin is never silently replaced). */
  set(endpoint: string, sha256: string, now = Date.now()): void {
    prepared(this.db, 'INSERT OR IGNORE INTO bmc_tls_pins (endpoint, sha256, pinned_at) VALUES (?, ?, ?)').run(endpoint, sha256, now);
  }

  /** Drop the pin: the next connection pins whatever certificate it sees. True when there was one. */
  forget(endpoint: string): boolean {
    return prepared(this.db, 'DELETE FROM bmc_tls_pins WHERE endpoint = ?').run(endpoint).changes > 0;
  }

  list(): TlsPin[] {
    return (prepared(this.db, 'SELECT endpoint, sha256, pinned_at FROM bmc_tls_pins ORDER BY endpoint').all() as { endpoint: string; sha256: string; pinned_at: number }[])
      .map((r) => ({ endpoint: r.endpoint, sha256: r.sha256, pinnedAt: r.pinned_at }));
  }
}
