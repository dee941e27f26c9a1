// The daemon's image route as `rackseed serve` mounts it (buildHttpBootServer + agent routes + registerImageServing,
// over a Core with an image imported through the library) on 127.0.0.1, bodies sent by the sendfile workers: 8
// concurrent whole downloads hash to the image's sha256 while the same server refuses an agent call with a bad
// token (401) and unknown digests (404); a ranged download; the workers end with the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { Core } from '../../core/core.ts';
import { buildHttpBootServer } from '../../netboot/http/http-boot.ts';
import { registerAgentRoutes } from '../../daemon/agent-routes.ts';
import { registerImageServing } from '../../daemon/image-serving.ts';
import { imageServingPath, type ImageRecord } from '../../shared/image.ts';
import { biosMbrImage } from '../helpers/images.ts';

let dir: string;
let core: Core;
let app: FastifyInstance;
let port: number;
let img: ImageRecord;
let raw: Buffer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-image-workers-'));
  const file = join(dir, 'disk.img');
  biosMbrImage(file);
  appendFileSync(file, randomBytes(28 * 1024 * 1024));
  raw = readFileSync(file);
  core = new Core({ dataDir: join(dir, 'data'), logger: pino({ level: 'silent' }) });
  core.recover();
  img = await core.images.startImport('disk', createReadStream(file), statSync(file).size).done;
  assert.equal(img.state, 'ready', img.error ?? '');
  app = await buildHttpBootServer({
    logger: pino({ level: 'silent' }), scriptFor: () => null, filesRoot: dir, ipxeRoot: dir,
    registerExtra: async (a) => { await registerAgentRoutes(a, core); await registerImageServing(a, core, { sendWorkers: 2 }); },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});
after(async () => { await app.close(); core.close(); rmSync(dir, { recursive: true, force: true }); });

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; length: number; sha256: string; body: Buffer | null }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const h = createHash('sha256');
      let length = 0;
      const small: Buffer[] = [];
      res.on('data', (c: Buffer) => { h.update(c); length += c.length; if (length <= 1024 * 1024) small.push(c); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, length, sha256: h.digest('hex'), body: length <= 1024 * 1024 ? Buffer.concat(small) : null }));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

test('8 concurrent downloads are whole while a bad agent token is refused and unknown digests are 404', async () => {
  const url = imageServingPath(img.sha256!);
  const downloads = Promise.all(Array.from({ length: 8 }, () => get(url)));
  const refused = await get('/agent/v1/next', { authorization: 'Bearer not-a-token' });
  assert.equal(refused.status, 401, 'the agent route still checks its token while images are sent');
  assert.equal((await get(`/images/${'0'.repeat(64)}.raw`)).status, 404);
  assert.equal((await get(`/images/${img.id}.raw`)).status, 404, 'by digest only');
  for (const d of await downloads) {
    assert.equal(d.status, 200);
    assert.equal(d.length, raw.length);
    assert.equal(d.sha256, img.sha256);
  }
});

test('a ranged download from the image route', async () => {
  const part = await get(imageServingPath(img.sha256!), { range: 'bytes=4194304-4259839' });
  assert.equal(part.status, 206);
  assert.ok(part.body!.equals(raw.subarray(4194304, 4259840)));
});
