// The interface-bound UDP socket factory (SO_BINDTODEVICE through koffi → libc, inside a namespace):
// clear errors, the socket really lives in the namespace and on the interface it was asked for, and its queue can be
// read in batches (datagram-drain.ts) beside node's own reads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { NetnsSandbox, canUseNetns } from '../helpers/netns.ts';
import { createBoundUdpSocketFactory, BoundSocketError } from '../../netboot/net/bound-udp.ts';
import { createPlainUdpSocketFactory } from '../../netboot/net/plain-udp.ts';

const sandbox = new NetnsSandbox();
let ns = '';
let peer = '';

before(() => {
  assert.ok(canUseNetns(), 'interop tests need root and iproute2 (network namespaces)');
  ns = sandbox.addNamespace('dhcpb-a');
  peer = sandbox.addNamespace('dhcpb-b');
  sandbox.addVeth({ ns, name: 'eth0', cidr: '10.235.0.1/24' }, { ns: peer, name: 'eth0', cidr: '10.235.0.2/24' });
});
after(() => sandbox.cleanup());

test('ENODEV names the missing interface and the namespace', async () => {
  await assert.rejects(createBoundUdpSocketFactory({ netns: ns })({ port: 6767, interface: 'nope0' }), (err: unknown) => {
    assert.ok(err instanceof BoundSocketError);
    assert.equal(err.code, 'ENODEV');
    assert.match(err.message, /"nope0" does not exist in namespace rs-dhcpb-a-/);
    return true;
  });
});

test('EADDRINUSE without SO_REUSEADDR; a bound factory refuses an unconfined socket', async () => {
  const f = createBoundUdpSocketFactory({ netns: ns });
  const a = await f({ port: 6768, interface: 'eth0' });
  try {
    await assert.rejects(f({ port: 6768, interface: 'eth0' }), (err: unknown) => err instanceof BoundSocketError && err.code === 'EADDRINUSE' && /6768 is in use/.test(err.message));
  } finally { a.close(); }
  await assert.rejects(f({ port: 6769 }), /needs options.interface/);
  await assert.rejects(createPlainUdpSocketFactory()({ port: 0, interface: 'eth0' }), /cannot confine/);
});

test('the socket lives in the namespace: it receives from the peer and answers by broadcast on its interface', async () => {
  const server = await createBoundUdpSocketFactory({ netns: ns })({ port: 6770, interface: 'eth0', broadcast: true, reuseAddr: true });
  const client = await createBoundUdpSocketFactory({ netns: peer })({ port: 6771, interface: 'eth0', broadcast: true });
  try {
    const got = new Promise<string>((resolve) => server.once('message', (m, from) => resolve(`${m.toString()} from ${from.address}`)));
    client.send('ping', 6770, '10.235.0.1');
    assert.equal(await got, 'ping from 10.235.0.2');
    const back = new Promise<string>((resolve) => client.once('message', (m, from) => resolve(`${m.toString()} from ${from.address}`)));
    server.send('pong', 6771, '255.255.255.255');
    assert.equal(await back, 'pong from 10.235.0.1');
    // and it is not in the root namespace: nothing of ours listens there on that port
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => { probe.once('error', reject); probe.bind(6770, '127.0.0.1', () => resolve()); });
    probe.close();
  } finally { server.close(); client.close(); }
});

test('a burst queued on a bound socket is read in batches beside node: every datagram once, in order, with its sender; oversized ones skipped', async () => {
  const f = createBoundUdpSocketFactory({ netns: ns });
  const server = await f({ port: 6772, interface: 'eth0' });
  const client = await createBoundUdpSocketFactory({ netns: peer })({ port: 6773, interface: 'eth0' });
  const drain = f.drain!(server)!;
  assert.ok(drain, 'the factory drains its own sockets');
  assert.equal(f.drain!(client), null, 'but no socket of another factory');
  try {
    const seen: string[] = [];
    let batched = 0;
    const all = new Promise<void>((resolve) => {
      server.on('message', (m, from) => {
        seen.push(`${m.toString('latin1', 0, 4)} ${from.address}:${from.port} node`);
        batched += drain.drain((q, qf) => { seen.push(`${q.toString('latin1', 0, 4)} ${qf.address}:${qf.port} drain`); });
        if (seen.length >= 119) resolve();
      });
    });
    // queued faster than one read each (and no more than the default receive buffer holds): node's first read wakes
    // the handler, which reads the rest in batches
    for (let i = 0; i < 120; i++) client.send(i === 60 ? Buffer.alloc(3000, 0x41) : Buffer.from(String(i).padStart(4, '0')), 6772, '10.235.0.1');
    await Promise.race([all, new Promise((r) => setTimeout(r, 5000))]);
    const nums = seen.map((s) => s.slice(0, 4));
    const expected = Array.from({ length: 120 }, (_, i) => String(i).padStart(4, '0')).filter((_, i) => i !== 60);
    // the 3000-byte datagram is skipped when a batch meets it (it does not fit a 2048-byte slot); node reads it whole
    const oversizedByNode = nums.includes('AAAA');
    assert.deepEqual(nums.filter((n) => n !== 'AAAA'), expected, 'every datagram once, in order');
    assert.equal(drain.truncated + (oversizedByNode ? 1 : 0), 1, 'the oversized one is skipped by the drain or read whole by node');
    assert.ok(batched > 0, 'some were read in batches');
    assert.ok(seen.every((s) => s.includes(' 10.235.0.2:6773 ')), 'each with its sender');
  } finally { server.close(); client.close(); drain.close(); }
  assert.equal(drain.drain(() => { throw new Error('not after close'); }), 0, 'a closed drain reads nothing');
});

test("a bound socket's send batch delivers each queued datagram to its own address in one flush; a full batch or an oversized datagram is refused", async () => {
  const f = createBoundUdpSocketFactory({ netns: ns });
  const server = await f({ port: 6774, interface: 'eth0' });
  const g = createBoundUdpSocketFactory({ netns: peer });
  const a = await g({ port: 6775, interface: 'eth0' });
  const b = await g({ port: 6776, interface: 'eth0' });
  const batch = f.sendBatch!(server)!;
  try {
    const got: string[] = [];
    const all = new Promise<void>((resolve) => {
      const on = (name: string) => (m: Buffer, from: dgram.RemoteInfo) => { got.push(`${name} ${m.toString()} ${from.address}:${from.port}`); if (got.length === 64) resolve(); };
      a.on('message', on('a'));
      b.on('message', on('b'));
    });
    for (let i = 0; i < 64; i++) assert.ok(batch.queue(Buffer.from(`m${i}`), '10.235.0.2', i % 2 ? 6776 : 6775), `message ${i} queued`);
    assert.equal(batch.queue(Buffer.from('one too many'), '10.235.0.2', 6775), false, 'a full batch refuses');
    assert.equal(batch.queued, 64);
    assert.equal(batch.flush(), null, 'all 64 handed to the kernel');
    assert.equal(batch.queued, 0);
    await Promise.race([all, new Promise((r) => setTimeout(r, 3000))]);
    const expect = (name: string, odd: number): string[] => Array.from({ length: 32 }, (_, k) => `${name} m${2 * k + odd} 10.235.0.1:6774`);
    assert.deepEqual(got.filter((x) => x.startsWith('a ')), expect('a', 0), 'the even ones to a, in order, from the bound socket');
    assert.deepEqual(got.filter((x) => x.startsWith('b ')), expect('b', 1), 'the odd ones to b');
    assert.equal(batch.queue(Buffer.alloc(4000), '10.235.0.2', 6775), false, 'a datagram larger than a slot is refused');
    assert.equal(batch.flush(), null, 'an empty flush sends nothing');
  } finally { server.close(); a.close(); b.close(); batch.close(); }
});
