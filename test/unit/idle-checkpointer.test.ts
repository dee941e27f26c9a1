// WAL checkpoints deferred to pauses (core/store/idle-checkpointer.ts): none while a writer keeps
// committing, one soon after it stops, SQLite's own auto-checkpoint raised to the safety limit, and every
// committed row readable by a fresh connection at any time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AUTO_CHECKPOINT_PAGES, ensureIdleCheckpointer } from '../../core/store/idle-checkpointer.ts';
import { openSqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('checkpoints wait for the writer to pause, then run; WAL frames move into the database file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-ckpt-'));
  const db = new Database(join(dir, 'x.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const ck = ensureIdleCheckpointer(db, { idleMs: 1000, tickMs: 10 });
    assert.ok(ck);
    assert.equal(ensureIdleCheckpointer(db), ck, 'one checkpointer per connection');
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), AUTO_CHECKPOINT_PAGES);
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
    const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
    await sleep(1200); // the table creation is checkpointed once things are quiet
    const before = ck.checkpoints;
    // a writer that commits every 20 ms for ~400 ms never pauses for 1 s (a wide margin for a loaded CI machine): no checkpoint in between
    for (let i = 0; i < 20; i++) {
      db.transaction(() => { for (let j = 0; j < 50; j++) ins.run(`row ${i}/${j} ${'x'.repeat(200)}`); })();
      ck.noteWrite();
      await sleep(20);
    }
    assert.equal(ck.checkpoints, before, 'no checkpoint while the writer is busy');
    const other = new Database(join(dir, 'x.db'), { readonly: true });
    assert.equal((other.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 1000, 'committed rows are visible before any checkpoint');
    other.close();
    await sleep(1500);
    assert.ok(ck.checkpoints > before, 'checkpointed once the writer paused');
    const sizeBefore = statSync(join(dir, 'x.db')).size;
    assert.ok(sizeBefore > 1000 * 200, `database file holds the rows after the checkpoint (${sizeBefore} bytes)`);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an inert checkpointer for in-memory databases (never checkpoints); the lease store works on either', () => {
  const mem = new Database(':memory:');
  const inert = ensureIdleCheckpointer(mem, { tickMs: 10 });
  inert.noteWrite();
  assert.equal(inert.checkpoints, 0);
  assert.equal(ensureIdleCheckpointer(mem), inert, 'one per connection');
  mem.close();
  const dir = mkdtempSync(join(tmpdir(), 'rs-ckpt-'));
  try {
    const store = openSqliteLeaseStore(join(dir, 'leases.db'));
    store.put({ ip: '10.0.0.5', mac: '52:54:00:00:00:05', state: 'bound', expiresAt: 1, hostname: null });
    store.commit();
    store.close();
    const again = openSqliteLeaseStore(join(dir, 'leases.db'));
    assert.equal(again.byMac('52:54:00:00:00:05')?.ip, '10.0.0.5');
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
