// lab-tiny (lab/images/): the image built from Debian packages boots straight from its disk in QEMU, in BIOS
// (SeaBIOS → syslinux) and UEFI (OVMF → GRUB → the kernel's EFI stub) mode, with a config drive ISO
// (core/deploy) as a second virtio disk: its /init sets the hostname and installs the keys from the
// drive, runs the #! user data, gets a DHCP lease, prints its marker, and POSTs to the phone-home URL of
// meta_data.json. And the build is reproducible: two builds into two folders give the same bytes.
// One VM at a time, each in a network namespace of its own (see test/helpers/boot-image.ts).
// RACKSEED_KEEP_E2E_WORK=1 keeps the consoles.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsSandbox, canUseNetns } from '../helpers/netns.ts';
import { PHONE_HOME_HOST, bootImage } from '../helpers/boot-image.ts';
import { buildLabImage, ensureLabImages, type LabImage } from '../../lab/images/index.ts';
import { buildConfigDrive } from '../../core/deploy/config-drive.ts';
import { writeConfigDriveIso } from '../../core/deploy/config-drive-iso.ts';
import { inspectRaw } from '../../core/images/import.ts';

const KEYS = {
  alice: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHqb4xYSo6Q6pgJb4ZkP1z0lJ0n0F8w6m9Gm0W7p7lHf alice@laptop',
  bob: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM2b3xYSo6Q6pgJb4ZkP1z0lJ0n0F8w6m9Gm0W7p7lHq bob@desk',
};
/** The user data reads back what /init did, from inside the guest. */
const USER_DATA = '#!/bin/sh\necho "TINY-USERDATA ran host=$(hostname) authorized_keys=$(grep -c ssh- /root/.ssh/authorized_keys)"\n';

const sandbox = new NetnsSandbox();
let ns = '';
let work = '';
let tiny: LabImage;

before(async () => {
  assert.ok(canUseNetns(), 'this e2e test needs root and iproute2 (network namespaces)');
  work = mkdtempSync(join(tmpdir(), 'rs-lab-images-'));
  ns = sandbox.addNamespace('labimg');
  const t0 = Date.now();
  tiny = (await ensureLabImages({ tiny: true })).tiny!;
  console.error(`lab-tiny ${tiny.built ? 'built' : 'cached'} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${tiny.path}`);
});

after(async () => {
  await sandbox.cleanup();
  if (work && process.env.RACKSEED_KEEP_E2E_WORK !== '1') rmSync(work, { recursive: true, force: true });
  else if (work) console.error(`kept ${work}`);
});

for (const mode of [
  { firmware: 'bios', hostname: 'tiny-bios-01', mac: '52:54:00:52:54:01', timeoutMs: 150_000, phoneHome: false },
  { firmware: 'uefi', hostname: 'tiny-uefi-02', mac: '52:54:00:52:54:02', timeoutMs: 210_000, phoneHome: true },
] as const) {
  test(`lab-tiny boots in ${mode.firmware.toUpperCase()} mode from its disk and applies the config drive`, { timeout: mode.timeoutMs + 30_000 }, async () => {
    const uuid = `00000000-0000-4000-8000-0000000000${mode.firmware === 'bios' ? '01' : '02'}`;
    const iso = join(work, `${mode.firmware}-config.iso`);
    await writeConfigDriveIso(buildConfigDrive({
      uuid, hostname: mode.hostname, publicKeys: KEYS, userData: USER_DATA, bootMac: mode.mac,
      ...(mode.phoneHome ? { phoneHomeUrl: `http://${PHONE_HOME_HOST}/phone-home/$INSTANCE_ID` } : {}),
    }), iso);
    const r = await bootImage(sandbox, ns, {
      name: `tiny-${mode.firmware}`, work, disk: tiny.path, diskFormat: 'raw', configDrive: iso, firmware: mode.firmware,
      machine: 'pc', memMiB: 256, smp: 1, mac: mode.mac, timeoutMs: mode.timeoutMs,
      expect: [/^TINY-USERDATA ran /, /^RACKSEED-TINY booted /, ...(mode.phoneHome ? [/RACKSEED-TINY phone-home ok url=/] : [])],
      phoneHomes: mode.phoneHome ? 1 : 0,
    });
    const [userData, marker] = r.lines;
    assert.equal(userData.line, `TINY-USERDATA ran host=${mode.hostname} authorized_keys=2`);
    // the marker: hostname and key count from the drive; the drive found on the second disk; a DHCP lease from QEMU's user network
    assert.match(marker.line, new RegExp(`^RACKSEED-TINY booted hostname=${mode.hostname} keys=2 config-drive=/dev/vdb ip=eth0:10\\.0\\.2\\.15$`));
    if (mode.firmware === 'bios') assert.match(r.console, /SYSLINUX 6\.04/);
    else assert.match(r.console, /EFI stub: Loaded initrd from command line option/);
    if (mode.phoneHome) {
      assert.equal(r.phoneHomes.length, 1);
      assert.equal(r.phoneHomes[0].method, 'POST');
      assert.equal(r.phoneHomes[0].url, `/phone-home/${uuid}`);
      assert.equal(r.phoneHomes[0].body, `instance_id=${uuid}&hostname=${mode.hostname}&fqdn=${mode.hostname}`);
      assert.match(r.lines[2].line, new RegExp(`^RACKSEED-TINY phone-home ok url=http://${PHONE_HOME_HOST}/phone-home/${uuid}$`));
    }
    console.error(`lab-tiny ${mode.firmware}: user data at ${(userData.atMs / 1000).toFixed(1)} s, marker at ${(marker.atMs / 1000).toFixed(1)} s` +
      `${r.phoneHomes[0] ? `, phone-home at ${(r.phoneHomes[0].atMs / 1000).toFixed(1)} s` : ''} after QEMU start`);
  });
}

test('lab-tiny: the image library sees both boot modes', async () => {
  const c = await inspectRaw(tiny.path, tiny.virtualSize);
  assert.deepEqual(c.modes, ['bios', 'uefi'], `${c.bios}; ${c.uefi}`);
  assert.deepEqual(tiny.bootModes, ['bios', 'uefi']);
});

test('lab-tiny is reproducible: two builds into two folders give the same bytes as the cached one', { timeout: 180_000 }, async () => {
  const dirs = [mkdtempSync(join(work, 'build-a-')), mkdtempSync(join(work, 'build-b-'))];
  const t0 = Date.now();
  const a = await buildLabImage('lab-tiny', { outDir: dirs[0], force: true, log: () => {} });
  const b = await buildLabImage('lab-tiny', { outDir: dirs[1], force: true, log: () => {} });
  console.error(`two lab-tiny builds: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(a.sha256, b.sha256, 'raw images differ');
  assert.equal(a.manifest.extra[0].sha256, b.manifest.extra[0].sha256, 'raw.gz exports differ');
  assert.equal(a.manifest.inputsKey, tiny.manifest.inputsKey);
  assert.equal(a.sha256, tiny.sha256, 'the cached image was built from the same inputs but differs');
  // a rebuild with nothing changed keeps the build
  const again = await buildLabImage('lab-tiny', { outDir: dirs[0], log: () => {} });
  assert.equal(again.built, false);
});
