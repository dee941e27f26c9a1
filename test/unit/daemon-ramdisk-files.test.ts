// The HTTP boot server's /files/ serves only the discovery kernel and initrd that ramdiskPaths() names: the build
// folder's debs/, unpacked kernel-root/ and manifest.json answer 404 (real fastify server on 127.0.0.1, fetch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildHttpBootServer } from '../../src/netboot/http/http-boot.ts';
import { prepareRamdiskFiles } from '../../src/daemon/ramdisk-files.ts';

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
