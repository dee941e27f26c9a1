// Hand-off rows (SQLite, migration "hand-off" in db.ts): the engines RackSeed knows, who owns each node, and each
// node's latest hand-off attempt with what it created in the engine (so a failure rolls exactly that back, and a
// resumed job after kill -9 never creates a second node).
//
// Ownership (DESIGN.md "Ownership, hand-off and the seed"): a node with no `node_owners` row is RackSeed's. An owned
// node's MACs are kept in memory too (`ownerOfMac`, one Map lookup) because the boot policy asks on every DHCP
// packet of a storm. Engine passwords are never here: ConfigStore seals them (secret-box.ts) under `engine.<id>`.
import type { Logger } from 'pino';
import type { Db } from '../db.ts';
import { prepared } from '../store/prepared.ts';
import type { EngineAuthKind, EngineInfo, EngineRef, HandoffRecord, HandoffStatus, HandoffVerification, NodeOwner } from '../../shared/handoff.ts';

/** An engine's id: its kind and URL ("ironic:http://10.0.0.5:6385"). */
export function engineId(e: EngineRef): string {
  return `${e.kind}:${e.url}`;
}

/** How an engine is named in logs and the UI: "ironic (http://10.0.0.5:6385)". */
export function engineLabel(e: EngineRef): string {
  return `${e.kind} (${e.url})`;
}

interface HandoffRow {
  node_id: string; job_id: string | null; engine_id: string; status: string; engine_node: string | null; create_sent: number;
  created_node: number; created_ports: string; ports_sent: string; existing: string | null; result: string | null; error: string | null;
  left_behind: string | null; started_at: number; updated_at: number;
}

/** What a hand-off attempt has done so far (the job's working memory, persisted before each next call). */
export interface HandoffProgress {
  engineNode?: string | null;
  createSent?: boolean;
  createdNode?: boolean;
  createdPorts?: string[];
  /** MACs whose `POST /v1/ports` this attempt sent (persisted before the POST): a port found later for one of them on
   * the attempt's node is the attempt's own, whether or not its answer arrived */
  portsSent?: string[];
  /** what the engine already had for this node before this attempt ("node X (name) in state S, updated") */
  existing?: string | null;
  result?: HandoffVerification | null;
  error?: string | null;
  leftBehind?: string | null;
  status?: HandoffStatus;
}

export class HandoffStore {
  /** MAC → owner of every engine-owned node (all its MACs). */
  private readonly macOwner = new Map<string, { nodeId: string; engine: EngineRef }>();
  /** MACs already logged as "owned by <engine>" since they were handed over (log once per MAC). */
  private readonly logged = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    /** called with the first refusal of each MAC (the service records it in the node's history) */
    private readonly onFirstRefusal: (mac: string, nodeId: string, engine: string) => void = () => undefined,
  ) {
    for (const r of db.prepare('SELECT o.node_id, o.macs, e.kind, e.url FROM node_owners o JOIN engines e ON e.id = o.engine_id').all() as { node_id: string; macs: string; kind: string; url: string }[]) {
      for (const mac of JSON.parse(r.macs) as string[]) this.macOwner.set(mac, { nodeId: r.node_id, engine: { kind: r.kind as EngineRef['kind'], url: r.url } });
    }
  }

  // ── engines ──
  upsertEngine(e: EngineRef, auth: EngineAuthKind, username: string | null, now = Date.now()): void {
    prepared(this.db, `INSERT INTO engines (id, kind, url, auth, username, updated_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET auth = excluded.auth, username = excluded.username, updated_at = excluded.updated_at`)
      .run(engineId(e), e.kind, e.url, auth, username, now);
  }

  engine(id: string): { ref: EngineRef; auth: EngineAuthKind; username: string | null } | null {
    const r = prepared(this.db, 'SELECT * FROM engines WHERE id = ?').get(id) as { kind: string; url: string; auth: string; username: string | null } | undefined;
    return r ? { ref: { kind: r.kind as EngineRef['kind'], url: r.url }, auth: r.auth as EngineAuthKind, username: r.username } : null;
  }

  engines(passwordSet: (id: string) => boolean): EngineInfo[] {
    return (prepared(this.db, 'SELECT * FROM engines ORDER BY id').all() as { id: string; kind: string; url: string; auth: string; username: string | null }[])
      .map((r) => ({ id: r.id, kind: r.kind as EngineRef['kind'], url: r.url, auth: r.auth as EngineAuthKind, user: r.username, passwordSet: passwordSet(r.id) }));
  }

  // ── ownership ──
  /** The engine that owns the node with this MAC, or null (RackSeed's, or not a node). O(1): asked per DHCP packet. */
  ownerOfMac(mac: string): EngineRef | null {
    return this.macOwner.get(mac)?.engine ?? null;
  }

  /**
   * The boot policy's question: is `mac` an engine's? When it is, logs "owned by <engine>" once per MAC (until taken
   * back) and returns the engine's label; null when RackSeed may answer it.
   */
  claimedByEngine(mac: string): string | null {
    const o = this.macOwner.get(mac);
    if (!o) return null;
    const label = engineLabel(o.engine);
    if (!this.logged.has(mac)) {
      this.logged.add(mac);
      this.log.info({ mac, node: o.nodeId, engine: label }, `not answering ${mac}: owned by ${label}`);
      this.onFirstRefusal(mac, o.nodeId, label);
    }
    return label;
  }

  owner(nodeId: string): NodeOwner {
    const r = prepared(this.db, 'SELECT o.engine_node, o.since, e.kind, e.url FROM node_owners o JOIN engines e ON e.id = o.engine_id WHERE o.node_id = ?')
      .get(nodeId) as { engine_node: string | null; since: number; kind: string; url: string } | undefined;
    return r ? { kind: r.kind as EngineRef['kind'], url: r.url, engineNode: r.engine_node, since: r.since } : 'rackseed';
  }

  /** The pivot: `engine` owns the node (and answers its `macs`) from now on. */
  setOwner(nodeId: string, engine: EngineRef, engineNode: string | null, macs: string[], now = Date.now()): void {
    this.clearOwner(nodeId);
    prepared(this.db, 'INSERT INTO node_owners (node_id, engine_id, engine_node, macs, since) VALUES (?, ?, ?, ?, ?)')
      .run(nodeId, engineId(engine), engineNode, JSON.stringify(macs), now);
    for (const mac of macs) { this.macOwner.set(mac, { nodeId, engine }); this.logged.delete(mac); }
  }

  /** Take-back: RackSeed owns the node again. Returns whether an engine owned it. */
  clearOwner(nodeId: string): boolean {
    const r = prepared(this.db, 'SELECT macs FROM node_owners WHERE node_id = ?').get(nodeId) as { macs: string } | undefined;
    if (!r) return false;
    prepared(this.db, 'DELETE FROM node_owners WHERE node_id = ?').run(nodeId);
    for (const mac of JSON.parse(r.macs) as string[]) {
      if (this.macOwner.get(mac)?.nodeId === nodeId) { this.macOwner.delete(mac); this.logged.delete(mac); }
    }
    return true;
  }

  // ── attempts ──
  /** Start (or restart) a node's hand-off attempt: a fresh row, nothing created yet. */
  begin(nodeId: string, jobId: string, engine: EngineRef, now = Date.now()): void {
    prepared(this.db, `INSERT INTO handoffs (node_id, job_id, engine_id, status, engine_node, create_sent, created_node, created_ports, ports_sent, existing, result, error, left_behind, started_at, updated_at)
      VALUES (?, ?, ?, 'running', NULL, 0, 0, '[]', '[]', NULL, NULL, NULL, NULL, ?, ?)
      ON CONFLICT(node_id) DO UPDATE SET job_id = excluded.job_id, engine_id = excluded.engine_id, status = 'running', engine_node = NULL,
        create_sent = 0, created_node = 0, created_ports = '[]', ports_sent = '[]', existing = NULL, result = NULL, error = NULL, left_behind = NULL,
        started_at = excluded.started_at, updated_at = excluded.updated_at`).run(nodeId, jobId, engineId(engine), now, now);
  }

  /** Persist progress (only the fields given). */
  update(nodeId: string, p: HandoffProgress, now = Date.now()): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    const set = (col: string, v: unknown) => { sets.push(`${col} = ?`); values.push(v); };
    if (p.engineNode !== undefined) set('engine_node', p.engineNode);
    if (p.createSent !== undefined) set('create_sent', p.createSent ? 1 : 0);
    if (p.createdNode !== undefined) set('created_node', p.createdNode ? 1 : 0);
    if (p.createdPorts !== undefined) set('created_ports', JSON.stringify(p.createdPorts));
    if (p.portsSent !== undefined) set('ports_sent', JSON.stringify(p.portsSent));
    if (p.existing !== undefined) set('existing', p.existing);
    if (p.result !== undefined) set('result', p.result === null ? null : JSON.stringify(p.result));
    if (p.error !== undefined) set('error', p.error);
    if (p.leftBehind !== undefined) set('left_behind', p.leftBehind);
    if (p.status !== undefined) set('status', p.status);
    set('updated_at', now);
    values.push(nodeId);
    prepared(this.db, `UPDATE handoffs SET ${sets.join(', ')} WHERE node_id = ?`).run(...values);
  }

  /** The raw attempt (for the job). */
  progress(nodeId: string): (Required<Omit<HandoffProgress, 'result'>> & { jobId: string | null; engineId: string; result: HandoffVerification | null }) | null {
    const r = prepared(this.db, 'SELECT * FROM handoffs WHERE node_id = ?').get(nodeId) as HandoffRow | undefined;
    if (!r) return null;
    return {
      jobId: r.job_id, engineId: r.engine_id, engineNode: r.engine_node, createSent: r.create_sent === 1, createdNode: r.created_node === 1,
      createdPorts: JSON.parse(r.created_ports) as string[], portsSent: JSON.parse(r.ports_sent) as string[], existing: r.existing, result: r.result ? JSON.parse(r.result) as HandoffVerification : null,
      error: r.error, leftBehind: r.left_behind, status: r.status as HandoffStatus,
    };
  }

  /** What the API shows for a node: its owner and its latest attempt (null fields when never handed off). */
  record(nodeId: string): HandoffRecord {
    const r = prepared(this.db, 'SELECT h.*, e.kind, e.url FROM handoffs h LEFT JOIN engines e ON e.id = h.engine_id WHERE h.node_id = ?')
      .get(nodeId) as (HandoffRow & { kind: string | null; url: string | null }) | undefined;
    return {
      nodeId,
      owner: this.owner(nodeId),
      status: r ? (r.status as HandoffStatus) : null,
      engine: r?.kind && r.url ? { kind: r.kind as EngineRef['kind'], url: r.url } : null,
      engineNode: r?.engine_node ?? null,
      jobId: r?.job_id ?? null,
      existing: r?.existing ?? null,
      result: r?.result ? JSON.parse(r.result) as HandoffVerification : null,
      error: r?.error ?? null,
      leftBehind: r?.left_behind ?? null,
      startedAt: r?.started_at ?? null,
      updatedAt: r?.updated_at ?? null,
    };
  }

  /** Node ids with a hand-off row or an owner. */
  nodeIds(): string[] {
    const rows = prepared(this.db, 'SELECT node_id FROM handoffs UNION SELECT node_id FROM node_owners').all() as { node_id: string }[];
    return rows.map((r) => r.node_id);
  }

  /** Attempts still `running` (what a kill -9 interrupted). */
  running(): { nodeId: string; jobId: string | null; engineId: string }[] {
    return (prepared(this.db, "SELECT node_id, job_id, engine_id FROM handoffs WHERE status = 'running'").all() as { node_id: string; job_id: string | null; engine_id: string }[])
      .map((r) => ({ nodeId: r.node_id, jobId: r.job_id, engineId: r.engine_id }));
  }
}
