// Provisioning-network abuse limits of the TFTP server (issue 20), on 127.0.0.1/127.0.0.2 with a raw UDP client,
// on the main thread and on transfer workers: a per-client-address cap on concurrent transfers (default 8), and a
// ceiling on the RFC 2349 timeout option (default 5 s; a larger request is left out of the OACK, RFC 2349 §2 allows
// no other value, and the server retransmits after the ceiling). Also: the option caps are checked at construction.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { NetbootEvent } from '../../netboot/boot-policy.ts';
import { decodeTftpPacket, encodeTftpPacket, type TftpPacket, type TftpOption } from '../../netboot/tftp/index.ts';
import { createTftpServer, type TftpServer, type TftpServerOptions } from '../../netboot/tftp/server/tftp-server.ts';
import { createFilesystemHandler } from '../../netboot/tftp/server/fs-handler.ts';
import { dgramSocketFactory } from '../../netboot/tftp/server/dgram-socket-factory.ts';
import { negotiateReadOptions } from '../../netboot/tftp/server/negotiate.ts';
import { counterHint } from '../../renderer/lib/counter-hints.ts';

const logger = pino({ level: 'silent' });
const small = randomBytes(1000); // two blocks of 512: DATA 1 waits for its ACK, so the transfer stays open
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rs-tftp-limits-'));
  await writeFile(join(dir, 'small.bin'), small);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A raw TFTP client on `address` (any 127/8 address on Linux loopback) that queues every datagram it receives. */
class RawClient {
  private readonly inbox: { pkt: TftpPacket; port: number; at: number }[] = [];
  private waiter: (() => void) | null = null;
  private constructor(readonly sock: Socket, private readonly serverPort: number) {
    sock.on('message', (msg, r) => {
      this.inbox.push({ pkt: decodeTftpPacket(msg), port: r.port, at: Date.now() });
      this.waiter?.();
    });
  }
  static async open(serverPort: number, address = '127.0.0.1'): Promise<RawClient> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, address, () => r()));
    return new RawClient(s, serverPort);
  }
  send(p: TftpPacket, port: number): void { this.sock.send(encodeTftpPacket(p), port, '127.0.0.1'); }
  rrq(filename: string, options: TftpOption[] = []): void { this.send({ op: 'RRQ', filename, mode: 'octet', options }, this.serverPort); }
  async next(timeoutMs = 3000): Promise<{ pkt: TftpPacket; port: number; at: number }> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no packet within timeout');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => { clearTimeout(t); r(); };
      });
    }
    return this.inbox.shift()!;
  }
  close(): void { try { this.sock.close(); } catch { /* closed */ } }
}

async function startServer(extra: Partial<TftpServerOptions>, events?: NetbootEvent[]): Promise<{ server: TftpServer; port: number }> {
  const server = createTftpServer({
    socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler: createFilesystemHandler(dir), logger,
    onEvent: (e) => events?.push(e), timeoutMs: 2000, retries: 3, ...extra,
  });
  await server.start();
  await server.warmTransferWorkers(); // workers start on first use otherwise, and those first transfers run here
  return { server, port: server.address().port };
}

/** Open a transfer of small.bin (no options): resolves with the transfer's port once DATA 1 is in. */
async function openTransfer(c: RawClient): Promise<number> {
  c.rrq('small.bin');
  const { pkt, port } = await c.next();
  assert.equal(pkt.op, 'DATA', `expected DATA 1, got ${pkt.op}${pkt.op === 'ERROR' ? ` ${pkt.message}` : ''}`);
  assert.equal(pkt.op === 'DATA' && pkt.block, 1);
  return port;
}

/** Finish an open transfer of small.bin: ACK 1, take DATA 2 (the short last block), ACK 2. */
async function finishTransfer(c: RawClient, tid: number): Promise<void> {
  c.send({ op: 'ACK', block: 1 }, tid);
  for (;;) {
    const { pkt } = await c.next();
    if (pkt.op === 'DATA' && pkt.block === 1) continue; // a retransmission that crossed our ACK
    assert.equal(pkt.op === 'DATA' && pkt.block, 2);
    assert.equal(pkt.op === 'DATA' && pkt.data.length, 1000 - 512);
    break;
  }
  c.send({ op: 'ACK', block: 2 }, tid);
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const workers of [0, 1]) {
  const where = workers ? 'on a transfer worker' : 'on the main thread';

  test(`${where}: the default cap of 8 transfers per client address refuses the 9th RRQ with ERROR 0; another address is not affected; a slot freed is usable again`, async () => {
    const events: NetbootEvent[] = [];
    const { server, port } = await startServer({ transferWorkers: workers }, events);
    const clients: RawClient[] = [];
    try {
      const tids: number[] = [];
      for (let i = 0; i < 8; i++) {
        const c = await RawClient.open(port);
        clients.push(c);
        tids.push(await openTransfer(c));
      }
      assert.equal(server.counters().active, 8);

      const ninth = await RawClient.open(port);
      clients.push(ninth);
      ninth.rrq('small.bin');
      const { pkt, port: from } = await ninth.next();
      assert.deepEqual(pkt, { op: 'ERROR', code: 0, message: 'Too many transfers from this client' });
      assert.equal(from, port, 'the refusal comes from the listening port (no transfer was opened)');
      assert.equal(server.counters().clientLimited, 1);
      assert.equal(server.counters().errors, 1);
      const refused = events.find((e) => e.kind === 'rrq-error');
      assert.equal(refused?.ip, '127.0.0.1');
      assert.match(refused!.message, /Too many transfers from this client/);

      // another client address has its own allowance
      const other = await RawClient.open(port, '127.0.0.2');
      clients.push(other);
      const otherTid = await openTransfer(other);
      await finishTransfer(other, otherTid);

      // the 8 complete intact; then the same address may open a new transfer
      for (let i = 0; i < 8; i++) await finishTransfer(clients[i]!, tids[i]!);
      await until(() => server.counters().active === 0);
      assert.equal(server.counters().done, 9);
      const again = await RawClient.open(port);
      clients.push(again);
      await finishTransfer(again, await openTransfer(again));
      await until(() => server.counters().done === 10);
      assert.equal(server.counters().clientLimited, 1, 'nothing else was refused');
    } finally {
      for (const c of clients) c.close();
      await server.stop();
    }
  });

  test(`${where}: maxTransfersPerClient is configurable; a retransmitted RRQ of an open transfer is not a new one`, async () => {
    const { server, port } = await startServer({ transferWorkers: workers, maxTransfersPerClient: 1 });
    const a = await RawClient.open(port);
    const b = await RawClient.open(port);
    try {
      const tid = await openTransfer(a);
      a.rrq('small.bin'); // the same TID again: the transfer already answers it, nothing is refused
      b.rrq('small.bin');
      const { pkt } = await b.next();
      assert.equal(pkt.op === 'ERROR' && pkt.message, 'Too many transfers from this client');
      assert.equal(server.counters().clientLimited, 1);
      await finishTransfer(a, tid);
      await until(() => server.counters().active === 0);
      await finishTransfer(b, await openTransfer(b));
    } finally {
      a.close();
      b.close();
      await server.stop();
    }
  });

  test(`${where}: timeout above the ceiling is left out of the OACK and the server retransmits after the ceiling`, async () => {
    // a 200 ms default and a 1 s ceiling tell the three possible waits apart (200 ms, 1 s, 255 s)
    const { server, port } = await startServer({ transferWorkers: workers, timeoutMs: 200, maxTimeoutSec: 1, retries: 2 });
    const c = await RawClient.open(port);
    try {
      c.rrq('small.bin', [{ name: 'timeout', value: '255' }, { name: 'tsize', value: '0' }]);
      const first = await c.next();
      assert.deepEqual(first.pkt, { op: 'OACK', options: [{ name: 'tsize', value: '1000' }] });
      const second = await c.next(3000); // the OACK again: no ACK 0 came
      assert.equal(second.pkt.op, 'OACK');
      const gap = second.at - first.at;
      assert.ok(gap >= 850 && gap < 1800, `retransmitted after ${gap} ms, expected the 1 s ceiling`);
      c.send({ op: 'ERROR', code: 8, message: 'done' }, first.port);

      // a timeout within the ceiling is acknowledged as asked and used
      const d = await RawClient.open(port);
      try {
        d.rrq('small.bin', [{ name: 'timeout', value: '1' }]);
        const oack = await d.next();
        assert.deepEqual(oack.pkt, { op: 'OACK', options: [{ name: 'timeout', value: '1' }] });
        const again = await d.next(3000);
        assert.ok(again.at - oack.at >= 850, 'the negotiated 1 s is used');
        d.send({ op: 'ERROR', code: 8, message: 'done' }, oack.port);
      } finally { d.close(); }
    } finally {
      c.close();
      await server.stop();
    }
  });
}

test('the default timeout ceiling is 5 s: timeout 5 is acknowledged, 6 and 255 are not (RFC 2349 allows no other value)', async () => {
  const { server, port } = await startServer({});
  try {
    for (const [asked, echoed] of [['5', true], ['6', false], ['255', false]] as const) {
      const c = await RawClient.open(port);
      try {
        c.rrq('small.bin', [{ name: 'timeout', value: asked }, { name: 'blksize', value: '1024' }]);
        const { pkt, port: tid } = await c.next();
        const expected = echoed ? [{ name: 'blksize', value: '1024' }, { name: 'timeout', value: asked }] : [{ name: 'blksize', value: '1024' }];
        assert.deepEqual(pkt, { op: 'OACK', options: expected }, `timeout ${asked}`);
        c.send({ op: 'ERROR', code: 8, message: 'done' }, tid);
      } finally { c.close(); }
    }
  } finally { await server.stop(); }
});

test('negotiateReadOptions: timeout within the ceiling echoed; above it omitted, retransmit at the ceiling, reported as ignored; blksize/windowsize capped', () => {
  const limits = { maxBlksize: 1468, maxWindowsize: 16, maxTimeoutSec: 5 };
  const ok = negotiateReadOptions([{ name: 'timeout', value: '3' }], 100, limits);
  assert.deepEqual(ok.accepted, { timeout: 3 });
  assert.equal(ok.timeoutMs, 3000);
  const high = negotiateReadOptions([{ name: 'TimeOut', value: '200' }, { name: 'blksize', value: '9000' }, { name: 'windowsize', value: '64' }], 100, limits);
  assert.deepEqual(high.accepted, { blksize: 1468, windowsize: 16 });
  assert.equal(high.timeoutMs, 5000);
  assert.deepEqual(high.ignored, [{ name: 'timeout', value: '200' }]);
  const none = negotiateReadOptions([{ name: 'timeout', value: '9' }], 100, limits);
  assert.deepEqual(none.accepted, {}, 'nothing accepted: no OACK, DATA 1 answers the RRQ (RFC 2347)');
  assert.equal(none.timeoutMs, 5000);
});

test('option caps the RFCs do not allow are refused at construction', () => {
  const base = { socketFactory: dgramSocketFactory, handler: createFilesystemHandler(dir), logger };
  for (const bad of [{ maxBlksize: 4 }, { maxWindowsize: 0 }, { maxWindowsize: 70000 }, { maxTimeoutSec: 0 }, { maxTimeoutSec: 256 }, { maxTimeoutSec: 2.5 }, { maxTransfersPerClient: 0 }]) {
    assert.throws(() => createTftpServer({ ...base, ...bad }), RangeError, JSON.stringify(bad));
  }
  assert.doesNotThrow(() => createTftpServer({ ...base, maxBlksize: 100000 }), 'a blksize cap above the RFC maximum is taken as 65464, as before');
});

test('the new TFTP counter has a tooltip on the Services panel', () => {
  assert.match(counterHint('tftp', 'clientLimited')!, /refused/);
});
