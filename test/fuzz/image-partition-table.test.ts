// Fuzz (fast-check): the partition-table codec and the FAT reader never fail with anything but their own typed
// errors, whatever bytes an imported image holds, and always terminate; encode → decode is the identity for GPT and
// MBR layouts; boot-mode detection of mutated real images never throws. FUZZ_ITERATIONS (default 20 000) runs per
// property (a tenth for the FAT reader and a fortieth for whole images, which walk a whole volume); FUZZ_SEED replays a failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  decodeGptEntries, decodeGptHeader, decodeMbr, encodeGpt, encodeMbr, PartitionTableError, type GptEntry,
} from '../../core/images/partition-table.ts';
import { FatError, findFatPath, type ReadAt } from '../../core/images/fat.ts';
import { detectBootModes } from '../../core/images/boot-modes.ts';
import { fatImage, gptHybridImage } from '../helpers/images.ts';

const ITER = Number(process.env.FUZZ_ITERATIONS ?? 20_000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = (numRuns: number) => ({ numRuns, seed: SEED });

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'rs-ptfuzz-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const readerOf = (b: Uint8Array): ReadAt => async (off, len) => b.subarray(Math.max(0, off), Math.max(0, Math.min(b.length, off + len)));

/** Own errors only: anything else (RangeError, TypeError…) is a bug. */
function ownErrorsOnly(fn: () => unknown, cls: new (...a: never[]) => Error): void {
  try { fn(); } catch (err) { if (!(err instanceof cls)) throw err; }
}

const guid = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
  const h = Buffer.from(b).toString('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}).filter((g) => g !== '00000000-0000-0000-0000-000000000000');

test('MBR and GPT decoders: arbitrary bytes → a value or PartitionTableError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 1024 }), (b) => {
    ownErrorsOnly(() => decodeMbr(b), PartitionTableError);
    ownErrorsOnly(() => decodeGptHeader(b, 512), PartitionTableError);
  }), params(ITER));
});

test('GPT: a valid header with mutated bytes, and entry arrays of any bytes → a value or PartitionTableError', () => {
  const { header } = encodeGpt({ myLba: 1, alternateLba: 2047, firstUsableLba: 34, lastUsableLba: 2014, diskGuid: '11111111-2222-3333-4444-555555555555',
    entriesLba: 2, numberOfEntries: 8, entrySize: 128, entries: [] });
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(511), fc.nat(255)), { maxLength: 8 }), fc.boolean(), fc.uint8Array({ maxLength: 2048 }), (muts, fixCrc, arr) => {
    const h = Buffer.from(header);
    for (const [at, v] of muts) h[at] = v;
    if (fixCrc) { h.writeUInt32LE(0, 16); h.writeUInt32LE(crc32(h.subarray(0, Math.min(512, Math.max(92, h.readUInt32LE(12))))) >>> 0, 16); }
    let decoded;
    try { decoded = decodeGptHeader(h, 512); } catch (err) { if (err instanceof PartitionTableError) return; throw err; }
    const entries = Buffer.alloc(decoded.numberOfEntries * decoded.entrySize);
    Buffer.from(arr).copy(entries);
    // with and without a matching CRC, so the entry decoding itself is reached
    ownErrorsOnly(() => decodeGptEntries(entries, decoded), PartitionTableError);
    ownErrorsOnly(() => decodeGptEntries(entries, { ...decoded, entriesCrc32: crc32(entries) >>> 0 }), PartitionTableError);
  }), params(ITER));
});

test('GPT and MBR layouts round-trip through encode → decode', () => {
  const lba = fc.integer({ min: 0, max: 2 ** 40 });
  const entry = (n: number) => fc.record({
    index: fc.nat(n - 1), typeGuid: guid, uniqueGuid: guid, firstLba: lba, span: fc.integer({ min: 0, max: 2 ** 30 }),
    attributesLow: fc.nat(0xffffffff), attributesHigh: fc.nat(0xffffffff), name: fc.string({ maxLength: 36 }).filter((s) => !s.includes('\0')),
  }).map(({ span, ...e }): GptEntry => ({ ...e, lastLba: e.firstLba + span }));
  fc.assert(fc.property(fc.integer({ min: 1, max: 64 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(entry(n), { selector: (e) => e.index, maxLength: n }))),
    fc.constantFrom(128, 256), guid, ([n, entries], entrySize, diskGuid) => {
      const layout = { myLba: 1, alternateLba: 5000, firstUsableLba: 34, lastUsableLba: 4966, diskGuid, entriesLba: 2, numberOfEntries: n, entrySize, entries };
      const enc = encodeGpt(layout);
      const h = decodeGptHeader(enc.header);
      // names are UTF-16: a name whose encoding is cut at 72 bytes (36 code units) may lose a half surrogate pair
      const norm = (es: GptEntry[]) => es.map((e) => ({ ...e, name: Buffer.from(Buffer.from(e.name, 'utf16le').subarray(0, 72)).toString('utf16le').replace(/\0.*$/s, '') }));
      assert.deepEqual(decodeGptEntries(enc.entries, h), norm([...entries].sort((a, b) => a.index - b.index)));
    }), params(Math.ceil(ITER / 10)));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 440 }), fc.nat(0xffffffff), fc.uniqueArray(fc.record({ index: fc.nat(3), status: fc.nat(255), type: fc.nat(255), firstLba: fc.nat(0xffffffff), sectors: fc.nat(0xffffffff) }), { selector: (p) => p.index, maxLength: 4 }),
    (bootCode, diskSignature, partitions) => {
      const d = decodeMbr(encodeMbr({ bootCode, diskSignature, partitions }));
      assert.equal(d.diskSignature, diskSignature);
      for (const p of partitions) assert.deepEqual(d.partitions[p.index], { ...p });
      assert.equal(d.hasBootCode, bootCode.some((x) => x !== 0));
    }), params(ITER));
});

test('FAT reader: a real volume with mutated bytes → an entry, null, or FatError; never hangs', async () => {
  const p = join(dir, 'fat.img');
  fatImage(p, 1024, { 'EFI/BOOT/BOOTX64.EFI': 'loader', 'EFI/a/b.txt': 'b' });
  const good = readFileSync(p);
  // mutations aimed at the boot sector, the FATs and the directories (the first 40 KiB), plus anywhere
  const at = fc.oneof(fc.nat(40 * 1024 - 1), fc.nat(good.length - 1));
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(at, fc.nat(255)), { minLength: 1, maxLength: 16 }), fc.integer({ min: 512, max: good.length }), async (muts, volumeBytes) => {
    const b = good;
    const saved = muts.map(([o]) => [o, b[o]!] as const);
    for (const [o, v] of muts) b[o] = v;
    try {
      await findFatPath(readerOf(b.subarray(0, volumeBytes)), volumeBytes, ['EFI', 'BOOT', 'BOOTX64.EFI']);
    } catch (err) {
      if (!(err instanceof FatError)) throw err;
    } finally {
      for (const [o, v] of saved.reverse()) b[o] = v;
    }
  }), params(Math.ceil(ITER / 10)));
});

test('boot modes of a mutated real image: a result, never an exception', async () => {
  const p = join(dir, 'hybrid.img');
  gptHybridImage(p);
  const good = readFileSync(p);
  // sector 0-33 (MBR, GPT header and entries) and the ESP's first 64 KiB (its boot sector, FATs, root directory)
  const at = fc.oneof(fc.nat(34 * 512 - 1), fc.integer({ min: 2048 * 512, max: 2048 * 512 + 65535 }));
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(at, fc.nat(255)), { minLength: 1, maxLength: 12 }), async (muts) => {
    // mutated in place and restored afterwards (a 12 MiB copy per run would dominate the run time)
    const b = good;
    const saved = [...muts.map(([o]) => [o, b[o]!] as const), ...Array.from({ length: 33 * 512 }, (_, i) => [512 + i, b[512 + i]!] as const)];
    for (const [o, v] of muts) b[o] = v;
    // a mutated GPT keeps decoding only with a fixed CRC: fix it half of the time so the entries are reached
    if (muts[0]![1] & 1) {
      const h = b.subarray(512, 1024);
      const ents = b.subarray(1024, 1024 + 128 * 128);
      h.writeUInt32LE(crc32(ents) >>> 0, 88);
      h.writeUInt32LE(0, 16); h.writeUInt32LE(crc32(h.subarray(0, 92)) >>> 0, 16);
    }
    try {
      const r = await detectBootModes(readerOf(b), b.length);
      assert.ok(Array.isArray(r.modes) && typeof r.bios === 'string' && typeof r.uefi === 'string');
    } finally {
      for (const [o, v] of saved.reverse()) b[o] = v;
    }
  }), params(Math.ceil(ITER / 40)));
});
