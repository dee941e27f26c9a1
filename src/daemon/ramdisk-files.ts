// The HTTP boot server's /files/ root: a private folder holding only the discovery kernel and initrd that
// agent/build/manifest.ts ramdiskPaths() names — not the build folder itself, which also holds the downloaded
// .debs, the unpacked kernel-root/ and the manifest. Files are hard-linked (copied when the build folder is on
// another filesystem), so a rebuild that replaces them does not change what a running configuration serves.
import { copyFileSync, linkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ramdiskPaths } from '../../agent/build/manifest.ts';

export interface RamdiskFiles {
  /** folder to serve as /files/: exactly the kernel and the initrd, under their build names (empty when not built) */
  root: string;
  /** URL paths on the HTTP boot server, e.g. "/files/vmlinuz-6.1.0-56-amd64"; null when no complete build exists */
  ramdisk: { kernelPath: string; initrdPath: string } | null;
  /** remove the folder (idempotent) */
  dispose(): void;
}

function linkOrCopy(from: string, to: string): void {
  try { linkSync(from, to); } catch { copyFileSync(from, to); }
}

/**
 * A files root with only the kernel and initrd of the ramdisk built in `ramdiskRoot`; `ramdisk` is null (and the
 * root empty) when no complete build is there (no manifest, or its kernel/initrd missing). `parent` is where the
 * private folder is made (default the OS temp folder).
 */
export function prepareRamdiskFiles(ramdiskRoot: string, parent: string = tmpdir()): RamdiskFiles {
  const root = mkdtempSync(join(parent, 'rackseed-files-'));
  const dispose = () => rmSync(root, { recursive: true, force: true });
  const paths = ramdiskPaths(ramdiskRoot);
  if (!paths || basename(paths.kernel) === basename(paths.initrd)) return { root, ramdisk: null, dispose };
  const kernel = basename(paths.kernel);
  const initrd = basename(paths.initrd);
  try {
    linkOrCopy(paths.kernel, join(root, kernel));
    linkOrCopy(paths.initrd, join(root, initrd));
  } catch (err) {
    dispose();
    throw err;
  }
  return { root, ramdisk: { kernelPath: `/files/${kernel}`, initrdPath: `/files/${initrd}` }, dispose };
}
