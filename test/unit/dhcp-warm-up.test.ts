// The DHCP serve-path warm-up (netboot/dhcp/server/warm-up.ts): it runs whole DORAs through the real
// pipeline, and it leaves the real lease store, the server's counters and the event sink untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { openSqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import { createDhcpServer } from '../../netboot/dhcp/server/dhcp-server.ts';
import { warmUpServePath } from '../../netboot/dhcp/server/warm-up.ts';
import { createPlainUdpSocketFactory } from '../../netboot/net/plain-udp.ts';
import { DhcpMessageType } from '../../netboot/dhcp/index.ts';
import { ReplyCollector, clientPacket, silentLogger } from '../fixtures/dhcp/test-client.ts';

test('warm-up completes every DORA, with the default store and with a scratch store of the caller', async () => {
  assert.equal(await warmUpServePath(300, silentLogger), 300);
  let closed = 0;
  const acks = await warmUpServePath(130, silentLogger, () => {
    const s = openSqliteLeaseStore(':memory:');
    const close = s.close.bind(s);
    return Object.assign(s, { close: () => { closed++; close(); } });
  });
  assert.equal(acks, 130);
  assert.equal(closed, 1, 'the scratch store is closed after the warm-up');
  assert.equal(await warmUpServePath(0, silentLogger), 0);
});

test('a warmed-up server starts with an empty real store, zero counters and no events, then serves a real DORA', async () => {
  const leases = openSqliteLeaseStore(':memory:');
  const events: unknown[] = [];
  const server = createDhcpServer({
    interface: 'lo', serverIp: '127.0.0.1', subnetMask: '255.0.0.0', pool: { first: '127.1.0.10', last: '127.1.0.20' },
    leases, socketFactory: createPlainUdpSocketFactory({ ignoreInterface: true }), logger: silentLogger, events: (e) => events.push(e),
    ports: { server: 47067, client: 47068, broadcastAddress: '127.0.0.1' }, bindAddress: '127.0.0.1', warmUpDoras: 500,
  });
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => sock.bind(47068, '127.0.0.1', () => resolve()));
  try {
    await server.start();
    assert.deepEqual(leases.all(), [], 'the warm-up wrote nothing to the real store');
    assert.equal(events.length, 0, 'the warm-up reported no events');
    assert.ok(Object.values(server.counters()).every((v) => v === 0), `counters untouched: ${JSON.stringify(server.counters())}`);
    const client = new ReplyCollector(sock);
    const to = { address: '127.0.0.1', port: 47067 };
    const offer = await client.exchange(clientPacket(DhcpMessageType.DISCOVER, '52:54:00:00:77:01'), to, DhcpMessageType.OFFER);
    assert.ok(offer, 'OFFER received');
    const req = clientPacket(DhcpMessageType.REQUEST, '52:54:00:00:77:01', { xid: offer.xid });
    req.options.requestedIp = offer.yiaddr;
    req.options.serverId = '127.0.0.1';
    const ack = await client.exchange(req, to, DhcpMessageType.ACK);
    assert.equal(ack?.yiaddr, '127.1.0.10');
    assert.deepEqual(leases.all().map((l) => [l.mac, l.ip, l.state]), [['52:54:00:00:77:01', '127.1.0.10', 'bound']]);
  } finally {
    await server.stop();
    sock.close();
    leases.close();
  }
});
