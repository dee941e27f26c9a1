// The event store's group commit (core/store/events.ts): ids in order at once, queued events visible to every
// read, written in one transaction per event-loop turn, written at once inside a caller's transaction (after
// what is queued), flushed on close, and ids continue after a reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../core/db.ts';
import { EventStore } from '../../core/store/events.ts';

const ev = (kind: string) => ({ source: 'dhcp' as const, kind, mac: '52:54:00:00:00:01', nodeId: null, message: kind });
const rows = (db: ReturnType<typeof openDatabase>): number => (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
const later = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('queued for ≤ 10 ms, visible to queries at once, ids in order', async () => {
  const db = openDatabase(':memory:');
  const store = new EventStore(db);
  const a = store.append(ev('discover'));
  const b = store.append(ev('offer'));
  assert.equal(b.id, a.id + 1);
  assert.equal(rows(db), 0, 'not written yet');
  assert.deepEqual(store.query({ mac: '52:54:00:00:00:01' }).map((e) => e.kind), ['discover', 'offer'], 'a read writes the queue first');
  store.append(ev('request'));
  assert.equal(rows(db), 2, 'the read wrote the queue');
  await later(50);
  assert.equal(rows(db), 3, 'written within 10 ms');
  db.close();
});

test('inside a transaction: written as part of it, after the queue, and rolled back with it', () => {
  const db = openDatabase(':memory:');
  const store = new EventStore(db);
  store.append(ev('queued'));
  db.transaction(() => { store.append(ev('in-tx')); })();
  assert.equal(rows(db), 2);
  assert.deepEqual((db.prepare('SELECT kind FROM events ORDER BY id').all() as Array<{ kind: string }>).map((r) => r.kind), ['queued', 'in-tx']);
  assert.throws(() => db.transaction(() => { store.append(ev('rolled-back')); throw new Error('no'); })());
  assert.equal(rows(db), 2, 'the event went with its transaction');
  db.close();
});

test('flush on close; ids continue after a reopen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-events-'));
  try {
    const db = openDatabase(join(dir, 'x.db'));
    const store = new EventStore(db);
    store.append(ev('one'));
    const last = store.append(ev('two'));
    store.flush();
    db.close();
    const db2 = openDatabase(join(dir, 'x.db'));
    const again = new EventStore(db2);
    assert.equal(rows(db2), 2);
    assert.equal(again.append(ev('three')).id, last.id + 1);
    again.flush();
    db2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
