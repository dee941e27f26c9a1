// Which firmware can boot a raw disk image, from its partition tables (partition-table.ts) and its ESP (fat.ts).
//   BIOS: MBR boot code (any non-zero byte in 0..439) + 55 AA, and either an active MBR partition or, on a GPT disk,
//         a BIOS-boot partition (21686148-…, where GRUB keeps core.img) or a partition with the "legacy BIOS
//         bootable" attribute (syslinux gptmbr.bin).
//   UEFI: an EFI System Partition (MBR type 0xEF, or GPT C12A7328-…) whose FAT holds EFI/BOOT/BOOTX64.EFI (the
//         removable-media path firmware boots without NVRAM entries: a freshly written disk has none).
// Sectors are 512 bytes for the MBR; the GPT is looked for at 512 and at 4096.
import type { BootMode } from '../../shared/image.ts';
import {
  decodeGptEntries, decodeGptHeader, decodeMbr, GPT_ATTR_LEGACY_BIOS_BOOTABLE, gptEntriesBytes, GptType, MbrType, PartitionTableError,
  type GptEntry, type Mbr,
} from './partition-table.ts';
import { FatError, findFatPath, type ReadAt } from './fat.ts';

export const UEFI_LOADER = ['EFI', 'BOOT', 'BOOTX64.EFI'];

export interface BootCheck {
  modes: BootMode[];
  /** how BIOS boot was found, or why not */
  bios: string;
  /** how UEFI boot was found, or why not */
  uefi: string;
  /** the partition table seen: 'gpt', 'mbr' or null */
  table: 'gpt' | 'mbr' | null;
}

interface Gpt { sectorSize: number; entries: GptEntry[] }

async function readGpt(read: ReadAt, size: number): Promise<{ gpt: Gpt | null; why: string }> {
  let why = 'no GPT header';
  for (const ss of [512, 4096]) {
    if (size < ss * 2) continue;
    try {
      const h = decodeGptHeader(await read(ss, ss), ss);
      const bytes = gptEntriesBytes(h);
      if (h.entriesLba * ss + bytes > size) { why = 'GPT entry array runs past the end of the image'; continue; }
      return { gpt: { sectorSize: ss, entries: decodeGptEntries(await read(h.entriesLba * ss, bytes), h) }, why: '' };
    } catch (err) {
      if (!(err instanceof PartitionTableError)) throw err;
      if (!/no GPT signature/.test(err.message)) why = `unreadable GPT: ${err.message}`;
    }
  }
  return { gpt: null, why };
}

/** Boot modes of the raw image read through `read` (`size` bytes). Throws only on I/O errors. */
export async function detectBootModes(read: ReadAt, size: number): Promise<BootCheck> {
  let mbr: Mbr | null = null;
  try { mbr = decodeMbr(await read(0, 512)); } catch (err) { if (!(err instanceof PartitionTableError)) throw err; }
  const protective = mbr?.partitions.some((p) => p.type === MbrType.GPT_PROTECTIVE) ?? false;
  const { gpt, why: gptWhy } = protective || !mbr ? await readGpt(read, size) : { gpt: null, why: '' };

  // BIOS
  let bios: string;
  let biosOk = false;
  if (!mbr) {
    bios = 'no MBR (no 55 AA signature)';
  } else if (gpt) {
    const biosPart = gpt.entries.find((e) => e.typeGuid === GptType.BIOS_BOOT);
    const legacy = gpt.entries.find((e) => (e.attributesLow & GPT_ATTR_LEGACY_BIOS_BOOTABLE) !== 0);
    const part = biosPart ?? legacy;
    biosOk = mbr.hasBootCode && part !== undefined;
    if (biosOk) bios = `MBR boot code and ${biosPart ? 'a BIOS-boot' : 'a legacy-BIOS-bootable'} partition (GPT partition ${part!.index + 1})`;
    else if (!mbr.hasBootCode && !part) bios = 'no MBR boot code and no BIOS-boot partition';
    else if (!mbr.hasBootCode) bios = 'no MBR boot code (the BIOS-boot partition is never reached)';
    else bios = 'MBR boot code but no BIOS-boot partition on the GPT disk';
  } else {
    const active = mbr.partitions.find((p) => p.status === 0x80 && p.type !== MbrType.EMPTY && p.type !== MbrType.GPT_PROTECTIVE);
    biosOk = mbr.hasBootCode && active !== undefined;
    if (biosOk) bios = `MBR boot code and an active partition (${active!.index + 1})`;
    else if (protective) bios = `no MBR boot code and no BIOS-boot partition (${gptWhy})`;
    else if (!mbr.hasBootCode && !active) bios = 'no MBR boot code and no active partition';
    else if (!mbr.hasBootCode) bios = 'no MBR boot code';
    else bios = 'MBR boot code but no active (bootable) partition';
  }

  // UEFI
  const esps: { label: string; offset: number; bytes: number }[] = [];
  if (gpt) {
    for (const e of gpt.entries) {
      if (e.typeGuid === GptType.EFI_SYSTEM) esps.push({ label: `GPT partition ${e.index + 1}`, offset: e.firstLba * gpt.sectorSize, bytes: (e.lastLba - e.firstLba + 1) * gpt.sectorSize });
    }
  } else if (mbr) {
    for (const p of mbr.partitions) {
      if (p.type === MbrType.EFI_SYSTEM) esps.push({ label: `MBR partition ${p.index + 1}`, offset: p.firstLba * 512, bytes: p.sectors * 512 });
    }
  }
  let uefi = 'no EFI System Partition with EFI/BOOT/BOOTX64.EFI';
  let uefiOk = false;
  const problems: string[] = [];
  for (const esp of esps) {
    if (esp.offset + esp.bytes > size) { problems.push(`the EFI System Partition (${esp.label}) runs past the end of the image`); continue; }
    const within: ReadAt = async (off, len) => {
      if (off < 0 || off >= esp.bytes) return new Uint8Array(0);
      return read(esp.offset + off, Math.min(len, esp.bytes - off));
    };
    try {
      const hit = await findFatPath(within, esp.bytes, UEFI_LOADER);
      if (hit && !hit.directory) { uefiOk = true; uefi = `EFI/BOOT/BOOTX64.EFI on the EFI System Partition (${esp.label})`; break; }
      problems.push(`the EFI System Partition (${esp.label}) has no EFI/BOOT/BOOTX64.EFI`);
    } catch (err) {
      if (!(err instanceof FatError)) throw err;
      problems.push(`the EFI System Partition (${esp.label}) is not a readable FAT file system: ${err.message}`);
    }
  }
  if (!uefiOk && problems.length > 0) uefi = problems.join('; ');

  const modes: BootMode[] = [];
  if (biosOk) modes.push('bios');
  if (uefiOk) modes.push('uefi');
  return { modes, bios, uefi, table: gpt ? 'gpt' : mbr ? 'mbr' : null };
}

/** The refusal for an image no firmware can boot: the BIOS reason and the UEFI reason. */
export function unbootableReason(c: BootCheck): string {
  return `the image cannot boot: ${c.bios}; ${c.uefi}`;
}
