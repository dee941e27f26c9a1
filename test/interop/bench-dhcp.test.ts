// Keeps the DHCP storm harness (bench/) honest: ~200 relayed clients against RackSeed's DHCP server and
// dnsmasq, and ~200 clients without addresses on the server's own segment against RackSeed (as the daemon runs it)
// and Kea on raw sockets, in namespaces the harness creates. A correctness check, not a timed test: every client must
// finish DORA with a distinct address inside the pool, every reply must decode with RackSeed's codec the
// same way the load generator read it, and every ACKed lease must survive a kill -9 of the server; on the same
// segment every reply must reach its client as RFC 2131 §4.1 allows (broadcast, or unicast to yiaddr at chaddr).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns } from '../helpers/netns.ts';
import { runOneStorm, STARTERS, type DhcpRunResult } from '../../bench/lib/dhcp-bench-run.ts';
import { startRackseed, startRackseedDaemon } from '../../bench/lib/rackseed-dhcp.ts';
import { Delivery } from '../../bench/lib/dhcp-local-wire.ts';

const CLIENTS = 200;

function assertAllDone(r: DhcpRunResult): void {
  assert.equal(r.completed, CLIENTS, `${r.server}: ${r.completed}/${CLIENTS} completed (${r.naks} NAK, ${r.timeouts} timed out, ${r.unfinished} unfinished)`);
  assert.equal(r.naks, 0);
  assert.equal(r.mismatches, 0, 'ACKed address differs from the OFFERed one');
  assert.equal(r.duplicateAddresses, 0, 'an address was ACKed to two MACs');
  assert.equal(r.outOfPool, 0, 'an ACKed address is outside the pool');
  assert.equal(r.malformed, 0, 'a reply was not a well-formed BOOTREPLY');
  assert.equal(r.crossCheckFailures, 0, "a reply decoded differently with RackSeed's codec, or an ACK lacked mask/lease time");
  assert.equal(r.durable, CLIENTS, `${r.server}: ${r.lost} ACKed leases missing from the lease store after kill -9`);
  assert.ok(r.doraPerSec > 0 && r.latencyMs.p50 > 0 && r.latencyMs.p99 >= r.latencyMs.p50);
}

test('DHCP storm harness: every relayed client of RackSeed and dnsmasq completes DORA with a valid, durable address', { timeout: 180_000 }, async (t) => {
  assert.ok(canUseNetns(), 'needs root and iproute2 (network namespaces)');
  await t.test('rackseed', async () => {
    assertAllDone(await runOneStorm({ server: 'rackseed', start: startRackseed, clients: CLIENTS, inFlight: 64, run: 201, deadlineMs: 60_000, crossCheck: true }));
  });
  await t.test('dnsmasq', async () => {
    assertAllDone(await runOneStorm({ server: 'dnsmasq', start: STARTERS.dnsmasq!, clients: CLIENTS, inFlight: 64, run: 202, deadlineMs: 60_000, crossCheck: true }));
  });
});

test('same-segment storm: clients without addresses get valid, durable leases from RackSeed (daemon path) and Kea on raw sockets, replies as RFC 2131 §4.1 allows', { timeout: 180_000 }, async (t) => {
  assert.ok(canUseNetns(), 'needs root and iproute2 (network namespaces)');
  const half = CLIENTS / 2;
  await t.test('rackseed-daemon', async () => {
    const r = await runOneStorm({ server: 'rackseed-daemon', start: startRackseedDaemon, clients: CLIENTS, inFlight: 64, run: 203, deadlineMs: 60_000, crossCheck: true, topology: 'local' });
    assertAllDone(r);
    // both replies (OFFER, ACK) of every client: Ethernet broadcast for the flag, unicast to yiaddr at chaddr without it
    assert.deepEqual(r.delivery, { flagSet: [2 * half, 0, 0, 0], flagClear: [0, 2 * half, 0, 0] });
  });
  await t.test('kea-st', async () => {
    const r = await runOneStorm({ server: 'kea-st', start: STARTERS['kea-st']!, clients: CLIENTS, inFlight: 64, run: 204, deadlineMs: 60_000, crossCheck: true, topology: 'local' });
    assertAllDone(r);
    assert.equal(r.delivery!.flagClear[Delivery.Unicast], 2 * half, 'Kea unicasts to yiaddr at chaddr too');
    assert.equal(r.delivery!.flagSet[Delivery.Other] + r.delivery!.flagClear[Delivery.Other], 0);
  });
});
