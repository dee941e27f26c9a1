// Where the config drive goes on the node's disk (issue 15 items 2–3), as a pure function over the image's first
// sectors: a partition at the end of the disk, as Ironic makes it, holding the config-2 ISO. cloud-init finds a file
// system labelled config-2 on any partition the kernel lists.
//   MBR image: a free primary slot gets a Linux (0x83) partition over the last 64 MiB (1 MiB-aligned; less when the
//              space after the image is smaller, but never less than the ISO); on a disk past 2 TiB it ends at the
//              2 TiB boundary (MBR sector numbers are 32-bit). No free slot is refused with the reason.
//   GPT image: its backup GPT sits at the end of the *image*, in the middle of a larger disk. The table is relocated
//              as `sfdisk --relocate gpt-bak-std` does: the primary header's alternate LBA and last usable LBA move
//              to the disk's end, a backup header and entry array are written there, the old backup header (inside
//              the free space) is zeroed, the protective MBR is made to cover the disk; then a `config-2` partition
//              (Linux filesystem type) is added in a free entry. UEFI firmware ignores partitions outside the
//              usable range and rewrites a missing backup, so both copies are written consistently.
// The daemon computes the bytes; the agent only writes them at the given offsets and reads them back
// (core/deploy/service.ts, agent/ramdisk/deploy.sh). Sectors are 512 bytes (the inventory does not tell the
// logical sector size; 4Kn disks are not handled).
import { createHash } from 'node:crypto';
import {
  GptType, MbrType, decodeGptEntries, decodeGptHeader, decodeMbr, encodeGpt, gptEntriesBytes, type GptEntry,
} from '../images/partition-table.ts';

export const SECTOR = 512;
const MIB = 1024 * 1024;
const ALIGN = MIB / SECTOR;
/** The config drive partition Ironic makes: 64 MiB at the end of the disk. */
export const CONFIG_DRIVE_PARTITION_BYTES = 64 * MIB;
/** How many leading bytes of the image placeConfigDrive needs (MBR + GPT header + a 128 × 128-byte entry array). */
export const PLACEMENT_HEAD_BYTES = 34 * SECTOR;

export class ConfigDrivePlacementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigDrivePlacementError';
  }
}

/** Bytes to write at a byte offset of the disk (offset and length are multiples of 512). */
export interface DiskWrite { offset: number; data: Buffer; what: string }

export interface ConfigDrivePlacement {
  table: 'mbr' | 'gpt';
  /** 1-based partition number the kernel will give it (vda2, sda5, …) */
  partitionNumber: number;
  firstLba: number;
  sectors: number;
  /** in the order to write them: the ISO and any backup table first, the primary table last */
  writes: DiskWrite[];
}

export interface PlacementInput {
  /** the image's first bytes: at least PLACEMENT_HEAD_BYTES, more when its GPT entry array lies further */
  head: Uint8Array;
  imageBytes: number;
  diskBytes: number;
  /** the config-2 ISO (configDriveIso) */
  iso: Uint8Array;
  /** the new GPT partition's unique GUID (stable per deploy, so a re-plan gives the same bytes) */
  partitionGuid: string;
}

const padToSector = (b: Uint8Array): Buffer => {
  const out = Buffer.alloc(Math.ceil(b.length / SECTOR) * SECTOR);
  out.set(b);
  return out;
};

/**
 * The partition for `iso`: the last up to 64 MiB of the usable space ending at `lastLba`, starting on a 1 MiB boundary
 * after the image (its last sector `imageEndLba - 1`). Null when not even the ISO fits there.
 */
function placeAtEnd(imageEndLba: number, lastLba: number, isoSectors: number): { firstLba: number; sectors: number } | null {
  let first = Math.floor((lastLba + 1 - CONFIG_DRIVE_PARTITION_BYTES / SECTOR) / ALIGN) * ALIGN;
  const earliest = Math.ceil(imageEndLba / ALIGN) * ALIGN;
  if (first < earliest) first = earliest;
  const sectors = lastLba - first + 1;
  if (sectors < isoSectors) return null;
  return { firstLba: first, sectors };
}

function noRoom(imageBytes: number, diskBytes: number, isoBytes: number): ConfigDrivePlacementError {
  return new ConfigDrivePlacementError(`no room for the config drive after the image: the image ends at ${imageBytes} bytes, the disk has ${diskBytes} bytes, ` +
    `the config drive needs ${Math.ceil(isoBytes / MIB)} MiB on a 1 MiB boundary (choose a larger disk)`);
}

/** Where and how to write the config drive; throws ConfigDrivePlacementError with the reason when it cannot. */
export function placeConfigDrive(p: PlacementInput): ConfigDrivePlacement {
  if (p.head.length < SECTOR) throw new ConfigDrivePlacementError(`the image is shorter than one sector (${p.head.length} bytes read)`);
  if (p.diskBytes % SECTOR !== 0) throw new ConfigDrivePlacementError(`the disk size ${p.diskBytes} is not a multiple of ${SECTOR} bytes`);
  if (p.imageBytes > p.diskBytes) throw new ConfigDrivePlacementError(`the image (${p.imageBytes} bytes) is larger than the disk (${p.diskBytes} bytes)`);
  let mbr;
  try { mbr = decodeMbr(p.head.subarray(0, SECTOR)); } catch (err) {
    throw new ConfigDrivePlacementError(`the image has no partition table to add the config drive to (${(err as Error).message})`);
  }
  const isoSectors = Math.ceil(p.iso.length / SECTOR);
  const diskSectors = p.diskBytes / SECTOR;
  const imageEndLba = Math.ceil(p.imageBytes / SECTOR);
  return mbr.partitions.some((x) => x.type === MbrType.GPT_PROTECTIVE)
    ? placeGpt(p, isoSectors, diskSectors, imageEndLba)
    : placeMbr(p, mbr, isoSectors, diskSectors, imageEndLba);
}

function placeMbr(p: PlacementInput, mbr: ReturnType<typeof decodeMbr>, isoSectors: number, diskSectors: number, imageEndLba: number): ConfigDrivePlacement {
  const used = mbr.partitions.filter((x) => x.type !== MbrType.EMPTY && x.sectors > 0);
  const free = mbr.partitions.find((x) => x.type === MbrType.EMPTY && x.sectors === 0 && x.firstLba === 0);
  if (!free) {
    throw new ConfigDrivePlacementError('the image\'s MBR has no free primary partition slot for the config drive (all four are used); ' +
      'use an image with at most three primary partitions, or a GPT image');
  }
  // 32-bit sector numbers: on a larger disk the partition ends at 2 TiB
  const lastLba = Math.min(diskSectors - 1, 0xffffffff - 1);
  const at = placeAtEnd(Math.max(imageEndLba, ...used.map((x) => x.firstLba + x.sectors)), lastLba, isoSectors);
  if (!at) throw noRoom(p.imageBytes, p.diskBytes, p.iso.length);
  const sector0 = Buffer.from(p.head.subarray(0, SECTOR));
  const o = 446 + 16 * free.index;
  sector0.fill(0, o, o + 16);
  sector0[o] = 0x00; // not active: the image's own boot partition stays the active one
  // CHS fields: "use the LBA fields" (FE FF FF), as every tool writes for partitions past cylinder 1023
  sector0[o + 1] = 0xfe; sector0[o + 2] = 0xff; sector0[o + 3] = 0xff;
  sector0[o + 4] = 0x83; // Linux
  sector0[o + 5] = 0xfe; sector0[o + 6] = 0xff; sector0[o + 7] = 0xff;
  sector0.writeUInt32LE(at.firstLba, o + 8);
  sector0.writeUInt32LE(at.sectors, o + 12);
  return {
    table: 'mbr', partitionNumber: free.index + 1, firstLba: at.firstLba, sectors: at.sectors,
    writes: [
      { offset: at.firstLba * SECTOR, data: padToSector(p.iso), what: 'config-2 ISO' },
      { offset: 0, data: sector0, what: `MBR with partition ${free.index + 1} (config drive)` },
    ],
  };
}

function placeGpt(p: PlacementInput, isoSectors: number, diskSectors: number, imageEndLba: number): ConfigDrivePlacement {
  if (p.head.length < 2 * SECTOR) throw new ConfigDrivePlacementError('the image is too short to hold its GPT header');
  let h;
  let entries: GptEntry[];
  try {
    h = decodeGptHeader(p.head.subarray(SECTOR, 2 * SECTOR));
    if (h.myLba !== 1) throw new Error(`the primary GPT header says it is at LBA ${h.myLba}`);
    const start = h.entriesLba * SECTOR;
    const end = start + gptEntriesBytes(h);
    if (end > p.head.length) throw new ConfigDrivePlacementError(`the GPT entry array ends at byte ${end}; only ${p.head.length} bytes of the image were read`);
    entries = decodeGptEntries(p.head.subarray(start, end), h);
  } catch (err) {
    if (err instanceof ConfigDrivePlacementError) throw err;
    throw new ConfigDrivePlacementError(`the image's GPT cannot be read to add the config drive: ${(err as Error).message}`);
  }
  const free = Array.from({ length: h.numberOfEntries }, (_, i) => i).find((i) => !entries.some((e) => e.index === i));
  if (free === undefined) throw new ConfigDrivePlacementError(`the image's GPT has no free entry for the config drive (all ${h.numberOfEntries} are used)`);
  const arraySectors = Math.ceil(gptEntriesBytes(h) / SECTOR);
  const altLba = diskSectors - 1;
  const backupEntriesLba = altLba - arraySectors;
  const lastUsable = backupEntriesLba - 1;
  // after the image (whose end holds its old backup table) and after every partition it lists
  const at = placeAtEnd(Math.max(imageEndLba, ...entries.map((e) => e.lastLba + 1)), lastUsable, isoSectors);
  if (!at) throw noRoom(p.imageBytes, p.diskBytes, p.iso.length);
  const added: GptEntry = {
    index: free, typeGuid: GptType.LINUX_FS, uniqueGuid: p.partitionGuid.toUpperCase(), firstLba: at.firstLba, lastLba: at.firstLba + at.sectors - 1,
    attributesLow: 0, attributesHigh: 0, name: 'config-2',
  };
  const layout = {
    firstUsableLba: h.firstUsableLba, lastUsableLba: lastUsable, diskGuid: h.diskGuid, numberOfEntries: h.numberOfEntries, entrySize: h.entrySize,
    entries: [...entries, added],
  };
  const primary = encodeGpt({ ...layout, myLba: 1, alternateLba: altLba, entriesLba: h.entriesLba });
  const backup = encodeGpt({ ...layout, myLba: altLba, alternateLba: 1, entriesLba: backupEntriesLba });
  // the protective MBR covers the whole disk (or 2 TiB), as the spec asks
  const pmbr = Buffer.from(p.head.subarray(0, SECTOR));
  const mbr = decodeMbr(pmbr);
  const prot = mbr.partitions.find((x) => x.type === MbrType.GPT_PROTECTIVE)!;
  pmbr.writeUInt32LE(Math.min(diskSectors - 1, 0xffffffff), 446 + 16 * prot.index + 12);
  const writes: DiskWrite[] = [
    { offset: at.firstLba * SECTOR, data: padToSector(p.iso), what: 'config-2 ISO' },
    { offset: backupEntriesLba * SECTOR, data: Buffer.concat([padToSector(backup.entries), backup.header]), what: 'backup GPT at the end of the disk' },
  ];
  // the image's own backup header, now in the free space before the config drive: zeroed so no tool mistakes it
  if (h.alternateLba !== altLba && h.alternateLba > 1 && h.alternateLba < at.firstLba) {
    writes.push({ offset: h.alternateLba * SECTOR, data: Buffer.alloc(SECTOR), what: 'old backup GPT header at the end of the image (zeroed)' });
  }
  writes.push({ offset: 0, data: pmbr, what: 'protective MBR covering the disk' });
  writes.push({ offset: SECTOR, data: primary.header, what: 'primary GPT header' });
  writes.push({ offset: h.entriesLba * SECTOR, data: padToSector(primary.entries), what: `primary GPT entries with partition ${free + 1} (config-2)` });
  return { table: 'gpt', partitionNumber: free + 1, firstLba: at.firstLba, sectors: at.sectors, writes };
}

/** A GUID-shaped (version 4 layout) value derived from `seed`: the same deploy gets the same partition GUID. */
export function guidFrom(seed: string): string {
  const h = createHash('sha256').update(`rackseed-config-drive:${seed}`).digest('hex');
  const v = `${h.slice(0, 12)}4${h.slice(13, 16)}${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 32)}`;
  return `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20, 32)}`.toUpperCase();
}
