// Opens the appliance's SQLite database (better-sqlite3 12, WAL) and applies migrations in order.
// Each migration runs once, inside a transaction, and is recorded in `migrations` (version, applied_at).
import Database from 'better-sqlite3';
import { ensureIdleCheckpointer } from './store/idle-checkpointer.ts';
import { checkOwnFile } from './safe-path.ts';

export type Db = Database.Database;

/** Ordered schema migrations; append only — never edit a shipped entry. */
const MIGRATIONS: string[] = [
  `CREATE TABLE nodes (
     id TEXT PRIMARY KEY,
     mac TEXT NOT NULL UNIQUE,
     state TEXT NOT NULL,
     maintenance INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     ip TEXT,
     firmware TEXT,
     serial TEXT,
     uuid TEXT,
     inventory TEXT,
     agent_token_hash TEXT,
     bmc_address TEXT,
     bmc_matched_by TEXT,
     power TEXT,
     cpu TEXT,
     memory_mib INTEGER,
     disk_gib REAL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     source TEXT NOT NULL,
     kind TEXT NOT NULL,
     mac TEXT,
     node_id TEXT,
     message TEXT NOT NULL,
     detail TEXT,
     level TEXT
   );
   CREATE INDEX events_mac ON events(mac, id);
   CREATE INDEX events_node ON events(node_id, id);
   CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     node_id TEXT,
     bmc_address TEXT,
     kind TEXT NOT NULL,
     status TEXT NOT NULL,
     error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE job_steps (
     job_id TEXT NOT NULL REFERENCES jobs(id),
     idx INTEGER NOT NULL,
     name TEXT NOT NULL,
     status TEXT NOT NULL,
     started_at INTEGER,
     ended_at INTEGER,
     error TEXT,
     PRIMARY KEY (job_id, idx)
   );
   CREATE TABLE bmcs (
     address TEXT PRIMARY KEY,
     ipmi_version TEXT,
     auth_types TEXT NOT NULL DEFAULT '[]',
     vendor TEXT,
     guid TEXT,
     node_id TEXT,
     power TEXT,
     error TEXT,
     seen_at INTEGER NOT NULL
   );
   CREATE TABLE config (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  // nodes a RackSeed job powered on through their BMC (only those may be powered off by RackSeed)
  `ALTER TABLE nodes ADD COLUMN powered_on_by_rackseed INTEGER NOT NULL DEFAULT 0;`,
  // hand-off (issue 16, core/handoff/store.ts): engines, node owners, per-node hand-off attempts. IF NOT EXISTS, so it
  // is right whichever position it lands at among migrations appended at the same time
  `CREATE TABLE IF NOT EXISTS engines (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     url TEXT NOT NULL,
     auth TEXT NOT NULL,
     username TEXT,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE IF NOT EXISTS node_owners (
     node_id TEXT PRIMARY KEY,
     engine_id TEXT NOT NULL,
     engine_node TEXT,
     macs TEXT NOT NULL,
     since INTEGER NOT NULL
   );
   CREATE TABLE IF NOT EXISTS handoffs (
     node_id TEXT PRIMARY KEY,
     job_id TEXT,
     engine_id TEXT NOT NULL,
     status TEXT NOT NULL,
     engine_node TEXT,
     create_sent INTEGER NOT NULL DEFAULT 0,
     created_node INTEGER NOT NULL DEFAULT 0,
     created_ports TEXT NOT NULL DEFAULT '[]',
     existing TEXT,
     result TEXT,
     error TEXT,
     left_behind TEXT,
     started_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
  // the image library (core/images/store.ts): one row per imported image; boot_modes is a JSON array
  `CREATE TABLE images (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     state TEXT NOT NULL,
     source_format TEXT,
     source_bytes INTEGER NOT NULL DEFAULT 0,
     virtual_size INTEGER,
     raw_size INTEGER,
     disk_bytes INTEGER,
     sha256 TEXT,
     boot_modes TEXT NOT NULL DEFAULT '[]',
     error TEXT,
     failure TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX images_sha256 ON images(sha256);`,
  // BMCs over IPMI and Redfish (issue 18, core/store/bmcs.ts, store/tls-pins.ts): the protocol each BMC is driven
  // with (and whether the engineer chose it), every protocol that answered, the host MACs and firmware it reports, the
  // Redfish version; the TLS certificate fingerprints pinned on first use, per host:port
  `ALTER TABLE bmcs ADD COLUMN protocol TEXT;
   ALTER TABLE bmcs ADD COLUMN protocols TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE bmcs ADD COLUMN protocol_chosen INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE bmcs ADD COLUMN macs TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE bmcs ADD COLUMN redfish_version TEXT;
   ALTER TABLE bmcs ADD COLUMN tls_sha256 TEXT;
   ALTER TABLE bmcs ADD COLUMN firmware TEXT;
   CREATE TABLE IF NOT EXISTS bmc_tls_pins (
     endpoint TEXT PRIMARY KEY,
     sha256 TEXT NOT NULL,
     pinned_at INTEGER NOT NULL
   );`,
  // Agent tokens bound to a lease, one purpose, short-lived (issue 19 item 3, core/agent/tokens.ts); replaces
  // nodes.agent_token_hash (left in place, no longer read: tokens issued before this version are refused)
  `CREATE TABLE agent_tokens (
     hash       TEXT PRIMARY KEY,
     node_id    TEXT NOT NULL,
     purpose    TEXT NOT NULL CHECK (purpose IN ('inventory', 'deploy', 'clean')),
     ip         TEXT NOT NULL,
     issued_at  INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     used_at    INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX agent_tokens_node ON agent_tokens(node_id);
   UPDATE nodes SET agent_token_hash = NULL;`,
  // hand-off (core/handoff/store.ts): the MACs whose `POST /v1/ports` this attempt sent, recorded before the POST, so a
  // resumed job counts a port a kill -9 kept it from recording as its own (rolled back with the attempt)
  `ALTER TABLE handoffs ADD COLUMN ports_sent TEXT NOT NULL DEFAULT '[]';`,
];

/**
 * Open (creating if needed) the database at `path` (':memory:' for tests) and migrate it to the latest version.
 * An existing file (or its -wal/-shm/-journal) that is a symlink, not ours, or writable by others is refused
 * (UnsafePathError, safe-path.ts): the daemon runs as root and must not write through a planted link.
 */
export function openDatabase(path: string): Db {
  if (path !== ':memory:' && path !== '') {
    for (const suffix of ['', '-wal', '-shm', '-journal']) checkOwnFile(path + suffix, 'database file');
  }
  const db = new Database(path);
  if (path !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  ensureIdleCheckpointer(db);
  return db;
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM migrations').get() as { v: number | null };
  const current = row.v ?? 0;
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v - 1]!);
      db.prepare('INSERT INTO migrations (version, applied_at) VALUES (?, ?)').run(v, Date.now());
    })();
  }
}

/** Latest schema version this build knows. */
export const SCHEMA_VERSION = MIGRATIONS.length;
