// Pool exhaustion (issue 19 item 3): a client cycling random MACs must not take the whole pool. The real
// authoritative server on loopback (plain sockets, high ports) with the real Core's boot policy telling known nodes:
// a flood of random MACs fills the pool down to its pressure line, then gets the per-segment rate, then nothing once
// only the reserve is left — and the known nodes still get addresses; a warning event says it is happening.
// The limiter alone: the bench's 10,000-client storm in its /16 is never limited; time refills the rate.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { pino } from 'pino';
import { createDhcpServer, type DhcpService } from '../../netboot/dhcp/server/index.ts';
import { createPlainUdpSocketFactory } from '../../netboot/net/plain-udp.ts';
import { openSqliteLeaseStore, type SqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import { AddressPool } from '../../netboot/dhcp/server/address-pool.ts';
import { NewClientLimiter, newClientLimitFromEnv } from '../../netboot/dhcp/server/new-client-limit.ts';
import { DhcpMessageType as T } from '../../netboot/dhcp/index.ts';
import { Core } from '../../core/core.ts';
import { createNetbootSink } from '../../core/netboot-sink.ts';
import { ReplyCollector, clientPacket, silentLogger } from '../fixtures/dhcp/test-client.ts';

const base = 20000 + Math.floor(Math.random() * 20000);
const PORTS = { server: base, client: base + 1 };
const to = { address: '127.0.0.1', port: PORTS.server };
const POOL = { first: '127.3.0.10', last: '127.3.0.49' }; // 40 addresses: pressure line 20, reserve 4
const clock = Date.now();

let core: Core;
let store: SqliteLeaseStore;
let server: DhcpService;
let client: dgram.Socket;
let replies: ReplyCollector;

before(async () => {
  core = new Core({ dataDir: null, logger: pino({ level: 'silent' }) });
  core.bootSettings = { serverIp: '127.0.0.1', httpPort: 80, safeMode: false, admission: 'open', ramdisk: null };
  store = openSqliteLeaseStore(':memory:');
  server = createDhcpServer({
    interface: 'lo', serverIp: '127.0.0.1', subnetMask: '255.0.0.0', pool: POOL, leaseTimeSec: 3600,
    leases: store, bootPolicy: core.policy, socketFactory: createPlainUdpSocketFactory({ ignoreInterface: true }), logger: silentLogger,
    events: createNetbootSink(core, (ip) => store.byIp(ip)?.mac ?? null), now: () => clock, ownMac: null, warmUpDoras: 0,
    ports: { server: PORTS.server, client: PORTS.client, relay: PORTS.client, broadcastAddress: '127.0.0.1' }, bindAddress: '127.0.0.1',
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
  core?.close();
});

/** A DORA for `mac`: the ACKed address, or null when the server stayed silent. */
async function dora(mac: string, timeoutMs = 300): Promise<string | null> {
  const d = clientPacket(T.DISCOVER, mac);
  const offer = await replies.exchange(d, to, T.OFFER, timeoutMs);
  if (!offer) return null;
  const r = clientPacket(T.REQUEST, mac, { xid: d.xid });
  r.options.serverId = offer.options.serverId;
  r.options.requestedIp = offer.yiaddr;
  const ack = await replies.exchange(r, to, T.ACK, 2000);
  return ack?.yiaddr ?? null;
}

const randomMac = () => `02:${Array.from({ length: 5 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0')).join(':')}`;

test('a random-MAC flood: rate-limited under pressure, the reserve stays for known nodes, a warning event', async () => {
  // five machines RackSeed has inventoried (available): known clients; none holds a lease yet
  const known = ['52:54:00:19:33:01', '52:54:00:19:33:02', '52:54:00:19:33:03', '52:54:00:19:33:04', '52:54:00:19:33:05'];
  for (const mac of known) core.lifecycle.transition(core.lifecycle.ensureNode(mac, 'dhcp').node.id, 'available', 'inventory');

  // the flood: random MACs completing DORAs, the clock frozen (no refill of the rate)
  let granted = 0;
  let refusedInARow = 0;
  for (let i = 0; i < 200 && refusedInARow < 5; i++) {
    if (await dora(randomMac())) { granted++; refusedInARow = 0; } else refusedInARow++;
  }
  // 20 free (pressure line) + a burst of 20 = 20 + 20 = 40 would be the whole pool: the reserve (4) stops it first
  assert.equal(granted, 36, `the flood got ${granted} of 40 addresses`);
  assert.equal(refusedInARow, 5, 'then silence');
  // a new client asking straight for an address (INIT-REBOOT, option 50) is refused too
  const initReboot = clientPacket(T.REQUEST, randomMac());
  initReboot.options.requestedIp = '127.3.0.49';
  assert.equal(await replies.exchange(initReboot, to, null, 300), null);

  // known nodes still get the reserve
  const got = [];
  for (const mac of known.slice(0, 4)) got.push(await dora(mac, 2000));
  assert.ok(got.every((ip) => ip !== null), JSON.stringify(got));
  assert.equal(new Set(got).size, 4);
  // the pool is now full: nobody else, known or not
  assert.equal(await dora(known[4]!), null);

  // the warning, for the UI (events stream), once per 30 s however long the flood lasts
  const warnings = core.events.query({ limit: 5000 }).filter((e) => e.kind === 'pool-pressure');
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.equal(warnings[0]!.level, 'warn');
  assert.match(warnings[0]!.message, /DHCP pool on lo nearly exhausted: \d+ of 40 addresses free, the last 4 kept for known nodes/);
  assert.equal(warnings[0]!.nodeId, null);
});

test('the limiter: no limit while half the pool is free (the bench\'s 10,000 clients in a /16), a rate below it, refilled by time', () => {
  const store = openSqliteLeaseStore(':memory:');
  const pool = new AddressPool({ first: '10.211.1.0', last: '10.211.255.254', subnetMask: '255.255.0.0', serverIp: '10.211.0.1', offerHoldMs: 60_000, declineHoldMs: 600_000 }, store);
  const limited: unknown[] = [];
  const t0 = 1_000_000;
  pool.limitNewClients(() => false, (l) => limited.push(l), {}, t0);
  for (let i = 0; i < 10_000; i++) assert.ok(pool.offer(`02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, null, t0), `client ${i}`);
  assert.deepEqual(limited, []);
  store.close();

  // a small segment under pressure: burst, then ratePerSec as time passes; known clients are not rate-limited
  let free = 10;
  const l = new NewClientLimiter(100, () => free, (mac) => mac === 'known', () => {}, { ratePerSec: 5, burst: 3, reserveFraction: 0.05 }, 0);
  assert.equal([1, 2, 3, 4].map(() => l.admit('x', 0)).filter(Boolean).length, 3, 'the burst');
  assert.equal(l.admit('known', 0), true, 'known clients pass the rate');
  assert.equal(l.admit('x', 199), false);
  assert.equal(l.admit('x', 200), true, '5/s: one more after 200 ms');
  free = 60; // leases expired: a rescan (at most every 5 s) lifts the pressure
  assert.equal(l.admit('x', 5200), true);
  assert.ok(l.freeEstimate >= 50);
  assert.deepEqual(newClientLimitFromEnv({ RACKSEED_DHCP_NEW_CLIENT_RATE: '50', RACKSEED_DHCP_RESERVE: '0.2', RACKSEED_DHCP_NEW_CLIENT_LIMIT: '0' }), { ratePerSec: 50, reserveFraction: 0.2, enabled: false });
  assert.throws(() => newClientLimitFromEnv({ RACKSEED_DHCP_NEW_CLIENT_RATE: 'lots' }), /not a non-negative number/);
});
