// The pure parts of the lab image builds (lab/images/): partition layouts and their sfdisk scripts (checked
// against sfdisk itself), GRUB's BIOS boot code placement, the apt mirror choice, the tiny /init template,
// and the JSON reader in awk that the tiny /init applies config drives with (run by busybox).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIB, debianLayout, grubBiosBootCode, sfdiskScript, tinyLayout } from '../../lab/images/layout.ts';
import { chooseMirror, parseAptSources } from '../../lab/images/debian.ts';
import { renderTinyInit } from '../../lab/images/tiny.ts';

const REPO = join(import.meta.dirname, '..', '..');

test('tiny layout: one active ESP (0xEF) from 1 MiB to the end of 64 MiB; sfdisk writes exactly that', () => {
  const l = tinyLayout();
  assert.equal(sfdiskScript(l), 'label: dos\nlabel-id: 0x52535459\nunit: sectors\nstart=2048, size=129024, type=ef, bootable\n');
  const dir = mkdtempSync(join(tmpdir(), 'rs-layout-'));
  try {
    const disk = join(dir, 'd.raw');
    writeFileSync(disk, '');
    truncateSync(disk, l.sizeBytes);
    execFileSync('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', disk], { input: sfdiskScript(l) });
    const dump = JSON.parse(execFileSync('sfdisk', ['--json', disk], { encoding: 'utf8' })).partitiontable;
    assert.equal(dump.label, 'dos');
    assert.equal(dump.id, '0x52535459');
    assert.deepEqual(dump.partitions.map((p: Record<string, unknown>) => [p.start, p.size, p.type, p.bootable]), [[2048, 129024, 'ef', true]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('debian layout: GPT bios-boot at 2048 (1 MiB), ESP, root, backup GPT room; sfdisk agrees, GUIDs fixed', () => {
  const l = debianLayout(64, 1000);
  assert.equal(l.sizeBytes, (3 + 64 + 1000) * MIB);
  assert.deepEqual(l.partitions.map((p) => [p.name, p.start, p.size]), [['bios', 2048, 2048], ['esp', 4096, 131072], ['root', 135168, 2048000]]);
  const dir = mkdtempSync(join(tmpdir(), 'rs-layout-'));
  try {
    const disk = join(dir, 'd.raw');
    writeFileSync(disk, '');
    truncateSync(disk, l.sizeBytes);
    execFileSync('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', disk], { input: sfdiskScript(l) });
    const t = JSON.parse(execFileSync('sfdisk', ['--json', disk], { encoding: 'utf8' })).partitiontable;
    assert.equal(t.label, 'gpt');
    assert.equal(t.id, 'F7D3E5A1-5253-4C41-8000-000000000000');
    assert.deepEqual(t.partitions.map((p: Record<string, unknown>) => [p.start, p.size, p.type, p.uuid, p.name]), [
      [2048, 2048, '21686148-6449-6E6F-744E-656564454649', 'F7D3E5A1-5253-4C41-8001-000000000001', 'bios'],
      [4096, 131072, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', 'F7D3E5A1-5253-4C41-8001-000000000002', 'esp'],
      [135168, 2048000, '0FC63DAF-8483-4772-8E79-3D69D8477DE4', 'F7D3E5A1-5253-4C41-8001-000000000003', 'root'],
    ]);
    // the same script twice gives the same bytes (no random GUIDs)
    const first = readFileSync(disk);
    execFileSync('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', disk], { input: sfdiskScript(l) });
    assert.ok(first.equals(readFileSync(disk)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GRUB BIOS boot code: boot.img gets core.img\'s LBA at 0x5c, core.img its blocklist start; wrong inputs refused', () => {
  const bootImg = readFileSync('/usr/lib/grub/i386-pc/boot.img');
  // a core.img as grub-mkimage lays it out: diskboot's blocklist says start 2, length = sectors - 1
  const core = Buffer.alloc(5 * 512 - 100);
  core.writeBigUInt64LE(2n, 0x1f4);
  core.writeUInt16LE(4, 0x1fc);
  core.writeUInt16LE(0x820, 0x1fe);
  const { mbrCode, core: placed } = grubBiosBootCode(bootImg, core, 2048);
  assert.equal(mbrCode.length, 440);
  assert.equal(mbrCode.readBigUInt64LE(0x5c), 2048n);
  assert.ok(mbrCode.subarray(0, 0x5c).equals(bootImg.subarray(0, 0x5c)));
  assert.ok(mbrCode.subarray(0x64).equals(bootImg.subarray(0x64, 440)));
  assert.equal(placed.length, 5 * 512, 'padded to whole sectors');
  assert.equal(placed.readBigUInt64LE(0x1f4), 2049n);
  assert.equal(placed.readUInt16LE(0x1fc), 4);
  assert.equal(placed.readUInt16LE(0x1fe), 0x820);
  assert.throws(() => grubBiosBootCode(bootImg.subarray(0, 400), core, 2048), /not a 512-byte boot sector/);
  const odd = Buffer.from(core);
  odd.writeUInt16LE(9, 0x1fc);
  assert.throws(() => grubBiosBootCode(bootImg, odd, 2048), /blocklist is start 2 length 9, expected grub-mkimage's default 2 \/ 4/);
  // and with the real grub-mkimage output
  const dir = mkdtempSync(join(tmpdir(), 'rs-grub-'));
  try {
    writeFileSync(join(dir, 'e.cfg'), 'set prefix=(hd0)/boot/grub\n');
    execFileSync('grub-mkimage', ['-O', 'i386-pc', '-o', join(dir, 'core.img'), '-c', join(dir, 'e.cfg'), '-p', '/boot/grub', 'biosdisk', 'part_gpt', 'ext2']);
    const real = grubBiosBootCode(bootImg, readFileSync(join(dir, 'core.img')), 2048);
    assert.equal(real.core.readBigUInt64LE(0x1f4), 2049n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('apt sources: one-line and deb822 parsed; the mirror is the one configured for the suite, security beside it', () => {
  const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Enabled: no
`;
  const list = '# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.local/debian/ bookworm main contrib\ndeb-src http://mirror.local/debian bookworm main\n' +
    'deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n';
  const a = parseAptSources(deb822, 'deb822');
  assert.equal(a.length, 2);
  assert.deepEqual(a[0], { types: ['deb'], uris: ['http://deb.debian.org/debian'], suites: ['bookworm', 'bookworm-updates'], components: ['main'] });
  assert.deepEqual(chooseMirror(a, 'bookworm'), { mirror: 'http://deb.debian.org/debian', security: 'http://deb.debian.org/debian-security' });
  const b = parseAptSources(list, 'list');
  assert.deepEqual(b[0], { types: ['deb'], uris: ['http://mirror.local/debian/'], suites: ['bookworm'], components: ['main', 'contrib'] });
  assert.deepEqual(chooseMirror(b, 'bookworm'), { mirror: 'http://mirror.local/debian', security: null });
  // a trixie host: no bookworm entry, the plain release suite's mirror is used
  assert.equal(chooseMirror(parseAptSources('deb http://m.local/debian trixie main\n', 'list'), 'bookworm').mirror, 'http://m.local/debian');
  assert.deepEqual(chooseMirror([], 'bookworm'), { mirror: null, security: null });
});

test('tiny /init template: placeholders filled, an unknown one refused', () => {
  const t = readFileSync(join(REPO, 'lab', 'images', 'tiny-init.sh'), 'utf8');
  const out = renderTinyInit(t, { marker: 'RACKSEED-TINY', release: 'R1' });
  assert.match(out, /^echo "RACKSEED-TINY booted hostname=\$hostname keys=\$keys /m);
  assert.doesNotMatch(out, /@[A-Z_]+@/);
  assert.throws(() => renderTinyInit(`${t}\n@NEW_THING@\n`, { marker: 'M', release: 'R' }), /placeholder @NEW_THING@ has no value/);
});

test('tiny /init JSON reader (awk, run by busybox): the leaves of meta_data.json, escapes decoded', () => {
  const t = readFileSync(join(REPO, 'lab', 'images', 'tiny-init.sh'), 'utf8');
  const fn = /^json_leaves\(\) \{\n[\s\S]*?\n\}\n/m.exec(t)?.[0];
  assert.ok(fn, 'json_leaves() not found in tiny-init.sh');
  const meta = {
    uuid: 'u-1', hostname: 'n1', public_keys: { 'a=b.c': 'ssh-ed25519 AAAA x@y', second: 'ssh-rsa BBBB "quoted" \\ back' },
    launch_index: 0, availability_zone: '', meta: { phone_home_url: 'http://10.0.2.100/p/$INSTANCE_ID', nested: { list: [1, true, null, 'x\ny'] } },
  };
  for (const text of [JSON.stringify(meta), JSON.stringify(meta, null, 2)]) {
    const out: string = execFileSync('busybox', ['sh', '-c', `${fn}\njson_leaves`], { input: text, encoding: 'utf8' });
    assert.equal(out, [
      'uuid=u-1', 'hostname=n1', 'public_keys.a_b_c=ssh-ed25519 AAAA x@y', 'public_keys.second=ssh-rsa BBBB "quoted" \\ back',
      'launch_index=0', 'availability_zone=', 'meta.phone_home_url=http://10.0.2.100/p/$INSTANCE_ID',
      'meta.nested.list.0=1', 'meta.nested.list.1=true', 'meta.nested.list.2=null', 'meta.nested.list.3=x y', '',
    ].join('\n'));
  }
});
