// The event log's own SQLite file, events.db beside rackseed.db. The history is written there by a worker thread
// (event-log-worker.ts), so writing it never takes the thread that serves DHCP; a separate file, because two
// writers on one SQLite file wait on one lock, and the serving thread's lease commits must never wait.
// Schema versions are kept in PRAGMA user_version. Rows are [id, at, source, kind, mac, node_id, message,
// detail (JSON text or null), level], the order of EVENT_COLUMNS.
import Database from 'better-sqlite3';
import { prepared } from './prepared.ts';
import type { Db } from '../db.ts';

export type EventRow = unknown[];

const COLUMNS = '(id, at, source, kind, mac, node_id, message, detail, level)';
const ROW_SQL = '(?, ?, ?, ?, ?, ?, ?, ?, ?)';
/** Rows per multi-row INSERT (9 parameters each; SQLite's limit is 32766). */
const ROWS_PER_INSERT = 32;

/**
 * The events table. No AUTOINCREMENT: the EventStore assigns ids (MAX(id) + 1 at open), and retention deletes only
 * the oldest, so the newest id always survives. The indexes are
 * partial, so a DHCP storm's node-less events (node_id NULL) cost no entry in the node index.
 */
const SCHEMA_V1 = `
  CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    mac TEXT,
    node_id TEXT,
    message TEXT NOT NULL,
    detail TEXT,
    level TEXT
  );
  CREATE INDEX IF NOT EXISTS events_mac ON events(mac, id) WHERE mac IS NOT NULL;
  CREATE INDEX IF NOT EXISTS events_node ON events(node_id, id) WHERE node_id IS NOT NULL;`;

/** Open (creating and migrating) the event log at `path`, in WAL mode. */
export function openEventLogDb(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  if ((db.pragma('user_version', { simple: true }) as number) < 1) {
    db.transaction(() => { db.exec(SCHEMA_V1); db.pragma('user_version = 1'); })();
  }
  return db;
}

/**
 * Insert rows in order (ROWS_PER_INSERT at a time, then one by one), inside the caller's transaction.
 * `orIgnore`: skip ids already present (re-sending rows a dead writer may have written).
 */
export function insertEventRows(db: Db, rows: readonly EventRow[], orIgnore = false): void {
  const verb = orIgnore ? 'INSERT OR IGNORE' : 'INSERT';
  let i = 0;
  if (rows.length >= ROWS_PER_INSERT) {
    const many = prepared(db, `${verb} INTO events ${COLUMNS} VALUES ${Array(ROWS_PER_INSERT).fill(ROW_SQL).join(', ')}`);
    for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) many.run(rows.slice(i, i + ROWS_PER_INSERT).flat());
  }
  const one = prepared(db, `${verb} INTO events ${COLUMNS} VALUES ${ROW_SQL}`);
  for (; i < rows.length; i++) one.run(rows[i]!);
}

/**
 * Move the history an older build kept in rackseed.db's `events` table into the event log at `logPath` (created if
 * needed). Idempotent: rows are copied with INSERT OR IGNORE and deleted from `main` afterwards, so a crash between
 * the two only repeats the copy. Call before the log is opened elsewhere. Returns how many rows moved.
 */
export function moveLegacyEvents(main: Db, logPath: string): number {
  const n = (main.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  if (n === 0) return 0;
  openEventLogDb(logPath).close();
  main.prepare('ATTACH DATABASE ? AS log').run(logPath);
  try {
    main.exec(`INSERT OR IGNORE INTO log.events ${COLUMNS} SELECT id, at, source, kind, mac, node_id, message, detail, level FROM main.events`);
  } finally {
    main.exec('DETACH DATABASE log');
  }
  main.exec('DELETE FROM main.events');
  return n;
}
