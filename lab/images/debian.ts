// lab-debian: a real Debian 12 (bookworm) with systemd and cloud-init, made by debootstrap from the
// Debian mirror this machine's apt uses, laid on a GPT disk without any mount:
//   1 bios  1 MiB   BIOS boot partition: GRUB core.img (grub-mkimage i386-pc), boot.img in the MBR
//   2 esp   64 MiB  FAT16 "RS-ESP": EFI/BOOT/BOOTX64.EFI (grub-mkimage x86_64-efi)
//   3 root          ext4 "rs-root" from `mke2fs -d` of the debootstrap tree
// Both GRUBs find the root by its label and read its /boot/grub/grub.cfg (kernel /vmlinuz, root=LABEL=rs-root,
// console=ttyS0,115200). cloud-init's datasources: ConfigDrive, NoCloud, None. Exported as a compressed qcow2.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builderSources, debVersions, inputsKey, sha256File, sourceDateEpoch, type ImageManifest, type Log } from './cache.ts';
import { grubBootImg, grubImage } from './grub.ts';
import { MIB, SECTOR, debianLayout, describeLayout, grubBiosBootCode, sfdiskScript } from './layout.ts';
import { clampTimes, fatAddTree, makeFat, placeBytes, placeFile, requireTools, run, runStreaming } from './tools.ts';

export const DEBIAN_SUITE = 'bookworm';
/** What lab-notes.md measured to work (python3-cffi-backend must be named; minbase leaves it out). */
export const DEBIAN_PACKAGES: readonly string[] = [
  'linux-image-amd64', 'systemd-sysv', 'udev', 'cloud-init', 'python3-cffi-backend', 'ifupdown', 'isc-dhcp-client', 'iproute2',
  'curl', 'openssh-server', 'ca-certificates', 'netbase', 'e2fsprogs', 'python3-netifaces',
];
/**
 * lab-control (issue 17, the seed's control node): lab-debian plus OpenStack Ironic from Debian, run as one
 * standalone process (`/usr/bin/ironic`, rpc_transport none, SQLite), Ironic's dnsmasq DHCP provider, an HTTP server
 * for iPXE scripts and images (nginx-light), ipmitool and python3-sushy for its BMCs. Nothing here is configured for a
 * site: the seed's config drive (core/seed/control-config.ts) writes ironic.conf, the password file and the units.
 * python3-q-text-as-data is named because ironic-api depends on the virtual q-text-as-data, which debootstrap drops.
 */
export const CONTROL_PACKAGES: readonly string[] = [
  'ironic-api', 'ironic-conductor', 'python3-ironic', 'python3-q-text-as-data', 'ipmitool', 'dnsmasq', 'nginx-light', 'python3-sushy',
  'python3-bcrypt', 'ipxe', 'pxelinux', 'syslinux-common',
];
/** Services the packages enable at install that the control node must not start by themselves (the seed's units run Ironic and dnsmasq). */
const CONTROL_DISABLED_UNITS = ['ironic-api', 'ironic-conductor', 'dnsmasq', 'tftpd-hpa', 'xinetd', 'nginx', 'open-iscsi', 'iscsid', 'uwsgi'];
export type DebianVariant = 'lab-debian' | 'lab-control';
export const DEBIAN_ROOT_LABEL = 'rs-root';
export const DEBIAN_ESP_LABEL = 'RS-ESP';
const ROOT_UUID = '5253c1a0-0000-4c41-8000-000000000003';
const ESP_MIB = 64;
const KERNEL_ARGS = `root=LABEL=${DEBIAN_ROOT_LABEL} ro console=tty0 console=ttyS0,115200`;
/** The day bookworm was released: the epoch when the archive's Release file gives none. */
const BOOKWORM_EPOCH = 1686355200;
const TOOL_PACKAGES = ['debootstrap', 'grub-pc-bin', 'grub-efi-amd64-bin', 'grub-common', 'dosfstools', 'mtools', 'e2fsprogs', 'fdisk', 'qemu-utils'];
export const DEBIAN_TOOLS = ['debootstrap', 'mke2fs', 'mkfs.vfat', 'mmd', 'mcopy', 'grub-mkimage', 'sfdisk', 'qemu-img'] as const;

export interface DebianContext {
  /** lab-debian (default) or lab-control (the same base tree + CONTROL_PACKAGES) */
  variant?: DebianVariant;
  outDir: string;
  cacheDir: string;
  log: Log;
}

export interface DebianInputs {
  key: string;
  mirror: string;
  securityMirror: string | null;
  description: Record<string, unknown>;
}

/** An apt source entry: type (deb, deb-src), URIs, suites, components. */
export interface AptSource { types: string[]; uris: string[]; suites: string[]; components: string[] }

/** Parse one-line (`sources.list`) or deb822 (`*.sources`) apt sources. Disabled entries are skipped. */
export function parseAptSources(text: string, format: 'list' | 'deb822'): AptSource[] {
  if (format === 'list') {
    const out: AptSource[] = [];
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      const words = line.replace(/\[[^\]]*\]/g, ' ').split(/\s+/).filter(Boolean);
      if (words.length < 3 || (words[0] !== 'deb' && words[0] !== 'deb-src')) continue;
      out.push({ types: [words[0]], uris: [words[1]], suites: [words[2]], components: words.slice(3) });
    }
    return out;
  }
  const out: AptSource[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let last = '';
    for (const raw of para.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) { fields[last] += ` ${raw.trim()}`; continue; }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m) { last = m[1].toLowerCase(); fields[last] = m[2]; }
    }
    if (!fields.types || !fields.uris || (fields.enabled ?? 'yes').toLowerCase() === 'no') continue;
    const split = (v?: string): string[] => (v ?? '').split(/\s+/).filter(Boolean);
    out.push({ types: split(fields.types), uris: split(fields.uris), suites: split(fields.suites), components: split(fields.components) });
  }
  return out;
}

/**
 * The mirror apt is configured with on this machine: the URI of the first `deb` entry whose suites
 * include `suite` (else the first one with a plain release suite and no "security" in its URI), and the
 * security mirror if one is configured. Never a hard-coded host.
 */
export function chooseMirror(sources: AptSource[], suite: string): { mirror: string | null; security: string | null } {
  const debs = sources.filter((s) => s.types.includes('deb') && s.uris.length > 0);
  const main = debs.find((s) => s.suites.includes(suite) && !/security/.test(s.uris[0]))
    ?? debs.find((s) => s.suites.some((x) => /^[a-z]+$/.test(x)) && !/security/.test(s.uris[0]));
  const sec = debs.find((s) => s.suites.includes(`${suite}-security`)) ?? debs.find((s) => s.suites.some((x) => /-security$/.test(x)));
  return { mirror: main?.uris[0]?.replace(/\/+$/, '') ?? null, security: sec?.uris[0]?.replace(/\/+$/, '') ?? null };
}

function systemAptSources(): AptSource[] {
  const out: AptSource[] = [];
  const read = (p: string, f: 'list' | 'deb822'): void => { try { out.push(...parseAptSources(readFileSync(p, 'utf8'), f)); } catch { /* unreadable */ } };
  read('/etc/apt/sources.list', 'list');
  const d = '/etc/apt/sources.list.d';
  if (existsSync(d)) {
    for (const f of readdirSync(d).sort()) {
      if (f.endsWith('.list')) read(join(d, f), 'list');
      else if (f.endsWith('.sources')) read(join(d, f), 'deb822');
    }
  }
  return out;
}

export function debianInputs(_ctx: DebianContext): DebianInputs {
  const { mirror, security } = chooseMirror(systemAptSources(), DEBIAN_SUITE);
  if (!mirror) throw new Error(`no Debian mirror in /etc/apt/sources.list*: lab-debian needs apt configured with a Debian archive (for debootstrap ${DEBIAN_SUITE})`);
  const variant = _ctx.variant ?? 'lab-debian';
  const description = {
    image: variant, suite: DEBIAN_SUITE, mirror, securityMirror: security, packages: DEBIAN_PACKAGES, tools: debVersions(TOOL_PACKAGES),
    ...(variant === 'lab-control' ? { controlPackages: CONTROL_PACKAGES, disabledUnits: CONTROL_DISABLED_UNITS } : {}),
    sourceDateEpoch: process.env.SOURCE_DATE_EPOCH ?? null, kernelArgs: KERNEL_ARGS,
  };
  return { key: inputsKey(description, builderSources(['debian.ts', 'grub.ts', 'layout.ts', 'tools.ts'])), mirror, securityMirror: security, description };
}

export async function buildDebian(ctx: DebianContext, inputs: DebianInputs, force = false): Promise<Omit<ImageManifest, 'buildSeconds' | 'builtAt'>> {
  requireTools(DEBIAN_TOOLS);
  if (process.getuid?.() !== 0) throw new Error('lab-debian is built with debootstrap, which needs root');
  const { log } = ctx;
  const work = join(ctx.outDir, `.work-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const debCache = join(ctx.cacheDir, 'debootstrap-cache');
  mkdirSync(debCache, { recursive: true });
  try {
    const root = join(work, 'root');
    const variant = ctx.variant ?? 'lab-debian';
    let base = await debootstrapTree(ctx, inputs, debCache, force);
    if (variant === 'lab-control') base = await controlTree(ctx, inputs, base, force);
    const t0 = Date.now();
    run('cp', ['-a', '--reflink=auto', base, root], { timeoutMs: 600_000 });
    log(`copied the debootstrap tree in ${Math.round((Date.now() - t0) / 1000)} s`);
    const epoch = sourceDateEpoch(releaseEpoch(root) ?? BOOKWORM_EPOCH);
    configure(root, inputs);
    if (variant === 'lab-control') configureControl(root);
    const packages = run('dpkg-query', [`--admindir=${join(root, 'var', 'lib', 'dpkg')}`, '-W', '-f', '${Package} ${Version}\n']).trim().split('\n').sort();
    const kernels = readdirSync(join(root, 'boot')).filter((f) => f.startsWith('vmlinuz-')).sort();
    if (!kernels.length || !existsSync(join(root, 'vmlinuz')) || !existsSync(join(root, 'initrd.img'))) {
      throw new Error('debootstrap left no kernel (/vmlinuz, /initrd.img): is linux-image-amd64 installable from the mirror?');
    }
    scrub(root);
    clampTimes(root, epoch);

    // root file system, sized from the tree: a quarter more than it uses, plus 320 MiB free
    const usedMiB = Math.ceil(Number(run('du', ['-s', '-B1', '-x', root]).split(/\s+/)[0]) / MIB);
    const rootMiB = Math.ceil(usedMiB * 1.25) + 320;
    const rootImg = join(work, 'root.ext4');
    run('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', root, '-L', DEBIAN_ROOT_LABEL, '-U', ROOT_UUID,
      '-E', `root_owner=0:0,hash_seed=${ROOT_UUID}`, '-m', '1', rootImg, `${rootMiB}M`], { epoch, timeoutMs: 600_000 });
    rmSync(root, { recursive: true, force: true });

    const layout = debianLayout(ESP_MIB, rootMiB);
    const [bios, espPart, rootPart] = layout.partitions;
    const esp = join(work, 'esp');
    mkdirSync(join(esp, 'EFI', 'BOOT'), { recursive: true });
    writeFileSync(join(esp, 'EFI', 'BOOT', 'BOOTX64.EFI'), grubImage('x86_64-efi', DEBIAN_ROOT_LABEL, work, epoch));
    const espImg = join(work, 'esp.fat');
    makeFat(espImg, { sizeMiB: ESP_MIB, label: DEBIAN_ESP_LABEL, volumeId: '52534553', hiddenSectors: espPart.start, bits: 16 }, epoch);
    fatAddTree(espImg, esp, epoch);
    const { mbrCode, core } = grubBiosBootCode(grubBootImg(), grubImage('i386-pc', DEBIAN_ROOT_LABEL, work, epoch), bios.start);
    if (core.length > bios.size * SECTOR) throw new Error(`GRUB core.img (${core.length} bytes) does not fit the BIOS boot partition`);

    const raw = join(work, 'disk.raw');
    writeFileSync(raw, '');
    truncateSync(raw, layout.sizeBytes);
    run('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', raw], { epoch, input: sfdiskScript(layout) });
    placeBytes(raw, mbrCode, 0);
    placeBytes(raw, core, bios.start * SECTOR);
    placeFile(raw, espImg, espPart.start * SECTOR);
    placeFile(raw, rootImg, rootPart.start * SECTOR);
    rmSync(rootImg);

    const qcow2 = join(ctx.outDir, `${variant}.qcow2`);
    const tmp = `${qcow2}.tmp-${process.pid}`;
    const t1 = Date.now();
    // -m 1: one coroutine, so compressed clusters land in the same order every time
    await runStreaming('qemu-img', ['convert', '-q', '-c', '-m', '1', '-f', 'raw', '-O', 'qcow2', raw, tmp], log, { timeoutMs: 1_200_000 });
    renameSync(tmp, qcow2);
    log(`qcow2 written in ${Math.round((Date.now() - t1) / 1000)} s (${(statSync(qcow2).size / MIB).toFixed(0)} MB, disk ${layout.sizeBytes / MIB} MiB)`);
    return {
      schemaVersion: 1,
      name: variant,
      image: { path: qcow2, format: 'qcow2', sha256: await sha256File(qcow2), size: statSync(qcow2).size },
      extra: [],
      virtualSize: layout.sizeBytes,
      bootModes: ['bios', 'uefi'],
      layout: describeLayout(layout, {
        bios: 'GRUB i386-pc core.img (boot.img in the MBR)', esp: `FAT16 "${DEBIAN_ESP_LABEL}" (EFI/BOOT/BOOTX64.EFI)`,
        root: `ext4 "${DEBIAN_ROOT_LABEL}" UUID ${ROOT_UUID}, ${usedMiB} MiB used`,
      }),
      inputs: { ...inputs.description, kernel: kernels[kernels.length - 1].replace(/^vmlinuz-/, '') },
      inputsKey: inputs.key,
      sourceDateEpoch: epoch,
      packages,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * debootstrap's output, kept in the cache (`debootstrap-root-<key>/`, complete when `<dir>.done` exists) so a
 * change to the rest of the recipe (configuration, layout, GRUB) re-runs only the minutes after it. Keyed by
 * suite, mirror, package list and debootstrap's version; `--force` makes a new one.
 */
async function debootstrapTree(ctx: DebianContext, inputs: DebianInputs, debCache: string, force = false): Promise<string> {
  const key = inputsKey({ suite: DEBIAN_SUITE, mirror: inputs.mirror, packages: DEBIAN_PACKAGES, debootstrap: debVersions(['debootstrap']) }, []).slice(0, 16);
  const dir = join(ctx.cacheDir, `debootstrap-root-${key}`);
  if (!force && existsSync(`${dir}.done`) && existsSync(join(dir, 'usr'))) {
    ctx.log(`reusing the debootstrap tree ${dir}`);
    return dir;
  }
  for (const f of readdirSync(ctx.cacheDir)) {
    if (/^debootstrap-root-[0-9a-f]{16}(\.done)?$/.test(f)) rmSync(join(ctx.cacheDir, f), { recursive: true, force: true });
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  const t0 = Date.now();
  await runStreaming('debootstrap', ['--variant=minbase', `--include=${DEBIAN_PACKAGES.join(',')}`, '--components=main',
    `--cache-dir=${debCache}`, DEBIAN_SUITE, tmp, inputs.mirror], (m) => { if (/^debootstrap: I: (Retriev|Extract|Configur|Base system)/.test(m) && !/Retrieving [a-z0-9]/.test(m)) ctx.log(m); });
  renameSync(tmp, dir);
  writeFileSync(`${dir}.done`, `${new Date().toISOString()}\n`);
  ctx.log(`debootstrap done in ${Math.round((Date.now() - t0) / 1000)} s`);
  return dir;
}

/**
 * lab-control's tree: a copy of lab-debian's debootstrap tree with CONTROL_PACKAGES installed by the tree's own apt
 * (`chroot … apt-get install --no-install-recommends`, no mount: maintainer scripts that want /proc are told to skip;
 * a policy-rc.d keeps every service from starting). Cached beside the base tree as `debootstrap-root-control-<key>`;
 * the .debs are kept in `<cache>/control-debs/` so a rebuild downloads nothing.
 */
async function controlTree(ctx: DebianContext, inputs: DebianInputs, base: string, force = false): Promise<string> {
  const key = inputsKey({ base, packages: CONTROL_PACKAGES, mirror: inputs.mirror }, []).slice(0, 16);
  const dir = join(ctx.cacheDir, `debootstrap-root-control-${key}`);
  if (!force && existsSync(`${dir}.done`) && existsSync(join(dir, 'usr'))) {
    ctx.log(`reusing the control-node tree ${dir}`);
    return dir;
  }
  for (const f of readdirSync(ctx.cacheDir)) {
    if (/^debootstrap-root-control-/.test(f)) rmSync(join(ctx.cacheDir, f), { recursive: true, force: true });
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  const t0 = Date.now();
  run('cp', ['-a', '--reflink=auto', base, tmp], { timeoutMs: 600_000 });
  const debs = join(ctx.cacheDir, 'control-debs');
  mkdirSync(debs, { recursive: true });
  const archives = join(tmp, 'var', 'cache', 'apt', 'archives');
  mkdirSync(join(archives, 'partial'), { recursive: true });
  run('cp', ['-a', '--reflink=auto', `${debs}/.`, archives]);
  put(tmp, 'usr/sbin/policy-rc.d', '#!/bin/sh\n# image build: no service starts\nexit 101\n', 0o755);
  put(tmp, 'etc/apt/sources.list', `deb ${inputs.mirror} ${DEBIAN_SUITE} main\n`);
  const env = { DEBIAN_FRONTEND: 'noninteractive', DEBCONF_NONINTERACTIVE_SEEN: 'true', LC_ALL: 'C', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  const apt = (args: string[]): Promise<void> => runStreaming('env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'chroot', tmp, 'apt-get', ...args],
    (m) => { if (/^(Setting up|E:|W:|Get:\d+ .*ironic)/.test(m)) ctx.log(m); }, { timeoutMs: 3_600_000 });
  // dbconfig-common: Ironic's database is SQLite, configured by the seed, never by dpkg
  run('chroot', [tmp, 'debconf-set-selections'], { input: 'ironic-common ironic/configure_db boolean false\nironic-common ironic-common/dbconfig-install boolean false\ndbconfig-common dbconfig-common/dbconfig-install boolean false\n' });
  await apt(['update']);
  await apt(['install', '-y', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...CONTROL_PACKAGES]);
  run('cp', ['-a', '--reflink=auto', '-n', `${archives}/.`, debs]);
  rmSync(join(debs, 'partial'), { recursive: true, force: true });
  rmSync(join(tmp, 'usr', 'sbin', 'policy-rc.d'), { force: true });
  renameSync(tmp, dir);
  writeFileSync(`${dir}.done`, `${new Date().toISOString()}\n`);
  ctx.log(`control-node packages installed in ${Math.round((Date.now() - t0) / 1000)} s`);
  return dir;
}

/**
 * The control node's defaults: no package service starts on its own. The ones the seed never uses are masked (their
 * systemd units and the init scripts the sysv generator would start: tftpd-hpa, xinetd have no unit); nginx is only
 * not wanted, since the seed's runcmd enables it. The seed's config drive brings its own Ironic and dnsmasq units.
 */
function configureControl(root: string): void {
  for (const unit of CONTROL_DISABLED_UNITS) {
    for (const wants of ['multi-user.target.wants', 'sockets.target.wants', 'sysinit.target.wants']) {
      rmSync(join(root, 'etc', 'systemd', 'system', wants, `${unit}.service`), { force: true });
      rmSync(join(root, 'etc', 'systemd', 'system', wants, `${unit}.socket`), { force: true });
    }
    if (unit === 'nginx') continue;
    const mask = join(root, 'etc', 'systemd', 'system', `${unit}.service`);
    rmSync(mask, { force: true });
    symlinkSync('/dev/null', mask);
  }
  put(root, 'etc/rackseed-control', 'RackSeed control node image (lab-control): configured at first boot by the seed\'s config drive\n');
}

/** The Date of the suite's Release file debootstrap fetched (it stays in var/lib/apt/lists), in seconds. */
function releaseEpoch(root: string): number | null {
  const lists = join(root, 'var', 'lib', 'apt', 'lists');
  if (!existsSync(lists)) return null;
  for (const f of readdirSync(lists).sort()) {
    if (!new RegExp(`_dists_${DEBIAN_SUITE}_(In)?Release$`).test(f)) continue;
    const m = /^Date:\s*(.+)$/m.exec(readFileSync(join(lists, f), 'utf8'));
    const t = m ? Date.parse(m[1]) : NaN;
    if (Number.isFinite(t)) return Math.floor(t / 1000);
  }
  return null;
}

function put(root: string, path: string, text: string, mode = 0o644): void {
  const p = join(root, path);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text, { mode });
}

/** The files that make it a cloud image: cloud-init, fstab, network, serial console, GRUB config, apt. */
function configure(root: string, inputs: DebianInputs): void {
  put(root, 'etc/cloud/cloud.cfg.d/90_rackseed.cfg', [
    '# RackSeed lab image: config drive first (what RackSeed and Ironic write), then NoCloud, else nothing.',
    'datasource_list: [ConfigDrive, NoCloud, None]',
    '# one host key type: generating RSA/ECDSA keys costs seconds under emulation',
    'ssh_genkeytypes: [ed25519]',
    'manage_etc_hosts: true',
    '# minbase has no locales package: cloud-init\'s locale module would fail (and cloud-init report an error)',
    'locale: false',
    '',
  ].join('\n'));
  put(root, 'etc/fstab', `# <file system> <mount point> <type> <options> <dump> <pass>\nLABEL=${DEBIAN_ROOT_LABEL} / ext4 errors=remount-ro 0 1\n`);
  put(root, 'etc/network/interfaces', '# interfaces(5); cloud-init writes the NICs into interfaces.d/\nauto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n');
  mkdirSync(join(root, 'etc', 'network', 'interfaces.d'), { recursive: true });
  put(root, 'etc/hostname', '');
  put(root, 'etc/hosts', '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n');
  put(root, 'etc/resolv.conf', '');
  const apt = [`deb ${inputs.mirror} ${DEBIAN_SUITE} main`, `deb ${inputs.mirror} ${DEBIAN_SUITE}-updates main`];
  if (inputs.securityMirror) apt.push(`deb ${inputs.securityMirror} ${DEBIAN_SUITE}-security main`);
  put(root, 'etc/apt/sources.list', `${apt.join('\n')}\n`);
  put(root, 'boot/grub/grub.cfg', [
    '# RackSeed lab-debian: read by the GRUB images built into the disk (BIOS core.img and EFI/BOOT/BOOTX64.EFI),',
    `# which find this file system by its label ${DEBIAN_ROOT_LABEL}. /vmlinuz and /initrd.img follow kernel upgrades.`,
    'set timeout=0',
    'set default=0',
    'if [ "$grub_platform" = pc ]; then serial --unit=0 --speed=115200; terminal_input serial console; terminal_output serial console; fi',
    "menuentry 'Debian GNU/Linux 12 (RackSeed lab)' {",
    `  linux /vmlinuz ${KERNEL_ARGS}`,
    '  initrd /initrd.img',
    '}', '',
  ].join('\n'));
}

/** Remove what must differ per machine or is only debris of the build: host keys, machine id, logs, caches. */
function scrub(root: string): void {
  const rm = (p: string): void => rmSync(join(root, p), { recursive: true, force: true });
  const empty = (dir: string, keep: (f: string) => boolean = () => false): void => {
    const d = join(root, dir);
    if (!existsSync(d)) return;
    for (const f of readdirSync(d)) if (!keep(f)) rmSync(join(d, f), { recursive: true, force: true });
  };
  for (const f of existsSync(join(root, 'etc/ssh')) ? readdirSync(join(root, 'etc/ssh')) : []) if (/^ssh_host_/.test(f)) unlinkSync(join(root, 'etc/ssh', f));
  writeFileSync(join(root, 'etc/machine-id'), '');
  rm('var/lib/dbus/machine-id');
  rm('var/lib/systemd/random-seed');
  empty('var/lib/apt/lists', (f) => f === 'partial' || f === 'lock');
  empty('var/cache/apt', (f) => f === 'archives');
  empty('var/cache/apt/archives', (f) => f === 'partial' || f === 'lock');
  empty('var/cache/debconf', (f) => !f.endsWith('-old'));
  empty('var/log', (f) => f === 'apt' || f === 'journal' || f === 'private');
  empty('var/log/apt');
  empty('tmp');
  empty('var/tmp');
  rm('root/.bash_history');
  rm('debootstrap');
  rm('var/lib/cloud');
  // dpkg's backup copies of its database differ run to run and are never needed in an image
  for (const f of ['status-old', 'available-old', 'diversions-old', 'statoverride-old']) rm(`var/lib/dpkg/${f}`);
}
