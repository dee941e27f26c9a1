// The partition-table codec (core/images/partition-table.ts) against tables sfdisk wrote, its own round trip,
// and each malformed input with its own error; the FAT reader (fat.ts) against mkfs.vfat/mtools volumes; format
// detection (detect.ts) by content; boot-mode detection (boot-modes.ts) on whole images.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zcrc32 } from 'node:zlib';
import {
  decodeGptEntries, decodeGptHeader, decodeGuid, decodeMbr, encodeGpt, encodeGuid, encodeMbr, gptEntriesBytes, GptType, gptTypeName, mbrTypeName,
  PartitionTableError,
} from '../../core/images/partition-table.ts';
import { decodeFatBootSector, FatError, findFatPath, type ReadAt } from '../../core/images/fat.ts';
import { detect } from '../../core/images/detect.ts';
import { detectBootModes, unbootableReason } from '../../core/images/boot-modes.ts';
import { biosMbrImage, fatImage, gptEspImage, gptHybridImage, nonBootableImage, BOOT_CODE } from '../helpers/images.ts';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'rs-ptable-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

const crc32 = (b: Uint8Array): number => zcrc32(b) >>> 0;
const readerOf = (b: Buffer): ReadAt => async (off, len) => b.subarray(Math.max(0, off), Math.max(0, Math.min(b.length, off + len)));

test('MBR written by sfdisk: boot code, active Linux partition at 2048', () => {
  const p = join(dir, 'bios.img');
  biosMbrImage(p);
  const mbr = decodeMbr(readFileSync(p).subarray(0, 512));
  assert.equal(mbr.hasBootCode, true);
  assert.deepEqual(Buffer.from(mbr.bootCode.subarray(0, BOOT_CODE.length)), BOOT_CODE);
  assert.deepEqual(mbr.partitions[0], { index: 0, status: 0x80, type: 0x83, firstLba: 2048, sectors: 8192 - 2048 });
  assert.equal(mbr.partitions[1]!.type, 0);
  assert.equal(mbrTypeName(0x83), 'Linux');
  assert.equal(mbrTypeName(0x42), '<MBR type 0x42>');
});

test('GPT written by sfdisk: header, ESP entry, CRCs', () => {
  const p = join(dir, 'esp.img');
  gptEspImage(p);
  const b = readFileSync(p);
  const mbr = decodeMbr(b.subarray(0, 512));
  assert.equal(mbr.partitions[0]!.type, 0xee, 'protective MBR');
  assert.equal(mbr.hasBootCode, false);
  const h = decodeGptHeader(b.subarray(512, 1024));
  assert.equal(h.myLba, 1);
  assert.equal(h.entriesLba, 2);
  assert.equal(h.numberOfEntries, 128);
  assert.equal(h.entrySize, 128);
  const entries = decodeGptEntries(b.subarray(h.entriesLba * 512, h.entriesLba * 512 + gptEntriesBytes(h)), h);
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.typeGuid, GptType.EFI_SYSTEM);
  assert.equal(gptTypeName(entries[0]!.typeGuid), 'EFI System');
  assert.equal(entries[0]!.firstLba, 2048);
  assert.equal(entries[0]!.lastLba, 2048 + 16384 - 1);
});

test('GUIDs: mixed-endian on disk, round trip', () => {
  const b = Buffer.alloc(16);
  encodeGuid(GptType.EFI_SYSTEM, b, 0);
  assert.equal(b.toString('hex'), '28732ac11ff8d211ba4b00a0c93ec93b');
  assert.equal(decodeGuid(b, 0), GptType.EFI_SYSTEM);
  assert.throws(() => decodeGuid(b, 1), PartitionTableError);
});

test('encodeMbr/encodeGpt round trip through the decoders', () => {
  const mbr = { bootCode: BOOT_CODE, diskSignature: 0xdeadbeef, partitions: [{ index: 2, status: 0x80, type: 0xef, firstLba: 63, sectors: 1000 }] };
  const d = decodeMbr(encodeMbr(mbr));
  assert.equal(d.diskSignature, 0xdeadbeef);
  assert.deepEqual(d.partitions[2], mbr.partitions[0]);
  const g = {
    myLba: 1, alternateLba: 999, firstUsableLba: 34, lastUsableLba: 966, diskGuid: '01234567-89AB-CDEF-0123-456789ABCDEF', entriesLba: 2,
    numberOfEntries: 128, entrySize: 128,
    entries: [{ index: 5, typeGuid: GptType.BIOS_BOOT, uniqueGuid: 'FEDCBA98-7654-3210-FEDC-BA9876543210', firstLba: 34, lastLba: 2047, attributesLow: 4, attributesHigh: 0x10000000, name: 'bios grub' }],
  };
  const { header, entries } = encodeGpt(g);
  const h = decodeGptHeader(header);
  assert.equal(h.diskGuid, g.diskGuid);
  assert.deepEqual(decodeGptEntries(entries, h), g.entries);
});

test('MBR: each malformed input has its own error', () => {
  assert.throws(() => decodeMbr(Buffer.alloc(100)), /MBR needs 512 bytes, got 100 \(at byte 100\)/);
  assert.throws(() => decodeMbr(Buffer.alloc(512)), /no MBR signature 55 AA \(at byte 510\)/);
});

test('GPT header: each malformed input has its own error', () => {
  const good = () => encodeGpt({ myLba: 1, alternateLba: 99, firstUsableLba: 34, lastUsableLba: 66, diskGuid: GptType.LINUX_FS, entriesLba: 2, numberOfEntries: 4, entrySize: 128, entries: [] }).header;
  assert.throws(() => decodeGptHeader(Buffer.alloc(50)), /GPT header needs 92 bytes/);
  assert.throws(() => decodeGptHeader(Buffer.alloc(512)), /no GPT signature "EFI PART" \(at byte 0\)/);
  const bigHeader = good(); bigHeader.writeUInt32LE(600, 12);
  assert.throws(() => decodeGptHeader(bigHeader), /GPT header size 600 outside 92..512 \(at byte 12\)/);
  const crc = good(); crc[60] ^= 1;
  assert.throws(() => decodeGptHeader(crc), /GPT header CRC-32 mismatch \(at byte 16\)/);
  const refresh = (h: Buffer) => { h.writeUInt32LE(0, 16); h.writeUInt32LE(crc32(h.subarray(0, 92)), 16); return h; };
  const entSize = good(); entSize.writeUInt32LE(100, 84);
  assert.throws(() => decodeGptHeader(refresh(entSize)), /GPT entry size 100 not a multiple of 8 in 128..4096 \(at byte 84\)/);
  const many = good(); many.writeUInt32LE(100000, 80);
  assert.throws(() => decodeGptHeader(refresh(many)), /GPT entry array of 100000 × 128 bytes is larger than 1048576 \(at byte 80\)/);
  const huge = good(); huge.writeUInt32LE(0xffffffff, 76);
  assert.throws(() => decodeGptHeader(refresh(huge)), /entry array LBA too large \(at byte 72\)/);
  const overlap = good(); overlap.writeUInt32LE(1, 72);
  assert.throws(() => decodeGptHeader(refresh(overlap)), /GPT entry array at LBA 1 overlaps the header/);
});

test('GPT entries: short array, CRC mismatch, an entry ending before it starts', () => {
  const layout = { myLba: 1, alternateLba: 99, firstUsableLba: 34, lastUsableLba: 66, diskGuid: GptType.LINUX_FS, entriesLba: 2, numberOfEntries: 4, entrySize: 128,
    entries: [{ index: 0, typeGuid: GptType.LINUX_FS, uniqueGuid: GptType.LINUX_FS, firstLba: 50, lastLba: 40, attributesLow: 0, attributesHigh: 0, name: 'x' }] };
  const { header, entries } = encodeGpt(layout);
  const h = decodeGptHeader(header);
  assert.throws(() => decodeGptEntries(entries.subarray(0, 300), h), /GPT entry array needs 512 bytes, got 300/);
  const bad = Buffer.from(entries); bad[200] ^= 1;
  assert.throws(() => decodeGptEntries(bad, h), /GPT entry array CRC-32 mismatch/);
  assert.throws(() => decodeGptEntries(entries, h), /GPT partition 1 ends \(LBA 40\) before it starts \(LBA 50\) \(at byte 40\)/);
});

test('FAT: finds EFI/BOOT/BOOTX64.EFI case-insensitively on FAT12, FAT16 and FAT32 volumes', async () => {
  for (const [kib, type] of [[1024, 12], [16384, 16], [65536, 32]] as const) {
    const p = join(dir, `fat${type}.img`);
    fatImage(p, kib, { 'efi/boot/bootx64.efi': 'loader', 'efi/other/x.txt': 'x' }, type);
    const b = readFileSync(p);
    const v = decodeFatBootSector(b, b.length);
    assert.equal(v.type, type, `${kib} KiB is FAT${type}`);
    const hit = await findFatPath(readerOf(b), b.length, ['EFI', 'BOOT', 'BOOTX64.EFI']);
    assert.equal(hit?.name, 'BOOTX64.EFI');
    assert.equal(hit?.size, 6);
    assert.equal(await findFatPath(readerOf(b), b.length, ['EFI', 'BOOT', 'BOOTIA32.EFI']), null);
    assert.equal(await findFatPath(readerOf(b), b.length, ['EFI', 'other', 'x.txt', 'deeper']), null, 'a file is not a folder');
  }
});

test('FAT: each malformed boot sector or chain has its own error', async () => {
  const p = join(dir, 'fat-bad.img');
  fatImage(p, 1024, { 'EFI/BOOT/BOOTX64.EFI': 'loader' });
  const good = readFileSync(p);
  const mod = (f: (b: Buffer) => void) => { const b = Buffer.from(good); f(b); return b; };
  assert.throws(() => decodeFatBootSector(good.subarray(0, 100), good.length), /boot sector needs 512 bytes/);
  assert.throws(() => decodeFatBootSector(mod((b) => b.writeUInt16LE(513, 11)), good.length), /bytes per sector 513 is not 512/);
  assert.throws(() => decodeFatBootSector(mod((b) => { b[13] = 3; }), good.length), /sectors per cluster 3 is not a power of two \(at byte 13\)/);
  assert.throws(() => decodeFatBootSector(mod((b) => b.writeUInt16LE(0, 14)), good.length), /no reserved sectors/);
  assert.throws(() => decodeFatBootSector(mod((b) => { b[16] = 0; }), good.length), /no FAT \(at byte 16\)/);
  assert.throws(() => decodeFatBootSector(mod((b) => { b.writeUInt16LE(0, 19); b.writeUInt32LE(0, 32); }), good.length), /total sectors is 0/);
  assert.throws(() => decodeFatBootSector(mod((b) => { b.writeUInt16LE(0, 22); b.writeUInt32LE(0, 36); }), good.length), /sectors per FAT is 0/);
  assert.throws(() => decodeFatBootSector(good, good.length / 2), /file system of 1048576 bytes is larger than its partition \(524288 bytes\)/);
  assert.throws(() => decodeFatBootSector(mod((b) => b.writeUInt16LE(0, 17)), good.length), /FAT12 without root directory entries/);
  // a directory whose cluster chain loops onto itself
  const v = decodeFatBootSector(good, good.length);
  const efi = (await findFatPath(readerOf(good), good.length, ['EFI']))!;
  const loop = mod((b) => { const o = v.fatOffset + Math.floor(efi.firstCluster * 1.5); const pair = b.readUInt16LE(o); b.writeUInt16LE(efi.firstCluster & 1 ? (pair & 0xf) | (efi.firstCluster << 4) : (pair & 0xf000) | efi.firstCluster, o); });
  // fill the EFI directory's only cluster with entries so the reader must follow the chain
  const full = Buffer.from(loop);
  const clusterOff = v.dataOffset + (efi.firstCluster - 2) * v.clusterBytes;
  for (let o = 64; o < v.clusterBytes; o += 32) { full.write('FILLER  TXT', clusterOff + o, 'latin1'); full[clusterOff + o + 11] = 0x20; }
  await assert.rejects(findFatPath(readerOf(full), full.length, ['EFI', 'BOOT', 'BOOTX64.EFI']), (e: Error) => e instanceof FatError && /directory cluster chain from \d+ loops/.test(e.message));
  // a directory entry pointing outside the volume
  const out = Buffer.from(good);
  const rootOff = v.rootDirOffset;
  out.writeUInt16LE(0xfff, rootOff + 26);
  await assert.rejects(findFatPath(readerOf(out), out.length, ['EFI', 'BOOT']), /cluster 4095 outside 2\.\.\d+/);
});

test('detect: by content, each refused format with its reason', () => {
  const b = (hex: string, len = 512) => { const x = Buffer.alloc(len); Buffer.from(hex, 'hex').copy(x); return x; };
  assert.deepEqual(detect(b('514649fb00000003')), { format: 'qcow2' });
  assert.deepEqual(detect(b('514649fb00000002')), { format: 'qcow2' });
  assert.match((detect(b('514649fb00000001')) as { refused: string }).refused, /qcow version 1 is not supported/);
  assert.deepEqual(detect(b('1f8b08')), { format: 'gzip' });
  assert.deepEqual(detect(b('fd377a585a00')), { format: 'xz' });
  assert.match((detect(b('28b52ffd')) as { refused: string }).refused, /zstd-compressed images are not supported \(the deploy ramdisk's busybox has no zstd\)/);
  assert.match((detect(Buffer.from('BZh91AY&SY')) as { refused: string }).refused, /bzip2/);
  assert.match((detect(b('04224d18')) as { refused: string }).refused, /lz4/);
  assert.match((detect(Buffer.from('KDMV\x01\x00\x00\x00')) as { refused: string }).refused, /VMDK/);
  assert.match((detect(Buffer.from('vhdxfile')) as { refused: string }).refused, /VHDX/);
  assert.match((detect(Buffer.from('conectix')) as { refused: string }).refused, /VHD/);
  const vdi = Buffer.alloc(512); Buffer.from('7f10dabe', 'hex').copy(vdi, 0x40);
  assert.match((detect(vdi) as { refused: string }).refused, /VDI/);
  assert.match((detect(b('504b0304')) as { refused: string }).refused, /zip archive/);
  const tar = Buffer.alloc(512); tar.write('ustar', 257);
  assert.match((detect(tar) as { refused: string }).refused, /tar archive/);
  assert.deepEqual(detect(Buffer.alloc(512)), { format: 'raw' });
  assert.deepEqual(detect(b('eb63')), { format: 'raw' });
});

test('boot modes: BIOS MBR, UEFI GPT+ESP, both, neither (with the reasons)', async () => {
  const check = async (make: (p: string) => void) => {
    const p = join(dir, 'bm.img');
    make(p);
    const b = readFileSync(p);
    return detectBootModes(readerOf(b), b.length);
  };
  const bios = await check(biosMbrImage);
  assert.deepEqual(bios.modes, ['bios']);
  assert.equal(bios.bios, 'MBR boot code and an active partition (1)');
  assert.equal(bios.uefi, 'no EFI System Partition with EFI/BOOT/BOOTX64.EFI');
  const uefi = await check((p) => gptEspImage(p));
  assert.deepEqual(uefi.modes, ['uefi']);
  assert.equal(uefi.uefi, 'EFI/BOOT/BOOTX64.EFI on the EFI System Partition (GPT partition 1)');
  assert.equal(uefi.bios, 'no MBR boot code and no BIOS-boot partition');
  const both = await check(gptHybridImage);
  assert.deepEqual(both.modes, ['bios', 'uefi']);
  assert.equal(both.bios, 'MBR boot code and a BIOS-boot partition (GPT partition 2)');
  const none = await check(nonBootableImage);
  assert.deepEqual(none.modes, []);
  assert.equal(unbootableReason(none), 'the image cannot boot: no MBR boot code and no BIOS-boot partition; no EFI System Partition with EFI/BOOT/BOOTX64.EFI');
  const noLoader = await check((p) => gptEspImage(p, 'EFI/debian/grubx64.efi'));
  assert.equal(noLoader.uefi, 'the EFI System Partition (GPT partition 1) has no EFI/BOOT/BOOTX64.EFI');
  const zeros = await detectBootModes(readerOf(Buffer.alloc(1 << 20)), 1 << 20);
  assert.equal(unbootableReason(zeros), 'the image cannot boot: no MBR (no 55 AA signature); no EFI System Partition with EFI/BOOT/BOOTX64.EFI');
});
