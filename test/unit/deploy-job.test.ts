// The deploy and release jobs (core/deploy/service.ts) against fake BMCs, a fake agent writing to sparse files
// standing for disks, and a fake deployed OS (test/helpers/deploy-fakes.ts): the order of steps and BMC actions, the
// disk's content (the image, then a config-2 partition sfdisk and blkid find), done-means-booted, the writer limit,
// each failure with its message and the node's state, a restart mid-write, and release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { biosMbrImage, gptEspImage } from '../helpers/images.ts';
import { addNode, deployCore, FakeBmcs, importImage, MiB } from '../helpers/deploy-fakes.ts';
import type { Core } from '../../core/core.ts';
import { createNetbootSink } from '../../core/netboot-sink.ts';
import { CLEAN_STEPS, DEPLOY_STEPS, isOsDhcp } from '../../core/deploy/service.ts';

const env = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, probe: () => T | null | undefined | false): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function setup(name: string, deploy = {}) {
  const dir = mkdtempSync(join(tmpdir(), `rs-deploy-${name}-`));
  const bmcs = new FakeBmcs();
  const core = deployCore(join(dir, 'data'), bmcs, deploy);
  return { dir, bmcs, core, done: () => { bmcs.stopAll(); core.close(); rmSync(dir, { recursive: true, force: true }); } };
}

const ended = (core: Core, id: string) => () => {
  const d = core.deploys.get(id);
  return d && (d.stage === 'done' || d.stage === 'failed') ? d : null;
};

test('deploy of an MBR image: steps and BMC actions in order, the image on the disk, a config-2 partition, active once the OS asks DHCP', async () => {
  const { dir, bmcs, core, done } = setup('mbr');
  try {
    const imgPath = join(dir, 'bios.img');
    biosMbrImage(imgPath);
    const img = await importImage(core, 'tiny', imgPath);
    const disk = join(dir, 'disk1');
    const node = addNode(core, bmcs, { mac: '52:54:00:d0:00:01', serial: 'S1', address: '10.231.0.11', disk, diskBytes: 256 * MiB, os: { callback: false } });
    const messages: string[] = [];
    core.bus.subscribe((m) => { if (m.type === 'deploy') messages.push(m.payload.stage); });

    const started = core.deploys.deploy(node.serial!, { image: 'tiny', sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBrb3Zpc2lvbmluZy10ZXN0LWtleS0wMDAwMDAwMDA= test@lab'], doneWhen: 'dhcp' });
    assert.ok(['starting', 'booting-agent'].includes(started.stage), started.stage);
    assert.equal(started.hostname, 'node-s1', 'default host name node-{serial}');
    assert.equal(started.disk?.name, 'vda');
    assert.equal(core.nodes.get(node.id)!.state, 'deploying');
    // a PXE DHCP of the node (its firmware) does not count as the OS booting
    const d = await until('the deploy to end', 15_000, ended(core, node.id));
    assert.equal(d.stage, 'done', d.error ?? '');
    assert.equal(d.bootedVia, 'dhcp');
    assert.equal(core.nodes.get(node.id)!.state, 'active');
    const job = core.jobs.get(d.jobId)!;
    assert.deepEqual(job.steps.map((s) => `${s.name}:${s.status}`), DEPLOY_STEPS.map((s) => `${s}:done`));
    assert.deepEqual(bmcs.calls, [
      '10.231.0.11 bootdev pxe', '10.231.0.11 power on', '10.231.0.11 bootdev disk persistent', '10.231.0.11 power on',
    ], 'the agent powered itself off: no BMC power off needed');
    assert.deepEqual(bmcs.machines.get('10.231.0.11')!.boots, ['agent', 'os']);
    for (const st of ['booting-agent', 'writing', 'verifying', 'config-drive', 'powering-off', 'booting-os', 'done']) assert.ok(messages.includes(st), `stream stage ${st}: ${messages.join(',')}`);

    // the disk: the image's bytes (but its MBR, which gained the config drive partition), then the ISO at the end
    const diskBytes = readFileSync(disk);
    const image = readFileSync(imgPath);
    assert.ok(diskBytes.subarray(512, image.length).equals(image.subarray(512)), 'the image past the MBR is on the disk unchanged');
    assert.ok(diskBytes.subarray(0, 446).equals(image.subarray(0, 446)), 'the boot code is the image\'s');
    const table = JSON.parse(execFileSync('sfdisk', ['--json', disk], { env }).toString()) as { partitiontable: { partitions: { start: number; size: number; type: string; bootable?: boolean }[] } };
    const parts = table.partitiontable.partitions;
    assert.equal(parts.length, 2);
    assert.equal(parts[0]!.bootable, true, 'the image\'s partition stays active');
    assert.equal(parts[1]!.type, '83');
    assert.equal((parts[1]!.start + parts[1]!.size) * 512, 256 * MiB, 'the config drive partition ends at the end of the disk');
    assert.equal(parts[1]!.size * 512, 64 * MiB);
    const label = execFileSync('blkid', ['-p', '-o', 'value', '-s', 'LABEL', '--offset', String(parts[1]!.start * 512), disk], { env }).toString().trim();
    assert.equal(label, 'config-2');
    const os = bmcs.machines.get('10.231.0.11')!;
    assert.match(os.os?.callbackUrl ?? '', /^http:\/\/10\.230\.0\.1:8080\/agent\/v1\/booted\?token=[A-Za-z0-9_-]{43}$/, 'the config drive names the callback');

    // the history tells the story
    const kinds = core.events.query({ nodeId: node.id, limit: 500 }).map((e) => e.kind);
    for (const k of ['deploy-start', 'image-written', 'image-verified', 'config-drive', 'config-drive-written', 'booted', 'deploy-done']) assert.ok(kinds.includes(k), `event ${k}`);
    assert.equal(img.sha256, createHash('sha256').update(image).digest('hex'));
    // discovery through its BMC leaves an active node alone (it would PXE-boot the running OS)
    assert.deepEqual(core.runner.discover(['10.231.0.11']), []);
    assert.equal(core.nodes.get(node.id)!.state, 'active');
  } finally { done(); }
});

test('GPT image: the backup table moves to the end of the disk and a config-2 partition is added; the OS calls back (callback)', async () => {
  const { dir, bmcs, core, done } = setup('gpt');
  try {
    const imgPath = join(dir, 'uefi.img');
    gptEspImage(imgPath);
    await importImage(core, 'efi', imgPath);
    const disk = join(dir, 'disk1');
    const node = addNode(core, bmcs, { mac: '52:54:00:d0:00:02', serial: 'S2', address: '10.231.0.12', disk, diskBytes: 200 * MiB, firmware: 'uefi', os: { dhcp: false } });
    core.deploys.deploy(node.id, { image: 'efi', hostname: 'efi-node', doneWhen: 'callback' });
    const d = await until('the deploy to end', 15_000, ended(core, node.id));
    assert.equal(d.stage, 'done', d.error ?? '');
    assert.equal(d.bootedVia, 'callback');
    const out = execFileSync('sfdisk', ['--verify', disk], { env }).toString();
    assert.match(out, /No errors detected/, out);
    const table = JSON.parse(execFileSync('sfdisk', ['--json', disk], { env }).toString()) as { partitiontable: { lastlba: number; partitions: { start: number; size: number; name?: string }[] } };
    assert.equal(table.partitiontable.lastlba, 200 * MiB / 512 - 34, 'last usable LBA at the end of the disk');
    const cd = table.partitiontable.partitions.find((p) => p.name === 'config-2')!;
    assert.ok(cd, JSON.stringify(table));
    assert.equal(execFileSync('blkid', ['-p', '-o', 'value', '-s', 'LABEL', '--offset', String(cd.start * 512), disk], { env }).toString().trim(), 'config-2');
    // the meta data names the host
    const iso = readFileSync(disk).subarray(cd.start * 512, (cd.start + 2048) * 512).toString('latin1');
    assert.match(iso, /"hostname": "efi-node"/);
  } finally { done(); }
});

test('checksum mismatch fails one node with the expected and actual sums (Fletcher-4 by default, SHA-256 when set); the other node of the batch goes on to active', async () => {
  const { dir, bmcs, core, done } = setup('sum');
  try {
    const imgPath = join(dir, 'bios.img');
    biosMbrImage(imgPath);
    const img = await importImage(core, 'tiny', imgPath);
    const bad = addNode(core, bmcs, { mac: '52:54:00:d0:00:03', serial: 'S3', address: '10.231.0.13', disk: join(dir, 'd3'), diskBytes: 128 * MiB, agent: { corruptWire: true } });
    const good = addNode(core, bmcs, { mac: '52:54:00:d0:00:04', serial: 'S4', address: '10.231.0.14', disk: join(dir, 'd4'), diskBytes: 128 * MiB });
    const list = core.deploys.deployMany({ nodes: [bad.mac, good.serial!], image: img.name, hostname: 'n-{index:02}' });
    assert.deepEqual(list.map((d) => d.hostname), ['n-01', 'n-02']);
    const [b, g] = await Promise.all([until('bad', 15_000, ended(core, bad.id)), until('good', 15_000, ended(core, good.id))]);
    assert.equal(b.stage, 'failed');
    assert.match(b.error!, new RegExp(`^checksum mismatch \\(expected ${img.sha256}: its data ranges sum to Fletcher-4 [0-9a-f]{64}; the disk's read back to [0-9a-f]{64}\\): the bytes the agent received already differed \\(SHA-256 [0-9a-f]{64}: corrupted`));
    const n = core.nodes.get(bad.id)!;
    assert.equal(n.state, 'deploy-failed');
    assert.equal(n.lastError, b.error);
    assert.equal(n.power, 'off', 'powered off after the failure');
    assert.ok(bmcs.calls.includes('10.231.0.13 power off'));
    assert.ok(!bmcs.calls.includes('10.231.0.13 bootdev disk persistent'), 'never set to boot a disk that failed its check');
    assert.equal(g.stage, 'done', g.error ?? '');
    assert.equal(core.nodes.get(good.id)!.state, 'active');

    // a disk that reads back differently although the bytes arrived intact: caught by either check
    const third = addNode(core, bmcs, { mac: '52:54:00:d0:00:05', serial: 'S5', address: '10.231.0.15', disk: join(dir, 'd5'), diskBytes: 128 * MiB, agent: { corruptDisk: true } });
    core.deploys.deploy(third.id, { image: 'tiny' });
    const t = await until('third', 15_000, ended(core, third.id));
    assert.match(t.error!, /^checksum mismatch \(expected [0-9a-f]{64}: its data ranges sum to Fletcher-4 [0-9a-f]{64}; the disk's read back to [0-9a-f]{64}\): the bytes were received intact but the disk read back differently/);
    assert.deepEqual(core.deploys.setSettings({ readBackCheck: 'sha256' }).readBackCheck, 'sha256');
    core.deploys.deploy(third.id, { image: 'tiny' });
    const t2 = await until('third, SHA-256', 15_000, () => { const d = core.deploys.get(third.id); return d && d.startedAt > t.startedAt && d.finishedAt ? d : null; });
    assert.match(t2.error!, /^checksum mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\): the bytes were received intact but the disk read back differently/);
  } finally { done(); }
});

test('by the extent map: the zeros are zeroed on the disk, not sent; a zero range that reads back non-zero fails; a damaged library copy is named', async () => {
  const { dir, bmcs, core, done } = setup('extents');
  try {
    // a bootable MBR image followed by 40 MiB of zeros and 1 MiB of data: one zero range
    const imgPath = join(dir, 'padded.img');
    biosMbrImage(imgPath);
    writeFileSync(imgPath, Buffer.concat([readFileSync(imgPath), Buffer.alloc(40 * MiB), Buffer.alloc(MiB, 0x77)]));
    const img = await importImage(core, 'padded', imgPath);
    const map = await core.images.extentMap(img);
    assert.ok(map.dataBytes < 10 * MiB && map.extents.some((e) => !e.data && e.length >= 39 * MiB), 'mostly zeros');
    // a used disk: old bytes everywhere must not survive in the image's zero range
    const disk = join(dir, 'e1');
    const ok = addNode(core, bmcs, { mac: '52:54:00:d0:0e:01', serial: 'E1', address: '10.231.14.11', disk, diskBytes: 128 * MiB, agent: { noWire: true } });
    writeFileSync(disk, Buffer.alloc(128 * MiB, 0xee));
    core.deploys.deploy(ok.id, { image: 'padded' });
    const d = await until('deploy', 15_000, ended(core, ok.id));
    assert.equal(d.stage, 'done', d.error ?? '');
    assert.equal(createHash('sha256').update(readFileSync(disk).subarray(512, img.rawSize!)).digest('hex'),
      createHash('sha256').update(readFileSync(imgPath).subarray(512)).digest('hex'), 'the whole image, zeros included, is on the disk');
    const evs = core.events.query({ nodeId: ok.id, limit: 500 });
    const written = evs.find((e) => e.kind === 'image-written')!;
    assert.match(written.message, /MiB of data sent, 4\d\.\d MiB zeroed on the disk\)$/);
    assert.equal((written.detail as { zeroBytes: number }).zeroBytes, img.rawSize! - map.dataBytes);
    assert.match(evs.find((e) => e.kind === 'image-verified')!.message, /the zero ranges are zeros and the data ranges' Fletcher-4 [0-9a-f]{64} matches the library's copy \(SHA-256 [0-9a-f]{64}\)$/);

    // the disk does not zero: the agent's check fails the verify
    const dirty = addNode(core, bmcs, { mac: '52:54:00:d0:0e:02', serial: 'E2', address: '10.231.14.12', disk: join(dir, 'e2'), diskBytes: 128 * MiB, agent: { dirtyZeroAt: 20 * MiB } });
    core.deploys.deploy(dirty.id, { image: 'padded' });
    const f = await until('dirty', 15_000, ended(core, dirty.id));
    assert.match(f.error!, /^reading the image back from vda failed: the zero ranges of \/dev\/vda do not read back as zeros: rackseed-zero: not zero at byte 20971520/);
    assert.equal(core.nodes.get(dirty.id)!.state, 'deploy-failed');

    // the library's file damaged after its map was made, an agent that sends no SHA-256 of what it received
    const flip = readFileSync(core.images.rawPath(img));
    flip[100] ^= 0xff;
    writeFileSync(core.images.rawPath(img), flip);
    const third = addNode(core, bmcs, { mac: '52:54:00:d0:0e:03', serial: 'E3', address: '10.231.14.13', disk: join(dir, 'e3'), diskBytes: 128 * MiB, agent: { noWire: true } });
    core.deploys.deploy(third.id, { image: 'padded' });
    const t = await until('third', 15_000, ended(core, third.id));
    assert.match(t.error!, new RegExp(`^checksum mismatch \\(expected ${img.sha256}: its data ranges sum to Fletcher-4 [0-9a-f]{64}; the disk's read back to [0-9a-f]{64}\\): the bytes the agent received already differed: the library's copy of the image is damaged`));
  } finally { done(); }
});

test('many at once: with 2 writers, a third node waits queued until a slot frees, and all three end active', async () => {
  const { dir, bmcs, core, done } = setup('slots', { maxWriters: 2 });
  try {
    const imgPath = join(dir, 'bios.img');
    biosMbrImage(imgPath);
    await importImage(core, 'tiny', imgPath);
    const nodes = [1, 2, 3].map((i) => addNode(core, bmcs, { mac: `52:54:00:d0:01:0${i}`, serial: `Q${i}`, address: `10.231.1.1${i}`, disk: join(dir, `q${i}`), diskBytes: 128 * MiB }));
    let maxWriting = 0;
    const writing = new Set<string>();
    let queued = false;
    core.bus.subscribe((m) => {
      if (m.type !== 'deploy') return;
      if (m.payload.stage === 'writing') writing.add(m.payload.nodeId);
      else writing.delete(m.payload.nodeId);
      if (m.payload.stage === 'queued') queued = true;
      maxWriting = Math.max(maxWriting, writing.size);
    });
    core.deploys.deployMany({ nodes: nodes.map((n) => n.id), image: 'tiny' });
    const results = await Promise.all(nodes.map((n) => until(n.id, 20_000, ended(core, n.id))));
    assert.deepEqual(results.map((r) => r.stage), ['done', 'done', 'done'], results.map((r) => r.error).join('; '));
    assert.ok(queued, 'one node was queued');
    assert.ok(maxWriting <= 2, `at most 2 writing at once (saw ${maxWriting})`);
  } finally { done(); }
});

test('bad input is refused before anything starts, each with its own message', async () => {
  const { dir, bmcs, core, done } = setup('bad');
  try {
    const imgPath = join(dir, 'uefi.img');
    gptEspImage(imgPath);
    await importImage(core, 'efi', imgPath);
    const biosImg = join(dir, 'bios.img');
    biosMbrImage(biosImg);
    await importImage(core, 'bios', biosImg);
    const small = addNode(core, bmcs, { mac: '52:54:00:d0:02:01', serial: 'B1', address: '10.231.2.11', disk: join(dir, 'b1'), diskBytes: 8 * MiB, firmware: 'uefi',
      extraDisks: [{ name: 'vdb', sizeBytes: 4 * MiB }] });
    const ok = addNode(core, bmcs, { mac: '52:54:00:d0:02:02', serial: 'B2', address: '10.231.2.12', disk: join(dir, 'b2'), diskBytes: 128 * MiB, firmware: 'bios' });
    const refused = (fn: () => unknown, status: number, re: RegExp) => {
      assert.throws(fn, (err: Error & { statusCode?: number }) => { assert.equal(err.statusCode, status, err.message); assert.match(err.message, re); return true; });
    };
    refused(() => core.deploys.deploy(small.id, { image: 'efi' }), 400, /the image \(12\.0 MiB\) is larger than every disk of the node: vda 8\.0 MiB serial D-B1, vdb 4\.0 MiB/);
    refused(() => core.deploys.deploy(ok.id, { image: 'efi' }), 400, /image efi cannot boot in BIOS mode, which node .* starts in \(the image boots in: UEFI\)/);
    refused(() => core.deploys.deploy(ok.id, { image: 'bios', userData: '#cloud-config\nusers: [a, b\n' }), 400, /user data is not valid YAML: line \d+, column \d+/);
    refused(() => core.deploys.deploy(ok.id, { image: 'bios', userData: `#!/bin/sh\n${'x'.repeat(70_000)}\n` }), 400, /user data is over 64 KiB/);
    refused(() => core.deploys.deploy(ok.id, { image: 'nope' }), 404, /no image nope/);
    refused(() => core.deploys.deploy(ok.id, { image: 'bios', rootDevice: { serial: 'NOPE' } }), 400, /no disk matches the root device hints/);
    refused(() => core.deploys.deploy(ok.id, { image: 'bios', hostname: 'bad_name!' }), 400, /host ?name/i);
    refused(() => core.deploys.deployMany({ nodes: [ok.id, small.id], image: 'bios', hostname: 'same' }), 400, /gives nodes .* the same name same/);
    // a node without a BMC
    core.nodes.update(ok.id, { bmcAddress: null, bmcMatchedBy: null });
    refused(() => core.deploys.deploy(ok.id, { image: 'bios' }), 409, /has no BMC: RackSeed sets the boot device and power through it/);
    // a batch with one bad node starts nothing and names it
    assert.throws(() => core.deploys.deployMany({ nodes: [small.id, ok.id], image: 'bios' }), (err: Error & { nodes?: { node: string; error: string }[] }) => {
      assert.match(err.message, /^2 of 2 nodes cannot be deployed \(nothing was started\)/);
      assert.deepEqual(err.nodes?.map((x) => x.node), [small.id, ok.id]);
      assert.match(err.nodes![0]!.error, /cannot boot in UEFI mode/);
      assert.match(err.nodes![1]!.error, /has no BMC/);
      return true;
    });
    assert.equal(core.nodes.get(small.id)!.state, 'available', 'nothing started');
    assert.deepEqual(core.deploys.list(), []);
    assert.deepEqual(bmcs.calls, []);
    // a release only of nodes that may be released
    refused(() => core.deploys.release(small.id + 'x'), 404, /no node/);
  } finally { done(); }
});

test('failures while running: a wrong BMC password, an agent that never calls, an OS that never reports booting', async () => {
  const { dir, bmcs, core, done } = setup('fail', { agentTimeoutMs: 400 });
  try {
    const imgPath = join(dir, 'bios.img');
    biosMbrImage(imgPath);
    await importImage(core, 'tiny', imgPath);
    const pw = addNode(core, bmcs, { mac: '52:54:00:d0:03:01', serial: 'F1', address: '10.231.3.11', disk: join(dir, 'f1'), diskBytes: 128 * MiB });
    const silent = addNode(core, bmcs, { mac: '52:54:00:d0:03:02', serial: 'F2', address: '10.231.3.12', disk: join(dir, 'f2'), diskBytes: 128 * MiB, agent: { silent: true } });
    const mute = addNode(core, bmcs, { mac: '52:54:00:d0:03:03', serial: 'F3', address: '10.231.3.13', disk: join(dir, 'f3'), diskBytes: 128 * MiB, os: { callback: false, dhcp: false } });
    bmcs.wrongPassword.add('10.231.3.11');
    core.deploys.deploy(pw.id, { image: 'tiny' });
    core.deploys.deploy(silent.id, { image: 'tiny' });
    core.deploys.deploy(mute.id, { image: 'tiny', bootTimeoutSec: 1 });
    const [a, b, c] = await Promise.all([pw, silent, mute].map((n) => until(n.id, 15_000, ended(core, n.id))));
    assert.equal(a!.error, 'set-boot-pxe: BMC 10.231.3.11: wrong password for user "admin" (the BMC\'s RAKP reply does not match this password)');
    assert.equal(core.nodes.get(pw.id)!.state, 'deploy-failed');
    assert.ok(!bmcs.calls.some((x) => x.startsWith('10.231.3.11')), 'nothing reached that BMC');
    assert.match(b!.error!, /^no agent asked for its command within 0 s of the power-on \(did the node PXE-boot the agent ramdisk\?/);
    assert.equal(core.nodes.get(silent.id)!.power, 'off', 'powered off again');
    assert.ok(core.events.query({ nodeId: silent.id, limit: 500 }).some((e) => e.kind === 'pxe-retry'), 'booted once more before failing');
    assert.ok(bmcs.calls.includes('10.231.3.12 power cycle'));
    assert.match(c!.error!, /^the deployed OS did not report booting within 1 s of the power-on from disk \(no phone-home callback, no DHCP request from its OS/);
    assert.equal(core.nodes.get(mute.id)!.state, 'deploy-failed');
    const job = core.jobs.get(c!.jobId)!;
    assert.equal(job.steps.find((s) => s.status === 'failed')?.name, 'wait-booted');
  } finally { done(); }
});

test('an agent that does not come up within the first-contact time is PXE-booted once more through the BMC, then the deploy goes on', async () => {
  const { dir, bmcs, core, done } = setup('pxeretry', { agentTimeoutMs: 1000 });
  try {
    const imgPath = join(dir, 'bios.img');
    biosMbrImage(imgPath);
    await importImage(core, 'tiny', imgPath);
    const node = addNode(core, bmcs, { mac: '52:54:00:d0:0f:01', serial: 'R1', address: '10.231.15.11', disk: join(dir, 'r1'), diskBytes: 128 * MiB, agent: { silentBoots: 1 } });
    core.deploys.deploy(node.id, { image: 'tiny' });
    const d = await until('deploy', 15_000, ended(core, node.id));
    assert.equal(d.stage, 'done', d.error ?? '');
    const retry = core.events.query({ nodeId: node.id, limit: 500 }).find((e) => e.kind === 'pxe-retry');
    assert.match(retry?.message ?? '', /^no agent asked for its command within 1 s of the power-on: PXE-booting the node again through BMC 10\.231\.15\.11 \(one retry\)/);
    const calls = bmcs.calls.filter((c) => c.startsWith('10.231.15.11'));
    assert.deepEqual(calls.slice(0, 4), ['10.231.15.11 bootdev pxe', '10.231.15.11 power on', '10.231.15.11 bootdev pxe', '10.231.15.11 power cycle']);
    assert.deepEqual(bmcs.machines.get('10.231.15.11')!.boots.slice(0, 2), ['agent', 'agent']);
  } finally { done(); }
});

test('a node that boots its disk instead of the network fails at once with the reason (not after the agent timeout)', async () => {
  const { dir, bmcs, core, done } = setup('nopxe', { agentTimeoutMs: 60_000 });
  try {
    const imgPath = join(dir, 'bios.img');
    biosMbrImage(imgPath);
    await importImage(core, 'tiny', imgPath);
    const node = addNode(core, bmcs, { mac: '52:54:00:d0:09:01', serial: 'X1', address: '10.231.9.11', disk: join(dir, 'x1'), diskBytes: 128 * MiB });
    core.deploys.deploy(node.id, { image: 'tiny' });
    assert.equal((await until('deploy', 15_000, ended(core, node.id))).stage, 'done', 'a PXE request then the agent\'s own DHCP is a network boot');
    bmcs.machines.get('10.231.9.11')!.ignoresPxe = true;
    const t0 = Date.now();
    core.deploys.release(node.id);
    const d = await until('release', 15_000, ended(core, node.id));
    assert.ok(Date.now() - t0 < 10_000, 'long before the 60 s agent timeout');
    assert.match(d.error!, /^the node booted from its disk instead of the network \(its first DHCP request after the power-on came from an OS, not a PXE client\): the BMC's one-time PXE boot device was not honoured/);
    assert.equal(core.nodes.get(node.id)!.state, 'clean-failed');
  } finally { done(); }
});

test('daemon killed mid-write: after the restart the write starts over under a new attempt, the old one\'s reports are refused, then active', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-deploy-restart-'));
  const bmcs = new FakeBmcs();
  let core = deployCore(join(dir, 'data'), bmcs);
  try {
    const imgPath = join(dir, 'bios.img');
    biosMbrImage(imgPath);
    await importImage(core, 'tiny', imgPath);
    const node = addNode(core, bmcs, { mac: '52:54:00:d0:04:01', serial: 'K1', address: '10.231.4.11', disk: join(dir, 'k1'), diskBytes: 128 * MiB, agent: { breakOnAttempt: 1 } });
    core.deploys.deploy(node.id, { image: 'tiny' });
    await until('a progress report', 10_000, () => (core.deploys.get(node.id)?.bytes ?? 0) > 0 && core.deploys.get(node.id)!.stage === 'writing');
    // the daemon dies: its database stays as it was (no shutdown writes), its timers stop
    core.close();
    const agent = bmcs.machines.get('10.231.4.11')!.agent!;
    await sleep(200);
    // the new daemon; the agent reports its broken stream to it
    core = deployCore(join(dir, 'data'), bmcs);
    assert.equal(core.nodes.get(node.id)!.state, 'deploying', 'not active, not failed: the job is still running');
    core.recover();
    const d = await until('the resumed deploy', 15_000, ended(core, node.id));
    assert.equal(d.stage, 'done', d.error ?? '');
    assert.equal(core.nodes.get(node.id)!.state, 'active');
    assert.ok(agent.refused.some((r) => r.attempt === 1 && r.phase === 'write' && !r.ok), 'the broken attempt 1 was refused after the restart');
    const kinds = core.events.query({ nodeId: node.id, limit: 500 }).map((e) => `${e.kind}:${e.message}`);
    assert.ok(kinds.some((k) => /^job-resumed:.*write-image \(the image is written again from the start\)/.test(k)), kinds.join('\n'));
    assert.ok(kinds.some((k) => /^agent-command:agent told to deploy \(attempt 2\)/.test(k)));
    assert.equal(createHash('sha256').update(readFileSync(join(dir, 'k1')).subarray(512, 4 * MiB)).digest('hex'),
      createHash('sha256').update(readFileSync(imgPath).subarray(512)).digest('hex'), 'the whole image is on the disk');
  } finally {
    bmcs.stopAll();
    core.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a restart without BMC credentials fails the interrupted deploy with the reason (never active)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-deploy-nocreds-'));
  const bmcs = new FakeBmcs();
  let core = deployCore(join(dir, 'data'), bmcs);
  try {
    const imgPath = join(dir, 'bios.img');
    biosMbrImage(imgPath);
    await importImage(core, 'tiny', imgPath);
    const node = addNode(core, bmcs, { mac: '52:54:00:d0:05:01', serial: 'N1', address: '10.231.5.11', disk: join(dir, 'n1'), diskBytes: 128 * MiB, agent: { breakOnAttempt: 1 } });
    core.deploys.deploy(node.id, { image: 'tiny' });
    await until('writing', 10_000, () => core.deploys.get(node.id)?.stage === 'writing');
    core.close();
    core = deployCore(join(dir, 'data'), bmcs, {}, { bmcConnector: undefined });
    core.recover();
    const n = core.nodes.get(node.id)!;
    assert.equal(n.state, 'deploy-failed');
    assert.match(n.lastError!, /^interrupted by a daemon restart and cannot resume \(no BMC connection or credentials\); the disk is not known to hold the whole image$/);
  } finally {
    bmcs.stopAll();
    core.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('release: the disk\'s ends are wiped, the node is powered off and available; a failed clean leaves it clean-failed, then a retry frees it', async () => {
  const { dir, bmcs, core, done } = setup('release');
  try {
    const imgPath = join(dir, 'bios.img');
    biosMbrImage(imgPath);
    await importImage(core, 'tiny', imgPath);
    const disk = join(dir, 'r1');
    const node = addNode(core, bmcs, { mac: '52:54:00:d0:06:01', serial: 'R1', address: '10.231.6.11', disk, diskBytes: 128 * MiB });
    core.deploys.deploy(node.id, { image: 'tiny' });
    assert.equal((await until('deploy', 15_000, ended(core, node.id))).stage, 'done');
    bmcs.calls.length = 0;
    const rel = core.deploys.release(node.mac);
    assert.equal(rel.kind, 'clean');
    assert.equal(core.nodes.get(node.id)!.state, 'cleaning');
    const d = await until('release', 15_000, ended(core, node.id));
    assert.equal(d.stage, 'done', d.error ?? '');
    const n = core.nodes.get(node.id)!;
    assert.equal(n.state, 'available');
    assert.equal(n.power, 'off');
    assert.deepEqual(core.jobs.get(d.jobId)!.steps.map((s) => s.name), [...CLEAN_STEPS]);
    assert.deepEqual(bmcs.calls, ['10.231.6.11 bootdev pxe', '10.231.6.11 power cycle']);
    const bytes = readFileSync(disk);
    assert.ok(bytes.subarray(0, MiB).every((b) => b === 0) && bytes.subarray(bytes.length - MiB).every((b) => b === 0), 'both ends zeroed');
    // a failing clean
    core.deploys.deploy(node.id, { image: 'tiny' });
    await until('deploy', 15_000, ended(core, node.id));
    bmcs.machines.get('10.231.6.11')!.agentOpts.cleanError = 'dd: /dev/vda: Input/output error';
    core.deploys.release(node.id);
    const f = await until('failed release', 15_000, ended(core, node.id));
    assert.equal(f.error, 'wiping the disks failed: dd: /dev/vda: Input/output error');
    assert.equal(core.nodes.get(node.id)!.state, 'clean-failed');
    assert.throws(() => core.deploys.deploy(node.id, { image: 'tiny' }), /is clean-failed: only available nodes deploy/);
    bmcs.machines.get('10.231.6.11')!.agentOpts.cleanError = undefined;
    core.deploys.release(node.id);
    assert.equal((await until('retried release', 15_000, ended(core, node.id))).stage, 'done');
    assert.equal(core.nodes.get(node.id)!.state, 'available');
  } finally { done(); }
});

test('the boot policy: the agent ramdisk while a deploy needs it, then the local disk (sanboot on BIOS, exit on UEFI)', async () => {
  const { dir, bmcs, core, done } = setup('policy');
  try {
    const imgPath = join(dir, 'bios.img');
    biosMbrImage(imgPath);
    await importImage(core, 'tiny', imgPath);
    const node = addNode(core, bmcs, { mac: '52:54:00:d0:07:01', serial: 'P1', address: '10.231.7.11', disk: join(dir, 'p1'), diskBytes: 128 * MiB, agent: { silent: true } });
    const pxe = { mac: node.mac, arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001', userClass: 'iPXE', uuid: null, interface: 'br0' };
    assert.equal(core.policy.dhcpBoot(pxe), null, 'available: no boot file');
    createNetbootSink(core)({ source: 'dhcp', kind: 'ack', mac: node.mac, ip: '10.230.7.11', message: 'DHCPACK' });
    assert.match(core.policy.scriptFor({ mac: node.mac, ip: '10.230.7.11' }), /sanboot --no-describe --drive 0x80 \|\| exit 0/);
    core.deploys.deploy(node.id, { image: 'tiny' });
    await until('power-on', 5000, () => bmcs.machines.get('10.231.7.11')!.power === 'on');
    assert.match(core.policy.dhcpBoot(pxe)?.bootFile ?? '', /boot\.ipxe\?mac=/, 'deploying: the ramdisk');
    const deployScript = core.policy.scriptFor({ mac: node.mac, ip: '10.230.7.11' });
    assert.equal(core.intake.tokens.grantOf(/rackseed\.token=(\S+)/.exec(deployScript)![1]!)?.purpose, 'deploy', 'a deploy token');
    assert.doesNotMatch(core.policy.scriptFor({ mac: node.mac, ip: '10.230.7.99' }), /rackseed\.token=/, 'none for another address');
    const f = await until('fail', 10_000, ended(core, node.id));
    assert.equal(f.stage, 'failed');
    core.nodes.update(node.id, { firmware: 'uefi' });
    assert.match(core.policy.scriptFor({ mac: node.mac, ip: '10.230.7.11' }), /is deploy-failed; booting from local disk\nexit 0\n$/);
  } finally { done(); }
});

test('the state table: deploy and clean states, failures keep their reason, clean-failed never becomes available directly', async () => {
  const { canTransition } = await import('../../core/lifecycle.ts');
  assert.ok(canTransition('available', 'deploying', 'deploy-start'));
  assert.ok(canTransition('deploying', 'active', 'deploy-done'));
  assert.ok(canTransition('deploying', 'deploy-failed', 'job-failed'));
  assert.ok(canTransition('deploying', 'deploy-failed', 'crash-recovery'));
  assert.ok(!canTransition('deploying', 'error', 'job-failed'), 'a failed deploy is deploy-failed, not error');
  assert.ok(canTransition('deploy-failed', 'deploying', 'deploy-start'));
  assert.ok(canTransition('deploy-failed', 'cleaning', 'clean-start'));
  assert.ok(canTransition('active', 'cleaning', 'clean-start'));
  assert.ok(canTransition('active', 'deploying', 'deploy-start'));
  assert.ok(canTransition('cleaning', 'available', 'clean-done'));
  assert.ok(canTransition('cleaning', 'clean-failed', 'job-failed'));
  assert.ok(canTransition('clean-failed', 'cleaning', 'clean-start'));
  for (const cause of ['inventory', 'manual', 'clean-done', 'deploy-done'] as const) assert.ok(!canTransition('clean-failed', 'available', cause), cause);
  assert.ok(!canTransition('deploying', 'available', 'inventory'));
  const { dir, core, done } = setup('table');
  try {
    const n = core.lifecycle.ensureNode('52:54:00:d0:08:01', 'dhcp').node;
    core.nodes.writeState(n.id, 'deploying', null);
    assert.throws(() => core.lifecycle.transition(n.id, 'deploy-failed', 'job-failed'), /needs a reason/);
    const f = core.lifecycle.transition(n.id, 'deploy-failed', 'job-failed', 'checksum mismatch (expected a, got b)');
    assert.equal(f.lastError, 'checksum mismatch (expected a, got b)');
    void dir;
  } finally { done(); }
});

test('which DHCP answers count as the deployed OS booting: not a PXE/iPXE client\'s', () => {
  assert.equal(isOsDhcp('dhcp', 'ack', {}), true);
  assert.equal(isOsDhcp('dhcp', 'ack', { pxe: true }), false);
  assert.equal(isOsDhcp('dhcp', 'nak', {}), false);
  assert.equal(isOsDhcp('dhcp', 'offer', {}), false, 'a held OFFER alone (firmware PXE unanswered) carries no request facts');
  assert.equal(isOsDhcp('http', 'ack', {}), false);
});
