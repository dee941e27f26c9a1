// Node events: per-node (and global, mac/node null) history, append only, ids increase.
import { prepared } from './prepared.ts';
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

/**
 * Appends are group-committed: outside a transaction an event is queued and written with every other event of
 * the same event-loop turn in one transaction (setImmediate), because one autocommit per event made the
 * daemon's DHCP storm ~8× slower than the bare server (each DORA records 4 events). Inside a caller's
 * transaction (a lifecycle change and its event) it is written at once, as part of that transaction, after
 * anything queued. Ids are assigned here, in order, so an event has its id when append returns; every read
 * (`query`) writes the queue first, so readers never see a gap. A kill -9 can lose at most the events of the
 * current turn — never a lease, node or job change, which are written by their own stores.
 */
export class EventStore {
  private nextId: number;
  private pending: unknown[][] = [];
  private flushScheduled = false;

  constructor(private readonly db: Db) {
    const max = (db.prepare('SELECT MAX(id) AS m FROM events').get() as { m: number | null }).m ?? 0;
    const seq = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as { seq: number } | undefined)?.seq ?? 0;
    this.nextId = Math.max(max, seq) + 1;
  }

  /** Record an event; returns it with its id and time (written at the end of this turn, or now inside a transaction). */
  append(e: NewEvent): NodeEvent {
    const at = e.at ?? Date.now();
    const id = this.nextId++;
    const row = [id, at, e.source, e.kind, e.mac, e.nodeId, e.message, e.detail ? JSON.stringify(e.detail) : null, e.level ?? null];
    if (this.db.inTransaction) {
      this.flush();
      this.insert(row);
    } else {
      this.pending.push(row);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          try { this.flush(); } catch (err) { process.emitWarning(`events not written: ${(err as Error).message}`); }
        });
      }
    }
    const out: NodeEvent = { id, at, source: e.source, kind: e.kind, mac: e.mac, nodeId: e.nodeId, message: e.message };
    if (e.detail) out.detail = e.detail;
    if (e.level) out.level = e.level;
    return out;
  }

  /** Write every queued event now (one transaction, or inside the caller's). Core.close calls it. */
  flush(): void {
    if (this.pending.length === 0 || !this.db.open) return;
    const rows = this.pending;
    this.pending = [];
    if (this.db.inTransaction) for (const r of rows) this.insert(r);
    else this.db.transaction(() => { for (const r of rows) this.insert(r); })();
  }

  private insert(row: unknown[]): void {
    prepared(this.db, 'INSERT INTO events (id, at, source, kind, mac, node_id, message, detail, level) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(...row);
  }

  /** Events matching `q`, oldest first. A mac query also returns events of the node that owns the MAC. */
  query(q: EventQuery = {}): NodeEvent[] {
    this.flush();
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.mac && q.nodeId) { where.push('(mac = ? OR node_id = ?)'); args.push(q.mac, q.nodeId); }
    else if (q.mac) { where.push('mac = ?'); args.push(q.mac); }
    else if (q.nodeId) { where.push('node_id = ?'); args.push(q.nodeId); }
    if (q.since !== undefined) { where.push('id > ?'); args.push(q.since); }
    const limit = Math.min(Math.max(q.limit ?? 500, 1), 5000);
    const sql = `SELECT * FROM (SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?) ORDER BY id`;
    return (prepared(this.db, sql).all(...args, limit) as EventRow[]).map(toEvent);
  }
}

function toEvent(r: EventRow): NodeEvent {
  const e: NodeEvent = { id: r.id, at: r.at, source: r.source as NodeEvent['source'], kind: r.kind, mac: r.mac, nodeId: r.node_id, message: r.message };
  if (r.detail) e.detail = JSON.parse(r.detail);
  if (r.level) e.level = r.level as NodeEvent['level'];
  return e;
}
