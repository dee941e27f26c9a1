// The event history's retention (issue 19 item 2, core/README.md "Event log"): the daemon's log keeps the newest
// RACKSEED_EVENT_RETENTION events (default 500,000), deleting the oldest as new ones arrive; a bad value is a clear
// error at start, not a silent default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase } from '../../core/db.ts';
import { DEFAULT_EVENT_RETENTION, EventStore, eventRetentionFromEnv } from '../../core/store/events.ts';

test('RACKSEED_EVENT_RETENTION: unset or empty is the default; a whole number in range is taken; anything else is refused by name', () => {
  assert.equal(eventRetentionFromEnv({}), DEFAULT_EVENT_RETENTION);
  assert.equal(DEFAULT_EVENT_RETENTION, 500_000);
  assert.equal(eventRetentionFromEnv({ RACKSEED_EVENT_RETENTION: '' }), DEFAULT_EVENT_RETENTION);
  assert.equal(eventRetentionFromEnv({ RACKSEED_EVENT_RETENTION: ' 20000 ' }), 20_000);
  assert.equal(eventRetentionFromEnv({ RACKSEED_EVENT_RETENTION: '2_000_000' }), 2_000_000);
  assert.equal(eventRetentionFromEnv({ RACKSEED_EVENT_RETENTION: '1000' }), 1000);
  for (const bad of ['999', '0', '-5', '1e6', '12.5', 'lots', '50000001', '0x1000']) {
    assert.throws(() => eventRetentionFromEnv({ RACKSEED_EVENT_RETENTION: bad }), new RegExp(`RACKSEED_EVENT_RETENTION must be .*got "${bad.replace(/[.]/g, '\\.')}"`), bad);
  }
});

test('the daemon\'s log (openLog) keeps the newest RACKSEED_EVENT_RETENTION events: older ones go, a node\'s latest history stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-evret-'));
  const saved = process.env.RACKSEED_EVENT_RETENTION;
  process.env.RACKSEED_EVENT_RETENTION = '2000';
  try {
    const main = openDatabase(join(dir, 'rackseed.db'));
    const store = EventStore.openLog(join(dir, 'events.db'), main);
    let last = 0;
    // 1,000 nodes' worth of history: 25 events each
    for (let round = 0; round < 25; round++) {
      for (let i = 0; i < 1000; i++) last = store.append({ source: 'dhcp', kind: `k${round}`, mac: `02:00:00:00:${String(Math.floor(i / 100)).padStart(2, '0')}:${String(i % 100).padStart(2, '0')}`, nodeId: `n${i}`, message: `r${round}` }).id;
    }
    const mine = store.query({ nodeId: 'n7', limit: 5000 });
    assert.equal(mine.at(-1)?.kind, 'k24', 'the node\'s newest event is there');
    store.close();
    main.close();
    const db = new Database(join(dir, 'events.db'), { readonly: true });
    const { n, min, max } = db.prepare('SELECT COUNT(*) AS n, MIN(id) AS min, MAX(id) AS max FROM events').get() as { n: number; min: number; max: number };
    db.close();
    assert.equal(max, last);
    // a retention pass runs every 5,000 rows written (and at start): at most keep + 5,000 + one batch (512) rows
    assert.ok(n >= 2000 && n <= 2000 + 5000 + 512, `bounded: ${n} of 25,000 rows kept`);
    assert.equal(min, max - n + 1, 'only the oldest were deleted');
  } finally {
    if (saved === undefined) delete process.env.RACKSEED_EVENT_RETENTION; else process.env.RACKSEED_EVENT_RETENTION = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad RACKSEED_EVENT_RETENTION stops the log from opening with the variable\'s name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-evret-'));
  const saved = process.env.RACKSEED_EVENT_RETENTION;
  process.env.RACKSEED_EVENT_RETENTION = '10 thousand';
  try {
    const main = openDatabase(join(dir, 'rackseed.db'));
    assert.throws(() => EventStore.openLog(join(dir, 'events.db'), main), /RACKSEED_EVENT_RETENTION must be a whole number/);
    main.close();
  } finally {
    if (saved === undefined) delete process.env.RACKSEED_EVENT_RETENTION; else process.env.RACKSEED_EVENT_RETENTION = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
