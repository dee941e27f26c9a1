// The pure parts of the benchmark harness: the storm's request encoder and reply reader (checked against
// RackSeed's DHCP codec) and the doc section writer that must keep other engineers' sections byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePacket, encodePacket, newPacket, DhcpMessageType } from '../../src/netboot/dhcp/index.ts';
import { decodeRelayedReply, encodeRelayedRequest, ipToU32, MSG_DISCOVER, MSG_REQUEST, stormMac, u32ToIp } from '../../bench/lib/dhcp-relay-wire.ts';
import { replaceSection } from '../../bench/lib/bench-doc.ts';

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
