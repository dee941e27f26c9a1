// The node kernel for lab-tiny: the Debian kernel agent/build uses for the discovery ramdisk, through its
// own code (resolve the version, `apt-get download`, `dpkg -x`, `depmod -b`), unpacked into the images
// cache. The ramdisk build's downloaded .deb is reused when it is the same kernel.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findDeb, packageFor, resolveKernel, type KernelChoice, type Log } from '../../agent/build/kernel-package.ts';

export { fetchKernelDeb, findDeb, unpackKernel, type KernelChoice } from '../../agent/build/kernel-package.ts';

/** True when `debDir` holds the .deb of `k`. */
export function hasDebForKernel(debDir: string, k: KernelChoice): boolean {
  return findDeb(debDir, k.packageName) !== null;
}

/**
 * The kernel to build with: $RACKSEED_KERNEL_VERSION or what linux-image-amd64 depends on (apt-cache), else
 * (offline, no apt lists) the previous build's, else any kernel .deb in our cache.
 */
export function resolveKernelFor(cacheDir: string, previous: string | null, log: Log): KernelChoice {
  const k = resolveKernel();
  if (k) return k;
  if (previous) {
    log(`apt-cache gave no kernel; reusing ${previous} from the previous build`);
    return packageFor(previous);
  }
  const debDir = join(cacheDir, 'debs');
  const debs = existsSync(debDir) ? readdirSync(debDir) : [];
  for (const f of debs.sort().reverse()) {
    const m = /^linux-image-(\d.*-amd64)-unsigned_/.exec(f);
    if (m) return packageFor(m[1]);
  }
  throw new Error('cannot tell which kernel to use: apt-cache knows no linux-image-amd64 (run apt-get update) and nothing is cached; ' +
    'or set RACKSEED_KERNEL_VERSION');
}
