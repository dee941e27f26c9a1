// The node kernel comes from Debian's `linux-image-<ver>-amd64-unsigned` package: fetched with
// `apt-get download` (never installed on this machine), unpacked with `dpkg -x`, indexed with
// `depmod -b` (the package ships no modules.dep).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Log = (msg: string) => void;

export interface KernelChoice {
  /** `uname -r`, e.g. "6.1.0-56-amd64" */
  kernelVersion: string;
  /** Debian package name, e.g. "linux-image-6.1.0-56-amd64-unsigned" */
  packageName: string;
}

export function packageFor(kernelVersion: string): KernelChoice {
  if (!/^[0-9][0-9A-Za-z.+~-]*$/.test(kernelVersion)) throw new Error(`bad kernel version ${JSON.stringify(kernelVersion)}`);
  return { kernelVersion, packageName: `linux-image-${kernelVersion}-unsigned` };
}

/**
 * The kernel to use: $RACKSEED_KERNEL_VERSION if set, else what Debian's `linux-image-amd64`
 * metapackage currently depends on (`apt-cache depends`, works offline from the package lists).
 * Returns null when neither is available (no apt, or no lists).
 */
export function resolveKernel(): KernelChoice | null {
  const forced = process.env.RACKSEED_KERNEL_VERSION;
  if (forced) return packageFor(forced);
  try {
    const out = execFileSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /Depends:\s*linux-image-(\d[^\s]*-amd64)\b/.exec(out);
    return m ? packageFor(m[1]) : null;
  } catch {
    return null;
  }
}

/** A previously downloaded .deb of `packageName` in `debDir`, newest name last wins; null if none. */
export function findDeb(debDir: string, packageName: string): string | null {
  if (!existsSync(debDir)) return null;
  const hits = readdirSync(debDir).filter((f) => f.startsWith(`${packageName}_`) && f.endsWith('.deb')).sort();
  return hits.length ? join(debDir, hits[hits.length - 1]) : null;
}

/**
 * The kernel package's .deb in `debDir`, downloading it with `apt-get download` when absent. On failure
 * runs `apt-get update` once (as root) and retries; then throws with the apt output and what to do.
 */
export function fetchKernelDeb(debDir: string, k: KernelChoice, log: Log): string {
  const have = findDeb(debDir, k.packageName);
  if (have) return have;
  mkdirSync(debDir, { recursive: true });
  const attempt = (): string | null => {
    try {
      execFileSync('apt-get', ['download', k.packageName], { cwd: debDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return null;
    } catch (err) {
      return String((err as { stderr?: string }).stderr || (err as Error).message).trim();
    }
  };
  log(`downloading ${k.packageName} (~70 MB) with apt-get download`);
  let error = attempt();
  if (error && process.getuid?.() === 0) {
    log(`apt-get download failed (${error.split('\n').pop()}); running apt-get update and retrying once`);
    try { execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] }); } catch { /* the retry reports */ }
    error = attempt();
  }
  const deb = findDeb(debDir, k.packageName);
  if (error || !deb) {
    throw new Error(`could not download ${k.packageName}: ${error ?? 'no .deb appeared'}\n` +
      `  fix: run 'apt-get update' (as root) with Debian's archive reachable, or put the .deb into ${debDir},\n` +
      `  or choose another kernel with RACKSEED_KERNEL_VERSION=<uname -r of an available linux-image-*-amd64-unsigned>`);
  }
  return deb;
}

/**
 * Unpack `deb` into `rootDir` (replacing what was there) and run depmod for `kernelVersion`, unless
 * `rootDir/.kernel-version` already names it. Returns the modules directory.
 */
export function unpackKernel(deb: string, rootDir: string, kernelVersion: string, log: Log): string {
  const marker = join(rootDir, '.kernel-version');
  const modDir = join(rootDir, 'lib', 'modules', kernelVersion);
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === kernelVersion && existsSync(join(modDir, 'modules.dep'))) {
    return modDir;
  }
  log(`unpacking ${deb}`);
  const tmp = `${rootDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('dpkg', ['-x', deb, tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (!existsSync(join(tmp, 'boot', `vmlinuz-${kernelVersion}`))) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`${deb} has no boot/vmlinuz-${kernelVersion}`);
  }
  execFileSync('depmod', ['-b', tmp, kernelVersion], { stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(join(tmp, '.kernel-version'), `${kernelVersion}\n`);
  rmSync(rootDir, { recursive: true, force: true });
  renameSync(tmp, rootDir);
  return modDir;
}
