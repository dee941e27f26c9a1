// agent/build/manifest.ts: a crafted manifest.json cannot make the (root) daemon serve a file outside the ramdisk
// build folder — absolute paths, "..", sub-paths, symlinks (in or out of the folder), FIFOs and folders all give
// "no ramdisk" (null), never a path; the build's own layout is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPlainFileName, loadRamdiskManifest, ramdiskPaths } from '../../agent/build/manifest.ts';

function manifest(dir: string, kernel: string, initrd = 'initrd-6.1.0-99-amd64.img'): void {
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({
    schemaVersion: 1, kernelVersion: '6.1.0-99-amd64', kernelPackage: 'x.deb',
    kernel: { path: kernel, sha256: '0'.repeat(64), size: 1 },
    initrd: { path: initrd, sha256: '0'.repeat(64), size: 1 },
    modules: [],
  }));
}

test('plain file names only', () => {
  for (const ok of ['vmlinuz-6.1.0-99-amd64', 'initrd-6.1.0-99-amd64.img', '..x', 'a..b']) assert.equal(isPlainFileName(ok), true, ok);
  for (const bad of ['', '.', '..', '/etc/shadow', '../x', 'a/b', 'a\\b', 'debs/', 'x\0y', 42, null, undefined]) {
    assert.equal(isPlainFileName(bad), false, String(bad));
  }
});

test('a crafted manifest names nothing outside the build folder', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-manifest-'));
  try {
    const dir = join(tmp, 'ramdisk');
    mkdirSync(dir);
    writeFileSync(join(dir, 'vmlinuz-6.1.0-99-amd64'), 'kernel');
    writeFileSync(join(dir, 'initrd-6.1.0-99-amd64.img'), 'initrd');
    writeFileSync(join(tmp, 'outside'), 'not for the network');

    manifest(dir, 'vmlinuz-6.1.0-99-amd64');
    assert.deepEqual(ramdiskPaths(dir), { kernel: join(dir, 'vmlinuz-6.1.0-99-amd64'), initrd: join(dir, 'initrd-6.1.0-99-amd64.img'), kernelVersion: '6.1.0-99-amd64' });

    for (const bad of ['/etc/passwd', join(tmp, 'outside'), '../outside', 'debs/../../outside', './vmlinuz-6.1.0-99-amd64', '..', '.']) {
      manifest(dir, bad);
      assert.equal(loadRamdiskManifest(dir), null, `kernel path ${bad}`);
      assert.equal(ramdiskPaths(dir), null, `kernel path ${bad}`);
      manifest(dir, 'vmlinuz-6.1.0-99-amd64', bad);
      assert.equal(ramdiskPaths(dir), null, `initrd path ${bad}`);
    }

    // a plain name that is a symlink: out of the folder, or even inside it, is refused
    symlinkSync(join(tmp, 'outside'), join(dir, 'escape'));
    manifest(dir, 'escape');
    assert.equal(ramdiskPaths(dir), null, 'symlink to a file outside');
    symlinkSync('vmlinuz-6.1.0-99-amd64', join(dir, 'alias'));
    manifest(dir, 'alias');
    assert.equal(ramdiskPaths(dir), null, 'symlink to a file inside');
    symlinkSync('/etc/shadow', join(dir, 'initrd-link'));
    manifest(dir, 'vmlinuz-6.1.0-99-amd64', 'initrd-link');
    assert.equal(ramdiskPaths(dir), null, 'symlinked initrd');

    // not regular files
    mkdirSync(join(dir, 'kernel-root'));
    manifest(dir, 'kernel-root');
    assert.equal(ramdiskPaths(dir), null, 'a folder');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    manifest(dir, 'fifo');
    assert.equal(ramdiskPaths(dir), null, 'a FIFO');
    manifest(dir, 'missing');
    assert.equal(ramdiskPaths(dir), null, 'missing');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
