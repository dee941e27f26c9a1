// Garbage into a running DHCP server on loopback: malformed and mutated packets are logged and dropped,
// and the server still answers a real DISCOVER (captured from udhcpc) afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDhcpServer } from '../../src/netboot/dhcp/server/index.ts';
import { createPlainUdpSocketFactory } from '../../src/netboot/net/plain-udp.ts';
import { openSqliteLeaseStore } from '../../src/core/leases/sqlite-lease-store.ts';
import { decodePacket, encodePacket, DhcpMessageType } from '../../src/netboot/dhcp/index.ts';
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
