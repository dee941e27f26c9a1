// Issue 19 item 3, pool exhaustion on a real segment: inside namespaces created here (10.237.0.0/24), the
// authoritative server as the daemon runs it (SO_BINDTODEVICE on the bridge, the real Core's boot policy and netboot
// sink) with a 40-address pool; a flooder in its own namespace cycles random MACs through complete DORAs (crafted
// with the codec, broadcast flag set, from a socket bound to its veth); then busybox udhcpc on four known nodes (the
// Core has inventoried them) still gets leases from the reserve, and the pool-pressure warning is in the event history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { NetnsSandbox, canUseNetns, waitExit } from '../helpers/netns.ts';
import { createDhcpServer, type DhcpService } from '../../netboot/dhcp/server/index.ts';
import { createBoundUdpSocketFactory } from '../../netboot/net/bound-udp.ts';
import { openSqliteLeaseStore, type SqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import { DhcpMessageType as T } from '../../netboot/dhcp/index.ts';
import { Core } from '../../core/core.ts';
import { createNetbootSink } from '../../core/netboot-sink.ts';
import { script, tempDir } from '../fixtures/dhcp/interop.ts';
import { ReplyCollector, clientPacket, silentLogger } from '../fixtures/dhcp/test-client.ts';

const SERVER_IP = '10.237.0.1';
const KNOWN = ['52:54:00:37:00:01', '52:54:00:37:00:02', '52:54:00:37:00:03', '52:54:00:37:00:04'];
const FLOODER = '52:54:00:37:00:ff';

const sandbox = new NetnsSandbox();
const dir = tempDir('flood');
let serverNs = '';
let floodNs = '';
const knownNs: string[] = [];
let core: Core;
let store: SqliteLeaseStore;
let server: DhcpService;

before(async () => {
  assert.ok(canUseNetns(), 'interop tests need root and iproute2 (network namespaces)');
  serverNs = sandbox.addNamespace('flood-srv');
  sandbox.addBridge(serverNs, 'br0', `${SERVER_IP}/24`);
  floodNs = sandbox.addNamespace('flood-bad');
  sandbox.addVeth({ ns: floodNs, name: 'eth0', mac: FLOODER }, { ns: serverNs, name: 'p-flood', bridge: 'br0' });
  for (const [i, mac] of KNOWN.entries()) {
    knownNs.push(sandbox.addNamespace(`flood-k${i}`));
    sandbox.addVeth({ ns: knownNs[i]!, name: 'eth0', mac }, { ns: serverNs, name: `p-k${i}`, bridge: 'br0' });
  }
  core = new Core({ dataDir: null, logger: pino({ level: 'silent' }) });
  core.bootSettings = { serverIp: SERVER_IP, httpPort: 80, safeMode: false, admission: 'open', ramdisk: null };
  // the known nodes: inventoried earlier (available), no lease now (a fresh pool, as after a long power-off)
  for (const mac of KNOWN) core.lifecycle.transition(core.lifecycle.ensureNode(mac, 'dhcp').node.id, 'available', 'inventory');
  store = openSqliteLeaseStore(join(dir, 'leases.db'));
  const brMac = sandbox.exec(serverNs, 'cat', ['/sys/class/net/br0/address']).trim();
  server = createDhcpServer({
    interface: 'br0', ownMac: brMac, serverIp: SERVER_IP, subnetMask: '255.255.255.0', pool: { first: '10.237.0.100', last: '10.237.0.139' },
    routers: [SERVER_IP], leaseTimeSec: 600, leases: store, bootPolicy: core.policy,
    socketFactory: createBoundUdpSocketFactory({ netns: serverNs }), logger: silentLogger, events: createNetbootSink(core, (ip) => store.byIp(ip)?.mac ?? null),
  });
  await server.start();
});

after(async () => {
  await server?.stop();
  store?.close();
  core?.close();
  await sandbox.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const randomMac = () => `02:${Array.from({ length: 5 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join(':')}`;

test('a random-MAC flood is limited; udhcpc on known nodes still gets leases from the reserve; the warning is recorded', async () => {
  const socket = await createBoundUdpSocketFactory({ netns: floodNs })({ port: 68, interface: 'eth0', broadcast: true, reuseAddr: true });
  const bcast = { address: '255.255.255.255', port: 67 };
  let granted = 0;
  let silent = 0;
  try {
    const replies = new ReplyCollector(socket);
    for (let i = 0; i < 200 && silent < 5; i++) {
      const mac = randomMac();
      const d = clientPacket(T.DISCOVER, mac);
      const offer = await replies.exchange(d, bcast, T.OFFER, 400);
      if (!offer) { silent++; continue; }
      const r = clientPacket(T.REQUEST, mac, { xid: d.xid });
      r.options.serverId = SERVER_IP;
      r.options.requestedIp = offer.yiaddr;
      if (await replies.exchange(r, bcast, T.ACK, 2000)) { granted++; silent = 0; }
    }
  } finally { socket.close(); }
  // 40 addresses: unlimited down to 20 free, a burst of 20 more would empty it, the reserve (4) stops the flood first;
  // the rate refills 5/s while the flood runs, so a few more may slip through before the reserve
  assert.ok(granted >= 30 && granted <= 36, `the flood got ${granted} of 40`);
  assert.equal(silent, 5, 'then the server stays silent');

  // real clients on the known nodes: busybox udhcpc, one lease each
  const results: string[] = [];
  for (const [i, ns] of knownNs.entries()) {
    const out = join(dir, `udhcpc-${i}.log`);
    const s = script(join(dir, `udhcpc-${i}.sh`), `case "$1" in bound) echo "$ip" >> ${out};; esac`);
    const child = sandbox.spawn(ns, 'busybox', ['udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '5', '-T', '1', '-s', s]);
    assert.ok(await waitExit(child, 20_000), 'udhcpc finished');
    results.push(existsSync(out) ? readFileSync(out, 'utf8').trim() : '');
  }
  assert.ok(results.every((ip) => /^10\.237\.0\.1[0-3]\d$/.test(ip)), `known nodes' leases: ${JSON.stringify(results)}`);
  assert.equal(new Set(results).size, KNOWN.length);
  for (const [i, mac] of KNOWN.entries()) assert.equal(store.byMac(mac)?.ip, results[i]);

  const warnings = core.events.query({ limit: 5000 }).filter((e) => e.kind === 'pool-pressure');
  assert.ok(warnings.length >= 1 && warnings.length <= 2, `warnings: ${warnings.length}`);
  assert.equal(warnings[0]!.level, 'warn');
  assert.match(warnings.map((w) => w.message).join('\n'), /DHCP pool on br0 (nearly exhausted|under pressure)/);
});
