// Application netFn commands (IPMI 2.0 §20, §22): Get Device ID, Get System GUID, Get Channel Authentication
// Capabilities, Get Channel Cipher Suites, Set Session Privilege Level, Close Session. Each has a request
// builder (netFn, cmd, data) and a decoder of the response data (after the completion code).
import { IpmiDecodeError, need } from './errors.ts';
import { NetFn } from './ipmi-message.ts';
import { vendorName } from './iana-vendors.ts';

export interface CommandRequest { netFn: number; cmd: number; data: Buffer }

export const Cmd = {
  GetDeviceId: 0x01,
  GetSystemGuid: 0x37,
  GetChannelAuthCapabilities: 0x38,
  SetSessionPrivilege: 0x3b,
  CloseSession: 0x3c,
  GetChannelInfo: 0x42,
  GetChannelCipherSuites: 0x54,
} as const;

function bcd(n: number): number { return (n >> 4) * 10 + (n & 0x0f); }

// ---- Get Device ID (§20.1)
export function getDeviceIdRequest(): CommandRequest { return { netFn: NetFn.App, cmd: Cmd.GetDeviceId, data: Buffer.alloc(0) }; }

export interface DeviceId {
  deviceId: number;
  deviceRevision: number;
  providesSdrs: boolean;
  /** "major.minor" the way ipmitool prints Firmware Revision (minor is BCD, two digits) */
  firmwareRevision: string;
  /** "2.0", "1.5" */
  ipmiVersion: string;
  manufacturerId: number;
  /** vendor by IANA number, null when unknown */
  manufacturerName: string | null;
  productId: number;
  auxFirmware: Buffer | null;
}

export function decodeDeviceId(d: Uint8Array): DeviceId {
  need(d, 0, 11, 'Get Device ID response');
  const v = Buffer.from(d.buffer, d.byteOffset, d.length);
  const manufacturerId = v.readUIntLE(6, 3) & 0x0fffff;
  return {
    deviceId: v[0],
    deviceRevision: v[1] & 0x0f,
    providesSdrs: (v[1] & 0x80) !== 0,
    firmwareRevision: `${v[2] & 0x7f}.${bcd(v[3]).toString().padStart(2, '0')}`,
    ipmiVersion: `${v[4] & 0x0f}.${v[4] >> 4}`,
    manufacturerId,
    manufacturerName: vendorName(manufacturerId),
    productId: v.readUInt16LE(9),
    auxFirmware: v.length >= 15 ? Buffer.from(v.subarray(11, 15)) : null,
  };
}

// ---- Get System GUID (§22.14)
export function getSystemGuidRequest(): CommandRequest { return { netFn: NetFn.App, cmd: Cmd.GetSystemGuid, data: Buffer.alloc(0) }; }

/**
 * Formats the 16 GUID bytes (wire order) like an SMBIOS UUID: time_low, time_mid and time_hi_and_version are
 * little-endian on the wire, the rest is in order (SMBIOS 3.x §7.2.1). This is what `ipmitool mc guid smbios`
 * prints, and what the host's DMI reports (`dmidecode -s system-uuid`, QEMU `-smbios type=1,uuid=`), so the BMC
 * can be matched to the node that PXE-booted. (`ipmitool mc guid` without an argument prints the raw wire bytes:
 * see guidHex.)
 */
export function formatGuid(g: Uint8Array): string {
  if (g.length !== 16) throw new IpmiDecodeError('System GUID', g.length, 'a GUID has 16 bytes');
  const h = (i: number[]) => i.map((x) => g[x].toString(16).padStart(2, '0')).join('');
  return `${h([3, 2, 1, 0])}-${h([5, 4])}-${h([7, 6])}-${h([8, 9])}-${h([10, 11, 12, 13, 14, 15])}`;
}

/** The inverse of formatGuid: the 16 wire bytes for an SMBIOS-style UUID string. */
export function uuidToGuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new IpmiDecodeError('UUID', 0, 'expected 32 hex digits');
  const b = Buffer.from(hex, 'hex');
  return Buffer.from([b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.subarray(8)]);
}

/** The raw wire bytes as 32 upper-case hex digits (what `ipmitool mc guid` prints by default). */
export function guidHex(g: Uint8Array): string {
  return Buffer.from(g).toString('hex').toUpperCase();
}

export function decodeSystemGuid(d: Uint8Array): string {
  need(d, 0, 16, 'Get System GUID response');
  return formatGuid(d.subarray(0, 16));
}

// ---- Get Channel Authentication Capabilities (§22.13)
/** `channel` 0x0E = the channel this request arrives on; asks for IPMI 2.0 extended data. */
export function getChannelAuthCapabilitiesRequest(maxPrivilege = 4, channel = 0x0e): CommandRequest {
  return { netFn: NetFn.App, cmd: Cmd.GetChannelAuthCapabilities, data: Buffer.from([0x80 | (channel & 0x0f), maxPrivilege & 0x0f]) };
}

export interface ChannelAuthCapabilities {
  channel: number;
  /** IPMI 1.5 auth types: none, md2, md5, password, oem */
  authTypes: string[];
  /** the BMC supports IPMI 2.0 (RMCP+) connections */
  ipmi20: boolean;
  ipmi15: boolean;
  kgConfigured: boolean;
  perMessageAuth: boolean;
  userLevelAuth: boolean;
  nonNullUsers: boolean;
  nullUsers: boolean;
  anonymousLogin: boolean;
  oemId: number;
}

export function decodeChannelAuthCapabilities(d: Uint8Array): ChannelAuthCapabilities {
  need(d, 0, 8, 'Get Channel Auth Capabilities response');
  const v = Buffer.from(d.buffer, d.byteOffset, d.length);
  const t = v[1];
  const authTypes: string[] = [];
  if (t & 0x01) authTypes.push('none');
  if (t & 0x02) authTypes.push('md2');
  if (t & 0x04) authTypes.push('md5');
  if (t & 0x10) authTypes.push('password');
  if (t & 0x20) authTypes.push('oem');
  const extended = (t & 0x80) !== 0;
  return {
    channel: v[0] & 0x0f,
    authTypes,
    ipmi20: extended && (v[3] & 0x02) !== 0,
    ipmi15: !extended || (v[3] & 0x01) !== 0,
    kgConfigured: (v[2] & 0x20) !== 0,
    perMessageAuth: (v[2] & 0x10) === 0,
    userLevelAuth: (v[2] & 0x08) === 0,
    nonNullUsers: (v[2] & 0x04) !== 0,
    nullUsers: (v[2] & 0x02) !== 0,
    anonymousLogin: (v[2] & 0x01) !== 0,
    oemId: v.readUIntLE(4, 3),
  };
}

// ---- Get Channel Cipher Suites (§22.15)
/** `index` 0..63 is the 16-byte block of the list; bit 7 asks for the list by cipher suite. */
export function getChannelCipherSuitesRequest(index: number, channel = 0x0e): CommandRequest {
  return { netFn: NetFn.App, cmd: Cmd.GetChannelCipherSuites, data: Buffer.from([channel & 0x0f, 0x00, 0x80 | (index & 0x3f)]) };
}

/** One block of the list: channel and up to 16 record bytes; an empty or short block ends the list. */
export function decodeChannelCipherSuitesBlock(d: Uint8Array): { channel: number; records: Buffer } {
  need(d, 0, 1, 'Get Channel Cipher Suites response');
  if (d.length > 17) throw new IpmiDecodeError('Get Channel Cipher Suites response', 17, 'a block holds at most 16 record bytes');
  return { channel: d[0] & 0x0f, records: Buffer.from(d.subarray(1)) };
}

/** Parses the concatenated record bytes into cipher suite ids (standard 0xC0 and OEM 0xC1 records). */
export function parseCipherSuiteRecords(rec: Uint8Array): number[] {
  const ids: number[] = [];
  let o = 0;
  while (o < rec.length) {
    const start = rec[o];
    if (start === 0xc0) { need(rec, o, 2, 'cipher suite record'); ids.push(rec[o + 1]); o += 2; }
    else if (start === 0xc1) { need(rec, o, 5, 'cipher suite record'); ids.push(rec[o + 1]); o += 5; }
    else if ((start & 0xc0) !== 0xc0) { o += 1; } // algorithm number byte of the preceding suite
    else throw new IpmiDecodeError('cipher suite record', o, `start of record 0x${start.toString(16)}`);
  }
  return ids;
}

// ---- Get Channel Info (§22.24)
/** `channel` 0x0E = the channel this request arrives on. */
export function getChannelInfoRequest(channel = 0x0e): CommandRequest {
  return { netFn: NetFn.App, cmd: Cmd.GetChannelInfo, data: Buffer.from([channel & 0x0f]) };
}

export interface ChannelInfo { channel: number; mediumType: number; protocolType: number; sessionSupport: number; activeSessions: number }

/** Medium type 4 = 802.3 LAN; protocol type 1 = IPMB-1.0 (Table 6-2, 6-3). */
export function decodeChannelInfo(d: Uint8Array): ChannelInfo {
  need(d, 0, 4, 'Get Channel Info response');
  return { channel: d[0] & 0x0f, mediumType: d[1] & 0x7f, protocolType: d[2] & 0x1f, sessionSupport: d[3] >> 6, activeSessions: d[3] & 0x3f };
}

// ---- Set Session Privilege Level (§22.18)
export function setSessionPrivilegeRequest(level: number): CommandRequest {
  return { netFn: NetFn.App, cmd: Cmd.SetSessionPrivilege, data: Buffer.from([level & 0x0f]) };
}

export function decodeSetSessionPrivilege(d: Uint8Array): number {
  need(d, 0, 1, 'Set Session Privilege response');
  return d[0] & 0x0f;
}

// ---- Close Session (§22.19)
export function closeSessionRequest(managedSessionId: number): CommandRequest {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(managedSessionId >>> 0, 0);
  return { netFn: NetFn.App, cmd: Cmd.CloseSession, data: b };
}
