// Partition tables as pure functions over bytes (no I/O): the MBR (sector 0) and the GPT (UEFI 2.10 §5.2–5.3:
// header at LBA 1, partition entry array). Decoders check every bound and throw PartitionTableError naming the byte
// offset; CRC-32s are verified. Encoders exist for tests and for the round-trip fuzz (test/fuzz/image-partition-table).
import { crc32 } from 'node:zlib';

export class PartitionTableError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'PartitionTableError';
  }
}

export const MBR_SIZE = 512;
/** bytes 0..439 hold the boot code (then the disk signature, 2 reserved bytes, 4 entries, 55 AA) */
export const MBR_BOOT_CODE_BYTES = 440;

/** MBR partition types this code cares about; others print as hex. */
export const MbrType = { EMPTY: 0x00, GPT_PROTECTIVE: 0xee, EFI_SYSTEM: 0xef } as const;

export function mbrTypeName(t: number): string {
  const names: Record<number, string> = { 0x00: 'empty', 0x01: 'FAT12', 0x04: 'FAT16 <32M', 0x06: 'FAT16', 0x07: 'NTFS/exFAT', 0x0b: 'FAT32 CHS',
    0x0c: 'FAT32 LBA', 0x0e: 'FAT16 LBA', 0x82: 'Linux swap', 0x83: 'Linux', 0x8e: 'Linux LVM', 0xee: 'GPT protective', 0xef: 'EFI System', 0xfd: 'Linux RAID' };
  return names[t] ?? `<MBR type 0x${t.toString(16).padStart(2, '0')}>`;
}

export interface MbrPartition {
  /** 0..3 */
  index: number;
  /** 0x80 = active (bootable), 0x00 = inactive; other values are kept as read */
  status: number;
  type: number;
  firstLba: number;
  sectors: number;
}

export interface Mbr {
  /** any non-zero byte in the boot code area */
  hasBootCode: boolean;
  bootCode: Uint8Array;
  diskSignature: number;
  /** the four slots, empty ones (type 0) included */
  partitions: MbrPartition[];
}

const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

function u64(b: Uint8Array, o: number, what: string): number {
  const lo = u32(b, o);
  const hi = u32(b, o + 4);
  if (hi > 0x1fffff) throw new PartitionTableError(`${what} too large`, o);
  return hi * 0x1_0000_0000 + lo;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff; b[o + 1] = (v >>> 8) & 0xff; b[o + 2] = (v >>> 16) & 0xff; b[o + 3] = (v >>> 24) & 0xff;
}

function put64(b: Uint8Array, o: number, v: number): void {
  put32(b, o, v % 0x1_0000_0000);
  put32(b, o + 4, Math.floor(v / 0x1_0000_0000));
}

/** Sector 0 as an MBR; throws when it is shorter than 512 bytes or has no 55 AA signature. */
export function decodeMbr(b: Uint8Array): Mbr {
  if (b.length < MBR_SIZE) throw new PartitionTableError(`MBR needs ${MBR_SIZE} bytes, got ${b.length}`, b.length);
  if (b[510] !== 0x55 || b[511] !== 0xaa) throw new PartitionTableError('no MBR signature 55 AA', 510);
  const bootCode = b.slice(0, MBR_BOOT_CODE_BYTES);
  const partitions: MbrPartition[] = [];
  for (let i = 0; i < 4; i++) {
    const o = 446 + 16 * i;
    partitions.push({ index: i, status: b[o]!, type: b[o + 4]!, firstLba: u32(b, o + 8), sectors: u32(b, o + 12) });
  }
  return { hasBootCode: bootCode.some((x) => x !== 0), bootCode, diskSignature: u32(b, 440), partitions };
}

/** 512 bytes: boot code (zero-padded), disk signature, the partitions given (at most 4, by `index`), 55 AA. */
export function encodeMbr(m: { bootCode?: Uint8Array; diskSignature?: number; partitions: MbrPartition[] }): Buffer {
  const b = Buffer.alloc(MBR_SIZE);
  if (m.bootCode) b.set(m.bootCode.subarray(0, MBR_BOOT_CODE_BYTES), 0);
  put32(b, 440, m.diskSignature ?? 0);
  for (const p of m.partitions) {
    if (p.index < 0 || p.index > 3) throw new RangeError(`MBR partition index ${p.index}`);
    const o = 446 + 16 * p.index;
    b[o] = p.status; b[o + 4] = p.type;
    put32(b, o + 8, p.firstLba); put32(b, o + 12, p.sectors);
  }
  b[510] = 0x55; b[511] = 0xaa;
  return b;
}

// ---- GPT ----

export const GptType = {
  EFI_SYSTEM: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  BIOS_BOOT: '21686148-6449-6E6F-744E-656564454649',
  LINUX_FS: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
} as const;

export function gptTypeName(guid: string): string {
  const names: Record<string, string> = { [GptType.EFI_SYSTEM]: 'EFI System', [GptType.BIOS_BOOT]: 'BIOS boot', [GptType.LINUX_FS]: 'Linux filesystem' };
  return names[guid] ?? `<GPT type ${guid}>`;
}

/** GPT attribute bit 2: "legacy BIOS bootable" (what syslinux's gptmbr.bin boots). */
export const GPT_ATTR_LEGACY_BIOS_BOOTABLE = 4;

export const GPT_SIGNATURE = 'EFI PART';
export const GPT_HEADER_MIN = 92;
/** bounds on the entry array that this decoder accepts (the spec's minimum array is 16 KiB; 128 × 128 is usual) */
export const GPT_MAX_ENTRIES = 4096;
export const GPT_MAX_ENTRY_SIZE = 4096;
export const GPT_MAX_ARRAY_BYTES = 1024 * 1024;

export interface GptHeader {
  revision: number;
  headerSize: number;
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  numberOfEntries: number;
  entrySize: number;
  entriesCrc32: number;
}

export interface GptEntry {
  /** position in the entry array (0-based) */
  index: number;
  typeGuid: string;
  uniqueGuid: string;
  firstLba: number;
  lastLba: number;
  /** bits 0..31 of the attributes (bit 2: legacy BIOS bootable) */
  attributesLow: number;
  /** bits 32..63 (48..63: type-specific) */
  attributesHigh: number;
  name: string;
}

/** A GUID as stored on disk (first three fields little-endian) → "C12A7328-F81F-11D2-BA4B-00A0C93EC93B". */
export function decodeGuid(b: Uint8Array, o: number): string {
  if (o < 0 || o + 16 > b.length) throw new PartitionTableError('GUID runs past the end', o);
  const hex = (i: number) => b[o + i]!.toString(16).padStart(2, '0');
  const le = (idx: number[]) => idx.map(hex).join('');
  return `${le([3, 2, 1, 0])}-${le([5, 4])}-${le([7, 6])}-${le([8, 9])}-${le([10, 11, 12, 13, 14, 15])}`.toUpperCase();
}

export function encodeGuid(guid: string, b: Uint8Array, o: number): void {
  const h = guid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new RangeError(`not a GUID: ${guid}`);
  const byte = (i: number) => parseInt(h.slice(2 * i, 2 * i + 2), 16);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  for (let i = 0; i < 16; i++) b[o + i] = byte(order[i]!);
}

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

/**
 * The GPT header in `sector` (the whole LBA 1, `sectorSize` bytes). Checks the signature, the header size, its CRC-32
 * and the entry array's shape (count, entry size, total within GPT_MAX_*); does not read the entries.
 */
export function decodeGptHeader(sector: Uint8Array, sectorSize = 512): GptHeader {
  if (sector.length < GPT_HEADER_MIN) throw new PartitionTableError(`GPT header needs ${GPT_HEADER_MIN} bytes, got ${sector.length}`, sector.length);
  if (Buffer.from(sector.subarray(0, 8)).toString('latin1') !== GPT_SIGNATURE) throw new PartitionTableError('no GPT signature "EFI PART"', 0);
  const headerSize = u32(sector, 12);
  if (headerSize < GPT_HEADER_MIN || headerSize > Math.min(sectorSize, sector.length)) {
    throw new PartitionTableError(`GPT header size ${headerSize} outside ${GPT_HEADER_MIN}..${Math.min(sectorSize, sector.length)}`, 12);
  }
  const copy = Buffer.from(sector.subarray(0, headerSize));
  copy.fill(0, 16, 20);
  const crc = u32(sector, 16);
  if ((crc32(copy) >>> 0) !== crc) throw new PartitionTableError('GPT header CRC-32 mismatch', 16);
  const numberOfEntries = u32(sector, 80);
  const entrySize = u32(sector, 84);
  if (entrySize < 128 || entrySize > GPT_MAX_ENTRY_SIZE || entrySize % 8 !== 0) throw new PartitionTableError(`GPT entry size ${entrySize} not a multiple of 8 in 128..${GPT_MAX_ENTRY_SIZE}`, 84);
  if (numberOfEntries > GPT_MAX_ENTRIES || numberOfEntries * entrySize > GPT_MAX_ARRAY_BYTES) {
    throw new PartitionTableError(`GPT entry array of ${numberOfEntries} × ${entrySize} bytes is larger than ${GPT_MAX_ARRAY_BYTES}`, 80);
  }
  const h: GptHeader = {
    revision: u32(sector, 8), headerSize,
    myLba: u64(sector, 24, 'my LBA'), alternateLba: u64(sector, 32, 'alternate LBA'),
    firstUsableLba: u64(sector, 40, 'first usable LBA'), lastUsableLba: u64(sector, 48, 'last usable LBA'),
    diskGuid: decodeGuid(sector, 56), entriesLba: u64(sector, 72, 'entry array LBA'),
    numberOfEntries, entrySize, entriesCrc32: u32(sector, 88),
  };
  if (h.entriesLba < 2 && h.myLba === 1) throw new PartitionTableError(`GPT entry array at LBA ${h.entriesLba} overlaps the header`, 72);
  return h;
}

/** Bytes of the entry array described by `h`. */
export function gptEntriesBytes(h: GptHeader): number {
  return h.numberOfEntries * h.entrySize;
}

/**
 * The used entries (type GUID not all zero) of the array `b` (at least gptEntriesBytes(h) bytes), after checking the
 * array's CRC-32 against the header. An entry whose last LBA is before its first is refused.
 */
export function decodeGptEntries(b: Uint8Array, h: GptHeader): GptEntry[] {
  const total = gptEntriesBytes(h);
  if (b.length < total) throw new PartitionTableError(`GPT entry array needs ${total} bytes, got ${b.length}`, b.length);
  if ((crc32(b.subarray(0, total)) >>> 0) !== h.entriesCrc32) throw new PartitionTableError('GPT entry array CRC-32 mismatch', 0);
  const out: GptEntry[] = [];
  for (let i = 0; i < h.numberOfEntries; i++) {
    const o = i * h.entrySize;
    const typeGuid = decodeGuid(b, o);
    if (typeGuid === ZERO_GUID) continue;
    const firstLba = u64(b, o + 32, 'partition first LBA');
    const lastLba = u64(b, o + 40, 'partition last LBA');
    if (lastLba < firstLba) throw new PartitionTableError(`GPT partition ${i + 1} ends (LBA ${lastLba}) before it starts (LBA ${firstLba})`, o + 40);
    let name = Buffer.from(b.subarray(o + 56, o + 128)).toString('utf16le');
    const nul = name.indexOf('\0');
    if (nul >= 0) name = name.slice(0, nul);
    out.push({ index: i, typeGuid, uniqueGuid: decodeGuid(b, o + 16), firstLba, lastLba, attributesLow: u32(b, o + 48), attributesHigh: u32(b, o + 52), name });
  }
  return out;
}

export interface GptLayout {
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  numberOfEntries: number;
  entrySize: number;
  /** entries by `index` (< numberOfEntries); unused slots stay zero */
  entries: GptEntry[];
}

/** A GPT header sector (`sectorSize` bytes) and its entry array, CRCs filled in. */
export function encodeGpt(g: GptLayout, sectorSize = 512): { header: Buffer; entries: Buffer } {
  const entries = Buffer.alloc(g.numberOfEntries * g.entrySize);
  for (const e of g.entries) {
    if (e.index < 0 || e.index >= g.numberOfEntries) throw new RangeError(`GPT entry index ${e.index}`);
    const o = e.index * g.entrySize;
    encodeGuid(e.typeGuid, entries, o);
    encodeGuid(e.uniqueGuid, entries, o + 16);
    put64(entries, o + 32, e.firstLba); put64(entries, o + 40, e.lastLba);
    put32(entries, o + 48, e.attributesLow); put32(entries, o + 52, e.attributesHigh);
    const name = Buffer.from(e.name, 'utf16le').subarray(0, 72);
    name.copy(entries, o + 56);
  }
  const header = Buffer.alloc(sectorSize);
  header.write(GPT_SIGNATURE, 0, 'latin1');
  put32(header, 8, 0x00010000);
  put32(header, 12, GPT_HEADER_MIN);
  put64(header, 24, g.myLba); put64(header, 32, g.alternateLba);
  put64(header, 40, g.firstUsableLba); put64(header, 48, g.lastUsableLba);
  encodeGuid(g.diskGuid, header, 56);
  put64(header, 72, g.entriesLba);
  put32(header, 80, g.numberOfEntries); put32(header, 84, g.entrySize);
  put32(header, 88, crc32(entries) >>> 0);
  put32(header, 16, crc32(header.subarray(0, GPT_HEADER_MIN)) >>> 0);
  return { header, entries };
}
