// The pure parts of the benchmark harness: the storm's request encoder and reply reader (checked against
// RackSeed's DHCP codec), the same-segment generator's frames and how it classifies a reply's delivery, Kea's
// configuration per topology, the DHCP summary rows and the doc section writer that must keep other engineers'
// sections byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePacket, encodePacket, newPacket, DhcpMessageType } from '../../netboot/dhcp/index.ts';
import { decodeRelayedReply, encodeRelayedRequest, ipToU32, MSG_DISCOVER, MSG_REQUEST, stormMac, u32ToIp } from '../../bench/lib/dhcp-relay-wire.ts';
import { replaceSection } from '../../bench/lib/bench-doc.ts';
import { Delivery, deliveryOf, encodeLocalRequestFrame, ipv4HeaderChecksum, parseReplyFrame, REQUEST_PAYLOAD_AT } from '../../bench/lib/dhcp-local-wire.ts';
import { keaConfig } from '../../bench/lib/dhcp-servers.ts';
import { LOCAL_NET, RELAYED_NET } from '../../bench/lib/dhcp-topology.ts';
import { deliveryText, summaryRows } from '../../bench/dhcp.ts';
import type { DhcpRunResult } from '../../bench/lib/dhcp-bench-run.ts';

test('relayed DISCOVER and REQUEST decode with RackSeed codec as relayed, ≥ 300 bytes, with the right options', () => {
  const mac = stormMac(7, 0x012345);
  assert.equal(mac.toString('hex'), '025e07012345');
  const d = decodePacket(encodeRelayedRequest({ type: MSG_DISCOVER, xid: 0x07012345, mac, giaddr: ipToU32('10.211.0.1') }));
  assert.equal(d.op, 1);
  assert.equal(d.hops, 1);
  assert.equal(d.xid, 0x07012345);
  assert.equal(d.giaddr, '10.211.0.1');
  assert.equal(d.chaddr.subarray(0, 6).toString('hex'), '025e07012345');
  assert.equal(d.options.messageType, DhcpMessageType.DISCOVER);
  assert.deepEqual(d.options.parameterRequestList, [1, 3, 6, 51]);
  assert.equal(d.options.clientId?.toString('hex'), '01025e07012345');
  const raw = encodeRelayedRequest({ type: MSG_REQUEST, xid: 9, mac, giaddr: ipToU32('10.211.0.1'), requestedIp: ipToU32('10.211.1.7'), serverId: ipToU32('10.210.0.1') });
  assert.ok(raw.length >= 300);
  const r = decodePacket(raw);
  assert.equal(r.options.messageType, DhcpMessageType.REQUEST);
  assert.equal(r.options.requestedIp, '10.211.1.7');
  assert.equal(r.options.serverId, '10.210.0.1');
  assert.throws(() => encodeRelayedRequest({ type: MSG_REQUEST, xid: 1, mac, giaddr: 1 }), RangeError);
});

test('the storm reads replies encoded by RackSeed codec, and rejects what is not a BOOTREPLY', () => {
  const p = newPacket({ op: 2, xid: 0x07000001, yiaddr: '10.211.1.9', giaddr: '10.211.0.1', chaddr: stormMac(7, 1) });
  p.options.setRaw(53, Uint8Array.of(DhcpMessageType.ACK)).setRaw(54, Uint8Array.of(10, 210, 0, 1)).setRaw(51, Uint8Array.of(0, 0, 14, 16));
  const rep = decodeRelayedReply(encodePacket(p));
  assert.deepEqual(rep, { xid: 0x07000001, yiaddr: ipToU32('10.211.1.9'), type: DhcpMessageType.ACK, serverId: ipToU32('10.210.0.1'), macHex: '025e07000001' });
  const request = encodeRelayedRequest({ type: MSG_DISCOVER, xid: 1, mac: stormMac(0, 0), giaddr: 1 });
  assert.equal(decodeRelayedReply(request), null, 'a BOOTREQUEST is not a reply');
  assert.equal(decodeRelayedReply(Buffer.alloc(100)), null, 'too short');
  const truncated = Buffer.from(encodePacket(p).subarray(0, 243));
  truncated[241] = 60; // option 53 (at 240) claims 60 bytes; only 1 is there
  assert.equal(decodeRelayedReply(truncated), null);
  assert.equal(u32ToIp(ipToU32('10.211.255.254')), '10.211.255.254');
  assert.throws(() => ipToU32('10.211.256.1'), RangeError);
});

test('replaceSection rewrites only its marked block and keeps every other byte', () => {
  const doc = '# B\n\n## DHCP\n\n<!-- bench:dhcp:start -->\nold\n<!-- bench:dhcp:end -->\nnotes kept\n\n## TFTP\n\ntheirs\n';
  const next = replaceSection(doc, 'dhcp', '## DHCP', 'new figures');
  assert.equal(next, '# B\n\n## DHCP\n\n<!-- bench:dhcp:start -->\nnew figures\n<!-- bench:dhcp:end -->\nnotes kept\n\n## TFTP\n\ntheirs\n');
  const added = replaceSection(next, 'summary:x', '### x', 'rows', '## DHCP');
  assert.ok(added.indexOf('### x\n\n<!-- bench:summary:x:start -->\nrows\n<!-- bench:summary:x:end -->') < added.indexOf('## DHCP'));
  assert.ok(added.endsWith('## TFTP\n\ntheirs\n'));
  const appended = replaceSection('# B\n', 'boot', '## Boot', 'x');
  assert.equal(appended, '# B\n\n## Boot\n\n<!-- bench:boot:start -->\nx\n<!-- bench:boot:end -->\n');
});

test('a same-segment request is a broadcast frame from chaddr, 0.0.0.0:68 → 255.255.255.255:67, that RackSeed decodes as local', () => {
  const mac = stormMac(7, 0x000102);
  for (const broadcast of [true, false]) {
    const f = encodeLocalRequestFrame({ type: MSG_REQUEST, xid: 0x07000102, mac, requestedIp: ipToU32('10.211.1.7'), serverId: ipToU32('10.211.0.1') }, broadcast);
    assert.equal(f.subarray(0, 6).toString('hex'), 'ffffffffffff', 'Ethernet broadcast');
    assert.equal(f.subarray(6, 12).toString('hex'), '025e07000102', 'from the client\'s own MAC');
    assert.equal(f.readUInt16BE(12), 0x0800);
    assert.equal(ipv4HeaderChecksum(f, 14), 0, 'the IPv4 header sums to 0xffff');
    assert.equal(f.readUInt32BE(14 + 12), 0, 'source 0.0.0.0');
    assert.equal(f.readUInt32BE(14 + 16), 0xffffffff, 'to 255.255.255.255');
    assert.deepEqual([f.readUInt16BE(34), f.readUInt16BE(36)], [68, 67]);
    assert.equal(f.readUInt16BE(38), f.length - 34, 'UDP length');
    const d = decodePacket(f.subarray(REQUEST_PAYLOAD_AT));
    assert.equal(d.hops, 0);
    assert.equal(d.giaddr, '0.0.0.0');
    assert.equal(d.flags, broadcast ? 0x8000 : 0);
    assert.equal(d.options.requestedIp, '10.211.1.7');
    assert.equal(d.options.serverId, '10.211.0.1');
  }
});

test('the same-segment reader takes any reply frame to port 68 and names how it was delivered', () => {
  const mac = stormMac(7, 5);
  const yiaddr = ipToU32('10.211.1.9');
  const p = newPacket({ op: 2, xid: 0x07000005, yiaddr: '10.211.1.9', chaddr: mac });
  p.options.setRaw(53, Uint8Array.of(DhcpMessageType.OFFER)).setRaw(54, Uint8Array.of(10, 211, 0, 1));
  const frame = (dstMac: string, dstIp: number): Buffer => {
    const f = encodeLocalRequestFrame({ type: MSG_DISCOVER, xid: 1, mac }, false);
    const dhcp = encodePacket(p);
    const out = Buffer.concat([f.subarray(0, REQUEST_PAYLOAD_AT), dhcp]);
    Buffer.from(dstMac, 'hex').copy(out, 0);
    out.writeUInt32BE(dstIp, 30);
    out.writeUInt16BE(67, 34); out.writeUInt16BE(68, 36); out.writeUInt16BE(8 + dhcp.length, 38);
    out.writeUInt16BE(20 + 8 + dhcp.length, 16);
    return out;
  };
  const kind = (f: Buffer): number => { const r = parseReplyFrame(f, f.length)!; assert.ok(r); return deliveryOf(f, r, mac, yiaddr, ipToU32('10.211.255.255')); };
  assert.equal(kind(frame('ffffffffffff', 0xffffffff)), Delivery.Broadcast);
  assert.equal(kind(frame('ffffffffffff', ipToU32('10.211.255.255'))), Delivery.Broadcast, 'the subnet broadcast counts too');
  assert.equal(kind(frame(mac.toString('hex'), yiaddr)), Delivery.Unicast);
  assert.equal(kind(frame(mac.toString('hex'), 0xffffffff)), Delivery.BroadcastToMac, "Kea's answer to the broadcast flag");
  assert.equal(kind(frame('ffffffffffff', yiaddr)), Delivery.Other);
  assert.equal(kind(frame('025e07000006', yiaddr)), Delivery.Other, 'another client\'s MAC');
  const ok = frame(mac.toString('hex'), yiaddr);
  const r = parseReplyFrame(ok, ok.length)!;
  assert.deepEqual(decodeRelayedReply(ok.subarray(r.payloadAt, r.payloadEnd)), { xid: 0x07000005, yiaddr, type: DhcpMessageType.OFFER, serverId: ipToU32('10.211.0.1'), macHex: '025e07000005' });
  const toServer = Buffer.from(ok); toServer.writeUInt16BE(67, 36);
  assert.equal(parseReplyFrame(toServer, toServer.length), null, 'not to port 68');
  const fragment = Buffer.from(ok); fragment.writeUInt16BE(0x2000, 20);
  assert.equal(parseReplyFrame(fragment, fragment.length), null, 'a fragment');
  assert.equal(parseReplyFrame(ok, 30), null, 'cut short');
});

test("Kea's configuration: raw sockets on the interface for the same segment, UDP on the address when relayed; threading as named", () => {
  const local = keaConfig(LOCAL_NET, 'st', '/x/leases.csv', null) as { Dhcp4: Record<string, any> };
  assert.deepEqual(local.Dhcp4['interfaces-config'], { interfaces: ['srv0'], 'dhcp-socket-type': 'raw' });
  assert.deepEqual(local.Dhcp4['multi-threading'], { 'enable-multi-threading': false });
  assert.equal(local.Dhcp4.subnet4[0].subnet, '10.211.0.0/16');
  assert.deepEqual(local.Dhcp4.subnet4[0]['option-data'], [{ name: 'routers', data: '10.211.0.1' }]);
  assert.equal(local.Dhcp4.loggers[0].severity, 'WARN');
  const mt = keaConfig(LOCAL_NET, 'mt64', '/x/leases.csv', '/x/kea.log') as { Dhcp4: Record<string, any> };
  assert.deepEqual(mt.Dhcp4['multi-threading'], { 'enable-multi-threading': true, 'thread-pool-size': 2, 'packet-queue-size': 64 });
  assert.equal(mt.Dhcp4.loggers[0].severity, 'INFO');
  const relayed = keaConfig(RELAYED_NET, 'mt256', '/x/leases.csv', null) as { Dhcp4: Record<string, any> };
  assert.deepEqual(relayed.Dhcp4['interfaces-config'], { interfaces: ['srv0/10.210.0.1'], 'dhcp-socket-type': 'udp' });
  assert.equal(relayed.Dhcp4['multi-threading']['packet-queue-size'], 256);
});

test('DHCP summary rows: the same-segment goal is on `rackseed serve` itself against single-threaded Kea at WARN, the harness rows carry none; leases count every run', () => {
  const r = (server: DhcpRunResult['server'], dps: number, p99: number, extra: Partial<DhcpRunResult> = {}): DhcpRunResult => ({
    server, topology: 'local', describe: '', clients: 10000, completed: 10000, naks: 0, timeouts: 0, unfinished: 0, retransmits: 0, mismatches: 0, malformed: 0,
    crossCheckFailures: 0, durationMs: 1000, doraPerSec: dps, latencyMs: { p50: 1, p90: 2, p99, max: 9 }, readyMs: 1, clientCpuMs: 1,
    delivery: { flagSet: [5000, 0, 0, 0], flagClear: [0, 5000, 0, 0] }, durable: 10000, lost: 0, duplicateAddresses: 0, outOfPool: 0, serverCpuMs: 900, ...extra,
  });
  const runs = [r('rackseed-serve', 12000, 9), r('rackseed-daemon', 13000, 10), r('kea-st', 10000, 8), r('kea-mt', 15000, 7)];
  const all = [[runs[0], r('rackseed-serve', 11000, 11, { lost: 2, durable: 9998 })], [runs[1]], [runs[2]], [runs[3]]];
  const rows = summaryRows('local', runs, [10000], all);
  const st = rows.find((x) => x.case === 'same segment, 10,000 clients, DORA/s (`rackseed serve` itself) vs kea single-threaded, logging at WARN')!;
  assert.equal(st.ratio, 1.2);
  assert.equal(st.goal, '≥ 1.0×');
  const harness = rows.find((x) => x.case === 'same segment, 10,000 clients, DORA/s (with the daemon\'s Core and per-DORA history, in a harness) vs kea single-threaded, logging at WARN')!;
  assert.equal(harness.ratio, 1.3);
  assert.equal(harness.goal, undefined, 'the harness is a breakdown, without the goal');
  assert.equal(rows.find((x) => x.case.includes('`rackseed serve` itself) vs kea 2 threads, logging at WARN'))?.goal, undefined, 'multi-threaded Kea is shown without a goal');
  const p99 = rows.find((x) => x.case.includes('p99') && x.case.includes('`rackseed serve` itself'))!;
  assert.equal(p99.rackseed, '9.0', 'the (lower) median of the runs: 9 and 11');
  assert.equal(p99.goal, 'RackSeed p99 ≤ 20 ms');
  assert.equal(rows.find((x) => x.case.includes('p99') && x.case.includes('in a harness'))?.goal, undefined);
  const leases = rows.find((x) => x.case.includes('leases durable') && x.case.includes('`rackseed serve` itself'))!;
  assert.equal(leases.rackseed, '19,998/20,000 durable, 2 lost, 0 duplicate (2 runs)', 'a loss in any run shows');
  assert.equal(deliveryText(runs[0]), 'flag set: 5,000 broadcast; flag clear: 5,000 unicast to yiaddr at chaddr');
  assert.equal(deliveryText({ delivery: null }), '–');
});
