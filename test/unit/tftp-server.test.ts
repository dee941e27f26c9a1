// TFTP server on 127.0.0.1 (ephemeral port): real clients (curl, atftp, tftp-hpa) for whole downloads, and a
// raw UDP client written here for the protocol corners (OACK values, window moves, duplicate ACKs, TIDs, timeouts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import type { NetbootEvent } from '../../netboot/boot-policy.ts';
import { decodeTftpPacket, encodeTftpPacket, type TftpPacket, type TftpOption } from '../../netboot/tftp/index.ts';
import { createTftpServer, type TftpServer } from '../../netboot/tftp/server/tftp-server.ts';
import { createFilesystemHandler } from '../../netboot/tftp/server/fs-handler.ts';
import { dgramSocketFactory } from '../../netboot/tftp/server/dgram-socket-factory.ts';
import type { TftpHandler } from '../../netboot/tftp/server/handler.ts';

const run = promisify(execFile);
const logger = pino({ level: 'silent' });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let dir: string;
let root: string;
let server: TftpServer;
let port: number;
const events: NetbootEvent[] = [];
const files: Record<string, Buffer> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rs-tftp-unit-'));
  root = join(dir, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  files['small.bin'] = randomBytes(1000);
  files['exact.bin'] = randomBytes(512 * 4); // multiple of 512: needs an empty final DATA
  files['medium.bin'] = randomBytes(3 * 1024 * 1024 + 17);
  files['sub/text.txt'] = Buffer.from('line one\nline two\r\nend');
  for (const [name, data] of Object.entries(files)) await writeFile(join(root, name), data);
  await writeFile(join(dir, 'secret.txt'), 'outside the root');
  await symlink(join(dir, 'secret.txt'), join(root, 'escape.txt'));
  await symlink('small.bin', join(root, 'inside-link.bin'));
  server = createTftpServer({
    socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler: createFilesystemHandler(root), logger,
    onEvent: (e) => events.push(e), timeoutMs: 300, retries: 3,
  });
  await server.start();
  port = server.address().port;
});

after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A raw TFTP client socket that remembers every datagram it receives. */
class RawClient {
  readonly sock: Socket;
  private readonly inbox: { pkt: TftpPacket; port: number }[] = [];
  private waiter: (() => void) | null = null;
  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on('message', (msg, r) => {
      this.inbox.push({ pkt: decodeTftpPacket(msg), port: r.port });
      this.waiter?.();
    });
  }
  static async open(): Promise<RawClient> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new RawClient(s);
  }
  send(p: TftpPacket, to: number): void {
    this.sock.send(encodeTftpPacket(p), to, '127.0.0.1');
  }
  rrq(filename: string, options: TftpOption[] = [], mode = 'octet'): void {
    this.send({ op: 'RRQ', filename, mode, options }, port);
  }
  async next(timeoutMs = 2000): Promise<{ pkt: TftpPacket; port: number }> {
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
  /** No packet arrives within `ms`. */
  async silent(ms: number): Promise<boolean> {
    try { await this.next(ms); return false; } catch { return true; }
  }
  close(): void { this.sock.close(); }
}

/**
 * Counters once no transfer of an earlier test is still open: an abandoned transfer times out (and counts an error)
 * later on a loaded machine, which would land in the next test's before/after difference.
 */
async function settledCounters(): Promise<ReturnType<typeof server.counters>> {
  const end = Date.now() + 15_000;
  while (server.counters().active > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return server.counters();
}

/** Poll until `probe` is true (at most 5 s), so a loaded machine's slower event loop does not fail a fixed sleep. */
async function eventually(probe: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!probe() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

async function expectError(c: RawClient, code: number): Promise<string> {
  const { pkt } = await c.next();
  assert.equal(pkt.op, 'ERROR', `expected ERROR ${code}, got ${pkt.op}`);
  assert.equal(pkt.op === 'ERROR' && pkt.code, code);
  return pkt.op === 'ERROR' ? pkt.message : '';
}

test('curl downloads intact with default and negotiated block sizes', async () => {
  for (const extra of [[], ['--tftp-blksize', '1468'], ['--tftp-blksize', '8192']]) {
    const out = join(dir, `curl-${extra.join('')}.bin`);
    await run('curl', ['-sS', '--max-time', '60', ...extra, '-o', out, `tftp://127.0.0.1:${port}/medium.bin`]);
    assert.equal(sha(await readFile(out)), sha(files['medium.bin']));
  }
  const out = join(dir, 'exact.out');
  await run('curl', ['-sS', '--max-time', '20', '-o', out, `tftp://127.0.0.1:${port}/exact.bin`]);
  assert.equal(sha(await readFile(out)), sha(files['exact.bin']));
});

test('atftp with windowsize 16 and blksize 1468 downloads intact', async () => {
  const out = join(dir, 'atftp.bin');
  const { stdout, stderr } = await run('atftp', ['--option', 'windowsize 16', '--option', 'blksize 1468', '--option', 'tsize 0', '-g', '-r', 'medium.bin', '-l', out, '127.0.0.1', String(port)], { timeout: 60_000 });
  assert.match(stdout + stderr, /windowsize = 16/);
  assert.equal(sha(await readFile(out)), sha(files['medium.bin']));
});

test('tftp-hpa in binary mode follows a symlink that stays inside the root', async () => {
  const out = join(dir, 'hpa.bin');
  await run('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', 'inside-link.bin', out], { timeout: 30_000 });
  assert.equal(sha(await readFile(out)), sha(files['small.bin']));
});

test('tftp-hpa in its default netascii mode gets the file back unchanged (CR and LF encoded, RFC 1350)', async () => {
  const out = join(dir, 'hpa.txt');
  await run('tftp', ['127.0.0.1', String(port), '-c', 'get', 'sub/text.txt', out], { timeout: 30_000 });
  // tftp-hpa converts netascii back to local line ends: the file comes back unchanged.
  assert.equal((await readFile(out)).toString(), files['sub/text.txt'].toString());
});

test('OACK carries accepted options only, with tsize = file size; blksize and windowsize are capped', async () => {
  const c = await RawClient.open();
  try {
    c.rrq('small.bin', [{ name: 'blksize', value: '100000' }, { name: 'tsize', value: '0' }, { name: 'windowsize', value: '1000' }, { name: 'timeout', value: '2' }, { name: 'foo', value: 'bar' }]);
    // blksize 100000 is out of range (RFC 2348): ignored; windowsize capped at 64 (maxWindowsize default)
    const { pkt, port: tid } = await c.next();
    assert.deepEqual(pkt, { op: 'OACK', options: [{ name: 'timeout', value: '2' }, { name: 'tsize', value: '1000' }, { name: 'windowsize', value: '64' }] });
    assert.notEqual(tid, port, 'transfer runs on its own ephemeral port');
    c.send({ op: 'ACK', block: 0 }, tid);
    const d1 = await c.next();
    assert.deepEqual(d1.pkt, { op: 'DATA', block: 1, data: files['small.bin'].subarray(0, 512) });
    const d2 = await c.next();
    assert.deepEqual(d2.pkt, { op: 'DATA', block: 2, data: files['small.bin'].subarray(512) });
    c.send({ op: 'ACK', block: 2 }, tid);
    assert.ok(await c.silent(400));
  } finally { c.close(); }
});

test('window: an ACK inside the window moves it and resends from there; a duplicate ACK resends once', async () => {
  const c = await RawClient.open();
  try {
    c.rrq('medium.bin', [{ name: 'blksize', value: '1024' }, { name: 'windowsize', value: '4' }]);
    const { port: tid } = await c.next(); // OACK
    c.send({ op: 'ACK', block: 0 }, tid);
    const blocks = async (n: number) => { const got: number[] = []; for (let i = 0; i < n; i++) { const { pkt } = await c.next(); assert.equal(pkt.op, 'DATA'); got.push(pkt.op === 'DATA' ? pkt.block : -1); } return got; };
    assert.deepEqual(await blocks(4), [1, 2, 3, 4]);
    c.send({ op: 'ACK', block: 2 }, tid); // lost 3: window moves to 2, resend 3..6
    assert.deepEqual(await blocks(4), [3, 4, 5, 6]);
    c.send({ op: 'ACK', block: 2 }, tid); // duplicate ACK of the current base: resend the window once
    assert.deepEqual(await blocks(4), [3, 4, 5, 6]);
    c.send({ op: 'ACK', block: 2 }, tid); // second duplicate for the same base: ignored (no amplification)
    assert.ok(await c.silent(150));
    c.send({ op: 'ERROR', code: 0, message: 'enough' }, tid);
    await new Promise((r) => setTimeout(r, 100)); // let the server account for the ended transfer
  } finally { c.close(); }
});

test('lost ACKs: the window is retransmitted on timeout, then the transfer is abandoned after the retry limit', async () => {
  const before = server.counters();
  const c = await RawClient.open();
  try {
    c.rrq('small.bin');
    const first = await c.next();
    assert.equal(first.pkt.op, 'DATA');
    for (let i = 0; i < 3; i++) assert.deepEqual((await c.next(1000)).pkt, first.pkt); // 3 retries of 300 ms
    await expectError(c, 0); // gave up, told the client
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.counters().errors, before.errors + 1);
    const ev = events.findLast((e) => e.kind === 'rrq-error');
    assert.match(ev!.message, /timed out/);
  } finally { c.close(); }
});

test('packets from another TID are refused (ICMP port unreachable) and do not disturb the transfer', async () => {
  // The transfer socket is connected to the client's TID, so the kernel answers any other source with ICMP port
  // unreachable (RFC 1350 §4 asks for an error to the source; this is it, without waking the transfer).
  const c = await RawClient.open();
  const intruder = createSocket('udp4');
  try {
    c.rrq('small.bin');
    const { port: tid } = await c.next();
    await new Promise<void>((r) => intruder.connect(tid, '127.0.0.1', () => r()));
    const refused = new Promise<string>((resolve, reject) => {
      intruder.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      intruder.once('message', () => reject(new Error('the intruder got a TFTP answer')));
      setTimeout(() => reject(new Error('no ICMP error within 2 s')), 2000);
    });
    intruder.send(encodeTftpPacket({ op: 'ACK', block: 1 }));
    assert.equal(await refused, 'ECONNREFUSED');
    c.send({ op: 'ACK', block: 1 }, tid);
    const d2 = await c.next();
    assert.equal(d2.pkt.op === 'DATA' && d2.pkt.block, 2);
    c.send({ op: 'ACK', block: 2 }, tid);
  } finally { c.close(); intruder.close(); }
});

test('missing file → ERROR 1, traversal and symlink escape → ERROR 2, WRQ → ERROR 2, mail mode → ERROR 4; server keeps serving', async () => {
  const before = server.counters();
  const c = await RawClient.open();
  try {
    const cases: [string, number, string?][] = [
      ['does-not-exist.efi', 1], ['../secret.txt', 2], ['sub/../../secret.txt', 2], ['/etc/passwd', 2],
      ['..\\secret.txt', 2], ['escape.txt', 2], ['sub', 1], ['small.bin', 4, 'mail'],
    ];
    for (const [name, code, mode] of cases) {
      c.rrq(name, [], mode ?? 'octet');
      const msg = await expectError(c, code);
      if (code === 1) assert.equal(msg, 'File not found');
    }
    c.send({ op: 'WRQ', filename: 'upload.bin', mode: 'octet', options: [] }, port);
    await expectError(c, 2);
    const out = join(dir, 'after-errors.bin');
    await run('curl', ['-sS', '--max-time', '20', '-o', out, `tftp://127.0.0.1:${port}/small.bin`]);
    assert.equal(sha(await readFile(out)), sha(files['small.bin']));
    assert.equal(server.counters().errors, before.errors + cases.length + 1);
    const missing = events.find((e) => e.kind === 'rrq-error' && e.detail?.file === 'does-not-exist.efi');
    assert.equal(missing?.detail?.code, 1);
    assert.equal(missing?.ip, '127.0.0.1');
  } finally { c.close(); }
});

test('rrq / rrq-done events carry file, bytes, ms, blksize, windowsize; counters add up', async () => {
  const before = server.counters();
  const out = join(dir, 'ev.bin');
  await run('curl', ['-sS', '--max-time', '20', '--tftp-blksize', '1468', '-o', out, `tftp://127.0.0.1:${port}/small.bin`]);
  await new Promise((r) => setTimeout(r, 50));
  const done = events.findLast((e) => e.kind === 'rrq-done')!;
  assert.equal(done.source, 'tftp');
  assert.equal(done.ip, '127.0.0.1');
  assert.equal(done.mac, null);
  assert.equal(done.detail?.file, 'small.bin');
  assert.equal(done.detail?.bytes, 1000);
  assert.equal(done.detail?.blksize, 1468);
  assert.equal(done.detail?.windowsize, 1);
  assert.equal(typeof done.detail?.ms, 'number');
  assert.ok(events.some((e) => e.kind === 'rrq' && e.detail?.file === 'small.bin'));
  const now = server.counters();
  assert.equal(now.rrq, before.rrq + 1);
  assert.equal(now.done, before.done + 1);
  assert.equal(now.bytes, before.bytes + 1000);
});

test('client ending the transfer after the OACK (PXE tsize probe) counts as aborted, not an error', async () => {
  const before = await settledCounters();
  const c = await RawClient.open();
  try {
    c.rrq('small.bin', [{ name: 'tsize', value: '0' }]);
    const { pkt, port: tid } = await c.next();
    assert.deepEqual(pkt, { op: 'OACK', options: [{ name: 'tsize', value: '1000' }] });
    c.send({ op: 'ERROR', code: 8, message: 'tsize probe' }, tid);
    await eventually(() => server.counters().aborted > before.aborted);
    assert.equal(server.counters().aborted, before.aborted + 1);
    assert.equal(server.counters().errors, before.errors);
  } finally { c.close(); }
});

test('a client that closes its port after the OACK (ICMP port unreachable on the retransmission) counts as aborted, not an error', async () => {
  const before = await settledCounters();
  const from = events.length;
  const c = await RawClient.open();
  c.rrq('small.bin', [{ name: 'tsize', value: '0' }]);
  const { pkt } = await c.next();
  assert.equal(pkt.op, 'OACK');
  c.close(); // the OACK's retransmission (after 300 ms) now meets a closed port
  // (an earlier test's client that left mid-transfer may also be reported as gone, with aborted false)
  const gone = () => events.slice(from).find((e) => e.kind === 'rrq-error' && /went away/.test(e.message) && e.detail?.aborted === true);
  const deadline = Date.now() + 3000;
  while (!gone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const ev = gone();
  assert.ok(ev, 'an rrq-error event saying the client went away after the OACK, marked aborted');
  assert.equal(ev.level, 'info');
  assert.ok(server.counters().aborted > before.aborted);
});

test('block numbers roll over past 65535 (blksize 8, 70000 blocks, window 64) from a stream handler', async () => {
  const data = randomBytes(8 * 70_000 + 3);
  const handler: TftpHandler = async (path) => (path === 'stream.bin' ? { kind: 'stream', stream: (async function* () { for (let i = 0; i < data.length; i += 4096) yield data.subarray(i, i + 4096); })(), size: data.length } : null);
  const s = createTftpServer({ socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler, logger, timeoutMs: 2000 });
  await s.start();
  const c = await RawClient.open();
  try {
    c.send({ op: 'RRQ', filename: 'stream.bin', mode: 'octet', options: [{ name: 'blksize', value: '8' }, { name: 'windowsize', value: '64' }] }, s.address().port);
    const { port: tid } = await c.next();
    c.send({ op: 'ACK', block: 0 }, tid);
    const chunks: Buffer[] = [];
    let expected = 1;
    for (;;) {
      const { pkt } = await c.next();
      assert.equal(pkt.op, 'DATA');
      if (pkt.op !== 'DATA') break;
      const ahead = (pkt.block - (expected & 0xffff)) & 0xffff;
      if (ahead > 0x8000) {
        // a retransmitted block we already have (the server timed out under load): re-ACK a window end, like a client would
        if ((expected - 1) % 64 === 0 && pkt.block === ((expected - 1) & 0xffff)) c.send({ op: 'ACK', block: pkt.block }, tid);
        continue;
      }
      assert.equal(ahead, 0, `block ${pkt.block} while expecting ${expected & 0xffff}`);
      chunks.push(pkt.data);
      const last = pkt.data.length < 8;
      if (last || expected % 64 === 0) c.send({ op: 'ACK', block: pkt.block }, tid);
      expected++;
      if (last) break;
    }
    assert.equal(expected - 1, 70_001);
    assert.equal(sha(Buffer.concat(chunks)), sha(data));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.counters().done, 1);
    assert.equal(s.counters().bytes, data.length);
  } finally { c.close(); await s.stop(); }
});

test('a handler that throws is answered with ERROR 0 and the server keeps serving', async () => {
  let calls = 0;
  const handler: TftpHandler = async () => { if (calls++ === 0) throw new Error('disk on fire'); return { kind: 'ranges', size: 3, read: async (b, pos) => Buffer.from('abc').copy(b, 0, pos), close: async () => {} }; };
  const s = createTftpServer({ socketFactory: dgramSocketFactory, address: '127.0.0.1', port: 0, handler, logger });
  await s.start();
  const c = await RawClient.open();
  try {
    c.send({ op: 'RRQ', filename: 'x', mode: 'octet', options: [] }, s.address().port);
    assert.equal(await expectError(c, 0), 'Internal error');
    const out = join(dir, 'abc.bin');
    await run('curl', ['-sS', '--max-time', '10', '-o', out, `tftp://127.0.0.1:${s.address().port}/x`]);
    assert.equal((await readFile(out)).toString(), 'abc');
  } finally { c.close(); await s.stop(); }
});
