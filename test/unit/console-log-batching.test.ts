// ConsoleLog writes appended output in batches (core/console/console-log.ts): nothing per append on the console's hot
// path, yet every read sees all of it, the file has it within flushMs or at once past 64 KiB, and close() keeps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleLog } from '../../core/console/console-log.ts';

const size = (p: string): number => { try { return statSync(p).size; } catch { return 0; } };

test('appends are batched: readers see them at once, the file within flushMs, 64 KiB at once, close keeps the rest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-console-log-'));
  try {
    const log = new ConsoleLog(dir, 'node-1', 1024 * 1024, 200);
    for (const c of 'login: ') log.append(Buffer.from(c));
    assert.equal(size(log.path), 0, 'nothing written per append');
    assert.ok(log.isOpen, 'the descriptor is held from the first append');
    // another reader of the same file (the boot timeline of a node without this object) after the timer
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(readFileSync(log.path, 'utf8'), 'login: ', 'written within flushMs');

    log.append(Buffer.from('root\r\n'));
    assert.equal(log.tail().toString(), 'login: root\r\n', 'a read writes what waits first');
    assert.equal(readFileSync(log.path, 'utf8'), 'login: root\r\n');

    log.append(Buffer.alloc(64 * 1024, 0x61));
    assert.equal(size(log.path), 13 + 64 * 1024, '64 KiB waiting are written without the timer');

    const buf = Buffer.from('reused');
    log.append(buf);
    buf.fill(0x7a); // the caller may reuse its buffer
    log.close();
    assert.ok(!log.isOpen);
    assert.ok(readFileSync(log.path, 'latin1').endsWith('aaareused'), 'close() writes what waits, as appended');
    assert.equal(new ConsoleLog(dir, 'node-1').tail(9).toString(), 'aaareused', 'a reader without a descriptor sees it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the rolling limit still holds with batched writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-console-log-'));
  try {
    const log = new ConsoleLog(dir, 'node-2', 1000, 10_000);
    for (let i = 0; i < 300; i++) log.append(Buffer.from(`line ${String(i).padStart(4, '0')}\n`)); // 3000 bytes
    const tail = log.tail();
    assert.equal(tail.length, 1000);
    assert.ok(tail.toString().endsWith('line 0299\n'));
    log.close();
    assert.ok(size(log.path) <= 2000, `the file was rewritten to its last bytes (${size(log.path)})`);
    assert.ok(readFileSync(log.path, 'utf8').endsWith('line 0299\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
