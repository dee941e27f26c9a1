// Beside a foreign DHCP server (dnsmasq, the "site" DHCP): the survey finds it within 5 s, and proxyDHCP
// gives a PXE-style client (crafted with the codec: option 60 PXEClient, 93, 97) its boot information
// while dnsmasq gives it its address. Namespaces: ours (bridge 10.233.0.1), site (dnsmasq 10.233.0.2),
// client — all created here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:dgram';
import { NetnsSandbox, canUseNetns } from '../helpers/netns.ts';
import { createProxyDhcpServer, defaultBootAnswer, startPeriodicSurvey, surveyDhcp, type DhcpService } from '../../netboot/dhcp/server/index.ts';
import { createBoundUdpSocketFactory } from '../../netboot/net/bound-udp.ts';
import { DhcpMessageType as T, encodePacket, type DhcpPacket } from '../../netboot/dhcp/index.ts';
import { EventLog, tempDir } from '../fixtures/dhcp/interop.ts';
import { ReplyCollector, clientPacket, pxeDiscover, silentLogger } from '../fixtures/dhcp/test-client.ts';

const OUR_IP = '10.233.0.1';
const SITE_IP = '10.233.0.2';
const CLIENT_MAC = '52:54:00:33:00:01';
const sandbox = new NetnsSandbox();
const dir = tempDir('foreign');
const log = new EventLog();
let ours = '';
let client = '';
let proxy: DhcpService | null = null;

before(async () => {
  assert.ok(canUseNetns(), 'interop tests need root and iproute2 (network namespaces)');
  ours = sandbox.addNamespace('dhcpf-ours');
  const site = sandbox.addNamespace('dhcpf-site');
  client = sandbox.addNamespace('dhcpf-cli');
  sandbox.addBridge(ours, 'br0', `${OUR_IP}/24`);
  sandbox.addVeth({ ns: site, name: 'eth0', cidr: `${SITE_IP}/24` }, { ns: ours, name: 'p-site', bridge: 'br0' });
  sandbox.addVeth({ ns: client, name: 'eth0', mac: CLIENT_MAC }, { ns: ours, name: 'p-cli', bridge: 'br0' });
  const dnsmasq = sandbox.spawn(site, 'dnsmasq', [
    '--no-daemon', '--conf-file=/dev/null', '--no-ping', '--bind-interfaces', '--interface=eth0', '--except-interface=lo', '--port=0',
    '--dhcp-range=10.233.0.100,10.233.0.150,2m', `--pid-file=${join(dir, 'dnsmasq.pid')}`, `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
  ]);
  let out = '';
  dnsmasq.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  // dnsmasq logs "DHCP, IP range …" once its DHCP socket is up
  const deadline = Date.now() + 10_000;
  while (!/DHCP, IP range/.test(out)) {
    assert.ok(dnsmasq.exitCode === null, `dnsmasq exited: ${out}`);
    assert.ok(Date.now() < deadline, `dnsmasq did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await proxy?.stop();
  await sandbox.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('the survey finds dnsmasq within 5 s', async () => {
  const started = Date.now();
  const found = await surveyDhcp({ interface: 'eth0', timeoutMs: 3000, socketFactory: createBoundUdpSocketFactory({ netns: client }), mac: CLIENT_MAC });
  assert.ok(Date.now() - started < 5000);
  assert.equal(found.length, 1, JSON.stringify(found));
  assert.equal(found[0].serverId, SITE_IP);
  assert.match(found[0].offered ?? '', /^10\.233\.0\.(1[0-4]\d|150)$/);
  assert.equal(found[0].bootFile, null);
});

test('periodic survey reports dnsmasq on every round until stopped', async () => {
  const rounds: string[][] = [];
  const errors: unknown[] = [];
  const survey = startPeriodicSurvey({
    interface: 'eth0', timeoutMs: 800, intervalMs: 200, socketFactory: createBoundUdpSocketFactory({ netns: client }), mac: CLIENT_MAC,
    onResult: (servers) => rounds.push(servers.map((s) => s.serverId)), onError: (err) => errors.push(err),
  });
  try {
    await log.until(() => rounds.length >= 2, 6000);
  } finally { survey.stop(); }
  const seen = rounds.length;
  assert.ok(seen >= 2, `two rounds (${JSON.stringify(rounds)}; errors ${errors.map(String).join(', ')})`);
  for (const r of rounds) assert.deepEqual(r, [SITE_IP]);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(rounds.length <= seen + 1, 'no new rounds start after stop()');
});

test('proxyDHCP beside dnsmasq: boot info from us, the address from dnsmasq, then port 4011', async () => {
  proxy = createProxyDhcpServer({
    interface: 'br0', serverIp: OUR_IP, socketFactory: createBoundUdpSocketFactory({ netns: ours }), logger: silentLogger, events: log.sink,
    bootPolicy: { dhcpBoot: (req) => defaultBootAnswer(req, { serverIp: OUR_IP, httpBaseUrl: `http://${OUR_IP}:8080` }) },
  });
  await proxy.start();
  const socket: Socket = await createBoundUdpSocketFactory({ netns: client })({ port: 68, interface: 'eth0', broadcast: true, reuseAddr: true });
  try {
    const replies = new ReplyCollector(socket);
    const bcast = { address: '255.255.255.255', port: 67 };
    const discover = pxeDiscover(CLIENT_MAC, 7);
    const since = replies.replies.length;
    socket.send(encodePacket(discover), 67, '255.255.255.255');
    const offerFrom = (sid: string) => replies.waitFor((p) => p.xid === discover.xid && p.options.messageType === T.OFFER && p.options.serverId === sid, 4000, since);
    const [site, ourOffer] = await Promise.all([offerFrom(SITE_IP), offerFrom(OUR_IP)]) as [DhcpPacket | null, DhcpPacket | null];
    assert.ok(site, 'dnsmasq offered an address');
    assert.match(site.yiaddr, /^10\.233\.0\.\d+$/);
    assert.ok(ourOffer, 'proxyDHCP offered boot information');
    assert.equal(ourOffer.yiaddr, '0.0.0.0', 'proxyDHCP never assigns');
    assert.equal(ourOffer.options.vendorClass, 'PXEClient');
    assert.equal(ourOffer.options.pxeVendorOptions?.discoveryControl, 8);
    assert.equal(ourOffer.file, 'ipxe.efi');
    assert.equal(ourOffer.siaddr, OUR_IP);
    assert.equal(ourOffer.options.clientUuid, discover.options.clientUuid);

    // take the address from dnsmasq
    const req = pxeDiscover(CLIENT_MAC, 7);
    req.xid = discover.xid;
    req.options.messageType = T.REQUEST;
    req.options.serverId = SITE_IP;
    req.options.requestedIp = site.yiaddr;
    const ack = await replies.exchange(req, bcast, T.ACK, 4000);
    assert.ok(ack, 'dnsmasq ACKed');
    assert.equal(ack.options.serverId, SITE_IP);
    assert.equal(ack.yiaddr, site.yiaddr);
    sandbox.exec(client, 'ip', ['addr', 'add', `${ack.yiaddr}/24`, 'dev', 'eth0']);

    // PXE boot-server request to port 4011, unicast; the ACK comes back to the client's address
    const bootReq = pxeDiscover(CLIENT_MAC, 7);
    bootReq.options.messageType = T.REQUEST;
    bootReq.ciaddr = ack.yiaddr;
    bootReq.flags = 0;
    const bootAck = await replies.exchange(bootReq, { address: OUR_IP, port: 4011 }, T.ACK, 3000);
    assert.ok(bootAck, 'proxyDHCP answered on 4011');
    assert.equal(bootAck.file, 'ipxe.efi');
    assert.equal(bootAck.yiaddr, '0.0.0.0');
    assert.equal(bootAck.options.serverId, OUR_IP);
    const plain = clientPacket(T.DISCOVER, '52:54:00:33:00:02');
    const mark = replies.replies.length;
    socket.send(encodePacket(plain), 67, '255.255.255.255');
    assert.ok(await replies.waitFor((p) => p.xid === plain.xid && p.options.serverId === SITE_IP, 3000, mark), 'dnsmasq answers the plain client');
    assert.equal(await replies.waitFor((p) => p.xid === plain.xid && p.options.serverId === OUR_IP, 500, mark), null, 'the proxy does not');
    const c = proxy.counters();
    assert.equal(c.offer, 1);
    assert.equal(c.ack, 1);
    assert.ok(c.dropped >= 2, 'REQUEST for dnsmasq and the plain DISCOVER were dropped');
    assert.ok(log.events.some((e) => e.kind === 'proxy-offer' && e.mac === CLIENT_MAC));
  } finally { socket.close(); }
});
