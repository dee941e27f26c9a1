// Writes a config drive tree (config-drive.ts) as an ISO 9660 image labelled config-2, the way Ironic does:
// `genisoimage -V config-2 -J -r` (Rock Ridge with root-owned files and sane modes, plus Joliet), from
// Debian's genisoimage package. The same tree and epoch give the same bytes: files are staged with that
// mtime, and every time genisoimage takes from the clock or from inode ctimes (volume descriptor dates,
// Rock Ridge TF stamps) is then set to the epoch by normalizeIsoTimes().
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { CONFIG_DRIVE_LABEL, type ConfigDriveTree } from './config-drive.ts';

const execFileP = promisify(execFile);
const SECTOR = 2048;
/** 2000-01-01T00:00:00Z: the default time of every entry, so a drive is reproducible without a clock. */
export const DEFAULT_CONFIG_DRIVE_EPOCH = 946684800;

export interface ConfigDriveIsoOptions {
  /** seconds since 1970 given to every file, folder and volume date (default DEFAULT_CONFIG_DRIVE_EPOCH) */
  epoch?: number;
  /** where to stage the files (default the OS temp folder); removed afterwards */
  tmpDir?: string;
}

/** The ISO image's bytes. Needs `genisoimage` (Debian package genisoimage). */
export async function configDriveIso(tree: ConfigDriveTree, opts: ConfigDriveIsoOptions = {}): Promise<Buffer> {
  const epoch = opts.epoch ?? DEFAULT_CONFIG_DRIVE_EPOCH;
  const work = mkdtempSync(join(opts.tmpDir ?? tmpdir(), 'rs-configdrive-'));
  try {
    const root = join(work, 'root');
    const dirs = new Set<string>([root]);
    for (const f of tree.files) {
      if (f.path.startsWith('/') || f.path.split('/').some((c) => c === '' || c === '.' || c === '..')) {
        throw new Error(`config drive path ${JSON.stringify(f.path)} is not a plain relative path`);
      }
      const file = join(root, f.path);
      for (let d = dirname(file); d.length > root.length; d = dirname(d)) dirs.add(d);
      mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
      writeFileSync(file, f.data, { mode: 0o644 });
      utimesSync(file, epoch, epoch);
    }
    for (const d of [...dirs].sort().reverse()) utimesSync(d, epoch, epoch);
    const out = join(work, 'config-drive.iso');
    try {
      await execFileP('genisoimage', [
        '-o', out, '-quiet', '-V', CONFIG_DRIVE_LABEL, '-J', '-r', '-l', '-allow-lowercase', '-allow-multidot',
        '-input-charset', 'utf-8', root,
      ], { env: { ...process.env, TZ: 'UTC' } });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new Error('genisoimage is not installed (apt-get install genisoimage)');
      throw new Error(`genisoimage failed: ${(e.stderr ?? e.message).trim()}`);
    }
    const iso = readFileSync(out);
    normalizeIsoTimes(iso, epoch);
    return iso;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Write the ISO to `path` (atomically: a temporary file renamed over it); returns its size and sha256. */
export async function writeConfigDriveIso(tree: ConfigDriveTree, path: string, opts: ConfigDriveIsoOptions = {}): Promise<{ path: string; size: number; sha256: string }> {
  const iso = await configDriveIso(tree, opts);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, iso, { mode: 0o644 });
  renameSync(tmp, path);
  return { path, size: iso.length, sha256: createHash('sha256').update(iso).digest('hex') };
}

/**
 * Set every time stamp of an ISO 9660 image to `epoch`, in place: the creation, modification and effective
 * dates of each volume descriptor (ECMA-119 §8.4.26–29; the expiration date is left unset), the recording
 * date of every directory record (§9.1.5) and every Rock Ridge TF entry (RRIP §4.1.6), following SUSP CE
 * continuation areas. Walks the directory trees of the primary and each supplementary (Joliet) descriptor.
 * Throws on a structure that points outside the image.
 */
export function normalizeIsoTimes(iso: Buffer, epoch: number): void {
  const long = longDate(epoch);
  const short = shortDate(epoch);
  const check = (off: number, len: number, what: string): void => {
    if (off < 0 || off + len > iso.length) throw new Error(`ISO 9660: ${what} at offset ${off} (+${len}) is outside the ${iso.length}-byte image`);
  };
  const seen = new Set<number>();
  const walkDir = (lba: number, size: number): void => {
    if (seen.has(lba)) return;
    seen.add(lba);
    const start = lba * SECTOR;
    check(start, size, 'directory extent');
    let off = start;
    while (off < start + size) {
      const len = iso[off];
      if (len === 0) { off = (Math.floor((off - start) / SECTOR) + 1) * SECTOR + start; continue; }
      check(off, len, 'directory record');
      if (len < 34) throw new Error(`ISO 9660: directory record at offset ${off} is ${len} bytes (< 34)`);
      short.copy(iso, off + 18);
      const fiLen = iso[off + 32];
      const suStart = off + 33 + fiLen + (fiLen % 2 === 0 ? 1 : 0);
      patchSusp(suStart, off + len);
      const isDir = (iso[off + 25] & 0x02) !== 0;
      const self = fiLen === 1 && (iso[off + 33] === 0 || iso[off + 33] === 1);
      if (isDir && !self) walkDir(iso.readUInt32LE(off + 2), iso.readUInt32LE(off + 10));
      off += len;
    }
  };
  const patchSusp = (from: number, to: number): void => {
    let p = from;
    while (p + 4 <= to) {
      const sig = iso.toString('latin1', p, p + 2);
      const len = iso[p + 2];
      if (len < 4 || p + len > to) break;
      if (sig === 'TF') {
        const flags = iso[p + 4];
        const stamp = flags & 0x80 ? long : short;
        let q = p + 5;
        for (let bit = 0; bit < 7; bit++) {
          if (!(flags & (1 << bit))) continue;
          if (q + stamp.length > p + len) break;
          stamp.copy(iso, q);
          q += stamp.length;
        }
      } else if (sig === 'CE' && len >= 28) {
        const block = iso.readUInt32LE(p + 4);
        const offset = iso.readUInt32LE(p + 12);
        const length = iso.readUInt32LE(p + 20);
        const at = block * SECTOR + offset;
        check(at, length, 'SUSP continuation area');
        patchSusp(at, at + length);
      } else if (sig === 'ST') {
        break;
      }
      p += len;
    }
  };
  for (let sector = 16; ; sector++) {
    const off = sector * SECTOR;
    check(off, SECTOR, 'volume descriptor');
    if (iso.toString('latin1', off + 1, off + 6) !== 'CD001') throw new Error(`ISO 9660: no volume descriptor in sector ${sector}`);
    const type = iso[off];
    if (type === 255) break;
    if (type === 1 || type === 2) {
      for (const at of [813, 830, 864]) long.copy(iso, off + at);
      const root = off + 156;
      short.copy(iso, root + 18);
      walkDir(iso.readUInt32LE(root + 2), iso.readUInt32LE(root + 10));
    }
  }
}

/** ECMA-119 §8.4.26.1: "YYYYMMDDHHMMSScc" in ASCII + a signed offset from GMT in 15 min units (0 = UTC). */
function longDate(epoch: number): Buffer {
  const d = new Date(epoch * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const s = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`;
  return Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]);
}

/** ECMA-119 §9.1.5: years since 1900, month, day, hour, minute, second, GMT offset. */
function shortDate(epoch: number): Buffer {
  const d = new Date(epoch * 1000);
  return Buffer.from([d.getUTCFullYear() - 1900, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), 0]);
}
