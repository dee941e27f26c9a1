// lab-tiny: busybox + the Debian kernel as a 64 MiB disk image that boots in BIOS and UEFI mode, for fast
// deploy tests. The whole OS is its initramfs; the disk holds one FAT16 ESP (MBR type 0xEF, active):
//   /vmlinuz /initrd.img            the kernel (agent/build's Debian kernel) and the initramfs
//   /syslinux.cfg /ldlinux.sys /ldlinux.c32   BIOS: syslinux's mbr.bin → this partition's boot sector → syslinux
//   /EFI/BOOT/BOOTX64.EFI /boot/grub/grub.cfg UEFI: GRUB (grub.ts) finds the ESP by its label RSTINY
// Its /init (tiny-init.sh) applies a config drive and prints "RACKSEED-TINY booted hostname=… keys=…".
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { encodeCpio, withParentDirs, type CpioEntry } from '../../agent/build/cpio.ts';
import { fetchKernelDeb, findDeb, hasDebForKernel, resolveKernelFor, unpackKernel, type KernelChoice } from './kernel.ts';
import { REPO_ROOT, ramdiskDir } from '../../agent/build/manifest.ts';
import { RAMDISK_MODULES, moduleClosure } from '../../agent/build/modules.ts';
import { findBusybox as findStaticBusybox } from '../../agent/build/build.ts';
import { builderSources, debVersions, inputsKey, lock, sha256File, type ImageManifest, type Log } from './cache.ts';
import { grubImage } from './grub.ts';
import { describeLayout, sfdiskScript, tinyLayout, SECTOR } from './layout.ts';
import { fatAddTree, makeFat, placeBytes, placeFile, requireTools, run } from './tools.ts';

export const TINY_MARKER = 'RACKSEED-TINY';
export const TINY_ESP_LABEL = 'RSTINY';
/** The discovery ramdisk's drivers plus the file systems a config drive can have (and CD-ROMs). */
export const TINY_MODULES: readonly string[] = [...new Set([...RAMDISK_MODULES, 'sr_mod', 'isofs', 'vfat', 'nls_cp437', 'nls_ascii', 'nls_utf8', 'ext4'])];
export const TINY_TOOLS = ['mkfs.vfat', 'mmd', 'mcopy', 'syslinux', 'grub-mkimage', 'sfdisk', 'depmod', 'modprobe'] as const;
const TOOL_PACKAGES = ['busybox-static', 'syslinux', 'syslinux-common', 'grub-efi-amd64-bin', 'grub-common', 'dosfstools', 'mtools', 'fdisk', 'kmod'];
const TINY_INIT = join(REPO_ROOT, 'lab', 'images', 'tiny-init.sh');
const UDHCPC_SCRIPT = join(REPO_ROOT, 'agent', 'ramdisk', 'udhcpc.script');
const SYSLINUX_MBR = '/usr/lib/syslinux/mbr/mbr.bin';
const KERNEL_ARGS = 'console=tty0 console=ttyS0,115200';

export interface TinyContext {
  /** where the image and its manifest go */
  outDir: string;
  /** shared caches: kernel-root/, debs/ */
  cacheDir: string;
  epoch: number;
  log: Log;
}

export interface TinyInputs {
  key: string;
  kernel: KernelChoice;
  busybox: { path: string; sha256: string };
  description: Record<string, unknown>;
}

/** Everything the image depends on, hashed: kernel, busybox, tool versions, init, builder code, epoch. */
export function tinyInputs(ctx: TinyContext, previousKernel: string | null): TinyInputs {
  const kernel = resolveKernelFor(ctx.cacheDir, previousKernel, ctx.log);
  const busybox = findStaticBusybox('lab-tiny');
  const description = {
    image: 'lab-tiny', kernel, busybox: busybox.sha256, tools: debVersions(TOOL_PACKAGES), modules: TINY_MODULES,
    epoch: ctx.epoch, kernelArgs: KERNEL_ARGS,
  };
  return { key: inputsKey(description, [...builderSources(['tiny.ts', 'tiny-init.sh', 'kernel.ts', 'grub.ts', 'layout.ts', 'tools.ts']), UDHCPC_SCRIPT]), kernel, busybox, description };
}

/** The init script with its placeholders filled in; throws when one is left. */
export function renderTinyInit(template: string, p: { marker: string; release: string }): string {
  const out = template.replace(/@MARKER@/g, p.marker).replace(/@RELEASE@/g, p.release);
  const left = /@[A-Z_]+@/.exec(out);
  if (left) throw new Error(`tiny-init.sh: placeholder ${left[0]} has no value`);
  return out;
}

export async function buildTiny(ctx: TinyContext, inputs: TinyInputs): Promise<Omit<ImageManifest, 'buildSeconds' | 'builtAt'>> {
  requireTools(TINY_TOOLS);
  for (const f of [SYSLINUX_MBR]) if (!existsSync(f)) throw new Error(`${f} is missing (apt-get install --no-install-recommends syslinux-common)`);
  const { log, epoch } = ctx;
  const kver = inputs.kernel.kernelVersion;
  // kernel: the .deb the ramdisk build already downloaded when it has it, else our own download
  const unlockKernel = await lock(join(ctx.cacheDir, 'kernel.lock'), log);
  let modDir: string;
  const kernelRoot = join(ctx.cacheDir, 'kernel-root');
  try {
    const ramdiskDebs = join(ramdiskDir(), 'debs');
    const deb = hasDebForKernel(ramdiskDebs, inputs.kernel) ? findDeb(ramdiskDebs, inputs.kernel.packageName)! : fetchKernelDeb(join(ctx.cacheDir, 'debs'), inputs.kernel, log);
    modDir = unpackKernel(deb, kernelRoot, kver, log);
  } finally {
    unlockKernel();
  }
  const closure = moduleClosure(kernelRoot, kver, TINY_MODULES);
  for (const s of closure.skipped) log(`note: module ${s.name} skipped: ${s.reason}`);

  const work = join(ctx.outDir, `.work-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const release = `RackSeed lab-tiny (kernel ${kver}, inputs ${inputs.key.slice(0, 12)})`;
    const init = renderTinyInit(readFileSync(TINY_INIT, 'utf8'), { marker: TINY_MARKER, release });
    const entries: CpioEntry[] = [
      ...baseEntries(release),
      ...busyboxEntries(inputs.busybox.path),
      { type: 'file', path: 'init', mode: 0o755, data: Buffer.from(init) },
      { type: 'file', path: 'usr/libexec/rackseed/udhcpc.script', mode: 0o755, data: readFileSync(UDHCPC_SCRIPT) },
      ...moduleEntries(work, modDir, kver, closure.files),
    ];
    // level 6: level 9 takes ~8x as long on kernel modules for 1 % less
    const initrd = gzipSync(encodeCpio(withParentDirs(entries), epoch), { level: 6 });

    // the ESP's files
    const esp = join(work, 'esp');
    mkdirSync(join(esp, 'EFI', 'BOOT'), { recursive: true });
    mkdirSync(join(esp, 'boot', 'grub'), { recursive: true });
    copyFileSync(join(kernelRoot, 'boot', `vmlinuz-${kver}`), join(esp, 'vmlinuz'));
    writeFileSync(join(esp, 'initrd.img'), initrd);
    writeFileSync(join(esp, 'syslinux.cfg'), syslinuxCfg());
    writeFileSync(join(esp, 'boot', 'grub', 'grub.cfg'), grubCfg());
    writeFileSync(join(esp, 'EFI', 'BOOT', 'BOOTX64.EFI'), grubImage('x86_64-efi', TINY_ESP_LABEL, work, epoch));

    const layout = tinyLayout();
    const part = layout.partitions[0];
    const fat = join(work, 'esp.fat');
    makeFat(fat, { sizeMiB: (part.size * SECTOR) / (1024 * 1024), label: TINY_ESP_LABEL, volumeId: '52535459', hiddenSectors: part.start, bits: 16 }, epoch);
    fatAddTree(fat, esp, epoch);
    run('syslinux', ['--install', fat], { epoch });

    const raw = join(ctx.outDir, 'lab-tiny.raw');
    const rawTmp = `${raw}.tmp-${process.pid}`;
    writeFileSync(rawTmp, '');
    truncateSync(rawTmp, layout.sizeBytes);
    run('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', rawTmp], { epoch, input: sfdiskScript(layout) });
    placeBytes(rawTmp, readFileSync(SYSLINUX_MBR).subarray(0, 440), 0);
    placeFile(rawTmp, fat, part.start * SECTOR);
    renameSync(rawTmp, raw);
    const gz = `${raw}.gz`;
    await pipeline(createReadStream(raw), createGzip({ level: 6 }), createWriteStream(`${gz}.tmp-${process.pid}`));
    renameSync(`${gz}.tmp-${process.pid}`, gz);
    const size = (p: string): number => statSync(p).size;
    log(`lab-tiny: kernel ${kver}, initrd ${(initrd.length / 1048576).toFixed(1)} MB with ${closure.names.length} modules, raw ${layout.sizeBytes / 1048576} MiB, gz ${(size(gz) / 1048576).toFixed(1)} MB`);
    return {
      schemaVersion: 1,
      name: 'lab-tiny',
      image: { path: raw, format: 'raw', sha256: await sha256File(raw), size: layout.sizeBytes },
      extra: [{ path: gz, format: 'raw.gz', sha256: await sha256File(gz), size: size(gz) }],
      virtualSize: layout.sizeBytes,
      bootModes: ['bios', 'uefi'],
      layout: describeLayout(layout, { esp: `FAT16 "${TINY_ESP_LABEL}" (vmlinuz, initrd.img, syslinux, EFI/BOOT/BOOTX64.EFI)` }),
      inputs: { ...inputs.description, initrdSha256: createHash('sha256').update(initrd).digest('hex'), modules: closure.names, skippedModules: closure.skipped },
      inputsKey: inputs.key,
      sourceDateEpoch: epoch,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function syslinuxCfg(): string {
  return ['SERIAL 0 115200', 'DEFAULT tiny', 'PROMPT 0', 'TIMEOUT 0', 'LABEL tiny', '  LINUX /vmlinuz', '  INITRD /initrd.img',
    `  APPEND ${KERNEL_ARGS}`, ''].join('\n');
}

/**
 * GRUB's config on the ESP. On EFI the kernel's own EFI stub is chain-loaded and loads the initrd from the
 * ESP itself (initrd=): GRUB 2.06's `linux` (and `linuxefi`) run out of memory on a 256 MiB node under OVMF,
 * the stub does not. BIOS boots through syslinux; the `pc` branch is there for a GRUB installed by hand.
 */
function grubCfg(): string {
  return [
    'set timeout=0',
    'set default=0',
    "menuentry 'RackSeed lab-tiny' {",
    '  if [ "$grub_platform" = efi ]; then',
    `    chainloader /vmlinuz ${KERNEL_ARGS} initrd=\\initrd.img`,
    '  else',
    `    linux /vmlinuz ${KERNEL_ARGS}`,
    '    initrd /initrd.img',
    '  fi',
    '}', '',
  ].join('\n');
}

const INITTAB = [
  '# busybox init, after /init has applied the config drive',
  '::respawn:/bin/cttyhack /bin/sh -l',
  '::ctrlaltdel:/sbin/reboot',
  '::shutdown:/bin/sync',
  '',
].join('\n');

function baseEntries(release: string): CpioEntry[] {
  const dirs = ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'usr/libexec', 'usr/libexec/rackseed', 'usr/share', 'usr/share/udhcpc',
    'dev', 'proc', 'sys', 'run', 'tmp', 'etc', 'root', 'var', 'lib', 'lib/modules', 'mnt'];
  return [
    ...dirs.map((path): CpioEntry => ({ type: 'dir', path, mode: path === 'tmp' ? 0o1777 : path === 'root' ? 0o700 : 0o755 })),
    { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
    { type: 'char', path: 'dev/null', mode: 0o666, major: 1, minor: 3 },
    { type: 'file', path: 'etc/passwd', mode: 0o644, data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
    { type: 'file', path: 'etc/group', mode: 0o644, data: Buffer.from('root:x:0:\n') },
    { type: 'file', path: 'etc/inittab', mode: 0o644, data: Buffer.from(INITTAB) },
    { type: 'file', path: 'etc/os-release', mode: 0o644, data: Buffer.from(`NAME="RackSeed lab-tiny"\nID=rackseed-tiny\nPRETTY_NAME="${release}"\n`) },
    { type: 'symlink', path: 'usr/share/udhcpc/default.script', target: '/usr/libexec/rackseed/udhcpc.script' },
  ];
}


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

/** The closure's module files and busybox modprobe's index over exactly those (depmod in a scratch tree). */
function moduleEntries(work: string, modDir: string, kver: string, files: string[]): CpioEntry[] {
  const stage = join(work, 'modules');
  const stageMod = join(stage, 'lib', 'modules', kver);
  mkdirSync(stageMod, { recursive: true });
  for (const f of files) {
    mkdirSync(join(stageMod, f, '..'), { recursive: true });
    copyFileSync(join(modDir, f), join(stageMod, f));
  }
  for (const f of ['modules.builtin', 'modules.builtin.modinfo']) if (existsSync(join(modDir, f))) copyFileSync(join(modDir, f), join(stageMod, f));
  writeFileSync(join(stageMod, 'modules.order'), files.map((f) => `${f}\n`).join(''));
  run('depmod', ['-b', stage, kver]);
  const base = `lib/modules/${kver}`;
  const out: CpioEntry[] = files.map((f): CpioEntry => ({ type: 'file', path: `${base}/${f}`, mode: 0o644, data: readFileSync(join(stageMod, f)) }));
  for (const f of ['modules.dep', 'modules.alias', 'modules.symbols', 'modules.softdep', 'modules.builtin', 'modules.order']) {
    if (existsSync(join(stageMod, f))) out.push({ type: 'file', path: `${base}/${f}`, mode: 0o644, data: readFileSync(join(stageMod, f)) });
  }
  return out;
}

