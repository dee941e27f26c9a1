// BlockSource (netboot/tftp/server/block-source.ts): range files are read in chunks, never beyond their `size`
// (the tsize announced in the OACK), even when the file would give more (it grew while being served).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockSource } from '../../netboot/tftp/server/block-source.ts';
import type { TftpRangeFile } from '../../netboot/tftp/server/handler.ts';

/** A range file of `size` bytes whose reads, like a file that keeps growing, always fill the whole buffer. */
function growingFile(size: number): TftpRangeFile & { asked: number[] } {
  const asked: number[] = [];
  return {
    kind: 'ranges', size, asked,
    read: async (buffer, position) => { asked.push(position + buffer.length); buffer.fill(0xab); return buffer.length; },
    close: async () => {},
  };
}

test('blocks stop at the announced size: full blocks, then the short last one, then nothing', async () => {
  const f = growingFile(2 * 1468 + 64);
  const src = new BlockSource(f, 1468);
  assert.equal((await src.get(1)).length, 1468);
  assert.equal((await src.get(2)).length, 1468);
  assert.equal((await src.get(3)).length, 64, 'block 3 is the short last block');
  await assert.rejects(src.get(4), /not available/);
  assert.ok(f.asked.every((end) => end <= f.size), `no read asked for bytes past ${f.size}: ${f.asked.join(', ')}`);
});

test('a size that is an exact multiple of blksize ends with an empty block (RFC 1350 §6)', async () => {
  const f = growingFile(3 * 1468);
  const src = new BlockSource(f, 1468);
  for (const n of [1, 2, 3]) assert.equal((await src.get(n)).length, 1468);
  assert.equal((await src.get(4)).length, 0);
  await assert.rejects(src.get(5), /not available/);
});

test('a file larger than one read chunk is read chunk by chunk up to its size', async () => {
  const size = 600_000; // > 256 KiB chunks at blksize 512
  const f = growingFile(size);
  const src = new BlockSource(f, 512);
  const blocks = Math.floor(size / 512) + 1;
  let total = 0;
  for (let n = 1; n <= blocks; n++) {
    total += (await src.get(n)).length;
    src.release(n - 1);
  }
  assert.equal(total, size);
  assert.ok(f.asked.every((end) => end <= size));
});
