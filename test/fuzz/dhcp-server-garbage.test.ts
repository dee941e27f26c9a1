// Garbage into a running DHCP server on loopback: malformed and mutated packets are logged and dropped,
// and the server still answers a real DISCOVER (captured from udhcpc) afterwards. Then generated, decodable
// requests of every message type go through both mode handlers: no handler error, every reply well-formed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { createDhcpServer, defaultBootAnswer } from '../../netboot/dhcp/server/index.ts';
import { AddressPool } from '../../netboot/dhcp/server/address-pool.ts';
import { AuthoritativeHandler } from '../../netboot/dhcp/server/authoritative-handler.ts';
import { ProxyHandler } from '../../netboot/dhcp/server/proxy-handler.ts';
import { handleDatagram } from '../../netboot/dhcp/server/serve-loop.ts';
import { newCounters } from '../../netboot/dhcp/server/counters.ts';
import { arbitraryPacket } from '../fixtures/dhcp/arbitrary-packet.ts';
import { createPlainUdpSocketFactory } from '../../netboot/net/plain-udp.ts';
import { openSqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import { decodePacket, encodePacket, DhcpMessageType } from '../../netboot/dhcp/index.ts';
import { ReplyCollector, silentLogger } from '../fixtures/dhcp/test-client.ts';

const COUNT = Math.max(1000, Math.min(50_000, Math.floor(Number(process.env.FUZZ_ITERATIONS ?? 100_000) / 20)));
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/dhcp');

test(`server survives ${COUNT} garbage packets and still answers a real DISCOVER`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-dhcp-garbage-'));
  const store = openSqliteLeaseStore(join(dir, 'l.db'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = createDhcpServer({
    interface: 'lo', serverIp: '127.0.0.1', subnetMask: '255.0.0.0', pool: { first: '127.2.0.1', last: '127.2.3.250' },
    leases: store, socketFactory: createPlainUdpSocketFactory({ ignoreInterface: true }), logger: silentLogger,
    ports: { server: port, client: port + 1, broadcastAddress: '127.0.0.1' }, bindAddress: '127.0.0.1',
  });
  const client = dgram.createSocket('udp4');
  try {
    await server.start();
    await new Promise<void>((r) => client.bind(port + 1, '127.0.0.1', () => r()));
    const replies = new ReplyCollector(client);
    const seed = readFileSync(join(fixtures, 'ipxe-bios-01-discover.bin'));
    let s = 12345;
    const rnd = () => { s = (s * 1103515245 + 12345) >>> 0; return s >>> 8; };
    for (let i = 0; i < COUNT; i++) {
      let b: Buffer;
      if (i % 3 === 0) { b = Buffer.alloc(rnd() % 600); for (let j = 0; j < b.length; j++) b[j] = rnd() & 255; }
      else { b = Buffer.from(seed); for (let k = 0; k < 1 + (rnd() % 8); k++) b[rnd() % b.length] = rnd() & 255; b = b.subarray(0, rnd() % (b.length + 1)); }
      client.send(b, port, '127.0.0.1');
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 1)); // let the server drain its receive buffer
    }
    await new Promise((r) => setTimeout(r, 300));
    const c = server.counters();
    assert.ok(c.received > COUNT / 4, `the server read the flood (${JSON.stringify(c)})`);
    assert.ok(c.errors > c.received / 10, `malformed packets counted as errors (${JSON.stringify(c)})`);

    const real = decodePacket(readFileSync(join(fixtures, 'udhcpc-01-discover.bin')));
    real.xid = 0x5eed1234;
    const offer = await replies.exchange(real, { address: '127.0.0.1', port }, DhcpMessageType.OFFER, 3000);
    assert.ok(offer, 'the server still answers');
    assert.equal(offer.xid, 0x5eed1234);
    assert.ok(offer.yiaddr.startsWith('127.2.'));
    assert.ok(encodePacket(offer).length >= 300);
  } finally {
    client.close();
    await server.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('property: any decodable request through both mode handlers yields no handler error and valid replies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-dhcp-prop-'));
  const store = openSqliteLeaseStore(join(dir, 'l.db'));
  try {
    const ports = { server: 67, relay: 67, client: 68, broadcastAddress: '255.255.255.255' };
    const policy = { dhcpBoot: (r: Parameters<typeof defaultBootAnswer>[0]) => defaultBootAnswer(r, { serverIp: '10.0.0.1', httpBaseUrl: 'http://10.0.0.1' }) };
    const pool = new AddressPool({ first: '10.0.0.10', last: '10.0.0.40', subnetMask: '255.255.255.0', serverIp: '10.0.0.1', offerHoldMs: 1000, declineHoldMs: 1000,
      reservations: [{ mac: '00:00:00:00:00:00', ip: '10.0.0.5' }] }, store);
    let now = 1_000_000;
    const auth = new AuthoritativeHandler({ serverIp: '10.0.0.1', poolFirst: '10.0.0.10', subnetMask: '255.255.255.0', routers: [], dnsServers: [], domainName: null,
      leaseTimeSec: 60, renewalTimeSec: 30, rebindingTimeSec: 50 }, pool, store, policy, ports, 'eth0', () => now);
    const proxy = new ProxyHandler('10.0.0.1', policy, ports, 'eth0');
    const ctx = { iface: 'eth0', log: silentLogger, counters: newCounters(), events: () => {}, eventPrefix: '', commit: () => store.commit() };
    const sent: Buffer[] = [];
    const send = (b: Buffer) => { sent.push(b); };
    const from = { address: '10.0.0.99', port: 68, family: 'IPv4' as const, size: 0 };
    const request = arbitraryPacket.map((p) => {
      p.op = 1;
      p.options.messageType = 1 + (p.xid % 8);
      if (p.xid % 3 === 0) p.options.vendorClass = 'PXEClient:Arch:00000';
      if (p.xid % 5 === 0) p.options.serverId = '10.0.0.1';
      if (p.xid % 7 === 0) p.options.requestedIp = `10.0.0.${p.xid % 50}`;
      return p;
    });
    fc.assert(fc.property(request, (p) => {
      now += 100;
      const bytes = encodePacket(p);
      for (const decide of [auth.decide, proxy.decideDhcpPort, proxy.decideBootServerPort]) handleDatagram(ctx, decide, bytes, from, send);
      auth.expire(ctx.counters, () => {});
    }), { numRuns: 3000 });
    await new Promise((r) => setImmediate(r)); // flush the group commit
    assert.equal(ctx.counters.errors, 0, JSON.stringify(ctx.counters));
    assert.ok(sent.length > 100, `replies were produced (${sent.length})`);
    for (const b of sent) {
      assert.ok(b.length >= 300);
      const r = decodePacket(b);
      assert.equal(r.op, 2);
    }
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
