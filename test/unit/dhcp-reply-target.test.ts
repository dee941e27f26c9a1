// Where a DHCP reply goes (RFC 2131 §4.1; netboot/dhcp/server/reply-target.ts) and the IPv4/UDP headers of a
// link-layer reply (netboot/net/link-layer.ts). Real clients taking these replies: test/interop/dhcp-clients.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPacket, FLAG_BROADCAST, type DhcpPacket } from '../../netboot/dhcp/index.ts';
import { describeTarget, replyTarget, type ReplyPorts } from '../../netboot/dhcp/server/reply-target.ts';
import { writeIpUdpHeaders } from '../../netboot/net/link-layer.ts';

const PORTS: ReplyPorts = { server: 67, relay: 67, client: 68, broadcastAddress: '255.255.255.255' };
const MAC = Buffer.from('525400123456', 'hex');
const req = (fields: Partial<DhcpPacket>): DhcpPacket => newPacket({ chaddr: MAC, ...fields });
const BCAST = { ip: '255.255.255.255', mac: Uint8Array.of(255, 255, 255, 255, 255, 255) };

test('relayed, renewing and NAK replies keep their UDP destinations; only address-less local clients get a link target', () => {
  assert.deepEqual(replyTarget(req({ giaddr: '10.1.0.1' }), false, PORTS, '10.1.0.9'), { address: '10.1.0.1', port: 67, link: null }, 'to the relay on 67');
  assert.deepEqual(replyTarget(req({ giaddr: '10.1.0.1' }), true, PORTS), { address: '10.1.0.1', port: 67, link: null }, 'a relayed NAK goes to the relay');
  assert.deepEqual(replyTarget(req({ ciaddr: '10.0.0.7' }), false, PORTS, '10.0.0.7'), { address: '10.0.0.7', port: 68, link: null }, 'RENEWING: unicast to ciaddr');
  assert.deepEqual({ ...replyTarget(req({ ciaddr: '10.0.0.7' }), true, PORTS) }, { address: '255.255.255.255', port: 68, link: BCAST }, 'a NAK is broadcast when giaddr is 0');
});

test('a client without an address: broadcast when it sets the flag, else unicast to yiaddr at chaddr (RFC 2131 §4.1)', () => {
  const flagged = replyTarget(req({ flags: FLAG_BROADCAST }), false, PORTS, '10.0.0.9');
  assert.deepEqual({ ...flagged, link: { ...flagged.link! } }, { address: '255.255.255.255', port: 68, link: BCAST });
  const plain = replyTarget(req({}), false, PORTS, '10.0.0.9');
  assert.equal(plain.address, '255.255.255.255', 'the UDP fallback is the broadcast');
  assert.equal(plain.link?.ip, '10.0.0.9');
  assert.equal(Buffer.from(plain.link!.mac).toString('hex'), '525400123456');
  assert.equal(describeTarget(plain), '10.0.0.9:68 at 52:54:00:12:34:56');
  assert.equal(describeTarget({ address: '10.1.0.1', port: 67, link: null }), '10.1.0.1:67');
});

test('no unicast without an address to give or an Ethernet chaddr to send it to', () => {
  assert.deepEqual(replyTarget(req({}), false, PORTS).link, BCAST, 'proxyDHCP: yiaddr stays 0.0.0.0');
  assert.deepEqual(replyTarget(req({ htype: 6 }), false, PORTS, '10.0.0.9').link, BCAST, 'not Ethernet');
  assert.deepEqual(replyTarget(req({ hlen: 8 }), false, PORTS, '10.0.0.9').link, BCAST, 'not a 6-byte address');
  assert.deepEqual(replyTarget(newPacket({}), false, PORTS, '10.0.0.9').link, BCAST, 'chaddr all zeros');
  assert.deepEqual(replyTarget(req({ chaddr: Buffer.from('010000000001', 'hex') }), false, PORTS, '10.0.0.9').link, BCAST, 'a group address');
});

/** RFC 1071, written independently of link-layer.ts: 32-bit accumulation of big-endian words, then fold. */
function onesComplementSum(...parts: Buffer[]): number {
  const all = Buffer.concat(parts);
  let s = 0;
  for (let i = 0; i + 1 < all.length; i += 2) s += all.readUInt16BE(i);
  if (all.length % 2) s += all[all.length - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return s;
}

test('link-layer frames carry a valid IPv4 header checksum and UDP checksum over the pseudo-header', () => {
  for (const payloadLength of [300, 301, 548]) {
    const frame = Buffer.alloc(28 + payloadLength);
    for (let i = 0; i < payloadLength; i++) frame[28 + i] = (i * 37 + payloadLength) & 255;
    const src = 0x0ad30001, dst = 0x0ad30102; // 10.211.0.1 → 10.211.1.2
    writeIpUdpHeaders(frame, 0, payloadLength, src, dst, 67, 68, 0x1234);
    assert.equal(frame.readUInt16BE(2), 28 + payloadLength, 'total length');
    assert.equal(frame.readUInt32BE(12), src);
    assert.equal(frame.readUInt32BE(16), dst);
    assert.equal(frame[9], 17);
    assert.equal(onesComplementSum(frame.subarray(0, 20)), 0xffff, 'IPv4 header checksum');
    const pseudo = Buffer.alloc(12);
    pseudo.writeUInt32BE(src, 0); pseudo.writeUInt32BE(dst, 4); pseudo[9] = 17; pseudo.writeUInt16BE(8 + payloadLength, 10);
    assert.equal(frame.readUInt16BE(22), 68);
    assert.notEqual(frame.readUInt16BE(26), 0, 'a checksum is always sent');
    assert.equal(onesComplementSum(pseudo, frame.subarray(20)), 0xffff, `UDP checksum (${payloadLength} bytes)`);
    // the same frame written further into a batch's memory (send-batch.ts) is byte for byte the same
    const batch = Buffer.alloc(100 + 28 + payloadLength, 0xee);
    frame.copy(batch, 100 + 28, 28);
    writeIpUdpHeaders(batch, 100, payloadLength, src, dst, 67, 68, 0x1234);
    assert.deepEqual(batch.subarray(100), frame);
    assert.ok(batch.subarray(0, 100).every((x) => x === 0xee), 'nothing before the frame is touched');
  }
});
