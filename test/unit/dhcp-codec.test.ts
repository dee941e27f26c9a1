// Unit and property tests of the pure DHCP codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodePacket, encodePacket, newPacket, DhcpDecodeError, DhcpMessageType, messageTypeName, parseMac, macToBytes,
  decodeUserClass, encodeUserClassRfc3004, encodePxeVendorOptions, PxeDiscoveryControl, MIN_PACKET_LENGTH, packetMac,
} from '../../netboot/dhcp/index.ts';
import { assertPacketRoundTrip } from '../fixtures/dhcp/round-trip.ts';
import { arbitraryPacket } from '../fixtures/dhcp/arbitrary-packet.ts';

function discover(): Buffer {
  const p = newPacket({ xid: 0x1234, chaddr: macToBytes('52:54:00:12:34:56'), flags: 0x8000 });
  p.options.messageType = DhcpMessageType.DISCOVER;
  return encodePacket(p);
}

test('message types print themselves', () => {
  assert.equal(messageTypeName(DhcpMessageType.DISCOVER), 'DHCPDISCOVER');
  assert.equal(messageTypeName(8), 'DHCPINFORM');
  assert.equal(messageTypeName(9), '<unknown DHCP message type 9>');
  assert.equal(messageTypeName(0), '<unknown DHCP message type 0>');
  assert.equal(messageTypeName(null), '<no DHCP message type>');
});

test('MAC notations normalise', () => {
  for (const m of ['aa:bb:cc:dd:ee:0f', 'AA-BB-CC-DD-EE-0F', 'aabb.ccdd.ee0f', 'AABBCCDDEE0F', ' aa:BB:cc:dd:ee:0f ']) {
    assert.equal(parseMac(m), 'aa:bb:cc:dd:ee:0f', m);
  }
  for (const m of ['aa:bb:cc:dd:ee', 'aa:bb-cc:dd:ee:ff', 'gg:bb:cc:dd:ee:ff', 'aabb.ccdd.eeff.0011', '']) assert.equal(parseMac(m), null, m);
});

test('encoded packets are padded to 300 bytes and end with option 255', () => {
  const b = discover();
  assert.equal(b.length, MIN_PACKET_LENGTH);
  assert.equal(b[240], 53);
  assert.equal(b[243], 255);
  assert.equal(packetMac(decodePacket(b)), '52:54:00:12:34:56');
});

test('decode errors are typed and name the offset', () => {
  const b = discover();
  const cases: [Buffer, number, RegExp][] = [
    [b.subarray(0, 239), 239, /shorter/],
    [Buffer.concat([Buffer.from([3]), b.subarray(1)]), 0, /op 3/],
    [(() => { const c = Buffer.from(b); c[2] = 17; return c; })(), 2, /hlen/],
    [(() => { const c = Buffer.from(b); c[236] = 0; return c; })(), 236, /cookie/],
    [(() => { const c = Buffer.from(b.subarray(0, 244)); c[243] = 12; return c; })(), 243, /no length byte/],
    [(() => { const c = Buffer.from(b.subarray(0, 246)); c[243] = 12; c[244] = 9; return c; })(), 243, /runs past/],
    [(() => { const c = Buffer.from(b); c[241] = 2; c[242] = 1; c[243] = 1; return c; })(), 240, /invalid length 2/],
  ];
  for (const [bytes, offset, message] of cases) {
    assert.throws(() => decodePacket(bytes), (err: unknown) => {
      assert.ok(err instanceof DhcpDecodeError);
      assert.equal(err.offset, offset);
      assert.match(err.message, message);
      return true;
    });
  }
});

test('options longer than 255 bytes are split (RFC 3396) and concatenated on decode', () => {
  const p = newPacket();
  p.options.messageType = DhcpMessageType.OFFER;
  const big = Buffer.alloc(600, 7);
  p.options.setRaw(200, big);
  const bytes = encodePacket(p);
  let count = 0;
  for (let i = 240; bytes[i] !== 255; i += 2 + bytes[i + 1]) if (bytes[i] === 200) count++;
  assert.equal(count, 3);
  assert.ok(decodePacket(bytes).options.getRaw(200)!.equals(big));
  assertPacketRoundTrip(p);
});

test('option overload (52): options in file and sname are read, in RFC 3396 order', () => {
  const b = Buffer.from(discover());
  // options field: 53, 52=3 (both), 200:"ab"; file: 200:"cd", 12 "host"; sname: 200:"ef"
  const opts = Buffer.from([53, 1, 1, 52, 1, 3, 200, 2, 0x61, 0x62, 255]);
  const packet = Buffer.alloc(240 + opts.length);
  b.copy(packet, 0, 0, 240);
  opts.copy(packet, 240);
  Buffer.from([200, 2, 0x63, 0x64, 12, 4, 0x68, 0x6f, 0x73, 0x74, 255]).copy(packet, 108);
  Buffer.from([200, 2, 0x65, 0x66]).copy(packet, 44); // no end option: region ends at the field's end
  const p = decodePacket(packet);
  assert.equal(p.options.getRaw(200)!.toString(), 'abcdef');
  assert.equal(p.options.hostname, 'host');
  assert.equal(p.file, '');
  assert.equal(p.sname, '');
  assert.equal(p.options.has(52), false);
  assertPacketRoundTrip(p);
});

test('user class: iPXE bare string and RFC 3004 form', () => {
  assert.deepEqual(decodeUserClass(Buffer.from('iPXE')), ['iPXE']);
  assert.deepEqual(decodeUserClass(encodeUserClassRfc3004(['iPXE', 'rack1'])), ['iPXE', 'rack1']);
  const p = newPacket();
  p.options.setRaw(77, encodeUserClassRfc3004(['iPXE']));
  assert.deepEqual(decodePacket(encodePacket(p)).options.userClasses, ['iPXE']);
});

test('option 43 PXE sub-options: discovery control', () => {
  const p = newPacket();
  p.options.vendorSpecific = encodePxeVendorOptions({ discoveryControl: PxeDiscoveryControl.USE_BOOT_FILE });
  const back = decodePacket(encodePacket(p)).options;
  assert.equal(back.pxeVendorOptions?.discoveryControl, 8);
  assert.equal(back.vendorSpecific!.toString('hex'), '060108ff');
  p.options.vendorSpecific = Buffer.from([6, 9]); // another vendor's bytes: kept raw, not PXE
  assert.equal(decodePacket(encodePacket(p)).options.pxeVendorOptions, null);
});

test('option 82 sub-options are decoded; truncated ones are a decode error', () => {
  const p = newPacket();
  p.options.setRaw(82, Buffer.from([1, 3, 0x65, 0x74, 0x68, 2, 2, 0xaa, 0xbb]));
  const r = decodePacket(encodePacket(p)).options.relayAgentInfo!;
  assert.equal(r.circuitId!.toString(), 'eth');
  assert.equal(r.remoteId!.toString('hex'), 'aabb');
  p.options.setRaw(82, Buffer.from([1, 5, 0x65]));
  assert.throws(() => decodePacket(encodePacket(p)), DhcpDecodeError);
});

test('unknown options keep their raw bytes through a round trip', () => {
  const p = newPacket();
  p.options.setRaw(175, Buffer.from('b105018086', 'hex'));
  p.options.setRaw(254, Buffer.alloc(0));
  const back = decodePacket(encodePacket(p)).options;
  assert.equal(back.getRaw(175)!.toString('hex'), 'b105018086');
  assert.equal(back.getRaw(254)!.length, 0);
});

test('property: generated packets round-trip (decode ∘ encode, stable re-encoding)', () => {
  fc.assert(fc.property(arbitraryPacket, (p) => { assertPacketRoundTrip(p); }), { numRuns: 2000 });
});
