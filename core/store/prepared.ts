// Prepared statements, prepared once per connection and SQL text. better-sqlite3's `prepare` parses and plans
// the SQL every call (measured in the daemon's DHCP storm: `prepare` was 16 % of the server's CPU, called for
// every event and node lookup). Statements are cached per database object, so a closed database's statements
// go with it. Callers must not change a cached statement's mode (pluck/raw/expand): it is shared.
import type Database from 'better-sqlite3';

const caches = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** The statement for `sql` on `db`, prepared on first use. */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let cache = caches.get(db);
  if (!cache) { cache = new Map(); caches.set(db, cache); }
  let stmt = cache.get(sql);
  if (!stmt) { stmt = db.prepare(sql); cache.set(sql, stmt); }
  return stmt;
}
