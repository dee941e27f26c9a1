// The image library through the daemon: the API routes (upload streamed as application/octet-stream, list, get by id
// or name, delete, each refusal with its status and reason), the HTTP boot server's /images/<sha256>.raw with Range
// requests (inject and a real loopback listener), and the real CLI (`node bin/rackseed.mjs images …`) against an
// in-process daemon, with its exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { EXIT } from '../../daemon/cli/client.ts';
import { buildHttpBootServer } from '../../netboot/http/http-boot.ts';
import { registerImageServing } from '../../daemon/image-serving.ts';
import { imageServingPath, type ImageRecord } from '../../shared/image.ts';
import { biosMbrImage, gptHybridImage, nonBootableImage, sha256File, toQcow2, toXz } from '../helpers/images.ts';

const TOKEN = 'api-images-test-token-0123456789abcdef';
let d: RunningDaemon;
let dir: string;
let boot: FastifyInstance;
const files: Record<string, string> = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-api-images-'));
  d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  files.bios = join(dir, 'bios.img'); biosMbrImage(files.bios);
  files.hybrid = join(dir, 'hybrid.img'); gptHybridImage(files.hybrid);
  files.none = join(dir, 'none.img'); nonBootableImage(files.none);
  boot = await buildHttpBootServer({ logger: pino({ level: 'silent' }), scriptFor: () => null, filesRoot: dir, ipxeRoot: dir,
    registerExtra: (a) => registerImageServing(a, d.core) });
});
after(async () => { await boot.close(); await d.close(); rmSync(dir, { recursive: true, force: true }); });

interface Res { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** An API request; `file` is streamed as the body (application/octet-stream unless `contentType`). */
function api(method: string, path: string, o: { file?: string; token?: string | null; contentType?: string; body?: string } = {}): Promise<Res> {
  const u = new URL(d.url + path);
  const headers: Record<string, string> = {};
  if (o.token !== null) headers.authorization = `Bearer ${o.token ?? TOKEN}`;
  if (o.file) { headers['content-type'] = o.contentType ?? 'application/octet-stream'; headers['content-length'] = String(statSync(o.file).size); }
  if (o.body !== undefined) { headers['content-type'] = o.contentType ?? 'application/json'; headers['content-length'] = String(Buffer.byteLength(o.body)); }
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (o.file) createReadStream(o.file).pipe(req);
    else req.end(o.body);
  });
}
const json = <T>(r: Res) => JSON.parse(r.body.toString()) as T;

async function ready(id: string): Promise<ImageRecord> {
  const r = await d.core.images.whenSettled(id);
  assert.ok(r);
  return d.core.images.get(id)!;
}

test('POST /api/v1/images streams the upload: a qcow2 is answered 202 (importing), then ready; a raw 201 (ready); GET by id and name; list', async () => {
  const q = toQcow2(files.hybrid, join(dir, 'hybrid.qcow2'));
  const r = await api('POST', '/api/v1/images?name=hybrid', { file: q });
  assert.equal(r.status, 202, r.body.toString());
  const rec = json<ImageRecord>(r);
  assert.equal(rec.name, 'hybrid');
  assert.equal(rec.sourceBytes, statSync(q).size);
  assert.ok(['importing', 'ready'].includes(rec.state));
  const done = await ready(rec.id);
  assert.equal(done.state, 'ready', done.error ?? '');
  assert.deepEqual(done.bootModes, ['bios', 'uefi']);
  assert.equal(done.sha256, sha256File(files.hybrid));
  for (const ref of ['hybrid', rec.id]) {
    const g = await api('GET', `/api/v1/images/${ref}`);
    assert.equal(g.status, 200);
    assert.equal(json<ImageRecord>(g).sha256, done.sha256);
  }
  const raw = await api('POST', '/api/v1/images?name=hybrid-raw', { file: files.hybrid });
  assert.equal(raw.status, 201, raw.body.toString());
  assert.equal(json<ImageRecord>(raw).state, 'ready');
  assert.equal(json<ImageRecord>(raw).sha256, done.sha256);
  const list = json<ImageRecord[]>(await api('GET', '/api/v1/images'));
  assert.deepEqual(list.map((i) => i.name), ['hybrid', 'hybrid-raw']);
  assert.equal((await api('DELETE', '/api/v1/images/hybrid-raw')).status, 200);
  assert.equal((await api('GET', '/api/v1/images/hybrid-raw')).status, 404);
});

test('API refusals: each with its status and reason, nothing stored', async () => {
  const none = await api('POST', '/api/v1/images?name=none', { file: files.none });
  assert.equal(none.status, 400);
  assert.equal(json<{ error: string }>(none).error, 'the image cannot boot: no MBR boot code and no BIOS-boot partition; no EFI System Partition with EFI/BOOT/BOOTX64.EFI');
  assert.equal(json<{ image: ImageRecord }>(none).image.state, 'failed');
  const zst = join(dir, 'x.img');
  writeFileSync(zst, Buffer.concat([Buffer.from('28b52ffd', 'hex'), Buffer.alloc(2 * 1024 * 1024, 1)]));
  const z = await api('POST', '/api/v1/images?name=zst', { file: zst });
  assert.equal(z.status, 400);
  assert.match(json<{ error: string }>(z).error, /^zstd-compressed images are not supported/);
  const taken = await api('POST', '/api/v1/images?name=hybrid', { file: files.bios });
  assert.equal(taken.status, 409);
  assert.match(json<{ error: string }>(taken).error, /an image named hybrid already exists/);
  const badName = await api('POST', '/api/v1/images?name=..%2Fetc', { file: files.bios });
  assert.equal(badName.status, 400);
  assert.match(json<{ error: string }>(badName).error, /bad image name "..\/etc"/);
  const noName = await api('POST', '/api/v1/images', { file: files.bios });
  assert.equal(noName.status, 400);
  const asJson = await api('POST', '/api/v1/images?name=j', { body: '{"a":1}' });
  assert.equal(asJson.status, 415);
  assert.match(json<{ error: string }>(asJson).error, /application\/octet-stream/);
  const tooBig = await new Promise<Res>((resolve, reject) => {
    const u = new URL(d.url);
    const req = request({ host: u.hostname, port: u.port, path: '/api/v1/images?name=huge', method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream', 'content-length': String(65 * 1024 ** 4) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { req.destroy(); resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }); });
    });
    req.on('error', reject);
    req.write(Buffer.alloc(1024));
  });
  assert.equal(tooBig.status, 413);
  assert.match(json<{ error: string }>(tooBig).error, /is larger than the limit of 68719476736 bytes/);
  assert.equal(d.core.images.get('huge'), null);
  const noToken = await api('POST', '/api/v1/images?name=nt', { file: files.bios, token: null });
  assert.equal(noToken.status, 401);
  assert.equal(d.core.images.get('nt'), null);
  assert.equal((await api('GET', '/api/v1/images/nope')).status, 404);
  assert.equal((await api('DELETE', '/api/v1/images/nope')).status, 404);
});

test('HTTP boot server: /images/<sha256>.raw with Range, HEAD, 416, 404', async () => {
  const img = d.core.images.get('hybrid')!;
  const raw = readFileSync(files.hybrid);
  const url = imageServingPath(img.sha256!);
  assert.equal(url, `/images/${img.sha256}.raw`);
  const full = await boot.inject({ method: 'GET', url });
  assert.equal(full.statusCode, 200);
  assert.equal(full.headers['content-length'], String(raw.length));
  assert.equal(full.headers['accept-ranges'], 'bytes');
  assert.equal(full.headers['content-type'], 'application/octet-stream');
  assert.ok(full.rawPayload.equals(raw));
  const part = await boot.inject({ method: 'GET', url, headers: { range: 'bytes=1000-5095' } });
  assert.equal(part.statusCode, 206);
  assert.equal(part.headers['content-range'], `bytes 1000-5095/${raw.length}`);
  assert.equal(part.headers['content-length'], '4096');
  assert.ok(part.rawPayload.equals(raw.subarray(1000, 5096)));
  const suffix = await boot.inject({ method: 'GET', url, headers: { range: 'bytes=-512' } });
  assert.equal(suffix.statusCode, 206);
  assert.ok(suffix.rawPayload.equals(raw.subarray(raw.length - 512)));
  const open = await boot.inject({ method: 'GET', url, headers: { range: `bytes=${raw.length - 10}-` } });
  assert.equal(open.statusCode, 206);
  assert.equal(open.rawPayload.length, 10);
  const past = await boot.inject({ method: 'GET', url, headers: { range: `bytes=${raw.length}-` } });
  assert.equal(past.statusCode, 416);
  assert.equal(past.headers['content-range'], `bytes */${raw.length}`);
  const stale = await boot.inject({ method: 'GET', url, headers: { range: 'bytes=0-9', 'if-range': '"not-the-etag"' } });
  assert.equal(stale.statusCode, 200, 'If-Range mismatch → the whole image');
  const head = await boot.inject({ method: 'HEAD', url });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-length'], String(raw.length));
  assert.equal(head.rawPayload.length, 0);
  assert.equal((await boot.inject({ method: 'GET', url: `/images/${'0'.repeat(64)}.raw` })).statusCode, 404);
  assert.equal((await boot.inject({ method: 'GET', url: `/images/${img.id}.raw` })).statusCode, 404, 'by digest only');
  assert.equal((await boot.inject({ method: 'GET', url: '/images/..%2F..%2Frackseed.db' })).statusCode, 404);
});

test('HTTP boot server on a loopback port: a ranged download over real TCP', async () => {
  await boot.listen({ host: '127.0.0.1', port: 0 });
  const port = (boot.server.address() as { port: number }).port;
  const img = d.core.images.get('hybrid')!;
  const raw = readFileSync(files.hybrid);
  const got = await new Promise<Res>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: imageServingPath(img.sha256!), headers: { range: 'bytes=1048576-' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
  assert.equal(got.status, 206);
  assert.ok(got.body.equals(raw.subarray(1048576)));
});

function cli(args: string[], env: Record<string, string | undefined> = { RACKSEED_URL: d.url, RACKSEED_TOKEN: TOKEN }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const e: NodeJS.ProcessEnv = { ...process.env, RACKSEED_URL: undefined, RACKSEED_TOKEN: undefined, ...env };
    execFile(process.execPath, ['bin/rackseed.mjs', ...args], { env: e }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('rackseed images add/list/rm: the real CLI, its output and exit codes', async () => {
  const xz = toXz(files.bios, join(dir, 'bios-image.qcow2'));
  const add = await cli(['images', 'add', xz, '--name', 'bios', '--wait', '--json']);
  assert.equal(add.code, EXIT.OK, add.stderr);
  const rec = JSON.parse(add.stdout) as ImageRecord;
  assert.equal(rec.state, 'ready');
  assert.equal(rec.sourceFormat, 'raw.xz');
  assert.equal(rec.sha256, sha256File(files.bios));
  assert.match(add.stderr, /^upload 100% /m, 'plain progress lines when stderr is not a terminal');

  const human = await cli(['images', 'add', files.bios, '--name', 'bios-2', '--wait']);
  assert.equal(human.code, EXIT.OK, human.stderr);
  assert.match(human.stdout, /^image bios-2 ready: raw, 4\.0 MiB \(.* on disk\), boots bios, sha256 [0-9a-f]{64}$/m);

  const list = await cli(['images', 'list']);
  assert.equal(list.code, EXIT.OK);
  assert.match(list.stdout, /^NAME\s+STATE\s+FORMAT\s+SIZE\s+BOOT\s+SHA256/m);
  assert.match(list.stdout, /^bios\s+ready\s+raw\.xz\s+4\.0 MiB\s+bios\s+[0-9a-f]{12}/m);
  assert.match(list.stdout, /^hybrid\s+ready\s+qcow2\s+12\.0 MiB\s+bios\+uefi/m);
  const listJson = JSON.parse((await cli(['images', 'list', '--json'])).stdout) as ImageRecord[];
  assert.ok(listJson.some((i) => i.name === 'bios-2'));

  const refused = await cli(['images', 'add', files.none, '--name', 'nope', '--wait']);
  assert.equal(refused.code, EXIT.INVALID);
  assert.match(refused.stderr, /rackseed: the image cannot boot: no MBR boot code and no BIOS-boot partition; no EFI System Partition with EFI\/BOOT\/BOOTX64\.EFI/);
  const taken = await cli(['images', 'add', files.bios, '--name', 'bios']);
  assert.equal(taken.code, EXIT.CONFLICT);
  assert.match(taken.stderr, /an image named bios already exists/);
  const missing = await cli(['images', 'add', join(dir, 'no-such.img'), '--name', 'x']);
  assert.equal(missing.code, EXIT.USAGE);
  assert.match(missing.stderr, /cannot read .*no-such\.img/);
  assert.equal((await cli(['images', 'list'], { RACKSEED_URL: d.url, RACKSEED_TOKEN: 'wrong-token-wrong-token' })).code, EXIT.UNAUTHORIZED);

  const rm = await cli(['images', 'rm', 'bios-2']);
  assert.equal(rm.code, EXIT.OK, rm.stderr);
  assert.match(rm.stdout, /removed image bios-2/);
  const again = await cli(['images', 'rm', 'bios-2', '--json']);
  assert.equal(again.code, EXIT.NOT_FOUND);
  assert.match(JSON.parse(again.stdout).error, /no image bios-2/);
});
