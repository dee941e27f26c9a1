// Pure parts of the deploy: root disk selection (default and Ironic-style hints), host name patterns, and where the
// config drive goes (MBR slot / GPT relocation) — the latter checked with util-linux sfdisk and blkid on image files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseRootDisk } from '../../core/deploy/root-disk.ts';
import { expandHostname, expandHostnames } from '../../core/deploy/hostname.ts';
import { guidFrom, placeConfigDrive, ConfigDrivePlacementError } from '../../core/deploy/config-drive-placement.ts';
import { configDriveIso } from '../../core/deploy/config-drive-iso.ts';
import { buildConfigDrive } from '../../core/deploy/config-drive.ts';
import type { InventoryDisk } from '../../shared/inventory.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const env = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };
const disk = (name: string, sizeBytes: number | null, serial: string | null = null, wwn: string | null = null): InventoryDisk =>
  ({ name, sizeBytes, model: null, vendor: null, serial, wwn, rotational: null, bus: 'scsi' });

test('root disk: the smallest that holds the image; ties by name; hints by name, serial, WWN, size, min size', () => {
  const disks = [disk('sda', 2000 * GiB, 'BIG1', 'naa.5000c500a1b2c3d4'), disk('sdb', 240 * GiB, 'SSD1'), disk('sdc', 240 * GiB, 'SSD2'), disk('sdd', 16 * GiB, 'USB')];
  const pick = (size: number, hints = {}) => { const c = chooseRootDisk(disks, size, hints); return c.ok ? c.disk.name : c.reason; };
  assert.equal(pick(GiB), 'sdd', 'smallest that fits');
  assert.equal(pick(20 * GiB), 'sdb', 'two equal: the first by name');
  assert.equal(pick(GiB, { serial: 'ssd2' }), 'sdc', 'serial, case-insensitive');
  assert.equal(pick(GiB, { wwn: '5000C500A1B2C3D4' }), 'sda', 'WWN without its naa. prefix');
  assert.equal(pick(GiB, { name: '/dev/sdb' }), 'sdb');
  assert.equal(pick(GiB, { size: 240 }), 'sdb');
  assert.equal(pick(GiB, { minSizeGiB: 500 }), 'sda');
  assert.match(pick(GiB, { serial: 'NOPE' }), /^no disk matches the root device hints \{"serial":"NOPE"\}: sda 2000\.00 GiB serial BIG1 \(serial is not NOPE\)/);
  assert.equal(pick(3000 * GiB), 'the image (3000.00 GiB) is larger than every disk of the node: sda 2000.00 GiB serial BIG1, sdb 240.00 GiB serial SSD1, sdc 240.00 GiB serial SSD2, sdd 16.00 GiB serial USB');
  assert.match(pick(300 * GiB, { size: 240 }), /^the image \(300\.00 GiB\) is larger than every matching disk/);
  const none = chooseRootDisk([], GiB);
  assert.deepEqual(none, { ok: false, reason: 'the node has no disks in its inventory' });
  assert.equal((chooseRootDisk([disk('sda', null)], GiB) as { reason: string }).reason, 'no disk of known size (sda size unknown)');
});

test('host name patterns: placeholders, padding, sanitising, duplicates refused', () => {
  const f = { id: 'a1b2', mac: '52:54:00:ab:cd:ef', serial: 'SN 0042/X', index: 7 };
  assert.equal(expandHostname('node-{serial}', f), 'node-sn-0042-x');
  assert.equal(expandHostname('{mac}', f), '52-54-00-ab-cd-ef');
  assert.equal(expandHostname('rack1-{index:03}', f), 'rack1-007');
  assert.equal(expandHostname('n{index}-{id}', f), 'n7-a1b2');
  assert.equal(expandHostname('node-{serial}', { ...f, serial: null }), 'node-52-54-00-ab-cd-ef', 'no serial: the MAC');
  assert.equal(expandHostname('x'.repeat(80), f).length, 63);
  assert.throws(() => expandHostname('node-{rack}', f), /unknown placeholder \{rack\}/);
  assert.throws(() => expandHostname('{index', f), /unbalanced brace/);
  assert.throws(() => expandHostnames('web', [f, { ...f, id: 'c3', index: 8 }]), /gives nodes a1b2 and c3 the same name web/);
  assert.deepEqual(expandHostnames('web-{index}', [f, { ...f, id: 'c3', index: 8 }]), ['web-7', 'web-8']);
});

function sparse(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
}

function applyWrites(path: string, writes: { offset: number; data: Buffer }[]): void {
  const fd = openSync(path, 'r+');
  try { for (const w of writes) writeSync(fd, w.data, 0, w.data.length, w.offset); } finally { closeSync(fd); }
}

async function iso(): Promise<Buffer> {
  return configDriveIso(buildConfigDrive({ uuid: 'i-1', hostname: 'h1' }));
}

test('config drive on an MBR image: a free slot at the end of the disk (at 2 TiB on a larger one); four used slots and no room are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-cd-mbr-'));
  try {
    const img = join(dir, 'img');
    sparse(img, 32 * MiB);
    execFileSync('sfdisk', ['-q', img], { input: 'label: dos\nstart=2048, size=30720, type=83, bootable\n', env });
    const head = readFileSync(img).subarray(0, 34 * 512);
    const cd = await iso();
    const target = join(dir, 'disk');
    sparse(target, 300 * MiB);
    applyWrites(target, [{ offset: 0, data: readFileSync(img) }]);
    const p = placeConfigDrive({ head, imageBytes: 32 * MiB, diskBytes: 300 * MiB, iso: cd, partitionGuid: guidFrom('x') });
    assert.equal(p.table, 'mbr');
    assert.equal(p.partitionNumber, 2);
    assert.equal(p.firstLba, (300 - 64) * 2048);
    assert.equal(p.sectors, 64 * 2048);
    assert.deepEqual(p.writes.map((w) => w.what), ['config-2 ISO', 'MBR with partition 2 (config drive)']);
    applyWrites(target, p.writes);
    const t = JSON.parse(execFileSync('sfdisk', ['--json', target], { env }).toString()) as { partitiontable: { partitions: { start: number; size: number; type: string }[] } };
    assert.deepEqual(t.partitiontable.partitions.map((x) => [x.start, x.size, x.type]), [[2048, 30720, '83'], [(300 - 64) * 2048, 64 * 2048, '83']]);
    assert.equal(execFileSync('blkid', ['-p', '-o', 'value', '-s', 'LABEL', '--offset', String(p.firstLba * 512), target], { env }).toString().trim(), 'config-2');

    // little room after the image: a smaller partition, still MiB-aligned
    const tight = placeConfigDrive({ head, imageBytes: 32 * MiB, diskBytes: 40 * MiB, iso: cd, partitionGuid: guidFrom('x') });
    assert.equal(tight.firstLba, 32 * 2048);
    assert.equal(tight.sectors, 8 * 2048);
    assert.throws(() => placeConfigDrive({ head, imageBytes: 32 * MiB, diskBytes: 32 * MiB + 64 * 1024, iso: cd, partitionGuid: guidFrom('x') }),
      (e: Error) => e instanceof ConfigDrivePlacementError && /^no room for the config drive after the image/.test(e.message));
    const huge = placeConfigDrive({ head, imageBytes: 32 * MiB, diskBytes: 3 * 1024 * 1024 * MiB, iso: cd, partitionGuid: guidFrom('x') });
    assert.equal(huge.firstLba + huge.sectors, 0xffffffff, 'a 3 TiB disk: the partition ends where 32-bit sector numbers do');
    const full = join(dir, 'full');
    sparse(full, 32 * MiB);
    execFileSync('sfdisk', ['-q', full], { input: 'label: dos\nsize=4096\nsize=4096\nsize=4096\nsize=4096\n', env });
    assert.throws(() => placeConfigDrive({ head: readFileSync(full).subarray(0, 512), imageBytes: 32 * MiB, diskBytes: 300 * MiB, iso: cd, partitionGuid: guidFrom('x') }),
      /the image's MBR has no free primary partition slot for the config drive \(all four are used\)/);
    assert.throws(() => placeConfigDrive({ head: Buffer.alloc(512), imageBytes: 32 * MiB, diskBytes: 300 * MiB, iso: cd, partitionGuid: guidFrom('x') }),
      /the image has no partition table to add the config drive to \(no MBR signature 55 AA/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('config drive on a GPT image: the table is relocated to the disk\'s end (sfdisk --verify clean) and a config-2 entry added', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-cd-gpt-'));
  try {
    const img = join(dir, 'img');
    sparse(img, 20 * MiB);
    execFileSync('sfdisk', ['-q', img], { input: 'label: gpt\nstart=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649\nstart=4096, size=20480, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n', env });
    const target = join(dir, 'disk');
    sparse(target, 500 * MiB);
    applyWrites(target, [{ offset: 0, data: readFileSync(img) }]);
    const cd = await iso();
    const p = placeConfigDrive({ head: readFileSync(img).subarray(0, 34 * 512), imageBytes: 20 * MiB, diskBytes: 500 * MiB, iso: cd, partitionGuid: guidFrom('job-1') });
    assert.equal(p.table, 'gpt');
    assert.equal(p.partitionNumber, 3);
    assert.deepEqual(p.writes.map((w) => w.what), ['config-2 ISO', 'backup GPT at the end of the disk', 'old backup GPT header at the end of the image (zeroed)',
      'protective MBR covering the disk', 'primary GPT header', 'primary GPT entries with partition 3 (config-2)']);
    applyWrites(target, p.writes);
    assert.match(execFileSync('sfdisk', ['--verify', target], { env }).toString(), /No errors detected/);
    const t = JSON.parse(execFileSync('sfdisk', ['--json', target], { env }).toString()) as { partitiontable: { lastlba: number; partitions: { start: number; size: number; name?: string; uuid: string }[] } };
    assert.equal(t.partitiontable.lastlba, 500 * 2048 - 34);
    const last = t.partitiontable.partitions[2]!;
    assert.equal(last.name, 'config-2');
    assert.equal(last.uuid, guidFrom('job-1'));
    assert.equal(last.start + last.size - 1, 500 * 2048 - 34, 'ends at the last usable sector');
    assert.equal(execFileSync('blkid', ['-p', '-o', 'value', '-s', 'LABEL', '--offset', String(last.start * 512), target], { env }).toString().trim(), 'config-2');
    // the same inputs give the same bytes (a resumed deploy writes what it planned)
    const again = placeConfigDrive({ head: readFileSync(img).subarray(0, 34 * 512), imageBytes: 20 * MiB, diskBytes: 500 * MiB, iso: cd, partitionGuid: guidFrom('job-1') });
    assert.deepEqual(again.writes.map((w) => w.data.toString('hex')), p.writes.map((w) => w.data.toString('hex')));
    // a damaged GPT is refused with the reason
    const bad = Buffer.from(readFileSync(img).subarray(0, 34 * 512));
    bad[512 + 60] ^= 1;
    assert.throws(() => placeConfigDrive({ head: bad, imageBytes: 20 * MiB, diskBytes: 500 * MiB, iso: cd, partitionGuid: guidFrom('x') }),
      /the image's GPT cannot be read to add the config drive: GPT header CRC-32 mismatch/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('partition GUIDs derived from the deploy: stable, version-4 shaped', () => {
  assert.equal(guidFrom('a'), guidFrom('a'));
  assert.notEqual(guidFrom('a'), guidFrom('b'));
  assert.match(guidFrom('a'), /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
});
