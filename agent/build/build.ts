// Builds the discovery ramdisk: Debian kernel + a gzip'd newc initramfs holding busybox-static, the
// driver modules (with modules.dep/alias so busybox modprobe resolves modaliases), /init and the agent.
// Reproducible: entries sorted, owners root, every mtime = SOURCE_DATE_EPOCH (default 0), gzip header
// without name or time. Cached under ramdiskDir(), keyed by a hash of every input.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildLock } from './build-lock.ts';
import { encodeCpio, withParentDirs, type CpioEntry } from './cpio.ts';
import { fetchKernelDeb, findDeb, packageFor, resolveKernel, unpackKernel, type KernelChoice, type Log } from './kernel-package.ts';
import {
  MANIFEST_NAME, REPO_ROOT, loadRamdiskManifest, ramdiskDir, sha256File, verifyRamdisk, type RamdiskManifest,
} from './manifest.ts';
import { RAMDISK_MODULES, moduleClosure } from './modules.ts';
import { HELPER_PATH, compileHelper, gccVersion } from './helper.ts';

export interface BuildOptions {
  /** keep a valid existing build without looking at the inputs (what scripts/setup.sh wants) */
  ifMissing?: boolean;
  /** rebuild even when the inputs did not change */
  force?: boolean;
  dir?: string;
  log?: Log;
}

export interface BuildResult {
  manifest: RamdiskManifest;
  /** false when the cached build was kept */
  built: boolean;
}

const RAMDISK_SRC = join(REPO_ROOT, 'agent', 'ramdisk');
const BUILDER_SRC = join(REPO_ROOT, 'agent', 'build');
/** Files copied from agent/ramdisk into the initrd: source name → archive path and mode. */
const AGENT_FILES: readonly [string, string, number][] = [
  ['init', 'init', 0o755],
  ['rackseed-agent.sh', 'usr/libexec/rackseed/rackseed-agent.sh', 0o755],
  ['inventory.sh', 'usr/libexec/rackseed/inventory.sh', 0o755],
  ['deploy.sh', 'usr/libexec/rackseed/deploy.sh', 0o644],
  ['udhcpc.script', 'usr/libexec/rackseed/udhcpc.script', 0o755],
];
/** depmod outputs busybox modprobe reads (the .bin indexes are for kmod only). */
const DEPMOD_FILES = ['modules.dep', 'modules.alias', 'modules.symbols', 'modules.softdep', 'modules.builtin', 'modules.order'];

export async function buildRamdisk(opts: BuildOptions = {}): Promise<BuildResult> {
  const dir = opts.dir ?? ramdiskDir();
  const log = opts.log ?? ((m: string) => console.error(`build:ramdisk: ${m}`));
  mkdirSync(dir, { recursive: true });
  const unlock = await buildLock(join(dir, '.lock'), log);
  try {
    return await buildLocked(dir, opts, log);
  } finally {
    unlock();
  }
}

async function buildLocked(dir: string, opts: BuildOptions, log: Log): Promise<BuildResult> {
  const previous = loadRamdiskManifest(dir);
  if (opts.ifMissing && !opts.force && previous && (await verifyRamdisk(previous))) {
    log(`kept cached build: kernel ${previous.kernelVersion}, initrd ${mb(previous.initrd.size)} (${previous.initrd.path})`);
    return { manifest: previous, built: false };
  }

  const kernel = chooseKernel(dir, previous, log);
  const busybox = findBusybox();
  const epoch = sourceDateEpoch();
  const inputsKey = hashInputs(kernel, busybox.sha256, epoch, gccVersion());
  if (!opts.force && previous && previous.inputsKey === inputsKey && (await verifyRamdisk(previous))) {
    log(`up to date: kernel ${previous.kernelVersion}, initrd ${mb(previous.initrd.size)}`);
    return { manifest: previous, built: false };
  }

  const deb = fetchKernelDeb(join(dir, 'debs'), kernel, log);
  const root = join(dir, 'kernel-root');
  const modDir = unpackKernel(deb, root, kernel.kernelVersion, log);
  const closure = moduleClosure(root, kernel.kernelVersion, RAMDISK_MODULES);
  for (const s of closure.skipped) log(`note: module ${s.name} skipped: ${s.reason}`);

  const entries = [
    ...baseEntries(),
    ...busyboxEntries(busybox.path),
    ...agentEntries(),
    { type: 'file', path: HELPER_PATH, mode: 0o755, data: compileHelper(RAMDISK_SRC) },
    ...moduleEntries(dir, modDir, kernel.kernelVersion, closure.files),
    { type: 'file', path: 'etc/rackseed-release', mode: 0o644, data: Buffer.from(`kernel=${kernel.kernelVersion}\ninputs=${inputsKey}\n`) },
  ] satisfies CpioEntry[];
  const cpio = encodeCpio(withParentDirs(entries), epoch);
  const initrdData = gzipSync(cpio, { level: 9 });

  const kernelName = `vmlinuz-${kernel.kernelVersion}`;
  const initrdName = `initrd-${kernel.kernelVersion}.img`;
  const kernelTmp = join(dir, `${kernelName}.tmp-${process.pid}`);
  copyFileSync(join(root, 'boot', kernelName), kernelTmp);
  renameSync(kernelTmp, join(dir, kernelName));
  const initrdTmp = join(dir, `${initrdName}.tmp-${process.pid}`);
  writeFileSync(initrdTmp, initrdData);
  renameSync(initrdTmp, join(dir, initrdName));

  const manifest: RamdiskManifest = {
    schemaVersion: 1,
    kernelVersion: kernel.kernelVersion,
    kernelPackage: deb.split('/').pop() ?? kernel.packageName,
    kernel: { path: kernelName, sha256: await sha256File(join(dir, kernelName)), size: statSync(join(dir, kernelName)).size },
    initrd: { path: initrdName, sha256: createHash('sha256').update(initrdData).digest('hex'), size: initrdData.length },
    modules: closure.names,
    skippedModules: closure.skipped,
    busybox,
    inputsKey,
    sourceDateEpoch: epoch,
    builtAt: new Date().toISOString(),
  };
  const manifestTmp = join(dir, `${MANIFEST_NAME}.tmp-${process.pid}`);
  writeFileSync(manifestTmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(manifestTmp, join(dir, MANIFEST_NAME));
  log(`built kernel ${kernel.kernelVersion} (${mb(manifest.kernel.size)}), initrd ${mb(manifest.initrd.size)} ` +
    `with ${closure.names.length} modules (cpio ${mb(cpio.length)} uncompressed) in ${dir}`);
  const loaded = loadRamdiskManifest(dir);
  if (!loaded) throw new Error('manifest just written cannot be read back');
  return { manifest: loaded, built: true };
}

function mb(n: number): string {
  return `${(n / 1048576).toFixed(1)} MB`;
}

/** The kernel from apt, else (offline, no apt lists) the one of the previous build or any cached .deb. */
function chooseKernel(dir: string, previous: RamdiskManifest | null, log: Log): KernelChoice {
  const k = resolveKernel();
  if (k) return k;
  if (!previous && process.getuid?.() === 0) {
    // a fresh machine whose apt lists were cleaned (container images): fetch them once
    log('apt-cache knows no linux-image-amd64; running apt-get update');
    try { execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] }); } catch { /* reported below */ }
    const again = resolveKernel();
    if (again) return again;
  }
  if (previous) {
    log(`apt-cache gave no kernel; reusing ${previous.kernelVersion} from the previous build`);
    return packageFor(previous.kernelVersion);
  }
  const debs = existsSync(join(dir, 'debs')) ? readdirSync(join(dir, 'debs')) : [];
  for (const f of debs.sort().reverse()) {
    const m = /^linux-image-(\d.*-amd64)-unsigned_/.exec(f);
    if (m && findDeb(join(dir, 'debs'), `linux-image-${m[1]}-unsigned`)) return packageFor(m[1]);
  }
  throw new Error('cannot tell which kernel to use: apt-cache knows no linux-image-amd64 (run apt-get update) ' +
    'and nothing is cached; or set RACKSEED_KERNEL_VERSION');
}

function sourceDateEpoch(): number {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`bad SOURCE_DATE_EPOCH ${v}`);
  return n;
}

/**
 * The static busybox from Debian's busybox-static package (a dynamic one would not run in an initrd), or
 * $RACKSEED_BUSYBOX. `forWhat` names the build in the error (the ramdisk, lab-tiny).
 */
export function findBusybox(forWhat = 'the ramdisk'): { path: string; sha256: string } {
  let path = process.env.RACKSEED_BUSYBOX ?? '';
  if (!path) {
    try {
      const files = execFileSync('dpkg', ['-L', 'busybox-static'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      path = files.split('\n').find((f) => /\/bin\/busybox$/.test(f)) ?? '';
    } catch { /* reported below */ }
  }
  if (!path || !existsSync(path)) throw new Error('busybox-static is not installed (apt-get install busybox-static), or set RACKSEED_BUSYBOX');
  const data = readFileSync(path);
  if (hasInterpreter(data)) throw new Error(`${path} is dynamically linked; ${forWhat} needs busybox-static`);
  return { path, sha256: createHash('sha256').update(data).digest('hex') };
}

/** True when a 64-bit little-endian ELF image has a PT_INTERP program header (i.e. is dynamically linked). */
export function hasInterpreter(elf: Uint8Array): boolean {
  const b = Buffer.from(elf.buffer, elf.byteOffset, elf.byteLength);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > b.length) throw new Error(`ELF program header ${i} at offset ${off} is past the end`);
    if (b.readUInt32LE(off) === 3) return true;
  }
  return false;
}

/** Hash of everything the output depends on: kernel, busybox, agent scripts, builder code, module list, epoch, gcc. */
function hashInputs(kernel: KernelChoice, busyboxSha: string, epoch: number, gcc: string): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ kernel, busyboxSha, epoch, modules: RAMDISK_MODULES, gcc }));
  for (const d of [RAMDISK_SRC, BUILDER_SRC]) {
    for (const f of readdirSync(d).sort()) {
      h.update(`\0${d}/${f}\0`);
      h.update(readFileSync(join(d, f)));
    }
  }
  return h.digest('hex');
}

function baseEntries(): CpioEntry[] {
  const dirs = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'usr/libexec', 'usr/libexec/rackseed', 'usr/share', 'usr/share/udhcpc',
    'dev', 'proc', 'sys', 'run', 'tmp', 'etc', 'root', 'var', 'lib', 'lib/modules'];
  return [
    ...dirs.map((path): CpioEntry => ({ type: 'dir', path, mode: path === 'tmp' ? 0o1777 : 0o755 })),
    // The kernel opens /dev/console before /init runs (devtmpfs is mounted by /init only).
    { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
    { type: 'char', path: 'dev/null', mode: 0o666, major: 1, minor: 3 },
    { type: 'file', path: 'etc/passwd', mode: 0o644, data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
    { type: 'file', path: 'etc/group', mode: 0o644, data: Buffer.from('root:x:0:\n') },
    { type: 'symlink', path: 'usr/share/udhcpc/default.script', target: '/usr/libexec/rackseed/udhcpc.script' },
  ];
}

/** busybox at /bin/busybox plus one symlink per applet, at the paths `busybox --list-full` gives. */
function busyboxEntries(path: string): CpioEntry[] {
  const applets = execFileSync(path, ['--list-full'], { encoding: 'utf8' }).split('\n').map((l) => l.trim()).filter(Boolean);
  const out: CpioEntry[] = [{ type: 'file', path: 'bin/busybox', mode: 0o755, data: readFileSync(path) }];
  const seen = new Set(['bin/busybox']);
  for (const a of applets.sort()) {
    if (seen.has(a) || a.includes('..')) continue;
    seen.add(a);
    out.push({ type: 'symlink', path: a, target: '/bin/busybox' });
  }
  return out;
}

function agentEntries(): CpioEntry[] {
  return AGENT_FILES.map(([src, path, mode]): CpioEntry => ({ type: 'file', path, mode, data: readFileSync(join(RAMDISK_SRC, src)) }));
}

/**
 * The closure's module files plus depmod's index over exactly those files: the modules are copied into
 * a scratch tree, depmod runs there, and its text outputs go into the archive.
 */
function moduleEntries(dir: string, modDir: string, kver: string, files: string[]): CpioEntry[] {
  const stage = join(dir, `stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  const stageMod = join(stage, 'lib', 'modules', kver);
  try {
    mkdirSync(stageMod, { recursive: true });
    for (const f of files) {
      mkdirSync(join(stageMod, f, '..'), { recursive: true });
      copyFileSync(join(modDir, f), join(stageMod, f));
    }
    for (const f of ['modules.builtin', 'modules.builtin.modinfo']) {
      if (existsSync(join(modDir, f))) copyFileSync(join(modDir, f), join(stageMod, f));
    }
    writeFileSync(join(stageMod, 'modules.order'), files.map((f) => `${f}\n`).join(''));
    execFileSync('depmod', ['-b', stage, kver], { stdio: ['ignore', 'ignore', 'pipe'] });
    const base = `lib/modules/${kver}`;
    const out: CpioEntry[] = files.map((f): CpioEntry => ({ type: 'file', path: `${base}/${f}`, mode: 0o644, data: readFileSync(join(stageMod, f)) }));
    for (const f of DEPMOD_FILES) {
      if (existsSync(join(stageMod, f))) out.push({ type: 'file', path: `${base}/${f}`, mode: 0o644, data: readFileSync(join(stageMod, f)) });
    }
    return out;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

