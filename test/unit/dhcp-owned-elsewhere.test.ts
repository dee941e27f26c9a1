// The pivot in authoritative mode (issue 16 item 3): a node handed over to an engine gets NOTHING from RackSeed's DHCP
// server — no OFFER (PXE or plain), no ACK/NAK to a REQUEST, no INFORM reply — while other clients are served. The
// ownership check is the core's (CoreBootPolicy.ownedElsewhere → HandoffStore.claimedByEngine); the server only asks
// it (BootPolicy.ownedElsewhere). The refusal is recorded once per MAC ("owned by <engine>") in the node's history, and
// again after a take-back and a second hand-over. The real authoritative server on loopback (127.0.0.1, high ports,
// SQLite lease store) with the real Core's boot policy.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createDhcpServer, type DhcpService } from '../../netboot/dhcp/server/index.ts';
import { createPlainUdpSocketFactory } from '../../netboot/net/plain-udp.ts';
import { openSqliteLeaseStore, type SqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import { DhcpMessageType as T } from '../../netboot/dhcp/index.ts';
import { Core } from '../../core/core.ts';
import { ReplyCollector, clientPacket, pxeDiscover } from '../fixtures/dhcp/test-client.ts';

const SERVER_IP = '127.0.0.1';
const base = 20000 + Math.floor(Math.random() * 20000);
const PORTS = { server: base, client: base + 1, relay: base + 2 };
const dir = mkdtempSync(join(tmpdir(), 'rs-dhcp-owned-'));
const to = { address: '127.0.0.1', port: PORTS.server };
const OWNED = '52:54:00:16:aa:01';
const OWNED_2ND_NIC = '52:54:00:16:aa:02';
const FREE = '52:54:00:16:bb:01';
const ENGINE = { kind: 'ironic' as const, url: 'http://10.242.0.9:6385' };

let core: Core;
let store: SqliteLeaseStore;
let server: DhcpService;
let client: dgram.Socket;
let replies: ReplyCollector;
let ownedId = '';

before(async () => {
  core = new Core({ dataDir: null, logger: pino({ level: 'silent' }) });
  ownedId = core.lifecycle.ensureNode(OWNED, 'api').node.id;
  core.handoff.store.upsertEngine(ENGINE, 'none', null);
  core.handoff.store.setOwner(ownedId, ENGINE, 'ironic-node-uuid', [OWNED, OWNED_2ND_NIC]);
  store = openSqliteLeaseStore(join(dir, 'leases.db'));
  server = createDhcpServer({
    interface: 'lo', ownMac: null, serverIp: SERVER_IP, subnetMask: '255.0.0.0', pool: { first: '127.4.0.10', last: '127.4.0.20' },
    leaseTimeSec: 120, leases: store, socketFactory: createPlainUdpSocketFactory({ ignoreInterface: true }), logger: pino({ level: 'silent' }),
    bootPolicy: core.policy, warmUpDoras: 0,
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
  core?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ownedEvents = (mac: string) => core.events.query({ mac, limit: 1000 }).filter((e) => e.kind === 'owned-elsewhere');

/** Every kind of lease request from `mac`; returns the replies it got (none expected for an owned MAC). */
async function tryEverything(mac: string): Promise<number[]> {
  const got: number[] = [];
  for (const p of [pxeDiscover(mac, 7), pxeDiscover(mac, 0, true), clientPacket(T.DISCOVER, mac)]) {
    const r = await replies.exchange(p, to, null, 400);
    if (r) got.push(r.options.messageType!);
  }
  const sel = clientPacket(T.REQUEST, mac);
  sel.options.serverId = SERVER_IP;
  sel.options.requestedIp = '127.4.0.15';
  const initReboot = clientPacket(T.REQUEST, mac);
  initReboot.options.requestedIp = '127.4.0.16';
  const inform = clientPacket(T.INFORM, mac, { ciaddr: '127.4.0.17' });
  for (const p of [sel, initReboot, inform]) {
    const r = await replies.exchange(p, to, null, 400);
    if (r) got.push(r.options.messageType!);
  }
  return got;
}

test('authoritative mode: an engine-owned MAC (both NICs) gets no OFFER, ACK, NAK or INFORM reply; other clients are served', async () => {
  assert.deepEqual(await tryEverything(OWNED), [], 'nothing answered to the handed-over boot NIC');
  assert.deepEqual(await tryEverything(OWNED_2ND_NIC), [], 'nothing answered to its second NIC');
  assert.equal(store.all().filter((l) => l.mac === OWNED || l.mac === OWNED_2ND_NIC).length, 0, 'no lease written for them');
  // the same server still serves a client RackSeed owns
  const offer = await replies.exchange(clientPacket(T.DISCOVER, FREE), to, T.OFFER);
  assert.ok(offer, 'a free client gets its OFFER');
  const s = server.counters();
  assert.ok(s.dropped >= 12, `the owned MACs' packets count as dropped (${s.dropped})`);
});

test('"owned by <engine>" is recorded once per MAC, and once again after take-back and a second hand-over', async () => {
  for (const mac of [OWNED, OWNED_2ND_NIC]) {
    const ev = ownedEvents(mac);
    assert.equal(ev.length, 1, `one owned-elsewhere event for ${mac}`);
    assert.equal(ev[0]!.message, `not answered: owned by ironic (${ENGINE.url})`);
  }
  core.handoff.takeBack([ownedId]);
  const offer = await replies.exchange(clientPacket(T.DISCOVER, OWNED), to, T.OFFER);
  assert.ok(offer, 'after take-back RackSeed leases to it again');
  core.handoff.store.setOwner(ownedId, ENGINE, 'ironic-node-uuid', [OWNED, OWNED_2ND_NIC]);
  assert.deepEqual(await tryEverything(OWNED), []);
  assert.equal(ownedEvents(OWNED).length, 2, 'logged again once after the second hand-over');
});
