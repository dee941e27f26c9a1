// A read-only FAT12/16/32 reader, just enough to find one path (EFI/BOOT/BOOTX64.EFI) in an EFI System Partition.
// Bytes come from an injected `read(offset, length)` relative to the volume's first byte, so this file does no I/O
// itself; every offset, size, cluster number and chain is bounds-checked (a chain longer than the cluster count is a
// loop), and anything malformed is a FatError naming the byte offset. Names are matched on the 8.3 short entry,
// case-insensitively, as UEFI firmware does; long-name (VFAT) entries are skipped.
// Why not mtools' `mdir` (which the tests use to build images): the daemon runs as root and this parses files the
// user imported; a small checked reader in the daemon's own language is easier to trust and to fuzz.

export class FatError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'FatError';
  }
}

/** Read `length` bytes at `offset` of the volume; may return fewer at the end of the volume. */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

export interface FatVolume {
  type: 12 | 16 | 32;
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  numFats: number;
  /** FAT12/16 root directory entries (0 on FAT32) */
  rootEntries: number;
  totalSectors: number;
  sectorsPerFat: number;
  /** FAT32: first cluster of the root directory */
  rootCluster: number;
  /** byte offset of the first FAT */
  fatOffset: number;
  /** byte offset of the FAT12/16 root directory */
  rootDirOffset: number;
  /** byte offset of cluster 2 */
  dataOffset: number;
  clusterCount: number;
  clusterBytes: number;
}

export interface FatDirEntry {
  /** "BOOTX64.EFI" (upper case as stored, '.' between name and extension when there is one) */
  name: string;
  attributes: number;
  directory: boolean;
  firstCluster: number;
  size: number;
}

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

const ATTR_VOLUME = 0x08;
const ATTR_DIRECTORY = 0x10;
const ATTR_LFN = 0x0f;
/** the largest directory this reader walks (the FAT limit: 65 536 entries) */
const MAX_DIR_BYTES = 65536 * 32;

/** The boot sector (BPB) of a FAT volume of `volumeBytes` bytes; the FAT type follows from the cluster count. */
export function decodeFatBootSector(b: Uint8Array, volumeBytes: number): FatVolume {
  if (b.length < 512) throw new FatError(`boot sector needs 512 bytes, got ${b.length}`, b.length);
  const bytesPerSector = u16(b, 11);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) throw new FatError(`bytes per sector ${bytesPerSector} is not 512, 1024, 2048 or 4096`, 11);
  const sectorsPerCluster = b[13]!;
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) throw new FatError(`sectors per cluster ${sectorsPerCluster} is not a power of two`, 13);
  const reservedSectors = u16(b, 14);
  if (reservedSectors === 0) throw new FatError('no reserved sectors', 14);
  const numFats = b[16]!;
  if (numFats === 0) throw new FatError('no FAT', 16);
  const rootEntries = u16(b, 17);
  const totalSectors = u16(b, 19) || u32(b, 32);
  if (totalSectors === 0) throw new FatError('total sectors is 0', 19);
  const sectorsPerFat = u16(b, 22) || u32(b, 36);
  if (sectorsPerFat === 0) throw new FatError('sectors per FAT is 0', 22);
  if (totalSectors * bytesPerSector > volumeBytes) {
    throw new FatError(`file system of ${totalSectors * bytesPerSector} bytes is larger than its partition (${volumeBytes} bytes)`, 19);
  }
  const rootDirSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const firstDataSector = reservedSectors + numFats * sectorsPerFat + rootDirSectors;
  if (firstDataSector >= totalSectors) throw new FatError(`data region starts (sector ${firstDataSector}) past the volume's end (${totalSectors} sectors)`, 14);
  const clusterCount = Math.floor((totalSectors - firstDataSector) / sectorsPerCluster);
  const type: 12 | 16 | 32 = clusterCount < 4085 ? 12 : clusterCount < 65525 ? 16 : 32;
  if (type === 32 && rootEntries !== 0) throw new FatError('FAT32 with a fixed root directory', 17);
  if (type !== 32 && rootEntries === 0) throw new FatError(`FAT${type} without root directory entries`, 17);
  const fatBytesNeeded = Math.ceil(((clusterCount + 2) * (type === 12 ? 1.5 : type / 8)));
  if (sectorsPerFat * bytesPerSector < fatBytesNeeded) throw new FatError(`FAT of ${sectorsPerFat * bytesPerSector} bytes cannot map ${clusterCount} clusters`, 22);
  return {
    type, bytesPerSector, sectorsPerCluster, reservedSectors, numFats, rootEntries, totalSectors, sectorsPerFat,
    rootCluster: type === 32 ? u32(b, 44) : 0,
    fatOffset: reservedSectors * bytesPerSector,
    rootDirOffset: (reservedSectors + numFats * sectorsPerFat) * bytesPerSector,
    dataOffset: firstDataSector * bytesPerSector,
    clusterCount, clusterBytes: sectorsPerCluster * bytesPerSector,
  };
}

/** Directory entries in `b` (32 bytes each) up to the end marker; deleted, long-name and volume-label entries skipped. */
export function decodeDirEntries(b: Uint8Array): { entries: FatDirEntry[]; ended: boolean } {
  const entries: FatDirEntry[] = [];
  for (let o = 0; o + 32 <= b.length; o += 32) {
    const first = b[o]!;
    if (first === 0x00) return { entries, ended: true };
    if (first === 0xe5) continue;
    const attributes = b[o + 11]!;
    if ((attributes & ATTR_LFN) === ATTR_LFN || (attributes & ATTR_VOLUME)) continue;
    const raw = Array.from(b.subarray(o, o + 11));
    if (raw[0] === 0x05) raw[0] = 0xe5;
    const text = (bytes: number[]) => String.fromCharCode(...bytes).replace(/ +$/, '');
    const base = text(raw.slice(0, 8));
    const ext = text(raw.slice(8, 11));
    entries.push({
      name: ext ? `${base}.${ext}` : base, attributes, directory: (attributes & ATTR_DIRECTORY) !== 0,
      firstCluster: ((u16(b, o + 20) << 16) | u16(b, o + 26)) >>> 0, size: u32(b, o + 28),
    });
  }
  return { entries, ended: false };
}

/** Next cluster after `cluster` in the chain, or null at its end; a free, bad or out-of-range link is a FatError. */
export async function nextCluster(read: ReadAt, v: FatVolume, cluster: number): Promise<number | null> {
  checkCluster(v, cluster, v.fatOffset);
  let value: number;
  if (v.type === 12) {
    const off = v.fatOffset + Math.floor(cluster * 1.5);
    const b = await readExact(read, off, 2);
    const pair = u16(b, 0);
    value = cluster & 1 ? pair >>> 4 : pair & 0xfff;
    if (value >= 0xff8) return null;
    if (value === 0xff7) throw new FatError(`cluster ${cluster} links to a bad cluster`, off);
  } else if (v.type === 16) {
    const off = v.fatOffset + cluster * 2;
    value = u16(await readExact(read, off, 2), 0);
    if (value >= 0xfff8) return null;
    if (value === 0xfff7) throw new FatError(`cluster ${cluster} links to a bad cluster`, off);
  } else {
    const off = v.fatOffset + cluster * 4;
    value = u32(await readExact(read, off, 4), 0) & 0x0fffffff;
    if (value >= 0x0ffffff8) return null;
    if (value === 0x0ffffff7) throw new FatError(`cluster ${cluster} links to a bad cluster`, off);
  }
  checkCluster(v, value, v.fatOffset);
  return value;
}

function checkCluster(v: FatVolume, c: number, at: number): void {
  if (c < 2 || c >= v.clusterCount + 2) throw new FatError(`cluster ${c} outside 2..${v.clusterCount + 1}`, at);
}

async function readExact(read: ReadAt, offset: number, length: number): Promise<Uint8Array> {
  const b = await read(offset, length);
  if (b.length < length) throw new FatError(`volume ends before ${length} bytes could be read`, offset);
  return b;
}

/** Entries of the directory starting at `cluster` (0 = the root directory). */
export async function readDirectory(read: ReadAt, v: FatVolume, cluster: number): Promise<FatDirEntry[]> {
  if (cluster === 0 && v.type !== 32) {
    return decodeDirEntries(await readExact(read, v.rootDirOffset, v.rootEntries * 32)).entries;
  }
  let c: number | null = cluster === 0 ? v.rootCluster : cluster;
  const out: FatDirEntry[] = [];
  let bytes = 0;
  for (let hops = 0; c !== null; hops++) {
    if (hops > v.clusterCount) throw new FatError(`directory cluster chain from ${cluster} loops`, v.fatOffset);
    checkCluster(v, c, v.dataOffset);
    if ((bytes += v.clusterBytes) > MAX_DIR_BYTES) throw new FatError(`directory larger than ${MAX_DIR_BYTES} bytes`, v.dataOffset);
    const data = await readExact(read, v.dataOffset + (c - 2) * v.clusterBytes, v.clusterBytes);
    const { entries, ended } = decodeDirEntries(data);
    out.push(...entries);
    if (ended) break;
    c = await nextCluster(read, v, c);
  }
  return out;
}

/**
 * Find `path` (components, e.g. ["EFI", "BOOT", "BOOTX64.EFI"]) in the volume of `volumeBytes` bytes: the entry, or
 * null when a component is missing (or a middle one is not a directory). Malformed volumes throw FatError.
 */
export async function findFatPath(read: ReadAt, volumeBytes: number, path: string[]): Promise<FatDirEntry | null> {
  const v = decodeFatBootSector(await readExact(read, 0, 512), volumeBytes);
  let dir = 0;
  for (let i = 0; i < path.length; i++) {
    const want = path[i]!.toUpperCase();
    const hit = (await readDirectory(read, v, dir)).find((e) => e.name.toUpperCase() === want);
    if (!hit) return null;
    if (i === path.length - 1) return hit;
    if (!hit.directory) return null;
    // ".." to the root is stored as cluster 0; a subdirectory never legitimately points at the root
    if (hit.firstCluster === 0) return null;
    dir = hit.firstCluster;
  }
  return null;
}
