// The image library (core/images): imports of tiny images made here (BIOS MBR, GPT+ESP, both), in every
// supported container and named misleadingly (detected by content), each bad input refused with its own message,
// sha256 / virtual size / sparseness of the stored raw file, progress on the event bus, names, removal, and what a
// daemon killed mid-import (a real SIGKILL of a child process) leaves for the next start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pino } from 'pino';
import { openDatabase, type Db } from '../../core/db.ts';
import { EventStore } from '../../core/store/events.ts';
import { EventBus } from '../../core/event-bus.ts';
import { ImageLibrary } from '../../core/images/library.ts';
import { RawFileWriter } from '../../core/images/raw-writer.ts';
import { Core } from '../../core/core.ts';
import type { StreamMessage } from '../../shared/api.ts';
import type { ImageRecord } from '../../shared/image.ts';
import {
  biosMbrImage, corruptQcow2, gptEspImage, gptHybridImage, nonBootableImage, sha256File, toGzip, toQcow2, toXz,
} from '../helpers/images.ts';

const MiB = 1024 * 1024;
let dir: string;
let db: Db;
let lib: ImageLibrary;
let bus: EventBus;
const messages: StreamMessage[] = [];
/** source images, made once */
const src: Record<string, string> = {};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rs-images-'));
  const images = join(dir, 'images');
  mkdirSync(images, { mode: 0o700 });
  db = openDatabase(':memory:');
  bus = new EventBus(new EventStore(db), pino({ level: 'silent' }));
  bus.subscribe((m) => messages.push(m));
  lib = new ImageLibrary({ db, bus, dir: images, log: pino({ level: 'silent' }), progressEveryMs: 0 });
  src.bios = join(dir, 'bios.img'); biosMbrImage(src.bios);
  src.esp = join(dir, 'esp.img'); gptEspImage(src.esp);
  src.hybrid = join(dir, 'hybrid.img'); gptHybridImage(src.hybrid);
  src.none = join(dir, 'none.img'); nonBootableImage(src.none);
});
after(() => { lib.close(); db.close(); rmSync(dir, { recursive: true, force: true }); });

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function importFile(name: string, file: string): Promise<ImageRecord> {
  const started = lib.startImport(name, createReadStream(file), statSync(file).size);
  assert.equal(started.image.state, 'importing');
  return started.done;
}

function leftovers(): string[] {
  return readdirSync(lib.dir!).filter((f) => f.startsWith('.import-'));
}

test('RawFileWriter: chunks of any size (tiny, 1 MiB ± 1, 3 MiB) → the same bytes, their sha256, holes for zero blocks', async () => {
  const parts = [randomBytes(1), Buffer.alloc(2 * MiB), randomBytes(MiB - 1), randomBytes(MiB + 1), Buffer.alloc(4096 * 3 + 17), randomBytes(3 * MiB), Buffer.alloc(MiB)];
  const path = join(dir, 'writer.raw');
  const w = new RawFileWriter(path);
  for (const p of parts) if (!w.write(p)) await new Promise((r) => w.once('drain', r));
  w.end();
  const r = await w.result;
  const all = Buffer.concat(parts);
  assert.equal(r.size, all.length);
  assert.equal(r.sha256, createHash('sha256').update(all).digest('hex'));
  assert.deepEqual(readFileSync(path), all);
  assert.ok(r.diskBytes < all.length - 2 * MiB, `zero blocks are holes (${r.diskBytes} of ${all.length} bytes allocated)`);
  rmSync(path);
});

test('raw BIOS image named .qcow2: stored raw, sha256 and size of the bytes, sparse, 0600', async () => {
  const named = join(dir, 'disk.qcow2');
  copyFileSync(src.bios, named);
  const img = await importFile('bios-raw', named);
  assert.equal(img.state, 'ready', img.error ?? '');
  assert.equal(img.sourceFormat, 'raw');
  assert.deepEqual(img.bootModes, ['bios']);
  assert.equal(img.virtualSize, 4 * MiB);
  assert.equal(img.rawSize, 4 * MiB);
  assert.equal(img.sourceBytes, 4 * MiB);
  assert.equal(img.sha256, sha256File(src.bios));
  const path = lib.rawPath(img);
  assert.deepEqual(readFileSync(path), readFileSync(src.bios));
  const st = statSync(path);
  assert.equal(st.mode & 0o777, 0o600);
  assert.ok(st.blocks * 512 < 512 * 1024, `sparse: ${st.blocks * 512} bytes allocated for 4 MiB`);
  assert.equal(img.diskBytes, st.blocks * 512);
  assert.deepEqual(leftovers(), []);
  assert.equal(lib.get('bios-raw')?.id, img.id, 'by name');
  assert.equal(lib.get(img.id)?.name, 'bios-raw', 'by id');
  assert.equal(lib.readyBySha256(img.sha256!)?.id, img.id);
});

test('GPT+ESP image as qcow2 named .raw: converted by qemu-img, UEFI, sha256 of the raw bytes', async () => {
  const q = toQcow2(src.esp, join(dir, 'esp-image.raw'));
  const img = await importFile('esp-qcow2', q);
  assert.equal(img.state, 'ready', img.error ?? '');
  assert.equal(img.sourceFormat, 'qcow2');
  assert.deepEqual(img.bootModes, ['uefi']);
  assert.equal(img.virtualSize, 12 * MiB);
  assert.equal(img.sourceBytes, statSync(q).size);
  assert.equal(img.sha256, sha256File(src.esp));
  assert.ok(statSync(lib.rawPath(img)).blocks * 512 < 2 * MiB, 'qemu-img writes holes');
  assert.deepEqual(leftovers(), []);
});

test('BIOS+UEFI image gzip-compressed named .xz, and xz-compressed named .gz: both modes, same sha256', async () => {
  const gz = toGzip(src.hybrid, join(dir, 'hybrid.img.xz'));
  const a = await importFile('hybrid-gz', gz);
  assert.equal(a.state, 'ready', a.error ?? '');
  assert.equal(a.sourceFormat, 'raw.gz');
  assert.deepEqual(a.bootModes, ['bios', 'uefi']);
  assert.equal(a.sha256, sha256File(src.hybrid));
  const xz = toXz(src.hybrid, join(dir, 'hybrid.img.gz'));
  const b = await importFile('hybrid-xz', xz);
  assert.equal(b.state, 'ready', b.error ?? '');
  assert.equal(b.sourceFormat, 'raw.xz');
  assert.equal(b.sha256, a.sha256);
  assert.equal(b.virtualSize, 12 * MiB);
});

test('qcow2 inside gzip and inside xz: decompressed, then converted', async () => {
  const q = toQcow2(src.bios, join(dir, 'bios.qcow2'));
  const gz = await importFile('bios-qcow2-gz', toGzip(q, join(dir, 'bios.bin')));
  assert.equal(gz.state, 'ready', gz.error ?? '');
  assert.equal(gz.sourceFormat, 'qcow2.gz');
  assert.equal(gz.sha256, sha256File(src.bios));
  const xz = await importFile('bios-qcow2-xz', toXz(q, join(dir, 'bios.bin2')));
  assert.equal(xz.sourceFormat, 'qcow2.xz');
  assert.equal(xz.sha256, sha256File(src.bios));
});

async function refused(name: string, file: string, message: RegExp | string): Promise<ImageRecord> {
  const img = await importFile(name, file);
  assert.equal(img.state, 'failed');
  assert.equal(img.failure, 'invalid');
  if (typeof message === 'string') assert.equal(img.error, message);
  else assert.match(img.error ?? '', message);
  assert.deepEqual(leftovers(), [], 'no work file left');
  assert.ok(!existsSync(lib.rawPath(img)), 'no raw file');
  return img;
}

test('refused: a corrupt qcow2', async () => {
  await refused('bad-qcow2', corruptQcow2(src.bios, join(dir, 'corrupt.qcow2')), /^corrupt qcow2 image: qemu-img check found 2 corruptions \(ERROR/);
});

test('refused: a qcow2 with a backing file (never opened)', async () => {
  const q = join(dir, 'backed.qcow2');
  const { execFileSync } = await import('node:child_process');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', src.bios, '-F', 'raw', q]);
  await refused('backed', q, /^the qcow2 image has a backing file \(.*bios\.img\): import a standalone image/);
});

test('refused: an image that cannot boot, with both reasons', async () => {
  await refused('none', src.none, 'the image cannot boot: no MBR boot code and no BIOS-boot partition; no EFI System Partition with EFI/BOOT/BOOTX64.EFI');
});

test('refused: a zstd file (named .gz)', async () => {
  const z = join(dir, 'image.raw.gz');
  writeFileSync(z, Buffer.concat([Buffer.from('28b52ffd0458', 'hex'), Buffer.alloc(4096, 7)]));
  await refused('zstd', z, /^zstd-compressed images are not supported \(the deploy ramdisk's busybox has no zstd\)/);
});

test('refused: a truncated gzip', async () => {
  const gz = readFileSync(toGzip(src.bios, join(dir, 'full.gz')));
  const cut = join(dir, 'cut.gz');
  writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
  await refused('cut-gz', cut, /^the gzip data is damaged: unexpected end of file/);
});

test('refused: a damaged xz', async () => {
  const xz = readFileSync(toXz(src.bios, join(dir, 'full.xz')));
  const bad = Buffer.from(xz);
  for (let i = 100; i < 200; i++) bad[i] ^= 0x55;
  const p = join(dir, 'bad.xz');
  writeFileSync(p, bad);
  await refused('bad-xz', p, /^the xz data is damaged: /);
});

test('refused: an empty file', async () => {
  const empty = join(dir, 'empty.img');
  writeFileSync(empty, '');
  await refused('empty', empty, 'the file is empty');
});

test('refused: gzip inside gzip', async () => {
  const twice = toGzip(toGzip(src.bios, join(dir, 'once.gz')), join(dir, 'twice.gz'));
  await refused('twice', twice, 'the image is compressed twice (gzip inside gzip): decompress it once first');
});

test('names: rule, taken (409), a failed image is replaced by a new import of its name', async () => {
  assert.throws(() => lib.startImport('Bad Name', Readable.from([]), null), (e: Error & { statusCode?: number }) => e.statusCode === 400 && /bad image name "Bad Name"/.test(e.message));
  assert.throws(() => lib.startImport('bios-raw', Readable.from([]), null), (e: Error & { statusCode?: number }) => e.statusCode === 409 && /an image named bios-raw already exists \(ready\)/.test(e.message));
  assert.equal(lib.get('none')?.state, 'failed');
  const again = await importFile('none', src.bios);
  assert.equal(again.state, 'ready');
  assert.equal(lib.list().filter((i) => i.name === 'none').length, 1);
});

test('progress on the event bus: upload → inspect, then the ready record', async () => {
  messages.length = 0;
  const q = toQcow2(src.hybrid, join(dir, 'progress.qcow2'));
  const img = await importFile('progress', q);
  const mine = messages.filter((m): m is Extract<StreamMessage, { type: 'image' }> => m.type === 'image' && m.payload.id === img.id).map((m) => m.payload);
  const phases = [...new Set(mine.filter((r) => r.progress).map((r) => r.progress!.phase))];
  assert.deepEqual(phases, ['upload', 'convert', 'hash', 'inspect']);
  const upload = mine.filter((r) => r.progress?.phase === 'upload').at(-1)!;
  assert.deepEqual(upload.progress, { phase: 'upload', done: statSync(q).size, total: statSync(q).size });
  assert.equal(mine.at(-1)!.state, 'ready');
  assert.equal(mine.at(-1)!.progress, null);
  assert.ok(messages.some((m) => m.type === 'event' && m.payload.kind === 'image-ready'));
});

test('an upload cut off mid-stream fails (error, not invalid) and leaves no file', async () => {
  const body = new PassThrough();
  const started = lib.startImport('cut-upload', body, 4 * MiB);
  body.write(readFileSync(src.bios).subarray(0, MiB));
  await new Promise((r) => setTimeout(r, 50));
  body.destroy(new Error('socket hang up'));
  const img = await started.done;
  assert.equal(img.state, 'failed');
  assert.equal(img.failure, 'error');
  assert.match(img.error ?? '', /^the upload was interrupted after 1048576 bytes/);
  assert.deepEqual(leftovers(), []);
});

test('remove: a ready image and its file; an import in progress is stopped and cleaned', async () => {
  const img = lib.get('bios-raw')!;
  const path = lib.rawPath(img);
  assert.ok(existsSync(path));
  await lib.remove('bios-raw');
  assert.equal(lib.get('bios-raw'), null);
  assert.ok(!existsSync(path));
  await assert.rejects(lib.remove('bios-raw'), (e: Error & { statusCode?: number }) => e.statusCode === 404);
  const body = new PassThrough();
  const started = lib.startImport('removed-mid', body, null);
  body.write(readFileSync(src.bios).subarray(0, MiB));
  await until(() => leftovers().length > 0, 'a work file while importing');
  await lib.remove('removed-mid');
  assert.equal((await started.done).error, 'removed during import');
  assert.equal(lib.get('removed-mid'), null);
  assert.deepEqual(leftovers(), []);
});

test('kill -9 mid-import: the next start marks the image failed and removes its work file', async () => {
  const data = join(dir, 'killed-data');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/image-import-child.ts', data, src.bios], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('\n')) resolve(out.trim()); });
    child.on('exit', (code) => reject(new Error(`child exited ${code} before importing`)));
  });
  const { id } = JSON.parse(line) as { id: string };
  const images = join(data, 'images');
  assert.ok(readdirSync(images).some((f) => f === `.import-${id}.raw`), 'work file exists before the kill');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const core = new Core({ dataDir: data, logger: pino({ level: 'silent' }) });
  try {
    assert.equal(core.images.get(id)?.state, 'importing', 'as the killed daemon left it');
    core.recover();
    const img = core.images.get(id)!;
    assert.equal(img.state, 'failed');
    assert.equal(img.error, 'daemon stopped during import');
    assert.equal(img.failure, 'error');
    assert.deepEqual(readdirSync(images), []);
  } finally {
    core.close();
  }
});
