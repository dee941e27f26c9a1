// WAL checkpoints in quiet moments instead of inside a burst of commits.
//
// SQLite's default runs a checkpoint inside whichever commit pushes the WAL past 1,000 pages; with
// synchronous=NORMAL that checkpoint fsyncs the WAL and the database file, and on this machine's disk the commit
// that carries it took 18–20 ms instead of ~0.1 ms (RS_BENCH_DHCP_TRACE, docs/BENCHMARKS.md). During a DHCP
// storm that commit holds back every ACK of its event-loop turn, which is what made the p99 tail after warm-up.
//
// Contract: `ensureIdleCheckpointer(db)` (idempotent per connection) raises SQLite's automatic checkpoint to a
// safety limit (AUTO_CHECKPOINT_PAGES: a storm that never pauses still checkpoints, just rarely) and checkpoints
// (PASSIVE: never waits for readers, never blocks writers) once the writers that call `noteWrite()` have been
// quiet for `idleMs`, or every `maxDelayMs` when nobody calls it. Durability is unchanged: a commit is in the WAL
// file (written, not yet fsynced, as before) when it returns, so it survives kill -9; a checkpoint only moves
// pages from the WAL into the database file.

import type Database from 'better-sqlite3';

/** ≈ 64 MiB of 4 KiB pages: the WAL never grows past this even in a storm without pauses */
export const AUTO_CHECKPOINT_PAGES = 16_384;

export interface IdleCheckpointerOptions {
  /** checkpoint after this long without noteWrite(); default 250 ms */
  idleMs?: number;
  /** checkpoint at least this often while something was written; default 30 s */
  maxDelayMs?: number;
  /** how often to look; default 100 ms */
  tickMs?: number;
}

export interface IdleCheckpointer {
  /** a burst writer committed: postpone the checkpoint until it has been quiet for idleMs */
  noteWrite(): void;
  /** checkpoints run so far (tests, diagnostics) */
  readonly checkpoints: number;
}

const attached = new WeakMap<Database.Database, IdleCheckpointer>();

/**
 * Attach (once) the idle checkpointer to a database. For ':memory:' and non-WAL databases it is inert (nothing to
 * checkpoint: noteWrite does nothing useful, checkpoints stays 0) but the same kind of object, so a lease store on
 * a scratch in-memory database has the same hidden class as one on the real file (the DHCP warm-up relies on it,
 * see netboot/dhcp/server/authoritative-pipeline.ts).
 */
export function ensureIdleCheckpointer(db: Database.Database, opts: IdleCheckpointerOptions = {}): IdleCheckpointer {
  const existing = attached.get(db);
  if (existing) return existing;
  let lastWrite = 0;
  let dirty = true; // whatever other writers did before we were attached
  let count = 0;
  const checkpointer: IdleCheckpointer = {
    noteWrite() { lastWrite = Date.now(); dirty = true; },
    get checkpoints() { return count; },
  };
  attached.set(db, checkpointer);
  if (db.memory || String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return checkpointer;
  const idleMs = opts.idleMs ?? 250;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
  let lastCheckpoint = Date.now();
  const timer = setInterval(() => {
    if (!db.open) { clearInterval(timer); return; }
    const now = Date.now();
    const quiet = now - lastWrite >= idleMs;
    if (!(quiet && (dirty || now - lastCheckpoint >= maxDelayMs))) return;
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
      count++;
    } catch {
      // SQLITE_BUSY or a closing database: the next tick (or SQLite's own auto-checkpoint) tries again
    }
    dirty = false;
    lastCheckpoint = now;
  }, opts.tickMs ?? 100);
  timer.unref();
  return checkpointer;
}
