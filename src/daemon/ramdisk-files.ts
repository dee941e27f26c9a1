// The HTTP boot server's /files/ root: a private folder holding only the discovery kernel and initrd that
// agent/build/manifest.ts ramdiskPaths() names — not the build folder itself, which also holds the downloaded
// .debs, the unpacked kernel-root/ and the manifest. Files are hard-linked (copied when the build folder is on
// another filesystem), so a rebuild that replaces them does not change what a running configuration serves.
import { copyFileSync, linkSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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

const PREFIX = 'rackseed-files-';

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Remove folders in `parent` left by daemons that died without stopping their services (kill -9, power loss). */
function removeStale(parent: string): void {
  let names: string[];
  try { names = readdirSync(parent); } catch { return; }
  for (const n of names) {
    const m = /^rackseed-files-(\d+)-/.exec(n);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) rmSync(join(parent, n), { recursive: true, force: true });
  }
}

function linkOrCopy(from: string, to: string): void {
  try { linkSync(from, to); } catch { copyFileSync(from, to); }
}

/**
 * A files root with only the kernel and initrd of the ramdisk built in `ramdiskRoot`; `ramdisk` is null (and the
 * root empty) when no complete build is there (no manifest, or its kernel/initrd missing). `parent` is where the
 * private folder (`rackseed-files-<pid>-…`) is made, default the OS temp folder; folders there of daemons no longer
 * running are removed first.
 */
export function prepareRamdiskFiles(ramdiskRoot: string, parent: string = tmpdir()): RamdiskFiles {
  removeStale(parent);
  const root = mkdtempSync(join(parent, `${PREFIX}${process.pid}-`));
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
