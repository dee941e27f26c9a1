// Where the lab images live, their manifests, the inputs key that decides a rebuild, and the build lock.
//
// Layout (default `<repo>/.cache/images`, or $RACKSEED_IMAGES_DIR):
//   lab-tiny/manifest.json  lab-tiny/lab-tiny.raw  lab-tiny/lab-tiny.raw.gz
//   lab-debian/manifest.json  lab-debian/lab-debian.qcow2
//   kernel-root/            the Debian kernel package unpacked (agent/build's kernel code), shared by builds
//   debs/                   the kernel .deb when the ramdisk build has none to lend (.cache/ramdisk/debs)
//   debootstrap-cache/      the .debs debootstrap downloaded (a rebuild does not fetch them again)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { buildLock } from '../../agent/build/build-lock.ts';
import { REPO_ROOT } from '../../agent/build/manifest.ts';

export type Log = (msg: string) => void;
export type LabImageName = 'lab-tiny' | 'lab-debian' | 'lab-control';
export type BootMode = 'bios' | 'uefi';

export interface ImageFile {
  /** a plain file name in the image's folder (absolute once loaded through loadImageManifest) */
  path: string;
  sha256: string;
  size: number;
}

export interface ImageManifest {
  schemaVersion: 1;
  name: LabImageName;
  /** the file to import: raw for lab-tiny, qcow2 for lab-debian */
  image: ImageFile & { format: 'raw' | 'qcow2' };
  /** other exports of the same disk (lab-tiny: raw.gz) */
  extra: (ImageFile & { format: 'raw.gz' })[];
  /** size of the disk the image holds, in bytes */
  virtualSize: number;
  bootModes: BootMode[];
  /** partition table, partitions and labels, for humans and for the deploy engineer's checks */
  layout: string[];
  /** what went in: kernel, tool and package versions, mirror … (the parts of the inputs key a human reads) */
  inputs: Record<string, unknown>;
  /** SHA-256 over every input; the image is rebuilt when it changes */
  inputsKey: string;
  /** the time given to every file and file system (seconds since 1970) */
  sourceDateEpoch: number;
  /** lab-debian: every package installed, "name version" sorted */
  packages?: string[];
  /** seconds the build took */
  buildSeconds: number;
  /** ISO 8601 (informational, not part of the reproducible output) */
  builtAt: string;
}

export const MANIFEST_NAME = 'manifest.json';

export function imagesDir(): string {
  return process.env.RACKSEED_IMAGES_DIR ? resolve(process.env.RACKSEED_IMAGES_DIR) : join(REPO_ROOT, '.cache', 'images');
}

/** The manifest of `name` in `dir` with absolute paths, or null (never built, unreadable, a bad path). */
export function loadImageManifest(dir: string): ImageManifest | null {
  let m: ImageManifest;
  try { m = JSON.parse(readFileSync(join(dir, MANIFEST_NAME), 'utf8')) as ImageManifest; } catch { return null; }
  if (!m || m.schemaVersion !== 1 || !plain(m.image?.path) || !Array.isArray(m.extra) || !m.extra.every((e) => plain(e.path))) return null;
  return { ...m, image: { ...m.image, path: join(dir, m.image.path) }, extra: m.extra.map((e) => ({ ...e, path: join(dir, e.path) })) };
}

function plain(p: unknown): p is string {
  return typeof p === 'string' && p !== '' && p !== '.' && p !== '..' && !/[/\\\0]/.test(p);
}

/** Write the manifest atomically; `paths` in it become plain names. */
export function saveImageManifest(dir: string, m: ImageManifest): void {
  const rel = { ...m, image: { ...m.image, path: basename(m.image.path) }, extra: m.extra.map((e) => ({ ...e, path: basename(e.path) })) };
  const tmp = join(dir, `${MANIFEST_NAME}.tmp-${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(rel, null, 2)}\n`);
  renameSync(tmp, join(dir, MANIFEST_NAME));
}

/** True when every file the manifest names is a regular file of the recorded size (and hash, when `hash`). */
export async function verifyImage(m: ImageManifest, hash = false): Promise<boolean> {
  for (const f of [m.image, ...m.extra]) {
    try {
      const st = lstatSync(f.path);
      if (!st.isFile() || st.size !== f.size) return false;
      if (hash && (await sha256File(f.path)) !== f.sha256) return false;
    } catch {
      return false;
    }
  }
  return true;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('error', rej).on('end', () => res(h.digest('hex')));
  });
}

/** Installed version of each Debian package (null when absent): part of the inputs key and the manifest. */
export function debVersions(pkgs: readonly string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const p of [...pkgs].sort()) {
    try {
      out[p] = execFileSync('dpkg-query', ['-W', '-f', '${Version}', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
    } catch {
      out[p] = null;
    }
  }
  return out;
}

/** SHA-256 of a JSON description of the inputs plus the bytes of the given source files (sorted by path). */
export function inputsKey(description: unknown, files: readonly string[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(description));
  for (const f of [...files].sort()) {
    h.update(`\0${f.startsWith(REPO_ROOT) ? f.slice(REPO_ROOT.length) : f}\0`);
    h.update(readFileSync(f));
  }
  return h.digest('hex');
}

/** Files of lab/images/ an image's bytes depend on: a change to one rebuilds that image. */
export function builderSources(names: readonly string[]): string[] {
  return names.map((n) => join(REPO_ROOT, 'lab', 'images', n));
}

/** Seconds since 1970 for every time stamp of an image: $SOURCE_DATE_EPOCH, else `fallback`. */
export function sourceDateEpoch(fallback: number): number {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  // FAT cannot hold a date before 1980
  if (!Number.isInteger(n) || n < 315532800 || n > 0xffffffff) throw new Error(`SOURCE_DATE_EPOCH ${v}: give seconds since 1970, from 1980 on (FAT dates)`);
  return n;
}

/** A lock file holding our PID (agent/build/build-lock.ts), waiting up to 15 min by default: an image build is long. */
export function lock(path: string, log: Log, timeoutMs = 900_000): Promise<() => void> {
  return buildLock(path, log, timeoutMs);
}
