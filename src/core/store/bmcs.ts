// BMC rows: one per management address, with what the sweep or a session learned and the matched node.
import { prepared } from './prepared.ts';
import type { Db } from '../db.ts';
import type { BmcInfo } from '../../shared/api.ts';

interface BmcRow { address: string; ipmi_version: string | null; auth_types: string; vendor: string | null; guid: string | null; node_id: string | null; power: string | null; error: string | null; seen_at: number }

export type BmcPatch = Partial<Omit<BmcInfo, 'address'>>;

export class BmcStore {
  constructor(private readonly db: Db) {}

  /** Insert or update the BMC at `address` with the given fields (others keep their values). */
  upsert(address: string, patch: BmcPatch, now = Date.now()): BmcInfo {
    const cur = this.get(address);
    const next: BmcInfo = {
      address,
      ipmiVersion: patch.ipmiVersion !== undefined ? patch.ipmiVersion : cur?.ipmiVersion ?? null,
      authTypes: patch.authTypes ?? cur?.authTypes ?? [],
      vendor: patch.vendor !== undefined ? patch.vendor : cur?.vendor ?? null,
      guid: patch.guid !== undefined ? patch.guid : cur?.guid ?? null,
      nodeId: patch.nodeId !== undefined ? patch.nodeId : cur?.nodeId ?? null,
      power: patch.power !== undefined ? patch.power : cur?.power ?? null,
      error: patch.error !== undefined ? patch.error : cur?.error ?? null,
      seenAt: patch.seenAt ?? now,
    };
    prepared(this.db, `INSERT INTO bmcs (address, ipmi_version, auth_types, vendor, guid, node_id, power, error, seen_at)
      VALUES (@address, @ipmiVersion, @authTypes, @vendor, @guid, @nodeId, @power, @error, @seenAt)
      ON CONFLICT(address) DO UPDATE SET ipmi_version = excluded.ipmi_version, auth_types = excluded.auth_types,
        vendor = excluded.vendor, guid = excluded.guid, node_id = excluded.node_id, power = excluded.power,
        error = excluded.error, seen_at = excluded.seen_at`).run({ ...next, authTypes: JSON.stringify(next.authTypes) });
    return next;
  }

  get(address: string): BmcInfo | null {
    const row = prepared(this.db, 'SELECT * FROM bmcs WHERE address = ?').get(address) as BmcRow | undefined;
    return row ? toInfo(row) : null;
  }

  list(): BmcInfo[] {
    return (prepared(this.db, 'SELECT * FROM bmcs ORDER BY address').all() as BmcRow[]).map(toInfo);
  }

  /** The BMC matched to `nodeId`, or null. */
  forNode(nodeId: string): BmcInfo | null {
    const row = prepared(this.db, 'SELECT * FROM bmcs WHERE node_id = ?').get(nodeId) as BmcRow | undefined;
    return row ? toInfo(row) : null;
  }
}

function toInfo(r: BmcRow): BmcInfo {
  return {
    address: r.address, ipmiVersion: r.ipmi_version, authTypes: JSON.parse(r.auth_types) as string[], vendor: r.vendor, guid: r.guid,
    nodeId: r.node_id, power: (r.power as BmcInfo['power']) ?? null, error: r.error, seenAt: r.seen_at,
  };
}
