// NodeStore.idByMac (the netboot sink's per-packet lookup) answers "no node" from the set of node MACs without a
// query, finds nodes created before the store was opened, and a create rolled back with its transaction leaves no
// id behind.
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { openDatabase } from '../../core/db.ts';
import { NodeStore } from '../../core/store/nodes.ts';
import { normalizeMac } from '../../core/ids.ts';

test('idByMac: miss, then create, then hit; rolled-back creates are not remembered', () => {
  const db = openDatabase(':memory:');
  const nodes = new NodeStore(db);
  const mac = '52:54:00:aa:00:01';
  assert.equal(nodes.idByMac(mac), null);
  const n = nodes.create(mac, 'discovered');
  assert.equal(nodes.idByMac(mac), n.id, 'the cached miss was dropped by create');
  const other = '52:54:00:aa:00:02';
  assert.equal(nodes.idByMac(other), null);
  assert.throws(() => db.transaction(() => {
    const made = nodes.create(other, 'discovered');
    assert.equal(nodes.idByMac(other), made.id, 'visible inside its transaction');
    throw new Error('roll back');
  })());
  assert.equal(nodes.idByMac(other), null, 'gone with the rolled-back transaction');
  db.close();
});

test('idByMac: nodes already in the database when the store opens are found', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-idcache-'));
  try {
    const db1 = openDatabase(join(dir, 'db'));
    const made = new NodeStore(db1).create('52:54:00:aa:00:03', 'discovered');
    db1.close();
    const db2 = openDatabase(join(dir, 'db'));
    const nodes = new NodeStore(db2);
    assert.equal(nodes.idByMac('52:54:00:aa:00:03'), made.id);
    assert.equal(nodes.idByMac('52:54:00:aa:00:04'), null);
    db2.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('normalizeMac: canonical input passes through; other notations are normalised; junk is null', () => {
  assert.equal(normalizeMac('52:54:00:aa:00:01'), '52:54:00:aa:00:01');
  assert.equal(normalizeMac('52-54-00-AA-00-01'), '52:54:00:aa:00:01');
  assert.equal(normalizeMac('5254.00aa.0001'), '52:54:00:aa:00:01');
  assert.equal(normalizeMac('52:54:00:aa:00'), null);
  assert.equal(normalizeMac('52:54:00:AA:00:01'), '52:54:00:aa:00:01');
});
