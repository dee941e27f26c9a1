// Node events: per-node (and global, mac/node null) history, append only, ids increase.
import type { Db } from '../db.ts';
import type { NodeEvent } from '../../shared/node.ts';

interface EventRow { id: number; at: number; source: string; kind: string; mac: string | null; node_id: string | null; message: string; detail: string | null; level: string | null }

export type NewEvent = Omit<NodeEvent, 'id' | 'at'> & { at?: number };

export interface EventQuery {
  mac?: string;
  nodeId?: string;
  /** only events with id > since */
  since?: number;
  /** newest `limit` events (returned oldest first); default 500, at most 5000 */
  limit?: number;
}

export class EventStore {
  constructor(private readonly db: Db) {}

  /** Persist an event; returns it with its id and time. */
  append(e: NewEvent): NodeEvent {
    const at = e.at ?? Date.now();
    const info = this.db.prepare('INSERT INTO events (at, source, kind, mac, node_id, message, detail, level) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(at, e.source, e.kind, e.mac, e.nodeId, e.message, e.detail ? JSON.stringify(e.detail) : null, e.level ?? null);
    const out: NodeEvent = { id: Number(info.lastInsertRowid), at, source: e.source, kind: e.kind, mac: e.mac, nodeId: e.nodeId, message: e.message };
    if (e.detail) out.detail = e.detail;
    if (e.level) out.level = e.level;
    return out;
  }

  /** Events matching `q`, oldest first. A mac query also returns events of the node that owns the MAC. */
  query(q: EventQuery = {}): NodeEvent[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.mac && q.nodeId) { where.push('(mac = ? OR node_id = ?)'); args.push(q.mac, q.nodeId); }
    else if (q.mac) { where.push('mac = ?'); args.push(q.mac); }
    else if (q.nodeId) { where.push('node_id = ?'); args.push(q.nodeId); }
    if (q.since !== undefined) { where.push('id > ?'); args.push(q.since); }
    const limit = Math.min(Math.max(q.limit ?? 500, 1), 5000);
    const sql = `SELECT * FROM (SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?) ORDER BY id`;
    return (this.db.prepare(sql).all(...args, limit) as EventRow[]).map(toEvent);
  }
}

function toEvent(r: EventRow): NodeEvent {
  const e: NodeEvent = { id: r.id, at: r.at, source: r.source as NodeEvent['source'], kind: r.kind, mac: r.mac, nodeId: r.node_id, message: r.message };
  if (r.detail) e.detail = JSON.parse(r.detail);
  if (r.level) e.level = r.level as NodeEvent['level'];
  return e;
}
