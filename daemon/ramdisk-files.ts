// The HTTP boot server's /files/ root: a private folder holding only the discovery kernel and initrd that
// agent/build/manifest.ts ramdiskPaths() names — not the build folder itself, which also holds the downloaded
// .debs, the unpacked kernel-root/ and the manifest. Files are hard-linked (copied when the build folder is on
// another filesystem), so a rebuild that replaces them does not change what a running configuration serves.
// The daemon runs as root: a source that is (or becomes) a symlink is never linked or copied (O_NOFOLLOW, and the
// link is checked to be the very file opened), and stale folders are removed only when they are our own
// directories — never by name alone in a folder other users can write (the OS temp folder). The daemon passes
// its private `<data dir>/run` (Core.runDir, 0700) as the parent; the OS temp folder is only the default.
import { closeSync, constants, fstatSync, linkSync, lstatSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ramdiskPaths } from '../agent/build/manifest.ts';

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

/**
 * Remove folders in `parent` left by daemons that died without stopping their services (kill -9, power loss):
 * only real directories (lstat: a symlink is left alone) owned by our own effective uid, so a daemon never
 * deletes another user's folder that happens to match the name.
 */
function removeStale(parent: string): void {
  let names: string[];
  try { names = readdirSync(parent); } catch { return; }
  const uid = process.geteuid?.();
  for (const n of names) {
    const m = /^rackseed-files-(\d+)-/.exec(n);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    const path = join(parent, n);
    let st;
    try { st = lstatSync(path); } catch { continue; }
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    rmSync(path, { recursive: true, force: true });
  }
}

/**
 * Hard-link `from` to `to` (copy when linking fails, e.g. across filesystems) — only a regular file, opened without
 * following a symlink, and the link must be that same file (a source swapped after the open is refused).
 */
function linkOrCopy(from: string, to: string): void {
  const fd = openSync(from, constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOFOLLOW ?? 0));
  try {
    const src = fstatSync(fd);
    if (!src.isFile()) throw new Error(`${from} is not a regular file`);
    let linked = false;
    try { linkSync(from, to); linked = true; } catch { /* other filesystem, or links not allowed: copy */ }
    if (linked) {
      const dst = lstatSync(to);
      if (dst.isFile() && dst.ino === src.ino && dst.dev === src.dev) return;
      unlinkSync(to);
      throw new Error(`${from} changed while it was being linked`);
    }
    const out = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o644);
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let pos = 0; ;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n === 0) break;
        for (let off = 0; off < n;) off += writeSync(out, buf, off, n - off);
        pos += n;
      }
    } finally {
      closeSync(out);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * A files root with only the kernel and initrd of the ramdisk built in `ramdiskRoot`; `ramdisk` is null (and the
 * root empty) when no complete build is there (no manifest, or its kernel/initrd missing or not regular files in
 * the build folder: see ramdiskPaths). `parent` is where the private folder (`rackseed-files-<pid>-…`, mkdtemp,
 * 0700) is made — the daemon passes `<data dir>/run`; default the OS temp folder. Our own folders there of
 * daemons no longer running are removed first.
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
