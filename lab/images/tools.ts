// The disk tools the image builds drive, all on image files (the sandbox has no usable loop mounts):
// mkfs.vfat -C + mtools, syslinux --install on a FAT image, grub-mkimage, sfdisk on a file, mke2fs -d,
// and placing a file at an offset of another (what `dd conv=notrunc seek=…` does). Every tool runs with
// TZ=UTC and SOURCE_DATE_EPOCH so its time stamps are the epoch's.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, lstatSync, lutimesSync, openSync, readSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from './cache.ts';

/** Debian package of each tool, for the "not installed" message. */
const TOOL_PACKAGE: Record<string, string> = {
  'mkfs.vfat': 'dosfstools', mmd: 'mtools', mcopy: 'mtools', syslinux: 'syslinux', 'grub-mkimage': 'grub-common',
  sfdisk: 'fdisk', mke2fs: 'e2fsprogs', 'qemu-img': 'qemu-utils', debootstrap: 'debootstrap', depmod: 'kmod', modprobe: 'kmod',
  genisoimage: 'genisoimage', 'dpkg-query': 'dpkg',
};

export function toolEnv(epoch: number): NodeJS.ProcessEnv {
  return { ...process.env, TZ: 'UTC', LC_ALL: 'C', SOURCE_DATE_EPOCH: String(epoch), E2FSPROGS_FAKE_TIME: String(epoch) };
}

/** Run a tool to completion; throws with its stderr and, when it is missing, the package to install. */
export function run(cmd: string, args: string[], opts: { epoch?: number; input?: string; cwd?: string; timeoutMs?: number } = {}): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8', input: opts.input, cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024,
      env: opts.epoch === undefined ? process.env : toolEnv(opts.epoch), stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${cmd} is not installed (apt-get install --no-install-recommends ${TOOL_PACKAGE[cmd] ?? cmd})`);
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** A long-running tool with its output streamed to `log` line by line (debootstrap, qemu-img). */
export function runStreaming(cmd: string, args: string[], log: Log, opts: { epoch?: number; timeoutMs?: number } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.epoch === undefined ? process.env : toolEnv(opts.epoch) });
    let tail = '';
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      tail = (tail + d.toString('utf8')).slice(-4000);
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { const line = buf.slice(0, i).trim(); buf = buf.slice(i + 1); if (line) log(`${cmd}: ${line}`); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, opts.timeoutMs ?? 1_800_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error(`${cmd} is not installed (apt-get install --no-install-recommends ${TOOL_PACKAGE[cmd] ?? cmd})`) : err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} exited ${code ?? signal}; last output:\n${tail}`));
    });
  });
}

/** Fail early, naming every missing tool and its package. */
export function requireTools(tools: readonly string[]): void {
  const missing = tools.filter((t) => {
    try { execFileSync('sh', ['-c', `command -v "$1" || test -x "/usr/sbin/$1" || test -x "/sbin/$1"`, 'sh', t], { stdio: 'ignore' }); return false; } catch { return true; }
  });
  if (missing.length) {
    const pkgs = [...new Set(missing.map((t) => TOOL_PACKAGE[t] ?? t))];
    throw new Error(`missing tools: ${missing.join(', ')} (run scripts/setup.sh lab as root, or apt-get install --no-install-recommends ${pkgs.join(' ')})`);
  }
}

/**
 * An empty FAT file system in a new file of `sizeMiB`: fixed volume id and label, `hiddenSectors` = the
 * partition's first sector (the BIOS boot code of syslinux finds itself through it), --invariant so
 * nothing comes from the clock or a random source.
 */
export function makeFat(file: string, o: { sizeMiB: number; label: string; volumeId: string; hiddenSectors: number; bits: 16 | 32 }, epoch: number): void {
  run('mkfs.vfat', ['--invariant', '-C', '-F', String(o.bits), ...(o.bits === 32 ? ['-s', '1'] : []), '-n', o.label, '-i', o.volumeId,
    '-h', String(o.hiddenSectors), file, String(o.sizeMiB * 1024)], { epoch });
}

/** Copy a folder's tree into the root of a FAT image (mmd + mcopy -m; sorted; every mtime the epoch). */
export function fatAddTree(fat: string, src: string, epoch: number): void {
  const { dirs, files } = walk(src);
  for (const d of dirs) run('mmd', ['-i', fat, `::/${d}`], { epoch });
  for (const f of files) {
    lutimesSync(join(src, f), epoch, epoch);
    run('mcopy', ['-m', '-i', fat, join(src, f), `::/${f}`], { epoch });
  }
}

/** Relative paths of the folders and files under `root`, sorted (folders before their contents). */
export function walk(root: string): { dirs: string[]; files: string[] } {
  const dirs: string[] = [];
  const files: string[] = [];
  const visit = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      if (lstatSync(join(root, p)).isDirectory()) { dirs.push(p); visit(p); } else files.push(p);
    }
  };
  visit('');
  return { dirs, files };
}

/** Give every entry under `root` (and root) a modification and access time of at most `epoch`. */
export function clampTimes(root: string, epoch: number): number {
  let changed = 0;
  const visit = (p: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
    if (st.mtimeMs / 1000 > epoch || st.atimeMs / 1000 > epoch) {
      const m = Math.min(st.mtimeMs / 1000, epoch);
      lutimesSync(p, epoch, m);
      changed++;
    }
  };
  visit(root);
  return changed;
}

/**
 * Copy `src` into `disk` at byte `offset` without truncating it (dd conv=notrunc seek=…): how file
 * systems built as separate files land in their partitions.
 */
export function placeFile(disk: string, src: string, offset: number): void {
  const out = openSync(disk, 'r+');
  const inp = openSync(src, 'r');
  try {
    const buf = Buffer.alloc(4 * 1024 * 1024);
    let pos = 0;
    for (;;) {
      const n = readSync(inp, buf, 0, buf.length, pos);
      if (n === 0) break;
      let w = 0;
      while (w < n) w += writeSync(out, buf, w, n - w, offset + pos + w);
      pos += n;
    }
  } finally {
    closeSync(inp);
    closeSync(out);
  }
}

/** Write `data` at byte `offset` of `file` (boot code into an MBR, a patched core.img into its partition). */
export function placeBytes(file: string, data: Buffer, offset: number): void {
  const fd = openSync(file, 'r+');
  try {
    let w = 0;
    while (w < data.length) w += writeSync(fd, data, w, data.length - w, offset + w);
  } finally {
    closeSync(fd);
  }
}
