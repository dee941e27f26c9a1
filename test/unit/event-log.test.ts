// The daemon's event log (core/store/event-log-*.ts): events.db written by a worker thread. Reads see every
// event appended before them; ids continue after a reopen; history an older build kept in rackseed.db moves into
// events.db once; and when the worker dies, what it had not written is written on the main thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openDatabase } from '../../core/db.ts';
import { EventStore } from '../../core/store/events.ts';

const ev = (kind: string, mac = '52:54:00:00:00:01') => ({ source: 'dhcp' as const, kind, mac, nodeId: null, message: kind });
const count = (path: string, table = 'events'): number => {
  const db = new Database(path, { readonly: true });
  try { return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n; } finally { db.close(); }
};
const workerOf = (s: EventStore): Worker => (s as unknown as { writer: { worker: Worker } }).writer.worker;

function withDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-evlog-'));
    try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
  };
}

test('written by the worker into events.db; a read sees every event appended before it; ids go on after a reopen', withDir((dir) => {
  const main = openDatabase(join(dir, 'rackseed.db'));
  const warnings: string[] = [];
  const store = EventStore.openLog(join(dir, 'events.db'), main, (m) => warnings.push(m));
  const macs = Array.from({ length: 1500 }, (_, i) => `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`);
  for (const m of macs) store.append(ev('discover', m));
  const last = store.append(ev('ack', macs[7]));
  assert.deepEqual(store.query({ mac: macs[7]! }).map((e) => e.kind), ['discover', 'ack'], 'read right after append');
  assert.equal(store.query({ limit: 5000 }).length, 1501);
  store.close();
  assert.deepEqual(warnings, [], 'the worker wrote everything: no fallback');
  assert.equal(count(join(dir, 'events.db')), 1501, 'all in events.db');
  assert.equal(count(join(dir, 'rackseed.db')), 0, 'none in rackseed.db');
  const again = EventStore.openLog(join(dir, 'events.db'), main);
  assert.equal(again.append(ev('request')).id, last.id + 1);
  again.close();
  main.close();
}));

test('history kept in rackseed.db by an older build moves into events.db once, ids and order kept', withDir((dir) => {
  const main = openDatabase(join(dir, 'rackseed.db'));
  const legacy = new EventStore(main);
  legacy.append(ev('discover'));
  const old = legacy.append(ev('ack'));
  legacy.flush();
  const store = EventStore.openLog(join(dir, 'events.db'), main);
  assert.deepEqual(store.query({ mac: '52:54:00:00:00:01' }).map((e) => [e.id, e.kind]), [[old.id - 1, 'discover'], [old.id, 'ack']]);
  assert.equal(count(join(dir, 'rackseed.db')), 0, 'moved out of rackseed.db');
  assert.equal(store.append(ev('request')).id, old.id + 1);
  store.close();
  const reopened = EventStore.openLog(join(dir, 'events.db'), main);
  assert.equal(reopened.query({}).length, 3, 'not copied twice');
  reopened.close();
  main.close();
}));

test('the worker dies: rows it had not written, and every later one, are written on the main thread', withDir(async (dir) => {
  const main = openDatabase(join(dir, 'rackseed.db'));
  const warnings: string[] = [];
  const store = EventStore.openLog(join(dir, 'events.db'), main, (m) => warnings.push(m));
  for (let i = 0; i < 300; i++) store.append(ev(`k${i}`));
  store.flush();
  const w = workerOf(store);
  const exited = once(w, 'exit');
  await w.terminate();
  await exited;
  store.append(ev('after'));
  const kinds = store.query({ limit: 5000 }).map((e) => e.kind);
  assert.equal(kinds.length, 301);
  assert.equal(kinds.at(-1), 'after');
  assert.ok(warnings.some((m) => /exited/.test(m)), warnings.join('; '));
  store.close();
  assert.equal(count(join(dir, 'events.db')), 301);
  main.close();
}));

test('a batch the worker cannot write: it stops, and the main thread writes that batch and every later one', withDir(async (dir) => {
  const main = openDatabase(join(dir, 'rackseed.db'));
  const warnings: string[] = [];
  const store = EventStore.openLog(join(dir, 'events.db'), main, (m) => warnings.push(m));
  store.append(ev('first'));
  store.query({});
  for (let i = 0; i < 5; i++) store.append(ev(`before-${i}`));
  store.append({ ...ev('broken'), message: null as unknown as string }); // NOT NULL: the worker's INSERT fails
  for (let i = 0; i < 5; i++) store.append(ev(`same-batch-${i}`));
  store.flush();
  for (let i = 0; i < 5; i++) store.append(ev(`later-${i}`));
  store.flush();
  const kinds = store.query({ limit: 5000 }).map((e) => e.kind);
  assert.deepEqual(kinds, ['first', ...[0, 1, 2, 3, 4].map((i) => `before-${i}`), ...[0, 1, 2, 3, 4].map((i) => `same-batch-${i}`), ...[0, 1, 2, 3, 4].map((i) => `later-${i}`)],
    'every valid event, in order, no gap; only the broken row is skipped');
  assert.ok(warnings.some((m) => /could not write.*NOT NULL/i.test(m)), warnings.join('; '));
  store.append(ev('after'));
  assert.equal(store.query({ limit: 5000 }).at(-1)?.kind, 'after', 'later appends are written on the main thread');
  store.close();
  main.close();
}));

test('retention: the log keeps the newest `keep` events, deleting the oldest as new ones arrive', withDir((dir) => {
  const main = openDatabase(join(dir, 'rackseed.db'));
  const store = EventStore.openLog(join(dir, 'events.db'), main, undefined, 1000);
  let last = 0;
  for (let i = 0; i < 12_000; i++) last = store.append(ev(`k${i}`)).id;
  const kept = store.query({ limit: 5000 });
  assert.equal(kept.at(-1)?.id, last, 'the newest is kept');
  store.close();
  const n = count(join(dir, 'events.db'));
  assert.ok(n >= 1000 && n <= 1000 + 5000 + 512, `bounded: ${n} rows (keep 1000, a pass every 5000 rows)`);
  const db = new Database(join(dir, 'events.db'), { readonly: true });
  const min = (db.prepare('SELECT MIN(id) AS m FROM events').get() as { m: number }).m;
  db.close();
  assert.ok(min > last - n, 'only the oldest were deleted: ids are contiguous up to the newest');
  assert.equal(min, last - n + 1);
  main.close();
}));
