// Cipher suites 17 and 3 against known answers from an independent implementation (Debian python3-pyghmi;
// test/fixtures/ipmi/make-pyghmi-vectors.py made pyghmi-vectors.json — see its doc string).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CIPHER_SUITES } from '../../bmc/ipmi/cipher-suites.ts';
import { deriveKeys, ipmiAesPad, rakp2AuthCode, rakp3AuthCode, rakp4Icv, sessionIntegrityKey, type RakpContext } from '../../bmc/ipmi/crypto.ts';
import { encodeOpenSessionRequest, encodeRakp1, encodeRakp3 } from '../../bmc/ipmi/open-session.ts';
import { decodeRmcpPlus, encodeRmcpPlus, PayloadType } from '../../bmc/ipmi/rmcpplus.ts';
import { encodeIpmiRequest } from '../../bmc/ipmi/ipmi-message.ts';
import { IpmiDecodeError } from '../../bmc/ipmi/errors.ts';

const V = JSON.parse(readFileSync(new URL('../fixtures/ipmi/pyghmi-vectors.json', import.meta.url), 'utf8'));
const hex = (s: string) => Buffer.from(s, 'hex');

for (const v of V.suites) {
  const suite = CIPHER_SUITES[v.suite];
  const i = v.inputs;
  const ctx: RakpContext = {
    suite, password: Buffer.from(i.password), kg: null,
    consoleSessionId: i.consoleSessionId, managedSessionId: i.managedSessionId,
    consoleRandom: hex(i.consoleRandom), bmcRandom: hex(i.bmcRandom), bmcGuid: hex(i.bmcGuid),
    role: i.role, username: Buffer.from(i.user),
  };
  const setup = (payloadType: PayloadType, payload: Buffer) => encodeRmcpPlus({ payloadType, sessionId: 0, sequence: 0, payload }, null).toString('hex');

  test(`suite ${v.suite}: Open Session Request and RAKP 1 are byte-identical to pyghmi's`, () => {
    assert.equal(setup(PayloadType.OpenSessionRequest, encodeOpenSessionRequest({ tag: 1, maxPrivilege: 0, consoleSessionId: i.consoleSessionId, suite })), v.openSessionRequestDatagram);
    assert.equal(setup(PayloadType.Rakp1, encodeRakp1({ tag: 2, managedSessionId: i.managedSessionId, consoleRandom: ctx.consoleRandom, role: i.role, username: ctx.username })), v.rakp1Datagram);
  });

  test(`suite ${v.suite}: RAKP auth codes, SIK, K1, K2 and AES key equal pyghmi's`, () => {
    assert.equal(rakp2AuthCode(ctx).toString('hex'), v.rakp2AuthCode);
    const sik = sessionIntegrityKey(ctx);
    assert.equal(sik.toString('hex'), v.sik);
    const keys = deriveKeys(suite.hash!, sik);
    assert.equal(keys.k1.toString('hex'), v.k1);
    assert.equal(keys.k2.toString('hex'), v.k2);
    assert.equal(keys.aesKey.toString('hex'), v.aesKey);
    assert.equal(setup(PayloadType.Rakp3, encodeRakp3({ tag: 3, status: 0, managedSessionId: i.managedSessionId, authCode: rakp3AuthCode(ctx) })), v.rakp3Datagram);
    assert.equal(rakp4Icv(ctx, sik).toString('hex'), v.rakp4Icv);
  });

  test(`suite ${v.suite}: an encrypted, authenticated IPMI packet is byte-identical and decodes; any flipped byte is refused`, () => {
    const keys = deriveKeys(suite.hash!, sessionIntegrityKey(ctx));
    const sec = { suite, k1: keys.k1, aesKey: keys.aesKey };
    const payload = encodeIpmiRequest({ netFn: 6, cmd: 1, rqSeq: 5 });
    assert.equal(payload.toString('hex'), v.ipmiPayload);
    const dgram = encodeRmcpPlus({ payloadType: PayloadType.Ipmi, sessionId: i.managedSessionId, sequence: i.sequence, payload }, sec, hex(i.iv));
    assert.equal(dgram.toString('hex'), v.encryptedDatagram);
    const back = decodeRmcpPlus(hex(v.encryptedDatagram), sec);
    assert.equal(back.payload.toString('hex'), v.ipmiPayload);
    assert.equal(back.encrypted && back.authenticated, true);
    const good = hex(v.encryptedDatagram);
    for (let at = 4; at < good.length; at++) {
      const bad = Buffer.from(good);
      bad[at] ^= 0x01;
      assert.throws(() => decodeRmcpPlus(bad, sec), IpmiDecodeError, `flipped byte ${at} accepted`);
    }
  });
}

test('IPMI AES padding (1,2,…,n then n) equals pyghmi _aespad for 0..33 bytes', () => {
  for (const [n, pad] of Object.entries(V.aesPad as Record<string, string>)) {
    assert.equal(ipmiAesPad(Number(n)).toString('hex'), pad, `length ${n}`);
  }
});
