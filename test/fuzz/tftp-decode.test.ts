// Fuzzing the TFTP decoder (FUZZ_ITERATIONS, default 100000 mutated/truncated packets): it either returns a
// packet that re-encodes and decodes to itself, or throws TftpDecodeError with an offset inside the input —
// never anything else. Then garbage is thrown at a running server, which must still serve a real client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { decodeTftpPacket, encodeTftpPacket, TftpDecodeError, type TftpPacket } from '../../netboot/tftp/index.ts';
import { createTftpServer } from '../../netboot/tftp/server/tftp-server.ts';
import { createFilesystemHandler } from '../../netboot/tftp/server/fs-handler.ts';
import { dgramSocketFactory } from '../../netboot/tftp/server/dgram-socket-factory.ts';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 100_000);

/** mulberry32: small seeded PRNG so a failure can be replayed with the printed seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedPackets(r: () => number): TftpPacket[] {
  const int = (n: number) => Math.floor(r() * n);
  const word = () => Array.from({ length: 1 + int(12) }, () => String.fromCharCode(33 + int(90))).join('');
  return [
    { op: 'RRQ', filename: word(), mode: 'octet', options: [{ name: 'blksize', value: String(int(70000)) }, { name: 'tsize', value: '0' }, { name: 'windowsize', value: String(int(70000)) }] },
    { op: 'WRQ', filename: word(), mode: 'netascii', options: [] },
    { op: 'DATA', block: int(65536), data: Buffer.from(Array.from({ length: int(600) }, () => int(256))) },
    { op: 'ACK', block: int(65536) },
    { op: 'ERROR', code: int(10), message: word() },
    { op: 'OACK', options: [{ name: word(), value: word() }] },
  ];
}

function mutate(r: () => number, input: Buffer): Buffer {
  const int = (n: number) => Math.floor(r() * n);
  let b: Buffer = Buffer.from(input);
  const steps = 1 + int(4);
  for (let s = 0; s < steps; s++) {
    switch (int(7)) {
      case 0: if (b.length) b[int(b.length)] = int(256); break; // random byte
      case 1: if (b.length) b[int(b.length)] = 0; break; // stray NUL
      case 2: b = b.subarray(0, int(b.length + 1)); break; // truncate
      case 3: b = Buffer.concat([b, randomBytesFrom(r, int(20))]); break; // trailing garbage
      case 4: if (b.length >= 2) b.writeUInt16BE(int(9), 0); break; // other opcode, same body
      case 5: { const at = int(b.length + 1); b = Buffer.concat([b.subarray(0, at), randomBytesFrom(r, 1 + int(4)), b.subarray(at)]); break; }
      case 6: b = randomBytesFrom(r, int(40)); break; // pure noise
    }
  }
  return b;
}

function randomBytesFrom(r: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

test(`decoder: ${ITERATIONS} mutated packets either decode consistently or throw TftpDecodeError`, () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const r = rng(seed);
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const seeds = seedPackets(r);
    const input = mutate(r, encodeTftpPacket(seeds[Math.floor(r() * seeds.length)]));
    let p: TftpPacket;
    try {
      p = decodeTftpPacket(input);
    } catch (err) {
      if (!(err instanceof TftpDecodeError)) assert.fail(`seed ${seed} iteration ${i}: ${input.toString('hex')} threw ${String(err)}`);
      assert.ok(err.offset >= 0 && err.offset <= input.length, `seed ${seed}: offset ${err.offset} outside input of ${input.length}`);
      rejected++;
      continue;
    }
    decoded++;
    assert.deepEqual(decodeTftpPacket(encodeTftpPacket(p)), p, `seed ${seed} iteration ${i}: ${input.toString('hex')}`);
  }
  assert.equal(decoded + rejected, ITERATIONS);
  assert.ok(decoded > 0 && rejected > 0, `both outcomes exercised (decoded ${decoded}, rejected ${rejected})`);
});

test('a running server survives garbage on its port and still serves a real client', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rs-tftp-fuzz-'));
  const data = randomBytes(300_000);
  await writeFile(join(dir, 'real.bin'), data);
  const server = createTftpServer({
    socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler: createFilesystemHandler(dir),
    logger: pino({ level: 'silent' }), timeoutMs: 200, retries: 1,
  });
  await server.start();
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
    const r = rng(12345);
    const port = server.address().port;
    const total = Math.min(ITERATIONS, 5000);
    for (let i = 0; i < total; i++) {
      const seeds = seedPackets(r);
      sock.send(mutate(r, encodeTftpPacket(seeds[i % seeds.length])), port, '127.0.0.1');
      if (i % 200 === 0) await new Promise((res) => setImmediate(res));
    }
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(server.counters().dropped > 0, 'garbage was seen and dropped');
    const out = join(dir, 'out.bin');
    await promisify(execFile)('curl', ['-sS', '--max-time', '30', '--tftp-blksize', '1468', '-o', out, `tftp://127.0.0.1:${port}/real.bin`]);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(await readFile(out)), sha(data));
  } finally {
    sock.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
