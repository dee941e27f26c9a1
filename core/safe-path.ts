// Paths the daemon (root, on a laptop that browses the web) reads and writes: the data directory, its secret key
// and SQLite files, and the private folders made under it. Each is checked before use, not following symlinks,
// and refused with an UnsafePathError naming the path, the problem and the fix; `rackseed serve` prints that
// message and exits (bin/rackseed.mjs). POSIX only: on Windows, where modes and uids mean nothing, nothing is checked.
//
// The rules, for a process whose effective uid is E:
// - the data dir (and every folder made in it) is a real directory (not a symlink) owned by E, writable by E only;
//   created with mode 0700. A readable-by-others dir (0755) is accepted: what must stay private (secret.key) is 0600.
// - each existing ancestor of the data dir (of the path as given and of its real path) is not writable by group
//   or others unless it has the sticky bit (/tmp: others may create entries there, but not rename or delete ours).
//   An ancestor owned by another user is accepted: the desktop app's default lives in that user's home
//   (~/.config/RackSeed/daemon), and that user is the one who asked for the daemon. Only the data dir is ours.
// - files in it (secret.key, rackseed.db*, events.db*) are regular files owned by E, never symlinks, not writable
//   by group or others; secret.key also not readable by them (0600).
import { lstatSync, mkdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
  /** `what` names the path in the message ("data dir", "secret key", …) */
  constructor(readonly path: string, readonly problem: string, readonly fix: string, readonly what: string) {
    super(`${what} ${path} ${problem}; ${fix}`);
  }
}

const POSIX = process.platform !== 'win32';

/** The effective uid the checks compare owners with (-1 off POSIX). */
export function effectiveUid(): number {
  return process.geteuid?.() ?? -1;
}

function ownerName(uid: number): string {
  return uid === 0 ? 'root (uid 0)' : `uid ${uid}`;
}

function modeText(st: Stats): string {
  return `mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/** What to do instead, for the data dir: where a safe one looks like. */
function dataDirFix(uid: number): string {
  return `or pass --data (RACKSEED_DATA_DIR in the desktop app) a folder owned by ${ownerName(uid)} with mode 0700`;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** A directory we own and only we can write: no symlink, no foreign owner, no group/other write. */
export function checkOwnDir(path: string, what: string, fixTail: string, uid = effectiveUid()): void {
  if (!POSIX) return;
  const st = lstatSync(path);
  if (st.isSymbolicLink()) throw new UnsafePathError(path, 'is a symlink', `remove it, ${fixTail}`, what);
  if (!st.isDirectory()) throw new UnsafePathError(path, 'is not a directory', `move it away, ${fixTail}`, what);
  if (st.uid !== uid) {
    throw new UnsafePathError(path, `is owned by ${ownerName(st.uid)}, not by ${ownerName(uid)} that runs the daemon`,
      `check its contents and chown ${uid} ${path}, ${fixTail}`, what);
  }
  if ((st.mode & 0o022) !== 0) {
    throw new UnsafePathError(path, `is writable by group or others (${modeText(st)})`, `chmod 700 ${path}, ${fixTail}`, what);
  }
}

/** Every existing ancestor of `path` (nearest first), of the path as given and of its real path, deduplicated. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    for (let d = dirname(p); ; d = dirname(d)) {
      if (!out.includes(d)) out.push(d);
      if (dirname(d) === d) break;
    }
  };
  walk(path);
  try { walk(realpathSync(path)); } catch { /* missing: the given path's ancestors are all there is */ }
  return out;
}

/** Refuse when a folder above `path` lets someone else rename or replace it (group/other-writable, no sticky bit). */
function checkAncestors(path: string, what: string, fixTail: string): void {
  for (const a of ancestors(path)) {
    let st: Stats;
    try { st = statSync(a); } catch { continue; } // not there (yet): nothing can be replaced in it
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
      throw new UnsafePathError(path, `lies under ${a}, which is writable by group or others without the sticky bit (${modeText(st)}), `
        + 'so another user could replace it', `chmod go-w ${a}, ${fixTail}`, what);
    }
  }
}

/**
 * A file in a checked folder: when it exists, a regular file (never a symlink) owned by us that group and others
 * cannot write — nor read, with `secret`. Absent is fine (it will be created).
 */
export function checkOwnFile(path: string, what: string, opts: { secret?: boolean } = {}, uid = effectiveUid()): void {
  if (!POSIX) return;
  const st = lstatOrNull(path);
  if (!st) return;
  const fix = opts.secret
    ? 'replace it with the key file itself, owned by the daemon\'s user with mode 0600 (or delete it: a new key is made, and saved BMC passwords must be entered again)'
    : 'move it away (the daemon makes a new one) or replace it with the real file';
  if (st.isSymbolicLink()) throw new UnsafePathError(path, 'is a symlink', fix, what);
  if (!st.isFile()) throw new UnsafePathError(path, 'is not a regular file', fix, what);
  if (st.uid !== uid) {
    throw new UnsafePathError(path, `is owned by ${ownerName(st.uid)}, not by ${ownerName(uid)} that runs the daemon`,
      `check it and chown ${uid} ${path}, or ${fix}`, what);
  }
  const loose = opts.secret ? 0o077 : 0o022;
  if ((st.mode & loose) !== 0) {
    throw new UnsafePathError(path, `is ${opts.secret ? 'readable or writable' : 'writable'} by group or others (${modeText(st)})`,
      opts.secret
        ? `chmod 600 ${path} (others could read it: consider the BMC passwords saved with it exposed and enter them again)`
        : `chmod go-w ${path}`, what);
  }
}

/** The SQLite files the daemon keeps in its data dir (databases and their WAL/SHM/journal). */
export const DATA_FILES = ['rackseed.db', 'events.db'].flatMap((f) => [f, `${f}-wal`, `${f}-shm`, `${f}-journal`]);

/**
 * Create the data dir (mode 0700, parents too) if missing, then check it, its ancestors and the database files in
 * it. Throws UnsafePathError (nothing is opened) when any of them is unsafe. Returns the absolute path.
 */
export function secureDataDir(dir: string): string {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true, mode: 0o700 });
  } catch (err) {
    if (!lstatOrNull(abs)) throw err; // e.g. a dangling symlink: refused below with the reason
  }
  if (!POSIX) return abs;
  const uid = effectiveUid();
  const fix = dataDirFix(uid);
  checkOwnDir(abs, 'data dir', fix, uid);
  checkAncestors(abs, 'data dir', fix);
  for (const f of DATA_FILES) checkOwnFile(join(abs, f), 'database file', {}, uid);
  return abs;
}

/**
 * A private folder `name` inside an already checked folder (e.g. `<data dir>/run`): created 0700, then held to
 * the same rules as the data dir. Returns its path.
 */
export function privateSubdir(parent: string, name: string): string {
  const path = join(parent, name);
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  checkOwnDir(path, 'folder', 'then start the daemon again (it makes the folder anew, mode 0700)');
  return path;
}
