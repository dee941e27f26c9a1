// Node rows: one per boot MAC, with a stable id. The agent token is stored only as a SHA-256 hash.
import { prepared } from './prepared.ts';
import type { Db } from '../db.ts';
import type { BmcRef, NodeState, NodeSummary } from '../../shared/node.ts';
import { newId } from '../ids.ts';

interface NodeRow {
  id: string; mac: string; state: string; maintenance: number; last_error: string | null; ip: string | null;
  firmware: string | null; serial: string | null; uuid: string | null; inventory: string | null;
  agent_token_hash: string | null; bmc_address: string | null; bmc_matched_by: string | null; power: string | null;
  cpu: string | null; memory_mib: number | null; disk_gib: number | null; created_at: number; updated_at: number;
  powered_on_by_rackseed: number;
}

/** Fields of a node that the core may set directly (state changes go through Lifecycle). */
export interface NodePatch {
  ip?: string | null;
  firmware?: 'bios' | 'uefi' | null;
  serial?: string | null;
  uuid?: string | null;
  inventory?: unknown;
  power?: 'on' | 'off' | null;
  cpu?: string | null;
  memoryMiB?: number | null;
  diskGiB?: number | null;
  maintenance?: boolean;
  lastError?: string | null;
  bmcAddress?: string | null;
  bmcMatchedBy?: BmcRef['matchedBy'];
  /** set by the job runner when its power-on step started the machine, cleared when RackSeed powers it off */
  poweredOnByRackSeed?: boolean;
}

const COLUMNS: Record<keyof NodePatch, string> = {
  ip: 'ip', firmware: 'firmware', serial: 'serial', uuid: 'uuid', inventory: 'inventory', power: 'power', cpu: 'cpu',
  memoryMiB: 'memory_mib', diskGiB: 'disk_gib', maintenance: 'maintenance', lastError: 'last_error',
  bmcAddress: 'bmc_address', bmcMatchedBy: 'bmc_matched_by', poweredOnByRackSeed: 'powered_on_by_rackseed',
};

/** The columns toSummary reads: lists select these, not the inventory. */
const SUMMARY_COLUMNS = 'id, mac, ip, state, maintenance, last_error, firmware, serial, uuid, bmc_address, bmc_matched_by, power, powered_on_by_rackseed, cpu, memory_mib, disk_gib, created_at, updated_at';

export class NodeStore {
  /**
   * Every MAC that has a node row, plus any whose create() was rolled back (a superset, never missing one: nodes
   * are only inserted by create() and never deleted). Lets idByMac answer "no node" for the DHCP storm's
   * thousands of node-less MACs without a query.
   */
  private readonly macs = new Set<string>();
  /** MAC → node id for idByMac. A node's MAC and id never change; filled only outside transactions, so a
   *  rolled-back create leaves nothing behind. Bounded by the number of nodes. */
  private readonly idCache = new Map<string, string>();

  constructor(private readonly db: Db) {
    for (const r of db.prepare('SELECT mac FROM nodes').all() as { mac: string }[]) this.macs.add(r.mac);
  }

  /** Insert a new node for `mac` (already normalised) in `state`; returns it. Throws if the MAC exists. */
  create(mac: string, state: NodeState, now = Date.now()): NodeSummary {
    this.macs.add(mac);
    const id = newId();
    prepared(this.db, 'INSERT INTO nodes (id, mac, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(id, mac, state, now, now);
    return this.get(id)!;
  }

  /** The node with this id, or null. */
  get(id: string): NodeSummary | null {
    const row = prepared(this.db, 'SELECT * FROM nodes WHERE id = ?').get(id) as NodeRow | undefined;
    return row ? this.toSummary(row) : null;
  }

  /** The node whose boot MAC is `mac` (normalised), or null. */
  getByMac(mac: string): NodeSummary | null {
    const row = prepared(this.db, 'SELECT * FROM nodes WHERE mac = ?').get(mac) as NodeRow | undefined;
    return row ? this.toSummary(row) : null;
  }

  /** The id of the node whose boot MAC is `mac` (normalised), or null; cached (see idCache). */
  idByMac(mac: string): string | null {
    if (!this.macs.has(mac)) return null;
    const hit = this.idCache.get(mac);
    if (hit !== undefined) return hit;
    const row = prepared(this.db, 'SELECT id FROM nodes WHERE mac = ?').get(mac) as { id: string } | undefined;
    if (row && !this.db.inTransaction) this.idCache.set(mac, row.id);
    return row?.id ?? null;
  }

  /** The node with this IPv4 address (most recently updated), or null. */
  getByIp(ip: string): NodeSummary | null {
    const row = prepared(this.db, 'SELECT * FROM nodes WHERE ip = ? ORDER BY updated_at DESC LIMIT 1').get(ip) as NodeRow | undefined;
    return row ? this.toSummary(row) : null;
  }

  /** All nodes, oldest first. */
  list(): NodeSummary[] {
    // the summary's columns only: not the inventory JSON (~2 KB a node), which made GET /api/v1/nodes read and
    // copy ~2 MB at 1,000 nodes (bench/hall.ts)
    return (prepared(this.db, `SELECT ${SUMMARY_COLUMNS} FROM nodes ORDER BY created_at, id`).all() as NodeRow[]).map((r) => this.toSummary(r));
  }

  /** Nodes currently in `state`. */
  listInState(state: NodeState): NodeSummary[] {
    return (prepared(this.db, `SELECT ${SUMMARY_COLUMNS} FROM nodes WHERE state = ?`).all(state) as NodeRow[]).map((r) => this.toSummary(r));
  }

  /** Apply `patch`; returns the updated node, or null if no such node. */
  update(id: string, patch: NodePatch, now = Date.now()): NodeSummary | null {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, value] of Object.entries(patch) as [keyof NodePatch, unknown][]) {
      if (value === undefined) continue;
      sets.push(`${COLUMNS[key]} = ?`);
      if (key === 'inventory') values.push(value === null ? null : JSON.stringify(value));
      else if (key === 'maintenance' || key === 'poweredOnByRackSeed') values.push(value ? 1 : 0);
      else values.push(value);
    }
    sets.push('updated_at = ?');
    values.push(now, id);
    prepared(this.db, `UPDATE nodes SET ${sets.join(', ')} WHERE id = ?`).run(...values);
    return this.get(id);
  }

  /** Low-level state write; callers go through Lifecycle.transition, which checks the table and records the event. */
  writeState(id: string, state: NodeState, lastError: string | null, now = Date.now()): void {
    prepared(this.db, 'UPDATE nodes SET state = ?, last_error = ?, updated_at = ? WHERE id = ?').run(state, lastError, now, id);
  }

  /** Inventory JSON as stored, or null. */
  inventory(id: string): unknown | null {
    const row = prepared(this.db, 'SELECT inventory FROM nodes WHERE id = ?').get(id) as { inventory: string | null } | undefined;
    return row?.inventory ? JSON.parse(row.inventory) : null;
  }

  /** Replace the node's agent token hash (null revokes it). */
  setAgentTokenHash(id: string, hash: string | null): void {
    prepared(this.db, 'UPDATE nodes SET agent_token_hash = ? WHERE id = ?').run(hash, id);
  }

  /** The node id whose agent token hash equals `hash`, or null. */
  findByAgentTokenHash(hash: string): NodeSummary | null {
    const row = prepared(this.db, 'SELECT * FROM nodes WHERE agent_token_hash = ?').get(hash) as NodeRow | undefined;
    return row ? this.toSummary(row) : null;
  }

  /** Stored agent token hash of a node, or null. */
  agentTokenHash(id: string): string | null {
    const row = prepared(this.db, 'SELECT agent_token_hash FROM nodes WHERE id = ?').get(id) as { agent_token_hash: string | null } | undefined;
    return row?.agent_token_hash ?? null;
  }

  /** (reads only SUMMARY_COLUMNS of `r`) */
  private toSummary(r: NodeRow): NodeSummary {
    let bmc: BmcRef | null = null;
    if (r.bmc_address) {
      const b = prepared(this.db, 'SELECT guid, vendor, protocol FROM bmcs WHERE address = ?').get(r.bmc_address) as { guid: string | null; vendor: string | null; protocol: string | null } | undefined;
      bmc = { address: r.bmc_address, guid: b?.guid ?? null, vendor: b?.vendor ?? null, matchedBy: (r.bmc_matched_by as BmcRef['matchedBy']) ?? null,
        ...(b?.protocol ? { protocol: b.protocol as BmcRef['protocol'] } : {}) };
    }
    return {
      id: r.id, mac: r.mac, ip: r.ip, state: r.state as NodeState, maintenance: r.maintenance === 1, lastError: r.last_error,
      firmware: (r.firmware as NodeSummary['firmware']) ?? null, serial: r.serial, uuid: r.uuid, bmc,
      power: (r.power as NodeSummary['power']) ?? null, poweredOnByRackSeed: r.powered_on_by_rackseed === 1, cpu: r.cpu, memoryMiB: r.memory_mib, diskGiB: r.disk_gib,
      createdAt: r.created_at, updatedAt: r.updated_at,
    };
  }
}
