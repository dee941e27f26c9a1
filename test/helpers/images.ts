// Tiny disk images for the image-library tests, made with Debian tools and no mounts (lab-notes.md): sfdisk on an
// image file, mkfs.vfat -C + mmd/mcopy for the ESP, dd conv=notrunc to place it, qemu-img/gzip/xz for the variants.
// scripts/setup.sh installs them (fdisk, dosfstools, mtools, qemu-utils, xz-utils).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';

const MiB = 1024 * 1024;
const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', LC_ALL: 'C', PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };
const run = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { env, input, stdio: ['pipe', 'pipe', 'pipe'] });

/** Some bytes that look like boot code (not all zero). */
export const BOOT_CODE = Buffer.from('fa31c08ed08ed8bc007cfbfcebfe', 'hex');

function writeAt(path: string, offset: number, data: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try { writeSync(fd, data, 0, data.length, offset); } finally { closeSync(fd); }
}

function blank(path: string, bytes: number): void {
  rmSync(path, { force: true });
  run('truncate', ['-s', String(bytes), path]);
}

/** A FAT file system image (`kib` KiB) holding `files` (path inside → content); `fatBits` forces FAT12/16/32. */
export function fatImage(path: string, kib: number, files: Record<string, Buffer | string>, fatBits?: 12 | 16 | 32): void {
  rmSync(path, { force: true });
  run('mkfs.vfat', [...(fatBits ? ['-F', String(fatBits), '-s', '1'] : []), '-C', path, String(kib)]);
  const dirs = new Set<string>();
  for (const f of Object.keys(files)) {
    const parts = f.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort()) run('mmd', ['-i', path, `::/${d}`]);
  for (const [f, content] of Object.entries(files)) {
    const tmp = `${path}.file`;
    writeFileSync(tmp, content);
    run('mcopy', ['-i', path, tmp, `::/${f}`]);
    rmSync(tmp);
  }
}

/** BIOS: MBR with boot code, one active Linux partition with some data at 1 MiB. 4 MiB. */
export function biosMbrImage(path: string): void {
  blank(path, 4 * MiB);
  run('sfdisk', ['-q', path], 'label: dos\nstart=2048, type=83, bootable\n');
  writeAt(path, 0, BOOT_CODE);
  writeAt(path, MiB, randomBytes(64 * 1024));
}

/** UEFI: GPT with an ESP (FAT16, 8 MiB) holding EFI/BOOT/BOOTX64.EFI, no MBR boot code. 12 MiB. */
export function gptEspImage(path: string, loader = 'EFI/BOOT/BOOTX64.EFI'): void {
  blank(path, 12 * MiB);
  run('sfdisk', ['-q', path], 'label: gpt\nstart=2048, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n');
  const fat = `${path}.fat`;
  fatImage(fat, 8192, { [loader]: randomBytes(20000), 'EFI/debian/grub.cfg': 'set root=(hd0,gpt2)\n' });
  run('dd', [`if=${fat}`, `of=${path}`, 'bs=512', 'seek=2048', 'conv=notrunc', 'status=none']);
  rmSync(fat);
}

/** BIOS + UEFI: GPT with a BIOS-boot partition, an ESP with the loader, MBR boot code (the Debian cloud layout). 12 MiB. */
export function gptHybridImage(path: string): void {
  gptEspImage(path);
  run('sfdisk', ['-q', '--append', path], 'start=18432, size=2048, type=21686148-6449-6E6F-744E-656564454649\n');
  writeAt(path, 0, BOOT_CODE);
}

/** Neither: GPT with one Linux partition (data, no ESP), no boot code. 4 MiB. */
export function nonBootableImage(path: string): void {
  blank(path, 4 * MiB);
  run('sfdisk', ['-q', path], 'label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n');
  writeAt(path, MiB, randomBytes(4096));
}

export function toQcow2(raw: string, out: string): string {
  run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, out]);
  return out;
}

export function toGzip(src: string, out: string): string {
  writeFileSync(out, run('gzip', ['-c', '-6', src]));
  return out;
}

export function toXz(src: string, out: string): string {
  writeFileSync(out, run('xz', ['-c', '-1', src]));
  return out;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A qcow2 whose first L1 entry points far past the end of the file: `qemu-img check` reports corruption. */
export function corruptQcow2(raw: string, out: string): string {
  toQcow2(raw, out);
  const b = readFileSync(out);
  const l1 = Number(b.readBigUInt64BE(40));
  const entry = Buffer.alloc(8);
  entry.writeBigUInt64BE(0x8000000000000000n | 0x7fff0000n);
  writeAt(out, l1, entry);
  return out;
}
