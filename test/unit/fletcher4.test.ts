// The deploy's fast read-back check (shared/deploy.ts ReadBackCheck 'fletcher4'): the daemon's Fletcher-4
// (core/images/fletcher4.ts, in the extent-map worker) and the agent's (agent/ramdisk/rackseed-zero.c `sum`, compiled
// here exactly as the ramdisk build does: freestanding x86-64, it runs on this machine too) must give the same 64 hex
// digits for the same bytes, and both must be ZFS's fletcher_4 as defined word by word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fletcher4, fletcher4Hex } from '../../core/images/fletcher4.ts';
import { mapImage } from '../../core/images/extent-map.ts';
import { compileHelper } from '../../agent/build/helper.ts';

const RAMDISK_SRC = join(dirname(fileURLToPath(import.meta.url)), '../../agent/ramdisk');

/** the definition, one word at a time in BigInt (slow, obviously right) */
function naive(bytes: Uint8Array): string {
  const M = (1n << 64n) - 1n;
  let a = 0n; let b = 0n; let c = 0n; let d = 0n;
  for (let i = 0; i < bytes.length; i += 4) {
    const w = BigInt((bytes[i]! | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24)) >>> 0);
    a = (a + w) & M; b = (b + a) & M; c = (c + b) & M; d = (d + c) & M;
  }
  return [a, b, c, d].map((x) => x.toString(16).padStart(16, '0')).join('');
}

test('known answers: one word, the empty stream, and 64-bit wrap-around of all four sums', () => {
  assert.equal(fletcher4Hex(new Uint8Array([1, 0, 0, 0])), `${'0'.repeat(15)}1`.repeat(4));
  assert.equal(fletcher4Hex(new Uint8Array([2, 0, 0, 0, 3, 0, 0, 0])), ['5', '7', '9', 'b'].map((x) => x.padStart(16, '0')).join(''));
  assert.equal(fletcher4Hex(new Uint8Array(0)), '0'.repeat(64));
  // 2 MiB of 0xff: d passes 2^64 many times over
  const ff = new Uint8Array(2 << 20).fill(0xff);
  assert.equal(fletcher4Hex(ff), naive(ff));
});

test('the block-wise JavaScript sum equals the word-by-word definition for any length and any split of the stream', () => {
  for (const len of [0, 1, 3, 4, 5, 255, 256, 257, 4095, 4096, 65_537, 1_000_003]) {
    const bytes = randomBytes(len);
    const want = naive(bytes);
    assert.equal(fletcher4Hex(bytes), want, `${len} bytes at once`);
    const f = new Fletcher4();
    // uneven pieces, from unaligned offsets (a read may end inside a word)
    for (let at = 0, step = 1; at < len; at += step, step = (step * 7 + 3) % 9001 || 1) f.update(bytes.subarray(at, Math.min(len, at + step)));
    assert.equal(f.hex(), want, `${len} bytes in pieces`);
  }
});

test('the agent\'s rackseed-zero sum gives the daemon\'s Fletcher-4 of the ranges read from a device file, and of an image\'s data ranges', async () => {
  const work = mkdtempSync(join(tmpdir(), 'rs-fletcher4-'));
  try {
    const tool = join(work, 'rackseed-zero');
    writeFileSync(tool, compileHelper(RAMDISK_SRC), { mode: 0o755 });
    const disk = randomBytes(9 << 20);
    writeFileSync(join(work, 'disk'), disk);
    const ranges: [number, number][] = [[512, 4096], [1 << 20, 5 << 20], [8 << 20, 512], [0, 512]];
    const r = spawnSync(tool, ['sum', join(work, 'disk')], { input: ranges.map(([o, l]) => `${o} ${l}\n`).join(''), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const f = new Fletcher4();
    for (const [o, l] of ranges) f.update(disk.subarray(o, o + l));
    assert.equal(r.stdout, `${f.hex()}\n`);
    assert.equal(f.hex(), naive(Buffer.concat(ranges.map(([o, l]) => disk.subarray(o, o + l)))));

    // a range past the end and a range not in whole sectors: exit 1 with the reason, nothing on stdout
    const short = spawnSync(tool, ['sum', join(work, 'disk')], { input: `${(9 << 20) - 512} 1024\n`, encoding: 'utf8' });
    assert.equal(short.status, 1);
    assert.equal(short.stdout, '');
    assert.match(short.stderr, /the disk ends inside the range at byte 9437184/);
    assert.equal(spawnSync(tool, ['sum', join(work, 'disk')], { input: '0 1000\n' }).status, 1);

    // an image as the library maps it: the map's data ranges, read back by the agent's tool, sum to dataFletcher4
    const img = Buffer.concat([randomBytes(64 << 10), Buffer.alloc(3 << 20), randomBytes(1 << 20), Buffer.alloc(2 << 20)]);
    writeFileSync(join(work, 'img'), img);
    const map = await mapImage(join(work, 'img'), createHash('sha256').update(img).digest('hex'));
    const data = map.extents.filter((e) => e.data);
    assert.ok(data.length >= 2 && map.extents.some((e) => !e.data), 'data and zero ranges');
    const back = spawnSync(tool, ['sum', join(work, 'img')], { input: data.map((e) => `${e.offset} ${e.length}\n`).join(''), encoding: 'utf8' });
    assert.equal(back.stdout, `${map.dataFletcher4}\n`);
    // one flipped byte in a data range changes it
    img[(64 << 10) + (3 << 20) + 12345] ^= 0x01;
    writeFileSync(join(work, 'img'), img);
    const flipped = spawnSync(tool, ['sum', join(work, 'img')], { input: data.map((e) => `${e.offset} ${e.length}\n`).join(''), encoding: 'utf8' });
    assert.notEqual(flipped.stdout, `${map.dataFletcher4}\n`);
  } finally { rmSync(work, { recursive: true, force: true }); }
});
