// The TFTP fast paths on 127.0.0.1: UDP GSO windows (one segmented send per window, split by the kernel into
// ordinary DATA packets), the per-datagram fallback, and transfers on worker threads (`transferWorkers`) — with
// real clients (atftp windowsize 16, curl, tftp-hpa) and a raw socket for the wire format.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { decodeTftpPacket, encodeTftpPacket } from '../../netboot/tftp/index.ts';
import { createTftpServer } from '../../netboot/tftp/server/tftp-server.ts';
import { createFilesystemHandler } from '../../netboot/tftp/server/fs-handler.ts';
import { dgramSocketFactory } from '../../netboot/tftp/server/dgram-socket-factory.ts';
import { enableUdpGso } from '../../netboot/tftp/server/udp-gso.ts';

const run = promisify(execFile);
const logger = pino({ level: 'silent' });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
const big = randomBytes(4 * 1024 * 1024 + 333);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rs-tftp-workers-'));
  await writeFile(join(dir, 'big.bin'), big);
  await writeFile(join(dir, 'one.bin'), randomBytes(1468 * 16)); // exactly one window: an empty block 17 ends it
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function bound(): Promise<Socket> {
  return new Promise((ok) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => ok(s));
  });
}

/** Datagrams arriving on `s` until `count` arrived. */
function collect(s: Socket, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`only ${got.length} of ${count} datagrams arrived`)), 5000);
    s.on('message', (m) => {
      got.push(m);
      if (got.length === count) {
        clearTimeout(timer);
        ok(got);
      }
    });
  });
}

test('UDP_SEGMENT: one send of 2.5 segments arrives as three datagrams (100, 100, 50 bytes)', async () => {
  const tx = await bound();
  const rx = await bound();
  try {
    assert.equal(enableUdpGso(tx, 100), true, 'UDP GSO must be available on Linux loopback (the benchmark path)');
    const payload = randomBytes(250);
    const arriving = collect(rx, 3);
    tx.send(payload, rx.address().port, '127.0.0.1');
    const got = await arriving;
    assert.deepEqual(got.map((b) => b.length), [100, 100, 50]);
    assert.deepEqual(Buffer.concat(got), payload);
  } finally {
    tx.close();
    rx.close();
  }
});

/** A raw socket with an inbox: `next()` resolves the next datagram and the port it came from. */
async function rawClient(): Promise<{ sock: Socket; next(): Promise<{ msg: Buffer; port: number }> }> {
  const sock = await bound();
  const inbox: { msg: Buffer; port: number }[] = [];
  let wake: (() => void) | null = null;
  sock.on('message', (msg, r) => {
    inbox.push({ msg, port: r.port });
    wake?.();
  });
  return {
    sock,
    async next() {
      const deadline = Date.now() + 5000;
      while (inbox.length === 0) {
        if (Date.now() > deadline) throw new Error('no datagram within 5 s');
        await new Promise<void>((ok) => { wake = ok; setTimeout(ok, 50); });
      }
      return inbox.shift()!;
    },
  };
}

test('a GSO window reaches a raw client as separate DATA packets 1..16 of 4 + blksize bytes, then the empty block', async () => {
  const s = createTftpServer({ socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler: createFilesystemHandler(dir), logger });
  await s.start();
  const c = await rawClient();
  try {
    c.sock.send(encodeTftpPacket({ op: 'RRQ', filename: 'one.bin', mode: 'octet', options: [{ name: 'blksize', value: '1468' }, { name: 'windowsize', value: '16' }] }), s.address().port, '127.0.0.1');
    const oack = await c.next();
    assert.equal(decodeTftpPacket(oack.msg).op, 'OACK');
    c.sock.send(encodeTftpPacket({ op: 'ACK', block: 0 }), oack.port, '127.0.0.1');
    const want = await readFile(join(dir, 'one.bin'));
    for (let n = 1; n <= 16; n++) {
      const { msg, port } = await c.next();
      assert.equal(port, oack.port);
      assert.equal(msg.length, 4 + 1468, `DATA ${n} is one datagram of 4 + blksize bytes`);
      const pkt = decodeTftpPacket(msg);
      assert.equal(pkt.op, 'DATA');
      assert.equal(pkt.op === 'DATA' && pkt.block, n);
      assert.deepEqual(pkt.op === 'DATA' && pkt.data, want.subarray((n - 1) * 1468, n * 1468));
    }
    c.sock.send(encodeTftpPacket({ op: 'ACK', block: 16 }), oack.port, '127.0.0.1');
    const last = decodeTftpPacket((await c.next()).msg);
    assert.deepEqual(last.op === 'DATA' && [last.block, last.data.length], [17, 0]);
    c.sock.send(encodeTftpPacket({ op: 'ACK', block: 17 }), oack.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.counters().done, 1);
  } finally {
    c.sock.close();
    await s.stop();
  }
});

test('without GSO (RACKSEED_TFTP_NO_GSO=1) windows go out datagram by datagram and atftp still gets the file intact', async () => {
  process.env.RACKSEED_TFTP_NO_GSO = '1';
  const s = createTftpServer({ socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler: createFilesystemHandler(dir), logger });
  await s.start();
  try {
    const out = join(dir, 'nogso.bin');
    await run('atftp', ['--option', 'windowsize 16', '--option', 'blksize 1468', '-g', '-r', 'big.bin', '-l', out, '127.0.0.1', String(s.address().port)], { timeout: 60_000 });
    assert.equal(sha(await readFile(out)), sha(big));
  } finally {
    delete process.env.RACKSEED_TFTP_NO_GSO;
    await s.stop();
  }
});

test('transferWorkers 2: concurrent atftp (windowsize 16), curl and tftp-hpa downloads are intact; counters add up', async () => {
  const s = createTftpServer({ socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler: createFilesystemHandler(dir), logger, transferWorkers: 2 });
  await s.start();
  await s.warmTransferWorkers(); // loaded now: every download below runs on a worker
  const port = String(s.address().port);
  try {
    const outs = [0, 1, 2, 3].map((i) => join(dir, `w-atftp-${i}.bin`));
    await Promise.all([
      ...outs.map((o) => run('atftp', ['--option', 'windowsize 16', '--option', 'blksize 1468', '-g', '-r', 'big.bin', '-l', o, '127.0.0.1', port], { timeout: 60_000 })),
      run('curl', ['-sS', '--max-time', '60', '--tftp-blksize', '1468', '-o', join(dir, 'w-curl.bin'), `tftp://127.0.0.1:${port}/big.bin`]),
      run('tftp', ['-m', 'binary', '127.0.0.1', port, '-c', 'get', 'big.bin', join(dir, 'w-hpa.bin')], { timeout: 60_000 }),
    ]);
    for (const o of [...outs, join(dir, 'w-curl.bin'), join(dir, 'w-hpa.bin')]) assert.equal(sha(await readFile(o)), sha(big), o);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual({ ...s.counters(), dropped: 0 }, { rrq: 6, done: 6, errors: 0, aborted: 0, bytes: 6 * big.length, dropped: 0, active: 0, clientLimited: 0 });
    assert.deepEqual(s.transferWorkers(), { running: 2, loaded: 2, transfers: 6, starts: 1 });
    // requests refused by the handler are still answered from the main thread: traversal → 2, missing → 1
    const c = await rawClient();
    try {
      for (const [name, code] of [['../etc/passwd', 2], ['missing.bin', 1]] as const) {
        c.sock.send(encodeTftpPacket({ op: 'RRQ', filename: name, mode: 'octet', options: [] }), Number(port), '127.0.0.1');
        const pkt = decodeTftpPacket((await c.next()).msg);
        assert.deepEqual(pkt.op === 'ERROR' && pkt.code, code, name);
      }
    } finally {
      c.sock.close();
    }
  } finally {
    await s.stop();
  }
});

test('transferWorkers start on the first transfer (which runs on the main thread meanwhile) and end after transferWorkerIdleMs; the next transfer starts them again', async () => {
  const s = createTftpServer({ socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler: createFilesystemHandler(dir), logger, transferWorkers: 2, transferWorkerIdleMs: 3000 });
  await s.start();
  const port = String(s.address().port);
  const get = async (name: string) => {
    const out = join(dir, name);
    await run('curl', ['-sS', '--max-time', '60', '--tftp-blksize', '1468', '-o', out, `tftp://127.0.0.1:${port}/big.bin`]);
    assert.equal(sha(await readFile(out)), sha(big), name);
  };
  const until = async (what: string, ok: () => boolean, ms = 60_000) => {
    const t0 = Date.now();
    while (!ok()) {
      assert.ok(Date.now() - t0 < ms, `${what} within ${ms / 1000} s: ${JSON.stringify(s.transferWorkers())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    assert.deepEqual(s.transferWorkers(), { running: 0, loaded: 0, transfers: 0, starts: 0 }, 'no worker before any transfer');
    await get('lazy-1.bin'); // starts the workers; no worker had loaded yet, so it ran on the main thread
    assert.equal(s.transferWorkers().starts, 1);
    await until('both workers loaded', () => s.transferWorkers().loaded === 2);
    await get('lazy-2.bin');
    assert.equal(s.transferWorkers().transfers, 1, 'the second transfer ran on a worker');
    await until('the workers ended after 3 s idle', () => s.transferWorkers().running === 0, 30_000);
    await get('lazy-3.bin'); // served (on the main thread) and the workers start again
    assert.equal(s.transferWorkers().starts, 2);
    await until('the workers loaded again', () => s.transferWorkers().loaded === 2);
    await get('lazy-4.bin');
    assert.equal(s.transferWorkers().transfers, 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual([s.counters().done, s.counters().errors, s.counters().bytes], [4, 0, 4 * big.length]);
  } finally {
    await s.stop();
  }
  assert.equal(s.transferWorkers().running, 0, 'stop() ended the workers');
});

test('transferWorkers: stop() during a worker transfer ends it (ERROR to the client) and resolves', async () => {
  const s = createTftpServer({ socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler: createFilesystemHandler(dir), logger, transferWorkers: 1, timeoutMs: 5000 });
  await s.start();
  await s.warmTransferWorkers(); // loaded now: the transfer below runs on the worker
  const c = await rawClient();
  try {
    c.sock.send(encodeTftpPacket({ op: 'RRQ', filename: 'big.bin', mode: 'octet', options: [{ name: 'windowsize', value: '4' }] }), s.address().port, '127.0.0.1');
    const oack = await c.next();
    assert.equal(decodeTftpPacket(oack.msg).op, 'OACK');
    assert.equal(s.counters().active, 1);
    const t0 = Date.now();
    await s.stop();
    assert.ok(Date.now() - t0 < 2000, 'stop() returned promptly');
    const err = decodeTftpPacket((await c.next()).msg);
    assert.equal(err.op, 'ERROR');
    assert.match(err.op === 'ERROR' ? err.message : '', /server stopping/);
    assert.equal(s.counters().active, 0);
    assert.equal(s.counters().errors, 1);
  } finally {
    c.sock.close();
  }
});

test('worker transfers read each window straight into its send buffer: exact-multiple file ends with an empty block; an ACK inside the window and a duplicate ACK resend from the right block', async () => {
  const s = createTftpServer({ socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler: createFilesystemHandler(dir), logger, transferWorkers: 1, timeoutMs: 5000 });
  await s.start();
  await s.warmTransferWorkers(); // loaded now: the transfer below runs on the worker
  const c = await rawClient();
  const want = await readFile(join(dir, 'one.bin'));
  const expectData = async (n: number, len = 1468) => {
    const pkt = decodeTftpPacket((await c.next()).msg);
    assert.equal(pkt.op, 'DATA');
    assert.equal(pkt.op === 'DATA' && pkt.block, n);
    assert.deepEqual(pkt.op === 'DATA' && pkt.data, want.subarray((n - 1) * 1468, (n - 1) * 1468 + len), `block ${n}`);
  };
  try {
    c.sock.send(encodeTftpPacket({ op: 'RRQ', filename: 'one.bin', mode: 'octet', options: [{ name: 'blksize', value: '1468' }, { name: 'windowsize', value: '8' }] }), s.address().port, '127.0.0.1');
    const oack = await c.next();
    assert.equal(decodeTftpPacket(oack.msg).op, 'OACK');
    const ack = (block: number) => c.sock.send(encodeTftpPacket({ op: 'ACK', block }), oack.port, '127.0.0.1');
    ack(0);
    for (let n = 1; n <= 8; n++) await expectData(n);
    ack(5); // inside the window: the next window starts at 6
    for (let n = 6; n <= 13; n++) await expectData(n);
    ack(5); // duplicate of the current base: the window is resent once
    for (let n = 6; n <= 13; n++) await expectData(n);
    ack(13);
    for (let n = 14; n <= 16; n++) await expectData(n);
    await expectData(17, 0); // 16 × 1468 bytes: an empty block 17 ends the file (RFC 1350 §6)
    ack(17);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual([s.counters().done, s.counters().bytes], [1, want.length]);
  } finally {
    c.sock.close();
    await s.stop();
  }
});

test('a file that shrinks during a worker transfer ends it with an ERROR naming the short read', async () => {
  const path = join(dir, 'shrinks.bin');
  await writeFile(path, randomBytes(1468 * 64));
  const s = createTftpServer({ socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler: createFilesystemHandler(dir), logger, transferWorkers: 1, timeoutMs: 5000 });
  await s.start();
  await s.warmTransferWorkers(); // loaded now: the transfer below runs on the worker
  const c = await rawClient();
  try {
    c.sock.send(encodeTftpPacket({ op: 'RRQ', filename: 'shrinks.bin', mode: 'octet', options: [{ name: 'blksize', value: '1468' }, { name: 'windowsize', value: '16' }] }), s.address().port, '127.0.0.1');
    const oack = await c.next();
    c.sock.send(encodeTftpPacket({ op: 'ACK', block: 0 }), oack.port, '127.0.0.1');
    for (let n = 1; n <= 16; n++) assert.equal(decodeTftpPacket((await c.next()).msg).op, 'DATA');
    await writeFile(path, randomBytes(1000)); // truncated to 1000 bytes while the client holds window 1
    c.sock.send(encodeTftpPacket({ op: 'ACK', block: 16 }), oack.port, '127.0.0.1');
    const err = decodeTftpPacket((await c.next()).msg);
    assert.equal(err.op, 'ERROR');
    assert.match(err.op === 'ERROR' ? err.message : '', /shorter than announced/);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.counters().errors, 1);
  } finally {
    c.sock.close();
    await s.stop();
  }
});
