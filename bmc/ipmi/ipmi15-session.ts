// IPMI 1.5 session wrapper (IPMI 2.0 §13.6, Table 13-8, auth type NONE only). RackSeed uses it solely for
// session-less messages (session id 0, sequence 0) — Get Channel Authentication Capabilities before a session.
import { encodeRmcpHeader, decodeRmcpHeader, RmcpClass } from './rmcp.ts';
import { IpmiDecodeError, need } from './errors.ts';

export enum AuthType { None = 0, Md2 = 1, Md5 = 2, Password = 4, Oem = 5, RmcpPlus = 6 }

/** A whole datagram: RMCP header + IPMI 1.5 session header (auth NONE, session 0) + message. */
export function encodeSessionless15(message: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + 10 + message.length);
  encodeRmcpHeader(RmcpClass.Ipmi).copy(b, 0);
  b[4] = AuthType.None;
  // bytes 5..12: sequence 0, session id 0
  b[13] = message.length;
  b.set(message, 14);
  return b;
}

export interface Ipmi15Packet { authType: number; sequence: number; sessionId: number; message: Buffer }

/** Decodes an IPMI 1.5 datagram (RMCP header included). Auth codes (MD2/MD5/password) are skipped, not checked. */
export function decodeIpmi15(buf: Uint8Array): Ipmi15Packet {
  const h = decodeRmcpHeader(buf);
  if (h.messageClass !== RmcpClass.Ipmi) throw new IpmiDecodeError('IPMI 1.5 session', 3, `class ${h.messageClass} is not IPMI`);
  need(buf, 4, 10, 'IPMI 1.5 session');
  const v = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const authType = v[4];
  if (authType === AuthType.RmcpPlus) throw new IpmiDecodeError('IPMI 1.5 session', 4, 'this is an RMCP+ (IPMI 2.0) packet');
  let o = 13;
  if (authType !== AuthType.None) { need(buf, 13, 17, 'IPMI 1.5 session'); o = 29; }
  const len = v[o];
  need(buf, o + 1, len, 'IPMI 1.5 message');
  return { authType, sequence: v.readUInt32LE(5), sessionId: v.readUInt32LE(9), message: Buffer.from(v.subarray(o + 1, o + 1 + len)) };
}
