// RMCP+ (IPMI 2.0) session packets (§13.6, Table 13-8): auth type 6, payload type with encrypted/authenticated
// bits, session id, session sequence, payload length, payload, then — when authenticated — integrity pad, pad
// length, next header (7) and the auth code. Pure: keys and the IV come from the caller.
import { encodeRmcpHeader, decodeRmcpHeader, RmcpClass } from './rmcp.ts';
import { aesDecrypt, aesEncrypt, packetAuthCode, sameCode } from './crypto.ts';
import { ConfAlg, IntegrityAlg, type CipherSuite } from './cipher-suites.ts';
import { IpmiDecodeError, need } from './errors.ts';
import { AuthType } from './ipmi15-session.ts';

export enum PayloadType {
  Ipmi = 0x00, Sol = 0x01, Oem = 0x02,
  OpenSessionRequest = 0x10, OpenSessionResponse = 0x11,
  Rakp1 = 0x12, Rakp2 = 0x13, Rakp3 = 0x14, Rakp4 = 0x15,
}

export function payloadTypeName(t: number): string {
  return PayloadType[t] ?? `<unknown payload type 0x${t.toString(16)}>`;
}

/** Keys of an established session; null for the unauthenticated packets of session setup. */
export interface PacketSecurity { suite: CipherSuite; k1: Buffer; aesKey: Buffer }

export interface RmcpPlusPacket {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  sessionId: number;
  sequence: number;
  /** the plaintext payload */
  payload: Buffer;
}

/**
 * Encodes a whole RMCP+ datagram. With `security`, the payload is encrypted (AES-CBC-128, `iv` 16 bytes) and
 * authenticated per the suite; without it, it goes in the clear (session setup, session id 0).
 */
export function encodeRmcpPlus(p: { payloadType: number; sessionId: number; sequence: number; payload: Uint8Array },
  security: PacketSecurity | null, iv?: Uint8Array): Buffer {
  const encrypt = !!security && security.suite.confidentiality === ConfAlg.AesCbc128;
  const auth = !!security && security.suite.integrity !== IntegrityAlg.None;
  let body: Uint8Array = p.payload;
  if (encrypt) {
    if (!iv || iv.length !== 16) throw new Error('AES-CBC needs a 16-byte IV');
    body = aesEncrypt(security!.aesKey, iv, p.payload);
  }
  // one buffer, written field by field (a console keystroke's hot path: no intermediate concatenations)
  // RMCP header (4) ‖ auth type … payload length (12) ‖ payload ‖ [pad 0xFF × padLen, padLen, next header 7, auth code]
  const sessionEnd = 16 + body.length;
  const padLen = auth ? (4 - ((sessionEnd - 4 + 2) % 4)) % 4 : 0;
  const authEnd = auth ? sessionEnd + padLen + 2 : sessionEnd;
  const out = Buffer.allocUnsafe(authEnd + (auth ? security!.suite.icvLength : 0));
  out.set(encodeRmcpHeader(RmcpClass.Ipmi), 0);
  out[4] = AuthType.RmcpPlus;
  out[5] = (p.payloadType & 0x3f) | (encrypt ? 0x80 : 0) | (auth ? 0x40 : 0);
  out.writeUInt32LE(p.sessionId >>> 0, 6);
  out.writeUInt32LE(p.sequence >>> 0, 10);
  out.writeUInt16LE(body.length, 14);
  out.set(body, 16);
  if (auth) {
    out.fill(0xff, sessionEnd, sessionEnd + padLen);
    out[sessionEnd + padLen] = padLen;
    out[sessionEnd + padLen + 1] = 0x07;
    const code = packetAuthCode(security!.suite, security!.k1, out.subarray(4, authEnd));
    if (code.length !== out.length - authEnd) throw new Error(`auth code of ${code.length} bytes, the suite says ${out.length - authEnd}`);
    out.set(code, authEnd);
  }
  return out;
}

/** True when the datagram is RMCP class IPMI with auth type 6 (cheap check for demultiplexing). */
export function isRmcpPlus(buf: Uint8Array): boolean {
  return buf.length >= 5 && buf[0] === 0x06 && (buf[3] & 0x1f) === RmcpClass.Ipmi && buf[4] === AuthType.RmcpPlus;
}

/** Reads the session id of an RMCP+ datagram without checking anything else; null when too short. */
export function peekSessionId(buf: Uint8Array): number | null {
  if (buf.length < 10) return null;
  return Buffer.from(buf.buffer, buf.byteOffset, buf.length).readUInt32LE(6);
}

/**
 * Decodes an RMCP+ datagram. When the packet says it is authenticated, `security` must be given and the auth code
 * is verified (constant time) BEFORE anything is decrypted; a mismatch throws IpmiDecodeError('bad auth code').
 * When `security` is given, an unauthenticated packet is refused too (a forged reply cannot drop the HMAC).
 */
export function decodeRmcpPlus(buf: Uint8Array, security: PacketSecurity | null): RmcpPlusPacket {
  const h = decodeRmcpHeader(buf);
  if (h.messageClass !== RmcpClass.Ipmi) throw new IpmiDecodeError('RMCP+ session', 3, `class ${h.messageClass} is not IPMI`);
  need(buf, 4, 12, 'RMCP+ session');
  const v = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (v[4] !== AuthType.RmcpPlus) throw new IpmiDecodeError('RMCP+ session', 4, `auth type ${v[4]} is not RMCP+`);
  const encrypted = (v[5] & 0x80) !== 0;
  const authenticated = (v[5] & 0x40) !== 0;
  const payloadType = v[5] & 0x3f;
  if (payloadType === PayloadType.Oem) throw new IpmiDecodeError('RMCP+ session', 5, 'OEM payloads are not supported');
  const sessionId = v.readUInt32LE(6);
  const sequence = v.readUInt32LE(10);
  const len = v.readUInt16LE(14);
  need(buf, 16, len, 'RMCP+ payload');
  const wantAuth = !!security && security.suite.integrity !== IntegrityAlg.None;
  if (wantAuth && !authenticated) throw new IpmiDecodeError('RMCP+ session', 5, 'packet is not authenticated in an authenticated session');
  if (authenticated) {
    if (!security || !wantAuth) throw new IpmiDecodeError('RMCP+ session', 5, 'authenticated packet without session keys');
    const icv = security.suite.icvLength;
    const end = v.length - icv;
    // trailer: pad (0..3 × 0xFF), pad length, next header — the bytes from auth type to next header are a multiple of 4
    if (end < 16 + len + 2) throw new IpmiDecodeError('RMCP+ trailer', 16 + len, 'too short for pad length, next header and auth code');
    const padLen = v[end - 2];
    if (padLen > 3 || 16 + len + padLen + 2 !== end) throw new IpmiDecodeError('RMCP+ trailer', end - 2, `pad length ${padLen} does not fit the packet`);
    if (v[end - 1] !== 0x07) throw new IpmiDecodeError('RMCP+ trailer', end - 1, `next header 0x${v[end - 1].toString(16)} is not 7`);
    const expected = packetAuthCode(security.suite, security.k1, v.subarray(4, end));
    if (!sameCode(expected, v.subarray(end))) throw new IpmiDecodeError('RMCP+ trailer', end, 'bad auth code');
  }
  let payload: Buffer;
  if (encrypted) {
    if (!security || security.suite.confidentiality !== ConfAlg.AesCbc128) throw new IpmiDecodeError('RMCP+ session', 5, 'encrypted packet without a confidentiality key');
    payload = aesDecrypt(security.aesKey, v.subarray(16, 16 + len), 16); // a new buffer: nothing shared with `buf`
  } else {
    if (security && security.suite.confidentiality !== ConfAlg.None && (payloadType === PayloadType.Ipmi || payloadType === PayloadType.Sol)) {
      throw new IpmiDecodeError('RMCP+ session', 5, 'payload is not encrypted in an encrypted session');
    }
    payload = Buffer.from(v.subarray(16, 16 + len)); // a copy: the caller may reuse `buf`
  }
  return { payloadType, encrypted, authenticated, sessionId, sequence, payload };
}
