// GRUB images for the lab disks, made with grub-mkimage from Debian's grub-efi-amd64-bin / grub-pc-bin:
// every module the boot needs is built in and an embedded config finds the file system by its label and
// hands over to normal mode, which reads <that file system>/boot/grub/grub.cfg. Nothing else from GRUB
// lives on the disk. (grub-mkstandalone would do the same with a ~10 MB memdisk of all modules, but its
// tar carries the build's clock and differs on every run; grub-mkimage's output is reproducible.)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './tools.ts';

const COMMON = ['part_msdos', 'part_gpt', 'fat', 'ext2', 'iso9660', 'search', 'search_label', 'search_fs_uuid',
  'normal', 'configfile', 'linux', 'echo', 'test', 'serial', 'terminal', 'boot', 'ls', 'cat', 'sleep', 'gzio'];
const PLATFORM_MODULES = { 'x86_64-efi': ['efi_gop', 'efi_uga', 'chain'], 'i386-pc': ['biosdisk'] } as const;

/** The embedded config: root = the file system labelled `label`, prefix = its /boot/grub. */
export function earlyConfig(label: string): string {
  return `search --no-floppy --label ${label} --set=root\nset prefix=($root)/boot/grub\n`;
}

/**
 * Build a GRUB image for `platform` that boots from the file system labelled `label` (see above).
 * x86_64-efi → a PE binary for EFI/BOOT/BOOTX64.EFI; i386-pc → core.img (diskboot + kernel), to be placed
 * in a BIOS boot partition with layout.ts's grubBiosBootCode().
 */
export function grubImage(platform: 'x86_64-efi' | 'i386-pc', label: string, workDir: string, epoch: number): Buffer {
  const cfg = join(workDir, `grub-early-${platform}.cfg`);
  const out = join(workDir, `grub-${platform}.img`);
  writeFileSync(cfg, earlyConfig(label));
  run('grub-mkimage', ['-O', platform, '-o', out, '-c', cfg, '-p', '/boot/grub',
    ...(platform === 'i386-pc' ? ['--format', 'i386-pc'] : []), ...COMMON, ...PLATFORM_MODULES[platform]], { epoch });
  return readFileSync(out);
}

/** GRUB's boot.img (the MBR code) from grub-pc-bin. */
export function grubBootImg(): Buffer {
  return readFileSync('/usr/lib/grub/i386-pc/boot.img');
}
