// RMCP+ session setup payloads (IPMI 2.0 §13.17–13.23): Open Session Request/Response and RAKP messages 1–4,
// plus the RMCP+ status codes (Table 13-15) they carry.
import { IpmiDecodeError, need } from './errors.ts';
import { AuthAlg, ConfAlg, IntegrityAlg, type CipherSuite } from './cipher-suites.ts';

/** RMCP+ and RAKP message status codes (IPMI 2.0 Table 13-15). */
export enum RmcpStatus {
  NoErrors = 0x00,
  InsufficientResources = 0x01,
  InvalidSessionId = 0x02,
  InvalidPayloadType = 0x03,
  InvalidAuthenticationAlgorithm = 0x04,
  InvalidIntegrityAlgorithm = 0x05,
  NoMatchingAuthenticationPayload = 0x06,
  NoMatchingIntegrityPayload = 0x07,
  InactiveSessionId = 0x08,
  InvalidRole = 0x09,
  UnauthorizedRoleOrPrivilege = 0x0a,
  InsufficientResourcesForRole = 0x0b,
  InvalidNameLength = 0x0c,
  UnauthorizedName = 0x0d,
  UnauthorizedGuid = 0x0e,
  InvalidIntegrityCheckValue = 0x0f,
  InvalidConfidentialityAlgorithm = 0x10,
  NoCipherSuiteMatch = 0x11,
  IllegalParameter = 0x12,
}

export function rmcpStatusName(code: number): string {
  return RmcpStatus[code] ?? `<unknown RMCP+ status 0x${code.toString(16)}>`;
}

export enum Privilege { Callback = 1, User = 2, Operator = 3, Administrator = 4, Oem = 5 }

export function privilegeName(p: number): string { return Privilege[p] ?? `<privilege ${p}>`; }

export interface OpenSessionRequest {
  tag: number;
  /** 0 = the highest level the channel allows */
  maxPrivilege: number;
  consoleSessionId: number;
  suite: CipherSuite;
}

export function encodeOpenSessionRequest(r: OpenSessionRequest): Buffer {
  const b = Buffer.alloc(32);
  b[0] = r.tag & 0xff;
  b[1] = r.maxPrivilege & 0x0f;
  b.writeUInt32LE(r.consoleSessionId >>> 0, 4);
  const alg = (o: number, type: number, a: number) => { b[o] = type; b[o + 3] = 0x08; b[o + 4] = a & 0x3f; };
  alg(8, 0x00, r.suite.auth);
  alg(16, 0x01, r.suite.integrity);
  alg(24, 0x02, r.suite.confidentiality);
  return b;
}

export interface OpenSessionResponse {
  tag: number;
  status: number;
  maxPrivilege: number;
  consoleSessionId: number;
  /** 0 when status is not 0 (the BMC may omit everything after the console session id) */
  managedSessionId: number;
  auth: AuthAlg | null;
  integrity: IntegrityAlg | null;
  confidentiality: ConfAlg | null;
}

export function decodeOpenSessionResponse(buf: Uint8Array): OpenSessionResponse {
  need(buf, 0, 2, 'Open Session Response');
  const v = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const status = v[1];
  if (status !== 0) {
    // error replies may stop after the status (or after the console session id)
    return { tag: v[0], status, maxPrivilege: v.length > 2 ? v[2] & 0x0f : 0, consoleSessionId: v.length >= 8 ? v.readUInt32LE(4) : 0, managedSessionId: 0, auth: null, integrity: null, confidentiality: null };
  }
  need(buf, 0, 36, 'Open Session Response');
  const alg = (o: number, type: number) => {
    if (v[o] !== type) throw new IpmiDecodeError('Open Session Response', o, `algorithm payload type ${v[o]} is not ${type}`);
    return v[o + 4] & 0x3f;
  };
  return {
    tag: v[0], status, maxPrivilege: v[2] & 0x0f,
    consoleSessionId: v.readUInt32LE(4), managedSessionId: v.readUInt32LE(8),
    auth: alg(12, 0), integrity: alg(20, 1), confidentiality: alg(28, 2),
  };
}

export interface Rakp1 {
  tag: number;
  managedSessionId: number;
  consoleRandom: Uint8Array;
  /** privilege level, | 0x10 for name-only lookup */
  role: number;
  username: Uint8Array;
}

export function encodeRakp1(r: Rakp1): Buffer {
  if (r.consoleRandom.length !== 16) throw new Error('RAKP 1 needs a 16-byte random number');
  if (r.username.length > 16) throw new Error('IPMI user names are at most 16 bytes');
  const b = Buffer.alloc(28 + r.username.length);
  b[0] = r.tag & 0xff;
  b.writeUInt32LE(r.managedSessionId >>> 0, 4);
  b.set(r.consoleRandom, 8);
  b[24] = r.role & 0xff;
  b[27] = r.username.length;
  b.set(r.username, 28);
  return b;
}

export interface Rakp2 {
  tag: number;
  status: number;
  consoleSessionId: number;
  bmcRandom: Buffer;
  bmcGuid: Buffer;
  /** key-exchange auth code (length depends on the suite; may be empty) */
  authCode: Buffer;
}

export function decodeRakp2(buf: Uint8Array): Rakp2 {
  need(buf, 0, 2, 'RAKP 2');
  const v = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (v[1] !== 0) {
    return { tag: v[0], status: v[1], consoleSessionId: v.length >= 8 ? v.readUInt32LE(4) : 0, bmcRandom: Buffer.alloc(0), bmcGuid: Buffer.alloc(0), authCode: Buffer.alloc(0) };
  }
  need(buf, 0, 40, 'RAKP 2');
  return {
    tag: v[0], status: 0, consoleSessionId: v.readUInt32LE(4),
    bmcRandom: Buffer.from(v.subarray(8, 24)), bmcGuid: Buffer.from(v.subarray(24, 40)), authCode: Buffer.from(v.subarray(40)),
  };
}

export function encodeRakp3(r: { tag: number; status: number; managedSessionId: number; authCode: Uint8Array }): Buffer {
  const b = Buffer.alloc(8 + r.authCode.length);
  b[0] = r.tag & 0xff;
  b[1] = r.status & 0xff;
  b.writeUInt32LE(r.managedSessionId >>> 0, 4);
  b.set(r.authCode, 8);
  return b;
}

export interface Rakp4 { tag: number; status: number; consoleSessionId: number; icv: Buffer }

export function decodeRakp4(buf: Uint8Array): Rakp4 {
  need(buf, 0, 2, 'RAKP 4');
  const v = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (v[1] !== 0) return { tag: v[0], status: v[1], consoleSessionId: v.length >= 8 ? v.readUInt32LE(4) : 0, icv: Buffer.alloc(0) };
  need(buf, 0, 8, 'RAKP 4');
  return { tag: v[0], status: 0, consoleSessionId: v.readUInt32LE(4), icv: Buffer.from(v.subarray(8)) };
}
