// The HTTP boot server's /files/ serves only the discovery kernel and initrd that ramdiskPaths() names: the build
// folder's debs/, unpacked kernel-root/ and manifest.json answer 404 (real fastify server on 127.0.0.1, fetch).
// The daemon runs as root: stale folders are removed only when they are our own directories (not another user's,
// not a symlink), the root can live in the private <data dir>/run, and a symlinked kernel is never served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { buildHttpBootServer } from '../../netboot/http/http-boot.ts';
import { prepareRamdiskFiles } from '../../daemon/ramdisk-files.ts';
import { privateSubdir, secureDataDir } from '../../core/safe-path.ts';

const ROOT = process.geteuid?.() === 0;

function fakeBuild(dir: string): void {
  writeFileSync(join(dir, 'vmlinuz-6.1.0-99-amd64'), Buffer.alloc(4096, 1));
  writeFileSync(join(dir, 'initrd-6.1.0-99-amd64.img'), Buffer.alloc(2048, 2));
  mkdirSync(join(dir, 'debs'));
  writeFileSync(join(dir, 'debs', 'linux-image-6.1.0-99-amd64-unsigned_6.1.1-1_amd64.deb'), 'deb');
  mkdirSync(join(dir, 'kernel-root', 'boot'), { recursive: true });
  writeFileSync(join(dir, 'kernel-root', 'boot', 'vmlinuz-6.1.0-99-amd64'), 'kernel in the unpacked package');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({
    schemaVersion: 1, kernelVersion: '6.1.0-99-amd64', kernelPackage: 'linux-image-6.1.0-99-amd64-unsigned_6.1.1-1_amd64.deb',
    kernel: { path: 'vmlinuz-6.1.0-99-amd64', sha256: '0'.repeat(64), size: 4096 },
    initrd: { path: 'initrd-6.1.0-99-amd64.img', sha256: '0'.repeat(64), size: 2048 },
    modules: [],
  }));
}

test('/files/ holds only the ramdisk kernel and initrd; debs/, kernel-root/ and the manifest are 404', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-daemon-files-'));
  const build = join(tmp, 'ramdisk');
  mkdirSync(build);
  fakeBuild(build);
  const files = prepareRamdiskFiles(build, tmp);
  const app = await buildHttpBootServer({ logger: pino({ level: 'silent' }), scriptFor: () => null, filesRoot: files.root, ipxeRoot: join(tmp, 'none') });
  try {
    assert.deepEqual(files.ramdisk, { kernelPath: '/files/vmlinuz-6.1.0-99-amd64', initrdPath: '/files/initrd-6.1.0-99-amd64.img' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const get = async (p: string) => { const r = await fetch(base + p); return { status: r.status, body: Buffer.from(await r.arrayBuffer()) }; };

    const k = await get(files.ramdisk!.kernelPath);
    assert.equal(k.status, 200);
    assert.deepEqual(k.body, Buffer.alloc(4096, 1));
    const i = await get(files.ramdisk!.initrdPath);
    assert.equal(i.status, 200);
    assert.deepEqual(i.body, Buffer.alloc(2048, 2));
    for (const p of ['/files/debs/linux-image-6.1.0-99-amd64-unsigned_6.1.1-1_amd64.deb', '/files/kernel-root/boot/vmlinuz-6.1.0-99-amd64',
      '/files/manifest.json', '/files/debs/', '/files/kernel-root']) {
      assert.equal((await get(p)).status, 404, p);
    }
    assert.notEqual((await get('/files/../ramdisk/manifest.json')).status, 200, 'no way out of the files root');
  } finally {
    await app.close();
    files.dispose();
    files.dispose(); // idempotent
    assert.equal(existsSync(files.root), false);
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('no complete build: an empty files root and no ramdisk paths; folders of dead daemons are removed', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-daemon-files-'));
  try {
    // pid 2^22+1 is above Linux's pid_max limit, so no process has it; our own pid's folder is kept
    mkdirSync(join(tmp, 'rackseed-files-4194305-abc123'));
    mkdirSync(join(tmp, `rackseed-files-${process.pid}-keep01`));
    const none = prepareRamdiskFiles(join(tmp, 'missing'), tmp);
    assert.equal(none.ramdisk, null);
    assert.equal(existsSync(join(tmp, 'rackseed-files-4194305-abc123')), false, 'a dead daemon\'s folder is removed');
    assert.equal(existsSync(join(tmp, `rackseed-files-${process.pid}-keep01`)), true, 'a live daemon\'s folder is kept');
    none.dispose();
    const half = join(tmp, 'half');
    mkdirSync(half);
    fakeBuild(half);
    rmSync(join(half, 'initrd-6.1.0-99-amd64.img'));
    const f = prepareRamdiskFiles(half, tmp);
    assert.equal(f.ramdisk, null, 'a manifest whose initrd is missing is not a build');
    f.dispose();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('stale cleanup removes only our own directories: another user\'s folder and a symlink of the same name stay', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-daemon-files-'));
  try {
    const dead = 'rackseed-files-4194305-'; // above pid_max: a daemon that is gone
    mkdirSync(join(tmp, `${dead}ours01`));
    mkdirSync(join(tmp, 'victim'));
    writeFileSync(join(tmp, 'victim', 'precious'), 'keep');
    symlinkSync(join(tmp, 'victim'), join(tmp, `${dead}link01`));
    if (ROOT) {
      mkdirSync(join(tmp, `${dead}nobody`));
      writeFileSync(join(tmp, `${dead}nobody`, 'theirs'), 'keep');
      chownSync(join(tmp, `${dead}nobody`), 65534, 65534);
    }
    const f = prepareRamdiskFiles(join(tmp, 'missing'), tmp);
    f.dispose();
    assert.equal(existsSync(join(tmp, `${dead}ours01`)), false, 'our own stale folder is removed');
    assert.equal(lstatSync(join(tmp, `${dead}link01`)).isSymbolicLink(), true, 'a symlink named like a stale folder is left alone');
    assert.equal(readFileSync(join(tmp, 'victim', 'precious'), 'utf8'), 'keep', 'and what it points to is untouched');
    if (ROOT) assert.equal(readFileSync(join(tmp, `${dead}nobody`, 'theirs'), 'utf8'), 'keep', 'another user\'s folder is kept');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the files root lives in the private parent the daemon passes (<data dir>/run), mode 0700', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-daemon-files-'));
  try {
    const build = join(tmp, 'ramdisk');
    mkdirSync(build);
    fakeBuild(build);
    const run = privateSubdir(secureDataDir(join(tmp, 'data')), 'run');
    const f = prepareRamdiskFiles(build, run);
    assert.equal(dirname(f.root), run);
    assert.equal(statSync(f.root).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(f.root).sort(), ['initrd-6.1.0-99-amd64.img', 'vmlinuz-6.1.0-99-amd64']);
    assert.ok(readdirSync(f.root).every((n) => lstatSync(join(f.root, n)).isFile()));
    f.dispose();
    assert.deepEqual(readdirSync(run), []);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a build whose kernel is a symlink (to a file outside it) serves nothing', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-daemon-files-'));
  try {
    const build = join(tmp, 'ramdisk');
    mkdirSync(build);
    fakeBuild(build);
    writeFileSync(join(tmp, 'secret'), 'root only');
    rmSync(join(build, 'vmlinuz-6.1.0-99-amd64'));
    symlinkSync(join(tmp, 'secret'), join(build, 'vmlinuz-6.1.0-99-amd64'));
    const f = prepareRamdiskFiles(build, tmp);
    assert.equal(f.ramdisk, null);
    assert.deepEqual(readdirSync(f.root), [], 'nothing linked or copied');
    f.dispose();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('across filesystems the kernel and initrd are copied (same bytes, regular files)', { skip: !existsSync('/dev/shm') && 'no /dev/shm' }, (t) => {
  const shm = mkdtempSync('/dev/shm/rs-daemon-files-');
  const tmp = mkdtempSync(join(tmpdir(), 'rs-daemon-files-'));
  try {
    if (statSync(shm).dev === statSync(tmp).dev) { t.skip('/dev/shm and the temp folder are one filesystem'); return; }
    fakeBuild(shm);
    const f = prepareRamdiskFiles(shm, tmp);
    assert.notEqual(f.ramdisk, null);
    const k = join(f.root, 'vmlinuz-6.1.0-99-amd64');
    assert.ok(lstatSync(k).isFile());
    assert.notEqual(statSync(k).dev, statSync(join(shm, 'vmlinuz-6.1.0-99-amd64')).dev, 'copied onto the files root\'s filesystem');
    assert.deepEqual(readFileSync(k), Buffer.alloc(4096, 1));
    assert.deepEqual(readFileSync(join(f.root, 'initrd-6.1.0-99-amd64.img')), Buffer.alloc(2048, 2));
    f.dispose();
  } finally {
    rmSync(shm, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
});
