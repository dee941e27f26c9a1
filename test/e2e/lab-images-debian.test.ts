// lab-debian (lab/images/debian.ts): the Debian 12 cloud image boots straight from its qcow2 in QEMU (q35,
// -smp 2, -m 1024, TCG) in BIOS (SeaBIOS → GRUB core.img in the BIOS boot partition) and UEFI (OVMF →
// EFI/BOOT/BOOTX64.EFI) mode with a config drive ISO (core/deploy) as a second virtio disk, and an
// unmodified cloud-init applies it: the user data's runcmd writes the hostname and the number of installed
// SSH keys to the serial console, and cloud-init's phone_home POSTs to a receiver (QEMU user network with
// restrict=on and one guestfwd rule, inside a namespace of its own: test/helpers/boot-image.ts).
// Builds the image first when it is missing or out of date (debootstrap: minutes; scripts/setup.sh test builds it
// beforehand). One VM at a time. It runs in .ci/run: 6–6.5 min with a cached image at load 10–14 (boots to phone_home
// BIOS 155–177 s, UEFI 196–207 s; lab/images/README.md). RACKSEED_TEST_DEBIAN=0 leaves it out of a local run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsSandbox, canUseNetns } from '../helpers/netns.ts';
import { PHONE_HOME_HOST, bootImage } from '../helpers/boot-image.ts';
import { ensureLabImages, type LabImage } from '../../lab/images/index.ts';
import { buildConfigDrive } from '../../core/deploy/config-drive.ts';
import { writeConfigDriveIso } from '../../core/deploy/config-drive-iso.ts';
import { inspectRaw } from '../../core/images/import.ts';
import { execFileSync } from 'node:child_process';

const KEYS = {
  alice: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHqb4xYSo6Q6pgJb4ZkP1z0lJ0n0F8w6m9Gm0W7p7lHf alice@laptop',
  bob: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM2b3xYSo6Q6pgJb4ZkP1z0lJ0n0F8w6m9Gm0W7p7lHq bob@desk',
};
/** Debian's cloud-init puts the keys in the default user's (debian) authorized_keys, and root's behind a "login as" command. */
const USER_DATA = `#cloud-config
runcmd:
  - [sh, -c, 'echo "DEBIAN-USERDATA host=$(hostname) debian_keys=$(grep -c ^ssh- /home/debian/.ssh/authorized_keys) root_keys=$(grep -c ssh- /root/.ssh/authorized_keys)" >/dev/ttyS0']
phone_home:
  url: http://${PHONE_HOME_HOST}/phone-home/$INSTANCE_ID
  post: [instance_id, hostname]
  tries: 10
`;

const isRoot = process.getuid?.() === 0;
const SKIP = !isRoot ? 'needs root (network namespaces, QEMU, debootstrap)' : process.env.RACKSEED_TEST_DEBIAN === '0' ? 'RACKSEED_TEST_DEBIAN=0 set' : false;

const sandbox = new NetnsSandbox();
let ns = '';
let work = '';
let image: LabImage;

describe('lab-debian', { skip: SKIP }, () => {
before(async () => {
  assert.ok(canUseNetns(), 'this e2e test needs root and iproute2 (network namespaces)');
  work = mkdtempSync(join(tmpdir(), 'rs-lab-debian-'));
  ns = sandbox.addNamespace('labdeb');
  const t0 = Date.now();
  image = (await ensureLabImages({ debian: true, tiny: false })).debian!;
  console.error(`lab-debian ${image.built ? 'built' : 'cached'} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${image.path} ` +
    `(${(image.size / 1048576).toFixed(0)} MB qcow2, disk ${(image.virtualSize / 1048576).toFixed(0)} MiB)`);
}, { timeout: 3_600_000 }); // a fresh build: debootstrap takes ~150 s on a quiet machine, 20+ min on this loaded one

after(async () => {
  await sandbox.cleanup();
  if (work && process.env.RACKSEED_KEEP_E2E_WORK !== '1') rmSync(work, { recursive: true, force: true });
  else if (work) console.error(`kept ${work}`);
});

test('lab-debian: the image library sees both boot modes (GPT BIOS-boot partition, ESP with BOOTX64.EFI)', async () => {
  const raw = join(work, 'debian.raw');
  execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', image.path, raw]);
  const c = await inspectRaw(raw, image.virtualSize);
  rmSync(raw);
  assert.deepEqual(c.modes, ['bios', 'uefi'], `${c.bios}; ${c.uefi}`);
  assert.equal(c.table, 'gpt');
});

for (const mode of [
  { firmware: 'bios', hostname: 'deb-bios-01', mac: '52:54:00:52:55:01' },
  { firmware: 'uefi', hostname: 'deb-uefi-02', mac: '52:54:00:52:55:02' },
] as const) {
  // each boot: ≤ 207 s to phone_home at load 10–14; the wait below allows ~4× that, within the suite's 15-minute limit
  test(`lab-debian boots in ${mode.firmware.toUpperCase()} mode and cloud-init applies the config drive`, { timeout: 840_000 }, async () => {
    const uuid = `00000000-0000-4000-8000-0000000001${mode.firmware === 'bios' ? '01' : '02'}`;
    const iso = join(work, `${mode.firmware}-config.iso`);
    await writeConfigDriveIso(buildConfigDrive({ uuid, hostname: mode.hostname, publicKeys: KEYS, userData: USER_DATA, bootMac: mode.mac }), iso);
    const r = await bootImage(sandbox, ns, {
      name: `debian-${mode.firmware}`, work, disk: image.path, diskFormat: 'qcow2', configDrive: iso, firmware: mode.firmware,
      machine: 'q35', memMiB: 1024, smp: 2, mac: mode.mac, timeoutMs: 780_000,
      expect: [/Welcome to .*Debian GNU\/Linux 12/, /^DEBIAN-USERDATA /], phoneHomes: 1,
    });
    const [, marker] = r.lines;
    assert.equal(marker.line, `DEBIAN-USERDATA host=${mode.hostname} debian_keys=2 root_keys=2`);
    assert.equal(r.phoneHomes[0].method, 'POST');
    assert.equal(r.phoneHomes[0].url, `/phone-home/${uuid}`);
    const form = new URLSearchParams(r.phoneHomes[0].body);
    assert.equal(form.get('instance_id'), uuid);
    assert.equal(form.get('hostname'), mode.hostname);
    // cloud-init read the drive and network_data.json's NIC without complaint, and no module of it failed
    assert.doesNotMatch(r.console, /Failed to (read|process) .*config-2|Unable to find a system nic/i);
    assert.doesNotMatch(r.console, /Running module \S+ \(.*\) failed/);
    console.error(`lab-debian ${mode.firmware}: systemd at ${(r.lines[0].atMs / 1000).toFixed(1)} s, user data at ${(marker.atMs / 1000).toFixed(1)} s, ` +
      `phone_home at ${(r.phoneHomes[0].atMs / 1000).toFixed(1)} s after QEMU start`);
  });
}
});
