// Partition layouts of the lab images and the GRUB BIOS boot sector patches, as pure functions: sector
// numbers in, an sfdisk script and patched boot code out. All sectors are 512 bytes; partitions start on
// MiB boundaries. Fixed disk and partition identifiers keep the images reproducible.
export const SECTOR = 512;
export const MIB = 1024 * 1024;
const MIB_SECTORS = MIB / SECTOR;

/** GPT partition type GUIDs and MBR type bytes used here. */
export const PART_TYPE = {
  biosBoot: '21686148-6449-6E6F-744E-656564454649', // "Hah!IdontNeedEFI"
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  linuxFs: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  mbrEsp: 'ef',
} as const;

export interface Partition {
  name: string;
  /** first sector */
  start: number;
  /** length in sectors */
  size: number;
  /** GPT type GUID, or MBR type byte in hex */
  type: string;
  /** GPT partition GUID (fixed, for reproducibility) */
  uuid?: string;
  /** MBR active flag (what syslinux's mbr.bin boots) */
  bootable?: boolean;
}

export interface DiskLayout {
  label: 'dos' | 'gpt';
  /** MBR disk signature (0x…) or GPT disk GUID */
  labelId: string;
  sizeBytes: number;
  partitions: Partition[];
}

/** lab-tiny: a 64 MiB MBR disk holding one FAT16 ESP (type 0xEF, active) from 1 MiB to the end. */
export function tinyLayout(): DiskLayout {
  const size = 64 * MIB;
  return {
    label: 'dos', labelId: '0x52535459', sizeBytes: size,
    partitions: [{ name: 'esp', start: MIB_SECTORS, size: size / SECTOR - MIB_SECTORS, type: PART_TYPE.mbrEsp, bootable: true }],
  };
}

/**
 * lab-debian: GPT with a 1 MiB BIOS boot partition at sector 2048 (GRUB's core.img), an ESP of `espMiB` and
 * an ext4 root of `rootMiB`, then 1 MiB for the backup GPT.
 */
export function debianLayout(espMiB: number, rootMiB: number): DiskLayout {
  const bios = { name: 'bios', start: MIB_SECTORS, size: MIB_SECTORS, type: PART_TYPE.biosBoot, uuid: 'F7D3E5A1-5253-4C41-8001-000000000001' };
  const esp = { name: 'esp', start: 2 * MIB_SECTORS, size: espMiB * MIB_SECTORS, type: PART_TYPE.esp, uuid: 'F7D3E5A1-5253-4C41-8001-000000000002' };
  const root = { name: 'root', start: (2 + espMiB) * MIB_SECTORS, size: rootMiB * MIB_SECTORS, type: PART_TYPE.linuxFs, uuid: 'F7D3E5A1-5253-4C41-8001-000000000003' };
  return { label: 'gpt', labelId: 'F7D3E5A1-5253-4C41-8000-000000000000', sizeBytes: (3 + espMiB + rootMiB) * MIB, partitions: [bios, esp, root] };
}

/** The script `sfdisk DISK < script` turns into this layout (a file, not a device: no kernel re-read). */
export function sfdiskScript(l: DiskLayout): string {
  const lines = [`label: ${l.label}`, `label-id: ${l.labelId}`, 'unit: sectors'];
  if (l.label === 'gpt') lines.push('first-lba: 2048', `last-lba: ${l.sizeBytes / SECTOR - 34}`);
  for (const p of l.partitions) {
    const fields = [`start=${p.start}`, `size=${p.size}`, `type=${p.type}`];
    if (l.label === 'gpt') fields.push(`uuid=${p.uuid}`, `name="${p.name}"`);
    if (p.bootable) fields.push('bootable');
    lines.push(fields.join(', '));
  }
  return `${lines.join('\n')}\n`;
}

export function describeLayout(l: DiskLayout, fs: Record<string, string>): string[] {
  return [
    `${l.label === 'gpt' ? 'GPT' : 'MBR'} ${l.labelId}, ${l.sizeBytes / MIB} MiB`,
    ...l.partitions.map((p, i) => `${i + 1}: ${p.name} sectors ${p.start}+${p.size} (${(p.size * SECTOR) / MIB} MiB) type ${p.type}${p.bootable ? ' active' : ''}${fs[p.name] ? ` — ${fs[p.name]}` : ''}`),
  ];
}

/** Offsets in GRUB 2.06's i386-pc images (grub-core/boot/i386/pc/boot.S, diskboot.S; include/grub/i386/pc/boot.h). */
const BOOT_KERNEL_SECTOR = 0x5c; // boot.img: 64-bit LBA of core.img's first sector
const BOOT_CODE_END = 440; // boot.img code + data; the disk signature and partition table follow
const BLOCKLIST = 0x200 - 12; // diskboot.img (core.img's first sector): { u64 start; u16 len; u16 segment }

/**
 * What grub-bios-setup would write, done on bytes because it cannot target an image file: `boot.img`'s
 * first 440 bytes with core.img's LBA patched in (they go over the MBR's code area, keeping the disk
 * signature and the partition table), and `core.img`, padded to whole sectors, with its first blocklist pointing at the sectors
 * that follow it. Throws when the images are not what GRUB 2.06 builds.
 */
export function grubBiosBootCode(bootImg: Buffer, coreImg: Buffer, coreLba: number): { mbrCode: Buffer; core: Buffer } {
  if (bootImg.length !== SECTOR || bootImg.readUInt16LE(510) !== 0xaa55) throw new Error('boot.img is not a 512-byte boot sector');
  if (coreImg.length < 2 * SECTOR) throw new Error(`core.img is ${coreImg.length} bytes, too short`);
  const sectors = Math.ceil(coreImg.length / SECTOR);
  const core = Buffer.alloc(sectors * SECTOR);
  coreImg.copy(core);
  const listStart = Number(core.readBigUInt64LE(BLOCKLIST));
  const listLen = core.readUInt16LE(BLOCKLIST + 8);
  if (listStart !== 2 || listLen !== sectors - 1) {
    throw new Error(`core.img blocklist is start ${listStart} length ${listLen}, expected grub-mkimage's default 2 / ${sectors - 1}`);
  }
  core.writeBigUInt64LE(BigInt(coreLba + 1), BLOCKLIST);
  const mbrCode = Buffer.from(bootImg.subarray(0, BOOT_CODE_END));
  mbrCode.writeBigUInt64LE(BigInt(coreLba), BOOT_KERNEL_SECTOR);
  return { mbrCode, core };
}
