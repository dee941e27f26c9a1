// Which kernel modules the discovery ramdisk carries: the NIC, storage and BMC drivers common in
// servers and in QEMU, plus everything they depend on (`modprobe --show-depends` against the unpacked
// kernel tree, so the host's own kernel is never consulted).
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';

/**
 * Requested drivers, in a stable order. `crc64_rocksoft_generic` is a soft dependency of sd_mod/nvme
 * that neither depmod's closure nor busybox modprobe follow, so it is named explicitly.
 */
export const RAMDISK_MODULES: readonly string[] = [
  // NICs
  'e1000', 'e1000e', 'igb', 'ixgbe', 'i40e', 'bnxt_en', 'tg3', 'virtio_net', 'virtio_pci',
  // storage
  'virtio_blk', 'virtio_scsi', 'nvme', 'ahci', 'ata_piix', 'sd_mod', 'megaraid_sas', 'mpt3sas', 'crc64_rocksoft_generic',
  // BMC
  'ipmi_si', 'ipmi_devintf',
];

export interface ModuleClosure {
  /** module files, relative to lib/modules/<kver>/, sorted and unique */
  files: string[];
  /** module names of those files (file base name, '-' → '_'), sorted */
  names: string[];
  /** requested modules this kernel lacks (or has built in), with the reason */
  skipped: { name: string; reason: string }[];
}

/** Module name of a .ko path, as the kernel spells it ("crc64-rocksoft.ko" → "crc64_rocksoft"). */
export function moduleName(file: string): string {
  return (file.split('/').pop() ?? file).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/**
 * Resolve `wanted` against the kernel unpacked at `root` (with depmod already run). A module missing
 * from this kernel is skipped with its reason rather than failing the build; a built-in one needs no file.
 */
export function moduleClosure(root: string, kernelVersion: string, wanted: readonly string[] = RAMDISK_MODULES): ModuleClosure {
  const modDir = `${root}/lib/modules/${kernelVersion}`;
  const files = new Set<string>();
  const skipped: { name: string; reason: string }[] = [];
  for (const name of wanted) {
    let out: string;
    try {
      out = execFileSync('modprobe', ['-d', root, '-S', kernelVersion, '--show-depends', name], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      const msg = String((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n')[0];
      skipped.push({ name, reason: msg || 'not found' });
      continue;
    }
    let found = false;
    for (const line of out.split('\n')) {
      const m = /^insmod (\S+)/.exec(line.trim());
      if (m) { files.add(relative(modDir, m[1])); found = true; }
    }
    if (!found) skipped.push({ name, reason: /^builtin /m.test(out) ? 'built into the kernel' : 'no module file' });
  }
  const sorted = [...files].sort();
  return { files: sorted, names: [...new Set(sorted.map(moduleName))].sort(), skipped };
}
