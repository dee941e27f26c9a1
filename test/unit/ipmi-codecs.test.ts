// Round trips and decoding of the pure IPMI codecs (no sockets): RMCP/ASF, IPMI messages, session setup
// payloads, command replies, completion codes, cipher suite policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAsfPong, encodeAsfPing, decodeRmcpHeader } from '../../bmc/ipmi/rmcp.ts';
import { decodeIpmiRequest, decodeIpmiResponse, encodeIpmiRequest, ipmiChecksum } from '../../bmc/ipmi/ipmi-message.ts';
import { decodeIpmi15, encodeSessionless15 } from '../../bmc/ipmi/ipmi15-session.ts';
import { decodeOpenSessionResponse, decodeRakp2, decodeRakp4, rmcpStatusName } from '../../bmc/ipmi/open-session.ts';
import {
  decodeChannelAuthCapabilities, decodeDeviceId, formatGuid, guidHex, parseCipherSuiteRecords, uuidToGuidBytes,
} from '../../bmc/ipmi/app-commands.ts';
import { decodeBootFlags, decodeChassisStatus, setBootFlagsRequest } from '../../bmc/ipmi/chassis-commands.ts';
import { completionCodeName } from '../../bmc/ipmi/completion-codes.ts';
import { CIPHER_SUITES, insecureReason } from '../../bmc/ipmi/cipher-suites.ts';
import { decodeRmcpPlus, encodeRmcpPlus, PayloadType, payloadTypeName } from '../../bmc/ipmi/rmcpplus.ts';
import { aesDecrypt, aesEncrypt, ipmiAesPad } from '../../bmc/ipmi/crypto.ts';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { IpmiDecodeError } from '../../bmc/ipmi/errors.ts';
import { formatMac, decodeLanConfig } from '../../bmc/ipmi/lan-config.ts';

test('ASF presence ping has the DSP0136 layout; a pong decodes', () => {
  assert.equal(encodeAsfPing(7).toString('hex'), '0600ff06000011be80070000');
  const pong = Buffer.from('0600ff06000011be40070010000011be00000000810000000000000000', 'hex');
  const p = decodeAsfPong(pong);
  assert.deepEqual([p.tag, p.ipmiSupported, p.asfVersion, p.oemIana], [7, true, 1, 4542]);
  assert.throws(() => decodeAsfPong(pong.subarray(0, 20)), (e: unknown) => e instanceof IpmiDecodeError && e.offset === 12);
  assert.throws(() => decodeRmcpHeader(Buffer.from([5, 0, 0xff, 6])), IpmiDecodeError);
});

test('IPMI message checksums and round trip', () => {
  const req = encodeIpmiRequest({ netFn: 6, cmd: 0x38, rqSeq: 9, data: Buffer.from([0x8e, 4]) });
  assert.equal(ipmiChecksum(req, 0, 3), 0);
  assert.equal(ipmiChecksum(req, 3, req.length), 0);
  assert.deepEqual(decodeIpmiRequest(req), { netFn: 6, cmd: 0x38, rqSeq: 9, data: Buffer.from([0x8e, 4]) });
  const resp = Buffer.from([0x81, 0x1c, 0, 0x20, 9 << 2, 0x38, 0x00, 0x01, 0]);
  resp[2] = ipmiChecksum(resp, 0, 2);
  resp[8] = ipmiChecksum(resp, 3, 8);
  const r = decodeIpmiResponse(resp);
  assert.deepEqual([r.netFn, r.cmd, r.rqSeq, r.completionCode, [...r.data]], [7, 0x38, 9, 0, [1]]);
  resp[7] ^= 1;
  assert.throws(() => decodeIpmiResponse(resp), (e: unknown) => e instanceof IpmiDecodeError && e.offset === 8);
});

test('session-less IPMI 1.5 wrapper round trip', () => {
  const msg = encodeIpmiRequest({ netFn: 6, cmd: 1, rqSeq: 0 });
  const d = decodeIpmi15(encodeSessionless15(msg));
  assert.deepEqual([d.authType, d.sessionId, d.sequence], [0, 0, 0]);
  assert.deepEqual(d.message, msg);
});

test('RMCP+ unauthenticated round trip; authenticated session refuses cleartext', () => {
  const dg = encodeRmcpPlus({ payloadType: PayloadType.Rakp1, sessionId: 0, sequence: 0, payload: Buffer.from('abc') }, null);
  const p = decodeRmcpPlus(dg, null);
  assert.equal(payloadTypeName(p.payloadType), 'Rakp1');
  assert.equal(p.payload.toString(), 'abc');
  assert.equal(payloadTypeName(0x2a), '<unknown payload type 0x2a>');
  const sec = { suite: CIPHER_SUITES[3], k1: Buffer.alloc(20, 1), aesKey: Buffer.alloc(16, 2) };
  const clear = encodeRmcpPlus({ payloadType: PayloadType.Ipmi, sessionId: 5, sequence: 1, payload: Buffer.from('abc') }, null);
  assert.throws(() => decodeRmcpPlus(clear, sec), /not authenticated/);
  const signed = encodeRmcpPlus({ payloadType: PayloadType.Ipmi, sessionId: 5, sequence: 1, payload: Buffer.from('abc') }, sec, Buffer.alloc(16));
  assert.equal(decodeRmcpPlus(signed, sec).payload.toString(), 'abc');
  assert.throws(() => decodeRmcpPlus(signed, { ...sec, k1: Buffer.alloc(20, 3) }), /bad auth code/);
});

test('AES-CBC with IPMI padding: every length round-trips; a bad pad is a decode error', () => {
  const key = Buffer.alloc(16, 7);
  const iv = Buffer.alloc(16, 9);
  for (let n = 0; n < 40; n++) {
    const plain = Buffer.alloc(n, n);
    const enc = aesEncrypt(key, iv, plain);
    assert.equal((enc.length - 16) % 16, 0);
    assert.deepEqual(aesDecrypt(key, enc), plain);
  }
  assert.throws(() => aesDecrypt(key, Buffer.alloc(33)), IpmiDecodeError);
});

test('AES-CBC on one reused ECB cipher per key is exactly a new AES-128-CBC cipher per packet (OpenSSL\'s), across keys, IVs and lengths', () => {
  // reference: what aesEncrypt did before (one createCipheriv('aes-128-cbc') per packet)
  const ref = (key: Buffer, iv: Buffer, plain: Buffer): Buffer => {
    const c = createCipheriv('aes-128-cbc', key, iv);
    c.setAutoPadding(false);
    return Buffer.concat([iv, c.update(Buffer.concat([plain, ipmiAesPad(plain.length)])), c.final()]);
  };
  const keys = [randomBytes(16), randomBytes(16), randomBytes(16)];
  for (let n = 0; n < 600; n++) {
    const key = keys[n % 3]!; // interleaved: each key's cipher objects are used between the others'
    const iv = randomBytes(16);
    const plain = randomBytes(n % 97);
    const enc = aesEncrypt(key, iv, plain);
    assert.deepEqual(enc, ref(key, iv, plain), `length ${plain.length}`);
    assert.deepEqual(aesDecrypt(key, enc), plain);
    const d = createDecipheriv('aes-128-cbc', key, iv);
    d.setAutoPadding(false);
    assert.deepEqual(Buffer.concat([d.update(enc.subarray(16)), d.final()]).subarray(0, plain.length), plain, 'OpenSSL\'s CBC decrypts ours');
  }
  // a wrong IV length is refused (the old per-packet CBC cipher refused it too), never padded from memory
  assert.throws(() => aesEncrypt(keys[0]!, Buffer.alloc(8), Buffer.from('x')), /16-byte IV/);
  assert.throws(() => aesEncrypt(keys[0]!, Buffer.alloc(20), Buffer.from('x')), /16-byte IV/);
  // a key changed in place gets new cipher objects (the cache is keyed by the key's Buffer)
  const k = Buffer.from(keys[1]!);
  const iv0 = randomBytes(16);
  aesEncrypt(k, iv0, Buffer.from('before'));
  k.set(keys[2]!);
  assert.deepEqual(aesEncrypt(k, iv0, Buffer.from('after')), ref(keys[2]!, iv0, Buffer.from('after')));
  // a decode error on one packet leaves the key's cipher usable for the next
  assert.throws(() => aesDecrypt(keys[0]!, Buffer.concat([randomBytes(16), Buffer.alloc(16, 0x33)])), IpmiDecodeError);
  const iv = randomBytes(16);
  assert.deepEqual(aesDecrypt(keys[0]!, aesEncrypt(keys[0]!, iv, Buffer.from('after'))), Buffer.from('after'));
});

test('Open Session / RAKP replies: success and error shapes', () => {
  const err = decodeOpenSessionResponse(Buffer.from([1, 0x04, 0, 0, 1, 0, 0, 0]));
  assert.equal(err.status, 4);
  assert.equal(rmcpStatusName(err.status), 'InvalidAuthenticationAlgorithm');
  assert.equal(rmcpStatusName(0x7f), '<unknown RMCP+ status 0x7f>');
  assert.throws(() => decodeOpenSessionResponse(Buffer.from([1, 0, 0, 0])), IpmiDecodeError);
  assert.equal(decodeRakp2(Buffer.from([2, 0x0d])).status, 0x0d);
  assert.throws(() => decodeRakp2(Buffer.from([2, 0, 0, 0, 1, 2, 3, 4])), IpmiDecodeError);
  assert.equal(decodeRakp4(Buffer.from([3, 0, 0, 0, 1, 0, 0, 0, 9, 9])).icv.length, 2);
});

test('Get Device ID: ipmi_sim reply decodes like ipmitool prints it', () => {
  const d = decodeDeviceId(Buffer.from('0023090802 9f 911200 020f 00000000'.replace(/ /g, ''), 'hex'));
  assert.deepEqual([d.deviceId, d.deviceRevision, d.firmwareRevision, d.ipmiVersion, d.manufacturerId, d.manufacturerName, d.productId],
    [0, 3, '9.08', '2.0', 4753, 'MontaVista Software', 0x0f02]);
  assert.throws(() => decodeDeviceId(Buffer.alloc(10)), IpmiDecodeError);
});

test('GUID: SMBIOS order (ipmitool mc guid smbios), raw hex (ipmitool mc guid), inverse', () => {
  const wire = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  assert.equal(formatGuid(wire), '33221100-5544-7766-8899-aabbccddeeff');
  assert.equal(guidHex(wire), '00112233445566778899AABBCCDDEEFF');
  assert.deepEqual(uuidToGuidBytes('33221100-5544-7766-8899-aabbccddeeff'), wire);
});

test('channel auth capabilities, cipher suite records, chassis status, boot flags, LAN MAC', () => {
  const c = decodeChannelAuthCapabilities(Buffer.from([1, 0x97, 0x04, 0x03, 0, 0, 0, 0]));
  assert.deepEqual([c.channel, c.authTypes, c.ipmi20, c.ipmi15, c.nonNullUsers], [1, ['none', 'md2', 'md5', 'password'], true, true, true]);
  assert.deepEqual(parseCipherSuiteRecords(Buffer.from([0xc0, 3, 0x01, 0x41, 0x81, 0xc0, 17, 0x03, 0x44, 0x81])), [3, 17]);
  assert.throws(() => parseCipherSuiteRecords(Buffer.from([0xc0])), IpmiDecodeError);
  const st = decodeChassisStatus(Buffer.from([0x41, 0, 0]));
  assert.deepEqual([st.powerOn, st.restorePolicy], [true, 'always-on']);
  const req = setBootFlagsRequest({ device: 'pxe', uefi: true, persistent: true });
  assert.deepEqual([...req.data], [5, 0xe0, 0x04, 0, 0, 0]);
  const f = decodeBootFlags(Buffer.from([1, 5, 0xe0, 0x18, 0, 0, 0]));
  assert.deepEqual(f, { valid: true, persistent: true, uefi: true, device: 'bios' });
  assert.equal(formatMac(decodeLanConfig(Buffer.from([0x11, 0x52, 0x54, 0, 1, 2, 3]), 5)), '52:54:00:01:02:03');
});

test('completion codes and insecure suites have readable names', () => {
  assert.equal(completionCodeName(0xd4), '0xd4 (insufficient privilege level)');
  assert.equal(completionCodeName(0x81), '0x81 (command-specific error)');
  assert.match(insecureReason(0)!, /no authentication/);
  assert.equal(insecureReason(3), null);
  assert.equal(insecureReason(17), null);
  assert.match(insecureReason(1)!, /not implemented/);
});
