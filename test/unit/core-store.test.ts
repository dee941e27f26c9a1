// Node store, events, jobs, BMCs and encrypted config over real SQLite (temp files and :memory:).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import Database from 'better-sqlite3';
import { Core } from '../../core/core.ts';
import { SCHEMA_VERSION } from '../../core/db.ts';
import { SecretBox } from '../../core/secret-box.ts';
import { normalizeMac } from '../../core/ids.ts';

const log = pino({ level: 'silent' });

test('database: WAL, migrations recorded once, data survives reopen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-core-store-'));
  try {
    let core = new Core({ dataDir: dir, logger: log });
    const n = core.nodes.create('52:54:00:00:00:01', 'discovered');
    core.close();
    core = new Core({ dataDir: dir, logger: log });
    assert.equal(core.nodes.get(n.id)?.mac, '52:54:00:00:00:01');
    assert.equal(core.db.pragma('journal_mode', { simple: true }), 'wal');
    const versions = core.db.prepare('SELECT version FROM migrations ORDER BY version').all() as { version: number }[];
    assert.deepEqual(versions.map((v) => v.version), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    core.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('nodes: MAC is unique, patch fields round-trip, inventory JSON kept', () => {
  const core = new Core({ dataDir: null, logger: log });
  const n = core.nodes.create('52:54:00:aa:bb:cc', 'discovered');
  assert.throws(() => core.nodes.create('52:54:00:aa:bb:cc', 'discovered'));
  const u = core.nodes.update(n.id, { ip: '10.0.0.5', serial: 'S1', uuid: 'u', firmware: 'uefi', diskGiB: 8, memoryMiB: 512, inventory: { a: [1] }, maintenance: true })!;
  assert.equal(u.ip, '10.0.0.5');
  assert.equal(u.firmware, 'uefi');
  assert.equal(u.maintenance, true);
  assert.equal(u.diskGiB, 8);
  assert.deepEqual(core.nodes.inventory(n.id), { a: [1] });
  assert.equal(core.nodes.getByIp('10.0.0.5')?.id, n.id);
  assert.equal(core.nodes.getByMac('52:54:00:aa:bb:cc')?.id, n.id);
  core.close();
});

test('events: per-node and global history, since/limit, oldest first', () => {
  const core = new Core({ dataDir: null, logger: log });
  const n = core.nodes.create('52:54:00:00:00:02', 'discovered');
  const seen: string[] = [];
  core.bus.subscribe((m) => { if (m.type === 'event') seen.push(m.payload.kind); });
  core.bus.record({ source: 'dhcp', kind: 'discover', mac: n.mac, nodeId: n.id, message: 'd' });
  core.bus.record({ source: 'survey', kind: 'global', mac: null, nodeId: null, message: 'g' });
  const e3 = core.bus.record({ source: 'tftp', kind: 'rrq', mac: n.mac, nodeId: n.id, message: 'r', detail: { file: 'undionly.kpxe' } });
  assert.deepEqual(seen, ['discover', 'global', 'rrq']);
  assert.deepEqual(core.events.query({ mac: n.mac }).map((e) => e.kind), ['discover', 'rrq']);
  assert.deepEqual(core.events.query({}).map((e) => e.kind), ['discover', 'global', 'rrq']);
  assert.deepEqual(core.events.query({ limit: 1 }).map((e) => e.kind), ['rrq']);
  assert.deepEqual(core.events.query({ since: e3.id - 1 }).map((e) => e.id), [e3.id]);
  assert.deepEqual(core.events.query({ mac: n.mac }).at(-1)?.detail, { file: 'undionly.kpxe' });
  core.close();
});

test('jobs: steps ordered, statuses and timestamps persisted, unfinished listed', () => {
  const core = new Core({ dataDir: null, logger: log });
  const j = core.jobs.create('inspect', null, '10.0.0.9', ['a', 'b']);
  assert.equal(j.status, 'pending');
  assert.deepEqual(j.steps.map((s) => [s.name, s.status]), [['a', 'pending'], ['b', 'pending']]);
  core.jobs.setStatus(j.id, 'running');
  core.jobs.setStep(j.id, 0, 'running', null, 1000);
  core.jobs.setStep(j.id, 0, 'done', null, 2000);
  core.jobs.setStep(j.id, 1, 'failed', 'boom', 3000);
  const g = core.jobs.get(j.id)!;
  assert.deepEqual(g.steps[0], { name: 'a', status: 'done', startedAt: 1000, endedAt: 2000, error: null });
  assert.equal(g.steps[1]!.error, 'boom');
  assert.equal(core.jobs.listUnfinished().length, 1);
  assert.equal(core.jobs.activeForBmc('10.0.0.9')?.id, j.id);
  core.jobs.setStatus(j.id, 'failed', 'boom');
  assert.equal(core.jobs.listUnfinished().length, 0);
  core.close();
});

test('config: BMC password encrypted at rest (AES-256-GCM), key file 0600, never in the public view', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-core-cfg-'));
  try {
    let core = new Core({ dataDir: dir, logger: log });
    core.config.setBmcCredentials({ user: 'admin', password: 'hunter2-secret' });
    assert.deepEqual(core.config.bmcCredentialsPublic(), { user: 'admin', passwordSet: true });
    core.close();
    assert.equal(statSync(join(dir, 'secret.key')).mode & 0o777, 0o600);
    const raw = new Database(join(dir, 'rackseed.db'));
    const stored = (raw.prepare("SELECT value FROM config WHERE key = 'bmc.password'").get() as { value: string }).value;
    raw.close();
    assert.ok(stored.startsWith('v1:'));
    assert.ok(!stored.includes('hunter2'));
    for (const f of ['rackseed.db', 'rackseed.db-wal']) {
      try { assert.ok(!readFileSync(join(dir, f)).includes('hunter2-secret')); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
    }
    core = new Core({ dataDir: dir, logger: log });
    assert.deepEqual(core.config.bmcCredentials(), { user: 'admin', password: 'hunter2-secret' });
    core.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('secret box: tampering and a wrong key are detected', () => {
  const a = SecretBox.ephemeral();
  const sealed = a.seal('pw');
  assert.equal(a.open(sealed), 'pw');
  assert.throws(() => SecretBox.ephemeral().open(sealed));
  const buf = Buffer.from(sealed.slice(3), 'base64');
  buf[buf.length - 1]! ^= 1;
  assert.throws(() => a.open('v1:' + buf.toString('base64')));
});

test('bmcs: upsert keeps fields not given; node summary shows its BMC', () => {
  const core = new Core({ dataDir: null, logger: log });
  core.bmcs.upsert('10.0.0.20', { guid: 'g', vendor: 'OpenIPMI', authTypes: ['md5'] });
  core.bmcs.upsert('10.0.0.20', { power: 'on' });
  assert.deepEqual({ ...core.bmcs.get('10.0.0.20')!, seenAt: 0 }, { address: '10.0.0.20', ipmiVersion: null, authTypes: ['md5'], vendor: 'OpenIPMI', guid: 'g', nodeId: null, power: 'on', error: null, seenAt: 0,
    protocol: null, protocols: [], protocolChosen: false, macs: [], redfishVersion: null, tlsFingerprint: null, firmware: null });
  const n = core.nodes.create('52:54:00:00:00:03', 'available');
  core.nodes.update(n.id, { bmcAddress: '10.0.0.20', bmcMatchedBy: 'guid' });
  assert.deepEqual(core.nodes.get(n.id)!.bmc, { address: '10.0.0.20', guid: 'g', vendor: 'OpenIPMI', matchedBy: 'guid' });
  core.close();
});

test('MAC normalisation accepts common notations', () => {
  for (const m of ['52:54:00:AB:CD:EF', '52-54-00-ab-cd-ef', '5254.00ab.cdef', '525400abcdef']) assert.equal(normalizeMac(m), '52:54:00:ab:cd:ef');
  for (const m of ['', '52:54:00:ab:cd', 'zz:54:00:ab:cd:ef', '52:54:00:ab:cd:ef:00']) assert.equal(normalizeMac(m), null);
});
