// Pure writer for the SVR4 "newc" cpio format (the only format the Linux initramfs unpacker reads;
// see the kernel's Documentation/driver-api/early-userspace/buffer-format.rst). No file system access:
// callers hand in entries with their bytes, and the same entries always produce the same archive —
// entries are sorted by path, inode numbers are assigned in that order, owners are root and every
// mtime is the one given, so the output is reproducible.

export type CpioEntry =
  | { type: 'dir'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; data: Uint8Array }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char'; path: string; mode: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const MAGIC = '070701';
const HEADER_LEN = 110;

export class CpioError extends Error {
  override name = 'CpioError';
}

/** Paths inside the archive are relative ("bin/sh"): no leading slash, no "." or ".." components. */
function checkPath(path: string): void {
  if (path === '' || path.startsWith('/') || path.split('/').some((c) => c === '' || c === '.' || c === '..')) {
    throw new CpioError(`bad archive path ${JSON.stringify(path)}`);
  }
}

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new CpioError(`field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/**
 * Encode `entries` (any order; duplicates by path are an error) as a newc archive ending in the
 * TRAILER!!! record. Parent directories must be listed explicitly. `mtime` is seconds since the epoch
 * for every entry (use SOURCE_DATE_EPOCH for reproducible builds).
 */
export function encodeCpio(entries: readonly CpioEntry[], mtime: number): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const chunks: Uint8Array[] = [];
  const enc = new TextEncoder();
  let ino = 1;
  let prev: string | null = null;
  for (const e of sorted) {
    checkPath(e.path);
    if (e.path === prev) throw new CpioError(`duplicate archive path ${e.path}`);
    prev = e.path;
    let mode: number;
    let data: Uint8Array = new Uint8Array(0);
    let rdev: [number, number] = [0, 0];
    switch (e.type) {
      case 'dir': mode = S_IFDIR | (e.mode & 0o7777); break;
      case 'file': mode = S_IFREG | (e.mode & 0o7777); data = e.data; break;
      case 'symlink': mode = S_IFLNK | 0o777; data = enc.encode(e.target); break;
      case 'char': mode = S_IFCHR | (e.mode & 0o7777); rdev = [e.major, e.minor]; break;
    }
    chunks.push(record(enc, e.path, ino++, mode, e.type === 'dir' ? 2 : 1, mtime, data, rdev));
  }
  chunks.push(record(enc, 'TRAILER!!!', 0, 0, 1, 0, new Uint8Array(0), [0, 0]));
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  return out;
}

function record(enc: TextEncoder, name: string, ino: number, mode: number, nlink: number, mtime: number,
  data: Uint8Array, rdev: [number, number]): Uint8Array {
  const nameBytes = enc.encode(name);
  const namesize = nameBytes.length + 1;
  const header = MAGIC + [ino, mode, 0, 0, nlink, mtime, data.length, 0, 0, rdev[0], rdev[1], namesize, 0].map(hex8).join('');
  const namePad = pad4(HEADER_LEN + namesize);
  const dataPad = pad4(data.length);
  const out = new Uint8Array(HEADER_LEN + namesize + namePad + data.length + dataPad);
  out.set(enc.encode(header), 0);
  out.set(nameBytes, HEADER_LEN);
  out.set(data, HEADER_LEN + namesize + namePad);
  return out;
}

/** `entries` plus a `dir` entry (0755) for every parent directory none of them lists (the unpacker needs them). */
export function withParentDirs(entries: CpioEntry[]): CpioEntry[] {
  const have = new Set(entries.map((e) => e.path));
  const out = [...entries];
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!have.has(p)) { have.add(p); out.push({ type: 'dir', path: p, mode: 0o755 }); }
    }
  }
  return out;
}
