// The image extent map (core/images/extent-map.ts, extent-fold.ts) and how the HTTP boot server serves it
// (daemon/image-extents-serving.ts): folding 4 KiB blocks into data and zero extents (short zero runs stay data,
// zero extents block-aligned, the last partial block data), the data SHA-256 equal to hashing the data extents, a
// damaged library file refused; /images/<sha256>.map and .data over inject and over real TCP (sendfile workers when
// the pool is there), and that zero extents + data rebuild the image byte for byte.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { buildHttpBootServer } from '../../netboot/http/http-boot.ts';
import { registerImageServing } from '../../daemon/image-serving.ts';
import { imageDataPath, imageMapPath } from '../../shared/image.ts';
import { BLOCK, ExtentFolder, MIN_ZERO_RUN } from '../../core/images/extent-fold.ts';
import { ImageDamagedError, extentMapText, extentMapTextSha256, mapImage } from '../../core/images/extent-map.ts';
import { importImage } from '../helpers/deploy-fakes.ts';
import { gptHybridImage } from '../helpers/images.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const KiB = 1024;
const MiB = 1024 * KiB;

/** data (0x5a) and zero runs, in bytes */
function image(parts: [boolean, number][]): Buffer {
  return Buffer.concat(parts.map(([d, n]) => Buffer.alloc(n, d ? 0x5a : 0)));
}

function fold(b: Buffer, minZero = MIN_ZERO_RUN) {
  const h = createHash('sha256');
  const f = new ExtentFolder(h, minZero);
  for (let o = 0; o < b.length; o += BLOCK) f.block(b.subarray(o, Math.min(o + BLOCK, b.length)));
  return { extents: f.end(), dataSha: h.digest('hex') };
}

function dataOf(b: Buffer, extents: { offset: number; length: number; data: boolean }[]): Buffer {
  return Buffer.concat(extents.filter((e) => e.data).map((e) => b.subarray(e.offset, e.offset + e.length)));
}

test('folding: long zero runs become zero extents, short ones and the last partial block stay data; the data hash is of the data extents', () => {
  const b = image([[true, 5000], [false, MIN_ZERO_RUN + 3 * BLOCK - 5000 + 8192], [true, 10], [false, 64 * KiB], [true, BLOCK], [false, MIN_ZERO_RUN * 2], [true, 100]]);
  const { extents, dataSha } = fold(b);
  // adjacent, covering everything
  let pos = 0;
  for (const e of extents) { assert.equal(e.offset, pos); pos += e.length; }
  assert.equal(pos, b.length);
  for (let i = 1; i < extents.length; i++) assert.notEqual(extents[i]!.data, extents[i - 1]!.data, 'neighbours differ');
  for (const e of extents.filter((x) => !x.data)) {
    assert.equal(e.offset % BLOCK, 0, 'zero extents start on a block');
    assert.equal(e.length % BLOCK, 0, 'and are whole blocks');
    assert.ok(e.length >= MIN_ZERO_RUN);
    assert.ok(b.subarray(e.offset, e.offset + e.length).every((x) => x === 0));
  }
  assert.equal(extents.filter((e) => !e.data).length, 2, 'the 64 KiB run is sent as data');
  assert.equal(dataSha, sha(dataOf(b, extents)));
  // the map rebuilds the image
  const back = Buffer.alloc(b.length);
  for (const e of extents) if (e.data) b.copy(back, e.offset, e.offset, e.offset + e.length);
  assert.ok(back.equals(b));
  // a file of zeros only, a file shorter than a block, a trailing partial zero block
  assert.deepEqual(fold(Buffer.alloc(2 * MiB)).extents, [{ offset: 0, length: 2 * MiB, data: false }]);
  assert.deepEqual(fold(Buffer.alloc(100)).extents, [{ offset: 0, length: 100, data: true }]);
  const tail = fold(image([[true, BLOCK], [false, MIN_ZERO_RUN + 100]])).extents;
  assert.deepEqual(tail, [{ offset: 0, length: BLOCK, data: true }, { offset: BLOCK, length: MIN_ZERO_RUN, data: false }, { offset: BLOCK + MIN_ZERO_RUN, length: 100, data: true }]);
  assert.equal(fold(image([[false, 64 * KiB], [true, 1]])).extents.length, 1, 'a short leading zero run is data');
});

test('mapImage: one pass in a worker gives the map, the data and file SHA-256; a file that lost its digest is refused as damaged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-extents-'));
  try {
    const b = image([[true, 3 * MiB + 17], [false, 9 * MiB], [true, MiB], [false, 300 * KiB], [true, 2]]);
    const p = join(dir, 'i.raw');
    writeFileSync(p, b);
    const m = await mapImage(p, sha(b));
    assert.equal(m.size, b.length);
    assert.equal(m.fileSha256, sha(b));
    assert.equal(m.dataSha256, sha(dataOf(b, m.extents)));
    assert.equal(m.dataBytes, dataOf(b, m.extents).length);
    assert.ok(m.dataBytes < 5 * MiB);
    assert.deepEqual(m.extents, fold(b).extents, 'the worker folds as the pure folder does (reads straddling nothing)');
    assert.match(extentMapText(m), /^data 0 \d+\nzero \d+ \d+\n/);
    await assert.rejects(mapImage(p, '0'.repeat(64)), (e: Error) => e instanceof ImageDamagedError && /its file now has SHA-256 [0-9a-f]{64}, not the 0{64} recorded at import/.test(e.message));
    await assert.rejects(mapImage(join(dir, 'missing.raw'), sha(b)), /mapping the image file failed: ENOENT/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

let d: RunningDaemon;
let dir: string;
let boot: FastifyInstance;
let raw: Buffer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-extents-serving-'));
  d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: 'image-extents-test-token-0123456789', uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  // a bootable GPT image with 24 MiB of zeros and a data range after them
  const p = join(dir, 'hybrid.img');
  gptHybridImage(p);
  const base = readFileSync(p);
  raw = Buffer.concat([base, Buffer.alloc(24 * MiB), Buffer.alloc(MiB, 0xa5)]);
  writeFileSync(p, raw);
  await importImage(d.core, 'hybrid', p);
  boot = await buildHttpBootServer({ logger: pino({ level: 'silent' }), scriptFor: () => null, filesRoot: dir, ipxeRoot: dir,
    registerExtra: (a) => registerImageServing(a, d.core) });
});
after(async () => { await boot.close(); await d.close(); rmSync(dir, { recursive: true, force: true }); });

function parseMap(text: string): { offset: number; length: number; data: boolean }[] {
  return text.trim().split('\n').map((l) => {
    const [kind, off, len] = l.split(' ');
    return { offset: Number(off), length: Number(len), data: kind === 'data' };
  });
}

test('HTTP boot server: /images/<sha256>.map and .data rebuild the image; HEAD; 404 by id', async () => {
  const img = d.core.images.get('hybrid')!;
  const m = await boot.inject({ method: 'GET', url: imageMapPath(img.sha256!) });
  assert.equal(m.statusCode, 200);
  assert.match(String(m.headers['content-type']), /^text\/plain/);
  const extents = parseMap(m.body);
  assert.ok(extents.some((e) => !e.data && e.length >= 24 * MiB - BLOCK), 'the zeros are a zero range');
  const data = await boot.inject({ method: 'GET', url: imageDataPath(img.sha256!) });
  assert.equal(data.statusCode, 200);
  assert.equal(data.headers['content-length'], String(data.rawPayload.length));
  const rebuilt = Buffer.alloc(raw.length);
  let at = 0;
  for (const e of extents) if (e.data) { data.rawPayload.copy(rebuilt, e.offset, at, at + e.length); at += e.length; }
  assert.equal(at, data.rawPayload.length, 'the data body is exactly the data ranges');
  assert.equal(sha(rebuilt), img.sha256);
  const map = await d.core.images.extentMap(img);
  assert.equal(sha(data.rawPayload), map.dataSha256);
  // the digest a deploy command carries (mapSha256) is of exactly the served text: the agent refuses any other
  assert.equal(extentMapTextSha256(map), sha(Buffer.from(m.body)));
  assert.equal(extentMapText(map), m.body);
  const head = await boot.inject({ method: 'HEAD', url: imageDataPath(img.sha256!) });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-length'], String(map.dataBytes));
  assert.equal(head.rawPayload.length, 0);
  assert.equal((await boot.inject({ method: 'GET', url: `/images/${img.id}.map` })).statusCode, 404, 'by digest only');
  assert.equal((await boot.inject({ method: 'GET', url: `/images/${'0'.repeat(64)}.data` })).statusCode, 404);
});

test('HTTP boot server on a loopback port: the data ranges over real TCP, twice on one connection', async () => {
  await boot.listen({ host: '127.0.0.1', port: 0 });
  const port = (boot.server.address() as { port: number }).port;
  const img = d.core.images.get('hybrid')!;
  const map = await d.core.images.extentMap(img);
  const { Agent } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 2; i++) {
      const body = await new Promise<Buffer>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: imageDataPath(img.sha256!), agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        }).on('error', reject).end();
      });
      assert.equal(body.length, map.dataBytes);
      assert.equal(sha(body), map.dataSha256);
    }
  } finally { agent.destroy(); }
});
