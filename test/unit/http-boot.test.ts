// HTTP boot server: /boot.ipxe (chain-self, scriptFor, 404/400), /files and /ipxe with ETag/304, Range/206/416,
// If-Range, HEAD, traversal refusals; registerExtra; events. fastify inject, plus curl over real HTTP on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { NetbootEvent } from '../../netboot/boot-policy.ts';
import { buildHttpBootServer, normalizeMac, type BootScriptRequest } from '../../netboot/http/http-boot.ts';
import { parseSingleRange } from '../../netboot/http/file-response.ts';
import { renderLocalDiskScript } from '../../netboot/http/scripts/index.ts';

const run = promisify(execFile);
let dir: string;
let app: FastifyInstance;
const events: NetbootEvent[] = [];
const asked: BootScriptRequest[] = [];
const kernel = randomBytes(200_000);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rs-http-unit-'));
  await mkdir(join(dir, 'files/discovery'), { recursive: true });
  await mkdir(join(dir, 'ipxe'), { recursive: true });
  await writeFile(join(dir, 'files/discovery/vmlinuz'), kernel);
  await writeFile(join(dir, 'files/empty.img'), '');
  await writeFile(join(dir, 'ipxe/undionly.kpxe'), 'ipxe-binary');
  await writeFile(join(dir, 'secret'), 'TOP-SECRET-CONTENT');
  await symlink(join(dir, 'secret'), join(dir, 'files/escape'));
  app = await buildHttpBootServer({
    logger: pino({ level: 'silent' }),
    filesRoot: join(dir, 'files'),
    ipxeRoot: join(dir, 'ipxe'),
    baseUrl: 'http://10.232.0.1:8080',
    onEvent: (e) => events.push(e),
    scriptFor: async (req) => {
      asked.push(req);
      return req.mac === '52:54:00:00:00:01' ? renderLocalDiskScript({ method: 'exit' }) : null;
    },
    registerExtra: (a) => { a.post('/agent/v1/inventory', async () => ({ ok: true })); },
  });
});

after(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

test('GET /boot.ipxe without mac → chain-self script pointing at the base URL', async () => {
  const r = await app.inject({ method: 'GET', url: '/boot.ipxe' });
  assert.equal(r.statusCode, 200);
  assert.match(r.headers['content-type'] as string, /^text\/plain/);
  assert.ok(r.body.startsWith('#!ipxe\n:again\nchain --autofree http://10.232.0.1:8080/boot.ipxe?mac=${netX/mac}&uuid=${uuid}&serial=${serial:uristring}&'));
  assert.equal(events.at(-1)?.kind, 'script');
  assert.equal(events.at(-1)?.source, 'http');
});

test('GET /boot.ipxe?mac=… → scriptFor gets normalised fields; null → 404; bad mac → 400', async () => {
  const r = await app.inject({ method: 'GET', url: '/boot.ipxe?mac=52-54-00-00-00-01&uuid=a1b2c3d4-0000-0000-0000-000000000001&serial=SN%20042&platform=pcbios&arch=x86_64&chip=undionly' });
  assert.equal(r.statusCode, 200);
  assert.equal(r.body, renderLocalDiskScript({ method: 'exit' }));
  assert.deepEqual(asked.at(-1), { mac: '52:54:00:00:00:01', uuid: 'a1b2c3d4-0000-0000-0000-000000000001', serial: 'SN 042', platform: 'pcbios', arch: 'x86_64', chip: 'undionly', ip: '127.0.0.1' });
  const empty = await app.inject({ method: 'GET', url: '/boot.ipxe?mac=52:54:00:00:00:02&uuid=&serial=' });
  assert.equal(empty.statusCode, 404);
  assert.equal(asked.at(-1)?.uuid, null);
  assert.equal(asked.at(-1)?.serial, null);
  assert.equal((await app.inject({ method: 'GET', url: '/boot.ipxe?mac=nonsense' })).statusCode, 400);
  assert.equal(normalizeMac('525400ABCDEF'), '52:54:00:ab:cd:ef');
  assert.equal(normalizeMac('52:54-00:ab:cd:ef'), null);
});

test('/files: 200 with ETag and Accept-Ranges, If-None-Match → 304', async () => {
  const r = await app.inject({ method: 'GET', url: '/files/discovery/vmlinuz' });
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['accept-ranges'], 'bytes');
  assert.equal(Number(r.headers['content-length']), kernel.length);
  assert.deepEqual(r.rawPayload, kernel);
  const etag = r.headers.etag as string;
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  const again = await app.inject({ method: 'GET', url: '/files/discovery/vmlinuz', headers: { 'if-none-match': `"other", ${etag}` } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.rawPayload.length, 0);
  assert.equal((await app.inject({ method: 'GET', url: '/files/discovery/vmlinuz', headers: { 'if-none-match': '"other"' } })).statusCode, 200);
});

test('/files: Range → 206 with Content-Range; suffix and open ranges; 416 beyond the end; If-Range mismatch → 200', async () => {
  const r = await app.inject({ method: 'GET', url: '/files/discovery/vmlinuz', headers: { range: 'bytes=100-199' } });
  assert.equal(r.statusCode, 206);
  assert.equal(r.headers['content-range'], `bytes 100-199/${kernel.length}`);
  assert.deepEqual(r.rawPayload, kernel.subarray(100, 200));
  const suffix = await app.inject({ method: 'GET', url: '/files/discovery/vmlinuz', headers: { range: 'bytes=-10' } });
  assert.deepEqual(suffix.rawPayload, kernel.subarray(kernel.length - 10));
  const open = await app.inject({ method: 'GET', url: '/files/discovery/vmlinuz', headers: { range: `bytes=${kernel.length - 5}-` } });
  assert.equal(open.statusCode, 206);
  assert.deepEqual(open.rawPayload, kernel.subarray(kernel.length - 5));
  const beyond = await app.inject({ method: 'GET', url: '/files/discovery/vmlinuz', headers: { range: `bytes=${kernel.length}-` } });
  assert.equal(beyond.statusCode, 416);
  assert.equal(beyond.headers['content-range'], `bytes */${kernel.length}`);
  const stale = await app.inject({ method: 'GET', url: '/files/discovery/vmlinuz', headers: { range: 'bytes=0-9', 'if-range': '"stale"' } });
  assert.equal(stale.statusCode, 200);
  assert.equal(stale.rawPayload.length, kernel.length);
  const multi = await app.inject({ method: 'GET', url: '/files/discovery/vmlinuz', headers: { range: 'bytes=0-1,5-6' } });
  assert.equal(multi.statusCode, 200);
  assert.deepEqual(parseSingleRange('bytes=5-2', 10), null);
  assert.deepEqual(parseSingleRange('bytes=0-100', 10), [0, 9]);
  assert.equal(parseSingleRange('bytes=-5', 0), 'unsatisfiable');
});

test('/files: HEAD has headers and no body; empty file is 200 with length 0', async () => {
  const h = await app.inject({ method: 'HEAD', url: '/files/discovery/vmlinuz' });
  assert.equal(h.statusCode, 200);
  assert.equal(Number(h.headers['content-length']), kernel.length);
  assert.equal(h.rawPayload.length, 0);
  const e = await app.inject({ method: 'GET', url: '/files/empty.img' });
  assert.equal(e.statusCode, 200);
  assert.equal(e.rawPayload.length, 0);
});

test('/files: traversal, encoded traversal and symlinks leaving the root → 403; missing and directories → 404', async () => {
  for (const url of ['/files/..%2fsecret', '/files/discovery/..%2f..%2fsecret', '/files/escape', '/files/%2fetc%2fpasswd', '/files/..%5csecret']) {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 403, url);
    assert.doesNotMatch(r.body, /TOP-SECRET/);
  }
  // "%2e%2e" segments are resolved by URL parsing before routing: they never reach /files at all.
  for (const url of ['/files/%2e%2e/secret', '/files/discovery/%2e%2e/%2e%2e/secret']) {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 404, url);
    assert.doesNotMatch(r.body, /TOP-SECRET/);
  }
  assert.equal((await app.inject({ method: 'GET', url: '/files/nope.img' })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/files/discovery' })).statusCode, 404);
  assert.ok(events.some((e) => e.kind === 'download' && e.detail?.status === 403 && e.level === 'warn'));
});

test('/ipxe/* serves the iPXE folder; registerExtra routes live on the same server', async () => {
  const r = await app.inject({ method: 'GET', url: '/ipxe/undionly.kpxe' });
  assert.equal(r.statusCode, 200);
  assert.equal(r.body, 'ipxe-binary');
  const d = events.findLast((e) => e.kind === 'download');
  assert.equal(d?.detail?.file, 'ipxe/undionly.kpxe');
  assert.equal(d?.detail?.bytes, 11);
  const extra = await app.inject({ method: 'POST', url: '/agent/v1/inventory', payload: {} });
  assert.deepEqual(extra.json(), { ok: true });
});

test('real HTTP on 127.0.0.1: curl whole file, a byte range, and a raw ../ path', async () => {
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const out = join(dir, 'curl.bin');
  await run('curl', ['-sS', '--fail', '-o', out, `${address}/files/discovery/vmlinuz`]);
  assert.equal(createHash('sha256').update(await readFile(out)).digest('hex'), createHash('sha256').update(kernel).digest('hex'));
  const { stdout } = await run('curl', ['-sS', '-r', '10-19', '-o', out, '-w', '%{http_code}', `${address}/files/discovery/vmlinuz`]);
  assert.equal(stdout, '206');
  assert.deepEqual(await readFile(out), kernel.subarray(10, 20));
  // curl normalises "../" itself; --path-as-is sends it raw
  const { stdout: code } = await run('curl', ['-sS', '--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', `${address}/files/../secret`]);
  assert.notEqual(code, '200');
});
