// BMC rows: one per management address, with what the sweep or a session learned, the protocol it is driven with
// (IPMI or Redfish), and the matched node.
import { prepared } from './prepared.ts';
import type { Db } from '../db.ts';
import type { BmcInfo } from '../../shared/api.ts';

interface BmcRow {
  address: string; ipmi_version: string | null; auth_types: string; vendor: string | null; guid: string | null; node_id: string | null; power: string | null;
  error: string | null; seen_at: number; protocol: string | null; protocols: string; protocol_chosen: number; macs: string; redfish_version: string | null;
  tls_sha256: string | null; firmware: string | null;
}

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
      protocol: patch.protocol !== undefined ? patch.protocol : cur?.protocol ?? null,
      protocols: patch.protocols ?? cur?.protocols ?? [],
      protocolChosen: patch.protocolChosen ?? cur?.protocolChosen ?? false,
      macs: patch.macs ?? cur?.macs ?? [],
      redfishVersion: patch.redfishVersion !== undefined ? patch.redfishVersion : cur?.redfishVersion ?? null,
      tlsFingerprint: patch.tlsFingerprint !== undefined ? patch.tlsFingerprint : cur?.tlsFingerprint ?? null,
      firmware: patch.firmware !== undefined ? patch.firmware : cur?.firmware ?? null,
    };
    prepared(this.db, `INSERT INTO bmcs (address, ipmi_version, auth_types, vendor, guid, node_id, power, error, seen_at,
        protocol, protocols, protocol_chosen, macs, redfish_version, tls_sha256, firmware)
      VALUES (@address, @ipmiVersion, @authTypes, @vendor, @guid, @nodeId, @power, @error, @seenAt,
        @protocol, @protocols, @protocolChosen, @macs, @redfishVersion, @tlsFingerprint, @firmware)
      ON CONFLICT(address) DO UPDATE SET ipmi_version = excluded.ipmi_version, auth_types = excluded.auth_types,
        vendor = excluded.vendor, guid = excluded.guid, node_id = excluded.node_id, power = excluded.power,
        error = excluded.error, seen_at = excluded.seen_at, protocol = excluded.protocol, protocols = excluded.protocols,
        protocol_chosen = excluded.protocol_chosen, macs = excluded.macs, redfish_version = excluded.redfish_version,
        tls_sha256 = excluded.tls_sha256, firmware = excluded.firmware`).run({
      ...next, authTypes: JSON.stringify(next.authTypes), protocols: JSON.stringify(next.protocols), macs: JSON.stringify(next.macs),
      protocolChosen: next.protocolChosen ? 1 : 0,
    });
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
    protocol: (r.protocol as BmcInfo['protocol']) ?? null, protocols: JSON.parse(r.protocols) as BmcInfo['protocols'], protocolChosen: r.protocol_chosen === 1,
    macs: JSON.parse(r.macs) as string[], redfishVersion: r.redfish_version, tlsFingerprint: r.tls_sha256, firmware: r.firmware,
  };
}
