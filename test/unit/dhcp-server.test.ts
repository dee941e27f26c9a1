// The DHCP servers on loopback (127.0.0.1, high ports, plain sockets): RFC 2131 §4.3 behaviour of the
// authoritative mode, proxyDHCP, the SQLite lease store, counters and events.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDhcpServer, createProxyDhcpServer, defaultBootAnswer, type DhcpService } from '../../netboot/dhcp/server/index.ts';
import { createPlainUdpSocketFactory } from '../../netboot/net/plain-udp.ts';
import { openSqliteLeaseStore, type SqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import { DhcpMessageType as T, encodePacket, packetMac } from '../../netboot/dhcp/index.ts';
import type { BootPolicy, NetbootEvent } from '../../netboot/boot-policy.ts';
import { ReplyCollector, clientPacket, pxeDiscover, silentLogger } from '../fixtures/dhcp/test-client.ts';

const SERVER_IP = '127.0.0.1';
const base = 20000 + Math.floor(Math.random() * 20000);
const PORTS = { server: base, client: base + 1, relay: base + 2, bootServer: base + 3, proxy: base + 4 };
const dir = mkdtempSync(join(tmpdir(), 'rs-dhcp-unit-'));
const factory = createPlainUdpSocketFactory({ ignoreInterface: true });
const events: NetbootEvent[] = [];
let clock = Date.now();
const policy: BootPolicy = { dhcpBoot: (req) => defaultBootAnswer(req, { serverIp: SERVER_IP, httpBaseUrl: 'http://127.0.0.1:8080' }) };

let store: SqliteLeaseStore;
let server: DhcpService;
let proxy: DhcpService;
let client: dgram.Socket;
let relay: dgram.Socket;
let replies: ReplyCollector;
let relayReplies: ReplyCollector;
const to = { address: '127.0.0.1', port: PORTS.server };

before(async () => {
  store = openSqliteLeaseStore(join(dir, 'leases.db'));
  server = createDhcpServer({
    interface: 'lo', serverIp: SERVER_IP, subnetMask: '255.0.0.0', pool: { first: '127.1.0.10', last: '127.1.0.20' },
    reservations: [{ mac: '5254.0000.aaaa', ip: '127.1.0.99', hostname: 'reserved-node' }],
    routers: ['127.0.0.1'], dnsServers: ['127.0.0.53'], leaseTimeSec: 120,
    leases: store, bootPolicy: policy, socketFactory: factory, logger: silentLogger, events: (e) => events.push(e),
    now: () => clock, sweepIntervalMs: 50, declineHoldSec: 600,
    ports: { server: PORTS.server, client: PORTS.client, relay: PORTS.relay, broadcastAddress: '127.0.0.1' }, bindAddress: '127.0.0.1',
  });
  await server.start();
  proxy = createProxyDhcpServer({
    interface: 'lo', serverIp: SERVER_IP, bootPolicy: policy, socketFactory: factory, logger: silentLogger, events: (e) => events.push(e),
    ports: { server: PORTS.proxy, bootServer: PORTS.bootServer, client: PORTS.client, broadcastAddress: '127.0.0.1' }, bindAddress: '127.0.0.1',
  });
  await proxy.start();
  client = dgram.createSocket('udp4');
  await new Promise<void>((r) => client.bind(PORTS.client, '127.0.0.1', () => r()));
  relay = dgram.createSocket('udp4');
  await new Promise<void>((r) => relay.bind(PORTS.relay, '127.0.0.1', () => r()));
  replies = new ReplyCollector(client);
  relayReplies = new ReplyCollector(relay);
});

after(async () => {
  await server?.stop();
  await proxy?.stop();
  client?.close();
  relay?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function dora(mac: string): Promise<{ offer: string; ack: string }> {
  const d = clientPacket(T.DISCOVER, mac);
  const offer = await replies.exchange(d, to, T.OFFER);
  assert.ok(offer, `OFFER for ${mac}`);
  const r = clientPacket(T.REQUEST, mac, { xid: d.xid });
  r.options.serverId = offer.options.serverId;
  r.options.requestedIp = offer.yiaddr;
  const ack = await replies.exchange(r, to, T.ACK);
  assert.ok(ack, `ACK for ${mac}`);
  return { offer: offer.yiaddr, ack: ack.yiaddr };
}

test('DISCOVER → OFFER → REQUEST → ACK from the pool, with configured options; lease is stored', async () => {
  const d = clientPacket(T.DISCOVER, '52:54:00:00:00:01');
  const offer = await replies.exchange(d, to, T.OFFER);
  assert.ok(offer);
  assert.equal(offer.yiaddr, '127.1.0.10');
  assert.equal(packetMac(offer), '52:54:00:00:00:01');
  assert.equal(offer.options.serverId, SERVER_IP);
  assert.equal(offer.options.leaseTime, 120);
  assert.equal(offer.options.renewalTime, 60);
  assert.equal(offer.options.rebindingTime, 105);
  assert.equal(offer.options.subnetMask, '255.0.0.0');
  assert.deepEqual(offer.options.routers, ['127.0.0.1']);
  assert.deepEqual(offer.options.dnsServers, ['127.0.0.53']);
  assert.equal(offer.options.bootfileName, null, 'plain clients get no boot information');
  assert.equal(offer.file, '');
  const { ack } = await dora('52:54:00:00:00:01');
  assert.equal(ack, '127.1.0.10', 'DISCOVER again reuses the binding');
  assert.equal(store.byMac('52:54:00:00:00:01')?.ip, '127.1.0.10');
  assert.equal(store.byMac('52:54:00:00:00:01')?.state, 'bound');
});

test('renewing (ciaddr set, unicast) extends the lease; ACK echoes ciaddr', async () => {
  const before = store.byMac('52:54:00:00:00:01')!.expiresAt;
  clock += 30_000;
  // the unicast reply goes to ciaddr: listen there (a loopback address)
  const leased = dgram.createSocket('udp4');
  await new Promise<void>((r) => leased.bind(PORTS.client, '127.1.0.10', () => r()));
  let ack;
  try {
    const r = clientPacket(T.REQUEST, '52:54:00:00:00:01', { ciaddr: '127.1.0.10', flags: 0 });
    const unicast = new ReplyCollector(leased);
    ack = await unicast.exchange(r, to, T.ACK);
    assert.equal(await replies.waitFor((p) => p.xid === r.xid, 100), null, 'not broadcast');
  } finally { leased.close(); }
  assert.ok(ack);
  assert.equal(ack.yiaddr, '127.1.0.10');
  assert.equal(ack.ciaddr, '127.1.0.10');
  assert.ok(store.byMac('52:54:00:00:00:01')!.expiresAt > before);
});

test('a reserved MAC (Cisco notation in config) gets its reserved address and hostname', async () => {
  const { offer, ack } = await dora('52:54:00:00:aa:aa');
  assert.equal(offer, '127.1.0.99');
  assert.equal(ack, '127.1.0.99');
  const d = clientPacket(T.DISCOVER, '52:54:00:00:aa:aa');
  assert.equal((await replies.exchange(d, to, T.OFFER))?.options.hostname, 'reserved-node');
});

test('REQUEST naming another server id gets no reply and is counted as dropped', async () => {
  const before = server.counters();
  const d = clientPacket(T.DISCOVER, '52:54:00:00:00:02');
  const offer = await replies.exchange(d, to, T.OFFER);
  assert.ok(offer);
  const r = clientPacket(T.REQUEST, '52:54:00:00:00:02', { xid: d.xid });
  r.options.serverId = '127.9.9.9';
  r.options.requestedIp = offer.yiaddr;
  assert.equal(await replies.exchange(r, to, null, 400), null);
  const after = server.counters();
  assert.equal(after.dropped, before.dropped + 1);
  assert.equal(after.ack, before.ack);
});

test('INIT-REBOOT with a wrong or foreign address gets a NAK (broadcast), a free pool address an ACK', async () => {
  const wrongNet = clientPacket(T.REQUEST, '52:54:00:00:00:03');
  wrongNet.options.requestedIp = '10.9.9.9';
  const nak = await replies.exchange(wrongNet, to, T.NAK);
  assert.ok(nak);
  assert.equal(nak.yiaddr, '0.0.0.0');
  assert.match(nak.options.message ?? '', /wrong network/);
  const taken = clientPacket(T.REQUEST, '52:54:00:00:00:03');
  taken.options.requestedIp = '127.1.0.10'; // bound to ...:01
  assert.ok(await replies.exchange(taken, to, T.NAK));
  const reserved = clientPacket(T.REQUEST, '52:54:00:00:00:03');
  reserved.options.requestedIp = '127.1.0.99';
  assert.ok(await replies.exchange(reserved, to, T.NAK));
  const free = clientPacket(T.REQUEST, '52:54:00:00:00:03');
  free.options.requestedIp = '127.1.0.15';
  assert.equal((await replies.exchange(free, to, T.ACK))?.yiaddr, '127.1.0.15');
});

test('SELECTING with an address other than offered/available gets a NAK', async () => {
  const r = clientPacket(T.REQUEST, '52:54:00:00:00:04');
  r.options.serverId = SERVER_IP;
  r.options.requestedIp = '127.1.0.10';
  assert.ok(await replies.exchange(r, to, T.NAK));
});

test('RELEASE frees the address; DECLINE keeps it out of the pool', async () => {
  const { ack } = await dora('52:54:00:00:00:05');
  const rel = clientPacket(T.RELEASE, '52:54:00:00:00:05', { ciaddr: ack, flags: 0 });
  rel.options.serverId = SERVER_IP;
  assert.equal(await replies.exchange(rel, to, null, 300), null, 'no reply to RELEASE');
  assert.equal(store.byIp(ack)?.state, 'released');

  // a DECLINE counts only from the client holding the lease (after its ACK): test/unit/dhcp-decline.test.ts
  const { ack: leased } = await dora('52:54:00:00:00:06');
  const dec = clientPacket(T.DECLINE, '52:54:00:00:00:06');
  dec.options.serverId = SERVER_IP;
  dec.options.requestedIp = leased;
  assert.equal(await replies.exchange(dec, to, null, 300), null);
  const again = await replies.exchange(clientPacket(T.DISCOVER, '52:54:00:00:00:06'), to, T.OFFER);
  assert.ok(again);
  assert.notEqual(again.yiaddr, leased, 'declined address is not offered again');
  const c = server.counters();
  assert.ok(c.release >= 1 && c.decline >= 1);
});

test('INFORM gets an ACK without a lease, sent to ciaddr', async () => {
  const inf = clientPacket(T.INFORM, '52:54:00:00:00:07', { ciaddr: '127.0.0.1', flags: 0 });
  const ack = await replies.exchange(inf, to, T.ACK);
  assert.ok(ack);
  assert.equal(ack.yiaddr, '0.0.0.0');
  assert.equal(ack.options.leaseTime, null);
  assert.equal(ack.options.subnetMask, '255.0.0.0');
});

test('relayed DISCOVER (giaddr) is answered to the relay on the server port, option 82 echoed', async () => {
  const d = clientPacket(T.DISCOVER, '52:54:00:00:00:08', { giaddr: '127.0.0.1', hops: 1 });
  d.options.setRaw(82, Buffer.from([1, 4, 0x65, 0x74, 0x68, 0x31]));
  client.send(encodePacket(d), PORTS.server, '127.0.0.1');
  const offer = await relayReplies.waitFor((p) => p.xid === d.xid, 2000);
  assert.ok(offer, 'reply reached the relay port');
  assert.equal(offer.giaddr, '127.0.0.1');
  assert.equal(offer.options.relayAgentInfo?.circuitId?.toString(), 'eth1');
});

test('a relay on a subnet we do not serve is ignored', async () => {
  const d = clientPacket(T.DISCOVER, '52:54:00:00:00:0e', { giaddr: '10.1.2.3', hops: 1 });
  const before = server.counters().dropped;
  client.send(encodePacket(d), PORTS.server, '127.0.0.1');
  assert.equal(await relayReplies.waitFor((p) => p.xid === d.xid, 300), null);
  assert.equal(server.counters().dropped, before + 1);
});

test('boot information: iPXE gets boot.ipxe over HTTP, BIOS PXE undionly.kpxe over TFTP', async () => {
  const ipxe = await replies.exchange(pxeDiscover('52:54:00:00:00:09', 0, true), to, T.OFFER);
  assert.equal(ipxe?.options.bootfileName, 'http://127.0.0.1:8080/boot.ipxe');
  const bios = await replies.exchange(pxeDiscover('52:54:00:00:00:0a', 0), to, T.OFFER);
  assert.equal(bios?.file, 'undionly.kpxe');
  assert.equal(bios?.siaddr, SERVER_IP);
  assert.equal(bios?.options.tftpServerName, SERVER_IP, 'option 66 because the client asked for it');
});

test('lease expiry: a bound lease past its time becomes expired, with an event', async () => {
  clock += 10 * 60_000;
  const deadline = Date.now() + 2000;
  while (!events.some((e) => e.kind === 'expire' && e.ip === '127.1.0.10') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(events.some((e) => e.kind === 'expire' && e.mac === '52:54:00:00:00:01'));
  assert.equal(store.byMac('52:54:00:00:00:01')?.state, 'expired');
  assert.ok(server.counters().expired >= 1);
});

test('leases survive reopening the SQLite store', () => {
  const reopened = openSqliteLeaseStore(join(dir, 'leases.db'));
  try {
    assert.equal(reopened.byMac('52:54:00:00:aa:aa')?.ip, '127.1.0.99');
    assert.equal(reopened.byIp('127.1.0.15')?.mac, '52:54:00:00:00:03');
  } finally { reopened.close(); }
});

test('events and counters report the exchanges', () => {
  const c = server.counters();
  for (const k of ['discover', 'offer', 'request', 'ack', 'nak', 'release', 'decline', 'inform', 'dropped', 'errors']) assert.equal(typeof c[k], 'number', k);
  assert.ok(c.offer >= 5 && c.ack >= 4 && c.nak >= 3);
  assert.equal(c.errors, 0);
  const ev = events.find((e) => e.kind === 'ack' && e.mac === '52:54:00:00:aa:aa');
  assert.ok(ev);
  assert.equal(ev.source, 'dhcp');
  assert.equal(ev.ip, '127.1.0.99');
});

test('one history entry per DORA: the OFFER is written with the ACK of its exchange; an OFFER not followed by its REQUEST stands alone, first', async () => {
  const mac = '52:54:00:00:00:d1';
  const from = events.length;
  const { ack } = await dora(mac);
  const mine = events.slice(from).filter((e) => e.mac === mac);
  assert.deepEqual(mine.map((e) => e.kind), ['ack'], 'no separate offer entry');
  assert.equal(mine[0]!.message, `DHCPDISCOVER from ${mac} → DHCPOFFER ${ack}, DHCPREQUEST → DHCPACK ${ack}`);
  assert.equal(mine[0]!.detail?.offered, ack);
  assert.equal(typeof mine[0]!.detail?.offeredAt, 'number');
  // a DISCOVER that gets no REQUEST, then a new exchange (other xid): the first OFFER is written on its own, before
  const lone = clientPacket(T.DISCOVER, mac);
  const offer = await replies.exchange(lone, to, T.OFFER);
  assert.ok(offer);
  const at = events.length;
  await dora(mac);
  const later = events.slice(at).filter((e) => e.mac === mac);
  assert.deepEqual(later.map((e) => e.kind), ['offer', 'ack']);
  assert.equal(later[0]!.message, `DHCPDISCOVER from ${mac} → DHCPOFFER ${offer.yiaddr}`);
  assert.equal(later[0]!.detail?.xid, lone.xid);
  assert.equal(typeof later[0]!.at, 'number');
});

test('proxyDHCP: PXE DISCOVER → OFFER with boot info, no address, option 60/43/97', async () => {
  const d = pxeDiscover('52:54:00:00:00:0b', 7);
  const offer = await replies.exchange(d, { address: '127.0.0.1', port: PORTS.proxy }, T.OFFER);
  assert.ok(offer);
  assert.equal(offer.yiaddr, '0.0.0.0');
  assert.equal(offer.file, 'ipxe.efi');
  assert.equal(offer.siaddr, SERVER_IP);
  assert.equal(offer.options.vendorClass, 'PXEClient');
  assert.equal(offer.options.pxeVendorOptions?.discoveryControl, 8);
  assert.equal(offer.options.clientUuid, '4c4c4544-0031-3810-8052-b4c04f564433');
  assert.equal(offer.options.leaseTime, null);
});

test('proxyDHCP: an iPXE client sent to an http:// script still gets siaddr (iPXE drops proxy replies without it)', async () => {
  const d = pxeDiscover('52:54:00:00:00:0e', 0);
  d.options.userClassString = 'iPXE';
  const offer = await replies.exchange(d, { address: '127.0.0.1', port: PORTS.proxy }, T.OFFER);
  assert.ok(offer);
  assert.match(offer.options.bootfileName ?? '', /^http:\/\/127\.0\.0\.1:8080\/boot\.ipxe/);
  assert.equal(offer.siaddr, SERVER_IP);
  assert.equal(offer.yiaddr, '0.0.0.0');
});

test('proxyDHCP ignores non-PXE clients and answers port-4011 REQUESTs by unicast to the sender', async () => {
  const plain = clientPacket(T.DISCOVER, '52:54:00:00:00:0c');
  assert.equal(await replies.exchange(plain, { address: '127.0.0.1', port: PORTS.proxy }, null, 300), null);
  const r = pxeDiscover('52:54:00:00:00:0d', 0);
  r.options.messageType = T.REQUEST;
  r.ciaddr = '127.0.0.1';
  r.flags = 0;
  const ack = await replies.exchange(r, { address: '127.0.0.1', port: PORTS.bootServer }, T.ACK);
  assert.ok(ack);
  assert.equal(ack.file, 'undionly.kpxe');
  assert.equal(ack.yiaddr, '0.0.0.0');
  assert.ok(events.some((e) => e.kind === 'proxy-offer') && events.some((e) => e.kind === 'proxy-ack'));
  assert.ok(proxy.counters().dropped >= 1);
});

test('defaultBootAnswer: the boot table of DESIGN.md', () => {
  const cfg = { serverIp: '10.0.0.1', httpBaseUrl: 'http://10.0.0.1:8080/' };
  const req = (arch: number | null, vendorClass: string | null, userClass: string | null = null) =>
    ({ mac: '52:54:00:00:00:01', arch, vendorClass, userClass, uuid: null, interface: 'eth0' });
  assert.deepEqual(defaultBootAnswer(req(0, 'PXEClient:Arch:00000'), cfg), { nextServer: '10.0.0.1', bootFile: 'undionly.kpxe', vendorClass: null });
  assert.deepEqual(defaultBootAnswer(req(null, 'PXEClient'), cfg), { nextServer: '10.0.0.1', bootFile: 'undionly.kpxe', vendorClass: null });
  assert.equal(defaultBootAnswer(req(7, 'PXEClient:Arch:00007'), cfg)?.bootFile, 'ipxe.efi');
  assert.equal(defaultBootAnswer(req(9, 'PXEClient:Arch:00009'), { ...cfg, efiBinary: 'snponly.efi' })?.bootFile, 'snponly.efi');
  assert.equal(defaultBootAnswer(req(11, 'PXEClient:Arch:00011'), cfg)?.bootFile, 'arm64/ipxe.efi');
  assert.deepEqual(defaultBootAnswer(req(16, 'HTTPClient:Arch:00016'), cfg), { nextServer: null, bootFile: 'http://10.0.0.1:8080/ipxe.efi', vendorClass: 'HTTPClient' });
  assert.deepEqual(defaultBootAnswer(req(0, 'PXEClient:Arch:00000', 'iPXE'), cfg), { nextServer: null, bootFile: 'http://10.0.0.1:8080/boot.ipxe', vendorClass: null });
  assert.equal(defaultBootAnswer(req(null, 'udhcp 1.35.0'), cfg), null);
  assert.equal(defaultBootAnswer(req(6, 'PXEClient:Arch:00006'), cfg), null);
});
