// Node events: per-node (and global, mac/node null) history, append only, ids increase.
import { prepared } from './prepared.ts';
import { insertEventRows, moveLegacyEvents, openEventLogDb, type EventRow } from './event-log-db.ts';
import { EventLogWriter } from './event-log-writer.ts';
import type { Db } from '../db.ts';
import type { NodeEvent } from '../../shared/node.ts';

interface StoredEvent { id: number; at: number; source: string; kind: string; mac: string | null; node_id: string | null; message: string; detail: string | null; level: string | null }

export type NewEvent = Omit<NodeEvent, 'id' | 'at'> & { at?: number };

export interface EventQuery {
  mac?: string;
  nodeId?: string;
  /** only events with id > since */
  since?: number;
  /** newest `limit` events (returned oldest first); default 500, at most 5000 */
  limit?: number;
}

/** Events the daemon's log keeps (the oldest beyond are deleted): RACKSEED_EVENT_RETENTION, else this. */
export const DEFAULT_EVENT_RETENTION = 500_000;
/** the bounds RACKSEED_EVENT_RETENTION may set */
export const EVENT_RETENTION_MIN = 1000;
export const EVENT_RETENTION_MAX = 50_000_000;

/**
 * The event log's retention from the environment: RACKSEED_EVENT_RETENTION = the number of newest events kept
 * (1,000 … 50,000,000; `_` separators allowed), DEFAULT_EVENT_RETENTION when unset or empty. Anything else is an
 * error naming the variable, so a typo does not silently keep everything or nothing.
 */
export function eventRetentionFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.RACKSEED_EVENT_RETENTION?.trim();
  if (!raw) return DEFAULT_EVENT_RETENTION;
  const n = /^\d[\d_]*$/.test(raw) ? Number(raw.replace(/_/g, '')) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < EVENT_RETENTION_MIN || n > EVENT_RETENTION_MAX) {
    throw new Error(`RACKSEED_EVENT_RETENTION must be a whole number of events from ${EVENT_RETENTION_MIN} to ${EVENT_RETENTION_MAX} (got "${raw}")`);
  }
  return n;
}
/** Queued events are handed to the writer at most this long after the first of them was appended… */
const FLUSH_DELAY_MS = 10;
/** …or as soon as this many are queued. */
const FLUSH_MAX_QUEUED = 512;

/**
 * Per-MAC and per-node history. Two ways to write it:
 * - `EventStore.openLog(path, main)` (the daemon, a data directory): the log is its own file, events.db, written
 *   by a worker thread (event-log-writer.ts), so a DHCP storm's event per DORA costs the serving thread only
 *   the queueing. An event appended inside a caller's transaction on `main` is not part of that transaction.
 * - `new EventStore(db)` (in-memory cores in tests): written on `db`, the core's own connection; an event appended
 *   inside a transaction is written at once, as part of it, after anything queued.
 * Either way appends are group-committed: queued and written with the others of the next ≤ 10 ms (or 512
 * events) in one transaction — one commit per event made the daemon's storm ~8× slower than the bare server.
 * Ids are assigned here, in order, so an event has its id when append returns; every read (`query`) first waits
 * until everything appended is written, so readers never see a gap. A kill -9 can lose the last ~10 ms of events
 * — never a lease, node or job change, which are written by their own stores.
 */
export class EventStore {
  private nextId: number;
  private pending: EventRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writer: EventLogWriter | null = null;

  /**
   * Open the event log file at `path` (moving any history `main` still holds into it), written by a worker that
   * keeps the newest `keep` events (default RACKSEED_EVENT_RETENTION or 500,000: ~150 MB; a DHCP exchange is one event).
   */
  static openLog(path: string, main: Db, warn: (msg: string) => void = (m) => process.emitWarning(m), keep = eventRetentionFromEnv()): EventStore {
    moveLegacyEvents(main, path);
    const reader = openEventLogDb(path);
    const store = new EventStore(reader);
    store.writer = new EventLogWriter(path, reader, warn, keep);
    return store;
  }

  constructor(private readonly db: Db) {
    const max = (db.prepare('SELECT MAX(id) AS m FROM events').get() as { m: number | null }).m ?? 0;
    // tables created with AUTOINCREMENT (rackseed.db's, from migration 1) keep their high-water mark here
    const hasSeq = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get() !== undefined;
    const seq = hasSeq ? (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as { seq: number } | undefined)?.seq ?? 0 : 0;
    this.nextId = Math.max(max, seq) + 1;
  }

  /** Record an event; returns it with its id and time (written within ~10 ms, or at once inside a transaction on the core's connection). */
  append(e: NewEvent): NodeEvent {
    const at = e.at ?? Date.now();
    const id = this.nextId++;
    const row = [id, at, e.source, e.kind, e.mac, e.nodeId, e.message, e.detail ? JSON.stringify(e.detail) : null, e.level ?? null];
    if (!this.writer && this.db.inTransaction) {
      this.flush();
      insertEventRows(this.db, [row]);
    } else {
      this.pending.push(row);
      if (this.pending.length >= FLUSH_MAX_QUEUED) this.flushQuietly();
      else if (!this.timer) this.timer = setTimeout(() => this.flushQuietly(), FLUSH_DELAY_MS);
    }
    const out: NodeEvent = { id, at, source: e.source, kind: e.kind, mac: e.mac, nodeId: e.nodeId, message: e.message };
    if (e.detail) out.detail = e.detail;
    if (e.level) out.level = e.level;
    return out;
  }

  /** Hand every queued event to the writer now (with no worker: write them, in one transaction or the caller's). */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.pending.length === 0) return;
    if (!this.db.open) {
      process.emitWarning(`${this.pending.length} events not written: the event store is closed`);
      this.pending = [];
      return;
    }
    const rows = this.pending;
    this.pending = [];
    if (this.writer) this.writer.write(rows);
    else if (this.db.inTransaction) insertEventRows(this.db, rows);
    else this.db.transaction(() => insertEventRows(this.db, rows))();
  }

  /** Write everything appended, and stop the writer (an event log opened with openLog is closed too). */
  close(): void {
    this.flush();
    if (!this.writer) return;
    this.writer.close();
    this.writer = null;
    this.db.close();
  }

  private flushQuietly(): void {
    try { this.flush(); } catch (err) { process.emitWarning(`events not written: ${(err as Error).message}`); }
  }

  /** Events matching `q`, oldest first. A mac query also returns events of the node that owns the MAC. */
  query(q: EventQuery = {}): NodeEvent[] {
    this.flush();
    this.writer?.waitWritten();
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.mac && q.nodeId) { where.push('(mac = ? OR node_id = ?)'); args.push(q.mac, q.nodeId); }
    else if (q.mac) { where.push('mac = ?'); args.push(q.mac); }
    else if (q.nodeId) { where.push('node_id = ?'); args.push(q.nodeId); }
    if (q.since !== undefined) { where.push('id > ?'); args.push(q.since); }
    const limit = Math.min(Math.max(q.limit ?? 500, 1), 5000);
    const sql = `SELECT * FROM (SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?) ORDER BY id`;
    return (prepared(this.db, sql).all(...args, limit) as StoredEvent[]).map(toEvent);
  }
}

function toEvent(r: StoredEvent): NodeEvent {
  const e: NodeEvent = { id: r.id, at: r.at, source: r.source as NodeEvent['source'], kind: r.kind, mac: r.mac, nodeId: r.node_id, message: r.message };
  if (r.detail) e.detail = JSON.parse(r.detail);
  if (r.level) e.level = r.level as NodeEvent['level'];
  return e;
}
