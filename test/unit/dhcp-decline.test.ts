// DHCPDECLINE is honoured only from the client that holds the address (issue 20): the real authoritative server on
// loopback (127.0.0.1, high ports, SQLite lease store). Another MAC's DECLINE, or one for an address nobody holds,
// leaves the lease and the address usable and counts in `declineRefused` (and `dropped`); the holder's DECLINE
// removes its lease and keeps the address out of the pool.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDhcpServer, type DhcpService } from '../../netboot/dhcp/server/index.ts';
import { createPlainUdpSocketFactory } from '../../netboot/net/plain-udp.ts';
import { openSqliteLeaseStore, type SqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import { DhcpMessageType as T } from '../../netboot/dhcp/index.ts';
import type { NetbootEvent } from '../../netboot/boot-policy.ts';
import { ReplyCollector, clientPacket, silentLogger } from '../fixtures/dhcp/test-client.ts';

const SERVER_IP = '127.0.0.1';
const base = 20000 + Math.floor(Math.random() * 20000);
const PORTS = { server: base, client: base + 1, relay: base + 2 };
const dir = mkdtempSync(join(tmpdir(), 'rs-dhcp-decline-'));
const events: NetbootEvent[] = [];
const to = { address: '127.0.0.1', port: PORTS.server };

let store: SqliteLeaseStore;
let server: DhcpService;
let client: dgram.Socket;
let replies: ReplyCollector;

before(async () => {
  store = openSqliteLeaseStore(join(dir, 'leases.db'));
  server = createDhcpServer({
    interface: 'lo', ownMac: null, serverIp: SERVER_IP, subnetMask: '255.0.0.0', pool: { first: '127.3.0.10', last: '127.3.0.20' },
    leaseTimeSec: 120, leases: store, socketFactory: createPlainUdpSocketFactory({ ignoreInterface: true }), logger: silentLogger,
    events: (e) => events.push(e), declineHoldSec: 600, warmUpDoras: 0,
    ports: { server: PORTS.server, client: PORTS.client, relay: PORTS.relay, broadcastAddress: '127.0.0.1' }, bindAddress: '127.0.0.1',
  });
  await server.start();
  client = dgram.createSocket('udp4');
  await new Promise<void>((r) => client.bind(PORTS.client, '127.0.0.1', () => r()));
  replies = new ReplyCollector(client);
});

after(async () => {
  await server?.stop();
  client?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function dora(mac: string): Promise<string> {
  const d = clientPacket(T.DISCOVER, mac);
  const offer = await replies.exchange(d, to, T.OFFER);
  assert.ok(offer, `OFFER for ${mac}`);
  const r = clientPacket(T.REQUEST, mac, { xid: d.xid });
  r.options.serverId = SERVER_IP;
  r.options.requestedIp = offer.yiaddr;
  const ack = await replies.exchange(r, to, T.ACK);
  assert.ok(ack, `ACK for ${mac}`);
  return ack.yiaddr;
}

/** Send a DECLINE of `ip` from `mac` (server id `sid`, null: none); the server never answers one. */
async function decline(mac: string, ip: string, sid: string | null = SERVER_IP): Promise<void> {
  const p = clientPacket(T.DECLINE, mac, { flags: 0 });
  p.options.requestedIp = ip;
  if (sid) p.options.serverId = sid;
  assert.equal(await replies.exchange(p, to, null, 300), null, 'no reply to a DECLINE');
}

/** INIT-REBOOT REQUEST for `ip` from `mac`: ACK when the address may be the client's, NAK when it is declined or taken. */
async function reboot(mac: string, ip: string): Promise<number | null> {
  const r = clientPacket(T.REQUEST, mac);
  r.options.requestedIp = ip;
  const reply = await replies.exchange(r, to, null);
  return reply?.options.messageType ?? null;
}

test("another MAC's DECLINE of a leased address changes nothing: lease kept, address still the holder's, counted as refused", async () => {
  const holder = '52:54:00:20:00:01';
  const ip = await dora(holder);
  const before = server.counters();
  await decline('52:54:00:20:00:66', ip);
  const lease = store.byIp(ip);
  assert.equal(lease?.mac, holder, 'the lease still belongs to the holder');
  assert.equal(lease?.state, 'bound');
  const after = server.counters();
  assert.equal(after.decline, before.decline + 1);
  assert.equal(after.declineRefused, before.declineRefused + 1);
  assert.equal(after.dropped, before.dropped + 1);
  // not marked declined: the holder's INIT-REBOOT for it is ACKed (a declined address would get a NAK)
  assert.equal(await reboot(holder, ip), T.ACK);
  const ev = events.findLast((e) => e.kind === 'decline' && e.mac === '52:54:00:20:00:66');
  assert.match(String(ev?.detail?.outcome), /leased to another client/);
});

test('a DECLINE of an address nobody holds changes nothing: the address is still offered', async () => {
  const free = '127.3.0.19';
  assert.equal(store.byIp(free), null);
  const before = server.counters();
  await decline('52:54:00:20:00:67', free);
  assert.equal(server.counters().declineRefused, before.declineRefused + 1);
  const d = clientPacket(T.DISCOVER, '52:54:00:20:00:02');
  d.options.requestedIp = free;
  const offer = await replies.exchange(d, to, T.OFFER);
  assert.equal(offer?.yiaddr, free, 'the address asked for is offered: it was not declined');
  const ev = events.findLast((e) => e.kind === 'decline' && e.mac === '52:54:00:20:00:67');
  assert.match(String(ev?.detail?.outcome), /no active lease/);
});

test("the holder's DECLINE for another server id is not ours: dropped, lease kept, not counted as refused", async () => {
  const holder = '52:54:00:20:00:03';
  const ip = await dora(holder);
  const before = server.counters();
  await decline(holder, ip, '127.0.0.9');
  assert.equal(store.byIp(ip)?.mac, holder);
  assert.equal(server.counters().dropped, before.dropped + 1);
  assert.equal(server.counters().declineRefused, before.declineRefused);
  assert.equal(await reboot(holder, ip), T.ACK);
});

test("the holder's DECLINE takes the address out: lease removed, address neither offered again nor ACKed", async () => {
  const holder = '52:54:00:20:00:04';
  const ip = await dora(holder);
  const before = server.counters();
  await decline(holder, ip);
  assert.equal(store.byIp(ip), null, 'the lease is gone');
  assert.equal(server.counters().declineRefused, before.declineRefused);
  assert.equal(server.counters().dropped, before.dropped);
  const again = await replies.exchange(clientPacket(T.DISCOVER, holder), to, T.OFFER);
  assert.ok(again);
  assert.notEqual(again.yiaddr, ip, 'the declined address is not offered again');
  assert.equal(await reboot('52:54:00:20:00:05', ip), T.NAK, 'nobody gets the declined address');
  // the holder's DECLINE without option 54 (RFC 2131 asks for it; some clients omit it) is honoured too
  const holder2 = '52:54:00:20:00:06';
  const ip2 = await dora(holder2);
  await decline(holder2, ip2, null);
  assert.equal(store.byIp(ip2), null);
  assert.equal(await reboot(holder2, ip2), T.NAK);
});
