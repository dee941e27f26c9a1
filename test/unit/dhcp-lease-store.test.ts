// SqliteLeaseStore: index semantics, group commit, and durability of committed leases across kill -9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';

const here = dirname(fileURLToPath(import.meta.url));

function withDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-dhcp-leases-'));
    try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
  };
}

const lease = (ip: string, mac: string) => ({ ip, mac, state: 'bound' as const, expiresAt: 1000, hostname: null });

test('one lease per MAC and per address; moves and takeovers keep the index and the table consistent', withDir((dir) => {
  const db = join(dir, 'l.db');
  const s = openSqliteLeaseStore(db);
  s.put(lease('10.0.0.1', 'aa:00:00:00:00:01'));
  s.put(lease('10.0.0.2', 'aa:00:00:00:00:02'));
  s.put(lease('10.0.0.3', 'aa:00:00:00:00:01')); // MAC moves
  s.put(lease('10.0.0.2', 'aa:00:00:00:00:04')); // address taken over
  s.remove('10.0.0.9'); // no-op
  assert.equal(s.byIp('10.0.0.1'), null);
  assert.equal(s.byMac('aa:00:00:00:00:01')?.ip, '10.0.0.3');
  assert.equal(s.byMac('aa:00:00:00:00:02'), null);
  assert.equal(s.byIp('10.0.0.2')?.mac, 'aa:00:00:00:00:04');
  s.commit();
  s.remove('10.0.0.3');
  s.close(); // commits pending changes
  const raw = new Database(db);
  const rows = raw.prepare('SELECT ip, mac FROM dhcp_leases ORDER BY ip').all();
  raw.close();
  assert.deepEqual(rows, [{ ip: '10.0.0.2', mac: 'aa:00:00:00:00:04' }]);
  const again = openSqliteLeaseStore(db);
  assert.deepEqual(again.all().map((l) => l.ip), ['10.0.0.2']);
  again.close();
}));

test('committed leases survive kill -9 of the writing process (WAL, synchronous=NORMAL)', withDir(async (dir) => {
  const db = join(dir, 'l.db');
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, '../fixtures/dhcp/lease-writer.ts'), db, '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`writer too slow: ${out} ${err}`)); }, 30_000);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('committed 1000\n')) { clearTimeout(t); resolve(); } });
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const s = openSqliteLeaseStore(db);
  try {
    assert.equal(s.all().length, 1000);
    assert.equal(s.byIp('10.9.3.231')?.mac, '52:54:00:09:03:e7');
  } finally { s.close(); }
}));

test('a table made with the old UNIQUE mac column is rebuilt with its rows; MAC moves still leave one row per MAC', withDir((dir) => {
  const db = join(dir, 'old.db');
  const raw = new Database(db);
  raw.exec(`CREATE TABLE dhcp_leases (ip TEXT PRIMARY KEY, mac TEXT NOT NULL UNIQUE, state TEXT NOT NULL CHECK (state IN ('bound', 'released', 'expired')), expires_at INTEGER NOT NULL, hostname TEXT) WITHOUT ROWID`);
  raw.prepare('INSERT INTO dhcp_leases VALUES (?, ?, ?, ?, ?)').run('10.0.0.5', 'aa:00:00:00:00:05', 'bound', 77, 'n5');
  raw.close();
  const s = openSqliteLeaseStore(db);
  assert.deepEqual(s.byIp('10.0.0.5'), { ip: '10.0.0.5', mac: 'aa:00:00:00:00:05', state: 'bound', expiresAt: 77, hostname: 'n5' });
  s.put(lease('10.0.0.6', 'aa:00:00:00:00:05')); // the MAC moves: its old row must go without a UNIQUE index
  s.close();
  const check = new Database(db);
  const uniques = (check.prepare('PRAGMA index_list(dhcp_leases)').all() as Array<{ unique: number; origin: string }>).filter((i) => i.unique === 1 && i.origin === 'u');
  const rows = check.prepare('SELECT ip, mac FROM dhcp_leases ORDER BY ip').all();
  check.close();
  assert.deepEqual(uniques, []);
  assert.deepEqual(rows, [{ ip: '10.0.0.6', mac: 'aa:00:00:00:00:05' }]);
}));
