// iPXE resources: locating Debian's binaries (package `ipxe`) and bundling them with a checksummed manifest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundleIpxeResources, locateIpxeBinaries, readResourceManifest } from '../../netboot/http/resources.ts';

const run = promisify(execFile);

test('locates undionly.kpxe, ipxe.efi (a symlink to /boot/ipxe.efi in Debian) and snponly.efi', async () => {
  const found = await locateIpxeBinaries();
  for (const name of ['undionly.kpxe', 'ipxe.efi', 'snponly.efi']) {
    const b = found.find((x) => x.name === name);
    assert.ok(b?.source, `${name} not found: is the Debian package ipxe installed?`);
    assert.ok((await stat(b.source)).size > 10_000);
  }
  const missing = await locateIpxeBinaries('/nonexistent');
  assert.ok(missing.every((b) => b.source === null));
});

test('bundle copies the binaries with sha256/size/source in manifest.json, matching sha256sum', async () => {
  const dest = await mkdtemp(join(tmpdir(), 'rs-http-res-'));
  try {
    const m = await bundleIpxeResources(dest);
    assert.deepEqual(await readResourceManifest(dest), m);
    for (const f of m.files) {
      const { stdout } = await run('sha256sum', [join(dest, f.name)]);
      assert.equal(stdout.split(' ')[0], f.sha256);
      assert.equal((await stat(join(dest, f.name))).size, f.size);
      assert.deepEqual(await readFile(join(dest, f.name)), await readFile(f.source));
    }
    assert.equal(await readResourceManifest(join(dest, 'nothing-here')), null);
    await assert.rejects(bundleIpxeResources(join(dest, 'x'), '/nonexistent'), /iPXE binaries missing/);
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
});
