// The discovery ramdisk's manifest: what `npm run build:ramdisk` produced and where it lies, so the
// daemon can serve the kernel and initrd over HTTP without knowing how they were built.
//
// Layout (default directory `<repo>/.cache/ramdisk`, or $RACKSEED_RAMDISK_DIR):
//   manifest.json             this manifest; `path` fields are file names relative to this directory
//   vmlinuz-<kernelVersion>   the Debian kernel (EFI stub built in: boots from SeaBIOS and OVMF alike)
//   initrd-<kernelVersion>.img  gzip'd newc cpio: busybox, driver modules, /init and the agent
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RamdiskFile {
  /** absolute path once loaded through `loadRamdiskManifest`; relative to the manifest on disk */
  path: string;
  /** lower-case hex SHA-256 of the file */
  sha256: string;
  size: number;
}

export interface RamdiskManifest {
  schemaVersion: 1;
  /** `uname -r` of the kernel, e.g. "6.1.0-56-amd64" */
  kernelVersion: string;
  /** the Debian package the kernel and modules came from */
  kernelPackage: string;
  kernel: RamdiskFile;
  initrd: RamdiskFile;
  /** module names carried in the initrd (the requested drivers and their dependencies), sorted */
  modules: string[];
  /** requested drivers this kernel does not have, with the reason */
  skippedModules: { name: string; reason: string }[];
  busybox: { path: string; sha256: string };
  /** SHA-256 over every build input; the build is redone when it changes */
  inputsKey: string;
  /** mtime given to every initrd entry (SOURCE_DATE_EPOCH) */
  sourceDateEpoch: number;
  /** ISO 8601 time of the build (informational; not part of the reproducible output) */
  builtAt: string;
}

/**
 * Repository root: this file is agent/build/manifest.ts, or dist/daemon/agent/build/manifest.js in the compiled
 * daemon (bin/daemon-dist.mjs), two folders further down.
 */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), ...(import.meta.url.endsWith('.js') ? ['..', '..', '..', '..'] : ['..', '..']));

/** Where the build output and its caches live: $RACKSEED_RAMDISK_DIR or `<repo>/.cache/ramdisk`. */
export function ramdiskDir(): string {
  return process.env.RACKSEED_RAMDISK_DIR ? resolve(process.env.RACKSEED_RAMDISK_DIR) : join(REPO_ROOT, '.cache', 'ramdisk');
}

export const MANIFEST_NAME = 'manifest.json';

/**
 * A manifest `path` this build can have written: a plain file name in the build folder — not absolute, no
 * directory part (neither / nor a backslash), not "." or "..", no NUL. The daemon (root) serves what the manifest names,
 * so a crafted manifest must not name /etc/shadow or ../../anything.
 */
export function isPlainFileName(p: unknown): p is string {
  return typeof p === 'string' && p !== '' && p !== '.' && p !== '..' && !/[/\\\0]/.test(p);
}

/**
 * Read the manifest of the last build in `dir`, with `kernel.path`/`initrd.path` made absolute (joined to `dir`).
 * Returns null when no build exists (never built, or the manifest is unreadable or of another schema) and when
 * a path in it is not a plain file name (isPlainFileName).
 * Cheap (no hashing); use `verifyRamdisk` to check the files against it.
 */
export function loadRamdiskManifest(dir: string = ramdiskDir()): RamdiskManifest | null {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, MANIFEST_NAME), 'utf8'));
  } catch {
    return null;
  }
  const m = raw as RamdiskManifest;
  if (!m || m.schemaVersion !== 1 || !isPlainFileName(m.kernel?.path) || !isPlainFileName(m.initrd?.path)) return null;
  const abs = (p: string): string => join(dir, p);
  return { ...m, kernel: { ...m.kernel, path: abs(m.kernel.path) }, initrd: { ...m.initrd, path: abs(m.initrd.path) } };
}

/** True when `path` is a regular file itself (lstat: a symlink, even to a regular file, is not). */
function isRegularFile(path: string): boolean {
  try { return lstatSync(path).isFile(); } catch { return false; }
}

/**
 * Absolute paths of the built kernel and initrd, for the daemon's HTTP server to stream
 * (`GET /boot/vmlinuz`, `/boot/initrd` or however it names them). Null when nothing is built yet, a file
 * named by the manifest is missing, or it is not a regular file directly in `dir`: the names are plain file
 * names (loadRamdiskManifest) and the files regular files, not symlinks (which could point anywhere) nor
 * devices or FIFOs — so what is served is always inside the build folder.
 */
export function ramdiskPaths(dir: string = ramdiskDir()): { kernel: string; initrd: string; kernelVersion: string } | null {
  const m = loadRamdiskManifest(dir);
  if (!m || !isRegularFile(m.kernel.path) || !isRegularFile(m.initrd.path)) return null;
  return { kernel: m.kernel.path, initrd: m.initrd.path, kernelVersion: m.kernelVersion };
}

/** SHA-256 (hex) of a file, streamed. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (c) => h.update(c)).on('error', reject).on('end', () => resolveHash(h.digest('hex')));
  });
}

/** True when both files exist with the size and SHA-256 the manifest records. */
export async function verifyRamdisk(m: RamdiskManifest): Promise<boolean> {
  for (const f of [m.kernel, m.initrd]) {
    try {
      if (statSync(f.path).size !== f.size) return false;
      if ((await sha256File(f.path)) !== f.sha256) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Parameters the agent reads from the kernel command line (agent/ramdisk/rackseed-agent.sh). */
export interface AgentBootParams {
  /** daemon base URL the agent can reach, e.g. "http://10.230.0.1:8080" (no trailing slash) */
  url: string;
  /** per-node bearer token; must be non-empty and free of spaces */
  token: string;
  nodeId?: string;
  /** boot NIC MAC; in an iPXE script use `${netX/mac}` (iPXE substitutes it) */
  mac?: string;
  /** extra kernel arguments, e.g. "quiet" */
  extra?: string;
}

/**
 * The kernel command line for the discovery ramdisk: serial + VGA console, then the agent's parameters.
 * Throws when a value contains whitespace (it would split into two arguments).
 */
export function agentKernelArgs(p: AgentBootParams): string {
  // loglevel=5: the console shows kernel warnings and worse, not the NOTICE/INFO lines that echo the command line —
  // which carries the agent token — onto a serial console anyone at the rack (or a SOL session) can read.
  const words: string[] = ['console=tty0', 'console=ttyS0,115200n8', 'loglevel=5'];
  const add = (k: string, v: string | undefined): void => {
    if (v === undefined || v === '') return;
    if (/\s/.test(v)) throw new Error(`kernel argument ${k} must not contain whitespace`);
    words.push(`${k}=${v}`);
  };
  if (!p.token) throw new Error('agent token is required');
  add('rackseed.url', p.url.replace(/\/+$/, ''));
  add('rackseed.token', p.token);
  add('rackseed.node', p.nodeId);
  add('rackseed.mac', p.mac);
  if (p.extra) words.push(p.extra);
  return words.join(' ');
}
