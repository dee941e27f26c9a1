// The ramdisk builder: its cpio writer read back by GNU cpio (the real peer), and whole builds from the
// Debian kernel package — reproducible byte for byte, cached (--if-missing, unchanged inputs), redone
// when an input (SOURCE_DATE_EPOCH) changes, with the files the agent needs inside. Needs root (GNU cpio
// creates the device node) and the kernel .deb (fetched once with apt-get download into .cache/ramdisk/debs).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CpioError, encodeCpio, type CpioEntry } from '../../agent/build/cpio.ts';
import { buildRamdisk, hasInterpreter } from '../../agent/build/build.ts';
import { findDeb, packageFor } from '../../agent/build/kernel-package.ts';
import { loadRamdiskManifest, ramdiskDir, ramdiskPaths, verifyRamdisk, type RamdiskManifest } from '../../agent/build/manifest.ts';
import { fletcher4Hex } from '../../core/images/fletcher4.ts';

let work = '';
let main: RamdiskManifest;
const quiet = (): void => {};

before(async () => {
  assert.equal(process.getuid?.(), 0, 'this test needs root (GNU cpio creates a device node)');
  work = mkdtempSync(join(tmpdir(), 'rs-ramdisk-build-'));
  main = (await buildRamdisk({ ifMissing: true })).manifest; // makes sure the .deb is cached
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * A fresh build directory sharing the cached kernel .deb (hard link; copy across file systems). With
 * `shareUnpacked`, the unpacked kernel tree of the main cache is hard-linked in too (saves dpkg -x).
 */
function freshDir(name: string, shareUnpacked = false): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'debs'), { recursive: true });
  const deb = findDeb(join(ramdiskDir(), 'debs'), packageFor(main.kernelVersion).packageName);
  assert.ok(deb, 'the kernel .deb is cached');
  const to = join(dir, 'debs', deb.split('/').pop()!);
  try { linkSync(deb, to); } catch { copyFileSync(deb, to); }
  if (shareUnpacked) execFileSync('cp', ['-al', join(ramdiskDir(), 'kernel-root'), join(dir, 'kernel-root')]);
  return dir;
}

test('GNU cpio extracts what encodeCpio wrote: files, modes, symlinks, directories, device nodes', () => {
  const entries: CpioEntry[] = [
    { type: 'dir', path: 'bin', mode: 0o755 },
    { type: 'dir', path: 'dev', mode: 0o755 },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: 'bin/tool', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
    { type: 'file', path: 'empty', mode: 0o600, data: new Uint8Array(0) },
    { type: 'file', path: 'odd-name-len', mode: 0o644, data: Buffer.from('abcde') },
    { type: 'symlink', path: 'bin/sh', target: '/bin/busybox' },
    { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
  ];
  const archive = encodeCpio(entries, 1_700_000_000);
  assert.deepEqual(encodeCpio([...entries].reverse(), 1_700_000_000), archive, 'entry order does not matter');
  const out = join(work, 'x');
  mkdirSync(out);
  execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { cwd: out, input: archive });
  assert.equal(readFileSync(join(out, 'bin/tool'), 'utf8'), '#!/bin/sh\necho hi\n');
  assert.equal(statSync(join(out, 'bin/tool')).mode & 0o7777, 0o755);
  assert.equal(statSync(join(out, 'bin/tool')).mtimeMs, 1_700_000_000_000);
  assert.equal(statSync(join(out, 'empty')).size, 0);
  assert.equal(readFileSync(join(out, 'odd-name-len'), 'utf8'), 'abcde');
  assert.equal(statSync(join(out, 'tmp')).mode & 0o7777, 0o1777);
  assert.equal(readlinkSync(join(out, 'bin/sh')), '/bin/busybox');
  const dev = lstatSync(join(out, 'dev/console'));
  assert.ok(dev.isCharacterDevice());
  assert.equal(dev.rdev, (5 << 8) | 1);
  const listing = execFileSync('cpio', ['-it', '--quiet'], { input: archive, encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(listing, ['bin', 'bin/sh', 'bin/tool', 'dev', 'dev/console', 'empty', 'odd-name-len', 'tmp']);
});

test('encodeCpio refuses unsafe or duplicate paths', () => {
  const f = (path: string): CpioEntry => ({ type: 'file', path, mode: 0o644, data: new Uint8Array(1) });
  for (const bad of ['/etc/passwd', '../x', 'a/../b', 'a//b', '', './a']) {
    assert.throws(() => encodeCpio([f(bad)], 0), CpioError, bad);
  }
  assert.throws(() => encodeCpio([f('a'), f('a')], 0), /duplicate/);
});

test('the static-binary check reads ELF program headers', () => {
  assert.equal(hasInterpreter(readFileSync('/bin/busybox')), false, 'busybox-static has no PT_INTERP');
  assert.equal(hasInterpreter(readFileSync(process.execPath)), true, 'node is dynamically linked');
  assert.throws(() => hasInterpreter(Buffer.from('#!/bin/sh\n'.padEnd(80))), /not a 64-bit/);
});

test('two builds are byte-identical, carry the agent and drivers, and are cached until an input changes', { timeout: 300_000 }, async (t) => {
  const a = freshDir('a');
  const b = freshDir('b', true); // a unpacks the .deb itself; b reuses the main cache's tree
  const t0 = Date.now();
  const ra = await buildRamdisk({ dir: a, log: quiet });
  t.diagnostic(`fresh build (unpack + depmod + cpio + gzip) ${((Date.now() - t0) / 1000).toFixed(1)}s, ` +
    `initrd ${(ra.manifest.initrd.size / 1048576).toFixed(2)} MB, ${ra.manifest.modules.length} modules`);
  const rb = await buildRamdisk({ dir: b, log: quiet });
  assert.ok(ra.built && rb.built);
  assert.equal(ra.manifest.initrd.sha256, rb.manifest.initrd.sha256, 'reproducible initrd');
  assert.equal(ra.manifest.kernel.sha256, rb.manifest.kernel.sha256);
  assert.equal(ra.manifest.inputsKey, rb.manifest.inputsKey);
  assert.ok(ra.manifest.initrd.size <= 30 * 1048576, 'initrd ≤ 30 MB');
  assert.ok(await verifyRamdisk(ra.manifest));

  // the manifest as the daemon reads it
  const m = loadRamdiskManifest(a);
  assert.ok(m);
  assert.equal(m.kernel.path, join(a, `vmlinuz-${m.kernelVersion}`));
  assert.deepEqual(ramdiskPaths(a), { kernel: m.kernel.path, initrd: m.initrd.path, kernelVersion: m.kernelVersion });
  assert.equal(ramdiskPaths(join(work, 'nothing-here')), null);
  for (const mod of ['e1000', 'e1000e', 'igb', 'ixgbe', 'virtio_net', 'virtio_pci', 'virtio_blk', 'nvme', 'ahci', 'sd_mod', 'crc64_rocksoft_generic']) {
    assert.ok(m.modules.includes(mod), `module ${mod} in the manifest`);
  }

  // what is inside, listed by GNU cpio
  const cpio = gunzipSync(readFileSync(m.initrd.path));
  const names = new Set(execFileSync('cpio', ['-it', '--quiet'], { input: cpio, encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n'));
  const kdir = `lib/modules/${m.kernelVersion}`;
  for (const p of ['init', 'bin/busybox', 'bin/sh', 'sbin/modprobe', 'sbin/udhcpc', 'usr/bin/wget', 'dev/console',
    'usr/libexec/rackseed/rackseed-agent.sh', 'usr/libexec/rackseed/inventory.sh', 'usr/libexec/rackseed/udhcpc.script', 'usr/libexec/rackseed/deploy.sh',
    'usr/libexec/rackseed/rackseed-zero', `${kdir}/modules.dep`, `${kdir}/modules.alias`, `${kdir}/kernel/drivers/net/ethernet/intel/e1000/e1000.ko`,
    `${kdir}/kernel/drivers/net/virtio_net.ko`]) {
    assert.ok(names.has(p), `${p} in the initrd`);
  }
  const extract = join(work, 'initrd');
  mkdirSync(extract);
  execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames', `${kdir}/modules.alias`, `${kdir}/modules.dep`, 'init', 'usr/libexec/rackseed/rackseed-zero'], { cwd: extract, input: cpio });
  // the deploy agent's C helper: static, runs here too (usage → exit 2; a zero range of a file reads back as zeros)
  const zero = join(extract, 'usr/libexec/rackseed/rackseed-zero');
  assert.equal(statSync(zero).mode & 0o777, 0o755);
  assert.equal(spawnSync(zero, []).status, 2);
  writeFileSync(join(work, 'zeros'), Buffer.alloc(8192));
  assert.equal(spawnSync(zero, ['check', join(work, 'zeros')], { input: '0 8192\n' }).status, 0);
  writeFileSync(join(work, 'zeros'), Buffer.concat([Buffer.alloc(5000), Buffer.from([1]), Buffer.alloc(3191)]));
  const dirty = spawnSync(zero, ['check', join(work, 'zeros')], { input: '4096 4096\n', encoding: 'utf8' });
  assert.equal(dirty.status, 1);
  assert.match(dirty.stderr, /^rackseed-zero: not zero at byte 5000 \(\+3192\)$/m);
  // its read-back sum is the daemon's Fletcher-4 of the same bytes (test/unit/fletcher4.test.ts has the details)
  const sum = spawnSync(zero, ['sum', join(work, 'zeros')], { input: '0 4096\n4096 4096\n', encoding: 'utf8' });
  assert.equal(sum.stdout, `${fletcher4Hex(readFileSync(join(work, 'zeros')))}\n`);
  const aliases = readFileSync(join(extract, kdir, 'modules.alias'), 'utf8');
  assert.match(aliases, /^alias pci:v00008086d0000100Esv\*sd\*bc\*sc\*i\* e1000$/m, 'QEMU e1000 PCI id resolves');
  assert.match(aliases, /^alias virtio:d00000001v\* virtio_net$/m, 'virtio net device resolves');
  assert.match(readFileSync(join(extract, kdir, 'modules.dep'), 'utf8'), /^kernel\/drivers\/net\/virtio_net\.ko: .*kernel\/drivers\/net\/net_failover\.ko/m);
  assert.equal(statSync(join(extract, 'init')).mode & 0o777, 0o755);
  assert.equal(statSync(join(extract, 'init')).mtimeMs, 0, 'mtime = SOURCE_DATE_EPOCH (0 by default)');

  // cached: --if-missing keeps it without looking; no flags → inputs unchanged → kept
  assert.equal((await buildRamdisk({ dir: a, ifMissing: true, log: quiet })).built, false);
  assert.equal((await buildRamdisk({ dir: a, log: quiet })).built, false);
  // an input changes → rebuilt, different bytes
  const saved = process.env.SOURCE_DATE_EPOCH;
  process.env.SOURCE_DATE_EPOCH = '1700000000';
  try {
    const rc = await buildRamdisk({ dir: a, log: quiet });
    assert.equal(rc.built, true);
    assert.notEqual(rc.manifest.inputsKey, ra.manifest.inputsKey);
    assert.notEqual(rc.manifest.initrd.sha256, ra.manifest.initrd.sha256);
    assert.equal(rc.manifest.sourceDateEpoch, 1_700_000_000);
  } finally {
    if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH; else process.env.SOURCE_DATE_EPOCH = saved;
  }
  // a damaged initrd is not a valid build (so --if-missing would rebuild it)
  const damaged = loadRamdiskManifest(a)!;
  assert.equal(await verifyRamdisk(damaged), true);
  execFileSync('truncate', ['-s', '100', damaged.initrd.path]);
  assert.equal(await verifyRamdisk(damaged), false);
});
