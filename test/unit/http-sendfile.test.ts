// File bodies sent by sendfile(2) worker threads (netboot/http/sendfile/): a fastify server on 127.0.0.1 answering
// prepareFileResponse(deferBody) through sendFileResponseOffloaded with a real FileSendPool, and node's http client
// or a raw TCP socket as the client. Whole files and ranges byte for byte, keep-alive reuse, pipelined requests in
// order, a client that leaves mid-download, a file that shrinks while sent, a client that stops reading (the stall
// limit), the fallbacks (no workers; HEAD/416/304 have no body), and no descriptor left open afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { prepareFileResponse } from '../../netboot/http/file-response.ts';
import { FileSendPool } from '../../netboot/http/sendfile/send-pool.ts';
import { sendFileResponseOffloaded, type BodyRoute } from '../../netboot/http/sendfile/http-offload.ts';

const MiB = 1024 * 1024;
let dir: string;
let data: Buffer;

/** one server: its port, its pool and how each response's body went (in the order the bodies ended) */
interface Served { app: FastifyInstance; port: number; pool: FileSendPool; routes: BodyRoute[] }
const servers: Served[] = [];

async function serve(workers: number, stallMs?: number): Promise<Served> {
  const pool = new FileSendPool(workers, { stallMs });
  const app = Fastify();
  const routes: BodyRoute[] = [];
  app.addHook('onClose', async () => { await pool.close(); });
  app.route({
    method: ['GET', 'HEAD'], url: '/f/:name', exposeHeadRoute: false,
    handler: async (req, reply) => {
      const r = await prepareFileResponse(req, dir, (req.params as { name: string }).name, { deferBody: true });
      routes.push(await sendFileResponseOffloaded(req, reply, r, pool));
      return reply;
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const s = { app, pool, routes, port: (app.server.address() as { port: number }).port };
  servers.push(s);
  return s;
}

const openFds = () => readdirSync('/proc/self/fd').length;

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Got { status: number; headers: IncomingMessage['headers']; body: Buffer; complete: boolean; reused: boolean }
function get(port: number, path: string, headers: Record<string, string> = {}, agent?: Agent, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete, reused: req.reusedSocket });
      res.on('end', done);
      res.on('aborted', done);
      res.on('error', done);
    });
    req.on('error', reject);
    req.end();
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rs-http-sendfile-'));
  data = randomBytes(24 * MiB);
  writeFileSync(join(dir, 'data.bin'), data);
});
after(async () => {
  for (const s of servers) await s.app.close();
  rmSync(dir, { recursive: true, force: true });
});

test('whole file and ranges through a worker, byte for byte, on one kept-alive connection', async () => {
  const { port, routes } = await serve(2);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const whole = await get(port, '/f/data.bin', {}, agent);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['content-length'], String(data.length));
    assert.ok(whole.complete && whole.body.equals(data), 'the whole file');
    const cases: [string, number, number][] = [['bytes=1000-5095', 1000, 5096], ['bytes=-512', data.length - 512, data.length], [`bytes=${data.length - 10}-`, data.length - 10, data.length], ['bytes=0-0', 0, 1], ['bytes=3-', 3, data.length]];
    for (const [range, from, to] of cases) {
      const part = await get(port, '/f/data.bin', { range }, agent);
      assert.equal(part.status, 206, range);
      assert.equal(part.headers['content-range'], `bytes ${from}-${to - 1}/${data.length}`);
      assert.ok(part.body.equals(data.subarray(from, to)), `${range}: the bytes of the range`);
      assert.ok(part.reused, `${range}: the connection was kept alive and reused`);
    }
    await until('every outcome', () => routes.length === 1 + cases.length);
    for (const r of routes) assert.deepEqual(r.via === 'worker' && r.outcome.ok, true, JSON.stringify(r));
  } finally { agent.destroy(); }
});

test('pipelined requests on one connection: each response whole and in order, each body by a worker once it owns the connection', async () => {
  const { port, routes } = await serve(2);
  const sock = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  const reqs: [number, number][] = [[0, 4 * MiB], [100, 199], [5 * MiB, 9 * MiB]];
  sock.write(reqs.map(([a, b]) => `GET /f/data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=${a}-${b - 1}\r\n\r\n`).join(''));
  const expected = reqs.reduce((n, [a, b]) => n + (b - a), 0);
  await until('three responses', () => Buffer.concat(chunks).length >= expected + 3 * 100 && parse(Buffer.concat(chunks)).length === 3);
  sock.destroy();
  const got = parse(Buffer.concat(chunks));
  got.forEach((g, i) => {
    const [a, b] = reqs[i]!;
    assert.equal(g.status, 206);
    assert.ok(g.body.equals(data.subarray(a, b)), `response ${i + 1}: the bytes of its range`);
  });
  await until('three outcomes', () => routes.length === 3);
  for (const r of routes) assert.deepEqual(r.via === 'worker' && r.outcome.ok, true, JSON.stringify(r));
});

/** HTTP/1.1 responses with Content-Length, back to back. */
function parse(buf: Buffer): { status: number; body: Buffer }[] {
  const out: { status: number; body: Buffer }[] = [];
  let at = 0;
  while (at < buf.length) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = buf.subarray(at, end).toString();
    const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (buf.length < end + 4 + len) break;
    out.push({ status: Number(head.split(' ')[1]), body: buf.subarray(end + 4, end + 4 + len) });
    at = end + 4 + len;
  }
  return out;
}

test('a client that leaves mid-download: the worker ends the send, no descriptor stays open, the server goes on', async () => {
  const { port, pool, routes } = await serve(2);
  await get(port, '/f/data.bin', { range: 'bytes=0-0' }); // both workers started: their descriptors are in the baseline
  await get(port, '/f/data.bin', { range: 'bytes=0-0' });
  await until('the first outcomes', () => routes.length === 2);
  const fds = openFds();
  routes.length = 0;
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/f/data.bin' }, (res) => {
      res.once('data', () => { req.destroy(); resolve(); });
    });
    req.on('error', () => {});
    req.on('close', () => resolve());
    req.end();
    setTimeout(() => reject(new Error('no data')), 10_000);
  });
  await until('the send to end', () => routes.length === 1);
  const r = routes[0]!;
  assert.ok(r.via === 'worker' && !r.outcome.ok && r.outcome.bytes < data.length, JSON.stringify(r));
  await until('the descriptors to be closed', () => openFds() <= fds);
  assert.ok(pool.running().every((n) => n === 0), 'no send left running');
  const again = await get(port, '/f/data.bin');
  assert.ok(again.body.equals(data), 'the next download is whole');
});

test('a file that shrinks while it is sent: the connection is cut after the bytes that exist, never other bytes', async () => {
  const { port, routes } = await serve(2);
  const big = randomBytes(64 * MiB);
  writeFileSync(join(dir, 'shrinks.bin'), big);
  const got = await new Promise<Got>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/f/shrinks.bin' }, (res) => {
      res.pause(); // the socket buffers fill; the worker waits for room
      setTimeout(() => {
        truncateSync(join(dir, 'shrinks.bin'), 32 * MiB);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete, reused: false });
        res.on('end', done); res.on('aborted', done); res.on('error', done); res.on('close', done);
        res.resume();
      }, 300);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(got.status, 200);
  assert.equal(got.headers['content-length'], String(64 * MiB));
  assert.equal(got.complete, false, 'the client sees a short body');
  assert.ok(got.body.length <= 32 * MiB, `${got.body.length} bytes: not more than the file still has`);
  assert.ok(got.body.equals(big.subarray(0, got.body.length)), 'every byte received is the file\'s');
  await until('the outcome', () => routes.length === 1);
  const r = routes[0]!;
  assert.ok(r.via === 'worker' && !r.outcome.ok && /shorter than announced/.test(r.outcome.reason), JSON.stringify(r));
});

test('a client that stops reading: the send ends after the stall limit and its descriptors are closed', async () => {
  const { port, pool, routes } = await serve(1, 1000);
  await get(port, '/f/data.bin', { range: 'bytes=0-0' });
  await until('the first outcome', () => routes.length === 1);
  const fds = openFds();
  routes.length = 0;
  const sock = connect(port, '127.0.0.1');
  sock.write('GET /f/data.bin HTTP/1.1\r\nHost: x\r\n\r\n');
  sock.pause(); // never reads
  await until('the stall limit to end the send', () => routes.length === 1);
  const r = routes[0]!;
  assert.ok(r.via === 'worker' && !r.outcome.ok && /no progress/.test(r.outcome.reason) && r.outcome.bytes < data.length, JSON.stringify(r));
  assert.ok(pool.running().every((n) => n === 0), 'no send left running');
  sock.destroy();
  await until('the descriptors to be closed', () => openFds() <= fds);
});

test('without workers the body is streamed; HEAD, 304 and 416 carry no body and need none', async () => {
  const { port, routes } = await serve(0);
  const whole = await get(port, '/f/data.bin');
  assert.ok(whole.complete && whole.body.equals(data));
  const part = await get(port, '/f/data.bin', { range: 'bytes=10-19' });
  assert.ok(part.body.equals(data.subarray(10, 20)));
  await until('two outcomes', () => routes.length === 2);
  assert.deepEqual(routes.map((r) => r.via), ['stream', 'stream']);
  const w = await serve(2);
  const head = await get(w.port, '/f/data.bin', {}, undefined, 'HEAD');
  assert.equal(head.headers['content-length'], String(data.length));
  assert.equal(head.body.length, 0);
  assert.equal((await get(w.port, '/f/data.bin', { 'if-none-match': head.headers.etag! })).status, 304);
  assert.equal((await get(w.port, '/f/data.bin', { range: `bytes=${data.length}-` })).status, 416);
  assert.equal((await get(w.port, '/f/missing.bin')).status, 404);
  await until('four outcomes', () => w.routes.length === 4);
  assert.deepEqual(w.routes.map((r) => r.via), ['none', 'none', 'none', 'none']);
});
