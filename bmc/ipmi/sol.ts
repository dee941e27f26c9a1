// Serial-over-LAN (IPMI 2.0 §15, §24): the SOL payload (payload type 1) and the payload commands around it —
// Activate Payload, Deactivate Payload, Get Payload Activation Status, Get Payload Instance Info — plus
// Get Session Info and Get User Name, which say who holds a payload another session activated.
// Pure and bounds-checked: every decoder throws only IpmiDecodeError.
//
// SOL packet (§15.9, Table 15-2), both directions:
//   0  packet sequence number (bits 3:0; 1..15, 0 = ack/status only, no character data)
//   1  packet ack/nack sequence number (bits 3:0; 0 = this packet acknowledges nothing)
//   2  accepted character count (of the packet acknowledged)
//   3  operation (console → BMC) / status (BMC → console)
//   4… character data
import { IpmiDecodeError, need } from './errors.ts';
import { NetFn } from './ipmi-message.ts';
import type { CommandRequest } from './app-commands.ts';

export const SOL_PAYLOAD_TYPE = 0x01;

export const PayloadCmd = {
  ActivatePayload: 0x48,
  DeactivatePayload: 0x49,
  GetPayloadActivationStatus: 0x4a,
  GetPayloadInstanceInfo: 0x4b,
  GetSessionInfo: 0x3d,
  GetUserName: 0x46,
} as const;

/** Activate Payload completion codes (§24.1). */
export const CC_PAYLOAD_ALREADY_ACTIVE = 0x80;
export const CC_PAYLOAD_DISABLED = 0x81;
export const CC_PAYLOAD_LIMIT_REACHED = 0x82;
export const CC_NEEDS_NO_ENCRYPTION = 0x83;
export const CC_NEEDS_ENCRYPTION = 0x84;

/** Console → BMC operation bits (byte 3). */
export interface SolOperation {
  /** NACK: the console could not take the characters of the packet it acknowledges */
  nack?: boolean;
  /** assert RI (ring / wake-on-ring) */
  ring?: boolean;
  /** generate a serial break (≈300 ms) */
  breakSignal?: boolean;
  /** deassert CTS to the host (pause its output) */
  ctsPause?: boolean;
  /** deassert DCD/DSR to the host */
  dcdDeassert?: boolean;
  /** flush the BMC's inbound (console → host) buffer */
  flushInbound?: boolean;
  /** flush the BMC's outbound (host → console) buffer */
  flushOutbound?: boolean;
}

export interface SolConsolePacket extends SolOperation {
  seq: number;
  ackSeq: number;
  accepted: number;
  data?: Uint8Array;
}

/** BMC → console status bits (byte 3). */
export interface SolBmcPacket {
  seq: number;
  ackSeq: number;
  accepted: number;
  /** the BMC could not take the characters of the acknowledged packet (its buffer is full): resend later */
  nack: boolean;
  /** character transfer unavailable (the serial port is not connected to SOL, e.g. the host has it) */
  unavailable: boolean;
  /** SOL is being deactivated by the BMC */
  deactivating: boolean;
  /** the BMC dropped characters from the host (its buffer overran) */
  overrun: boolean;
  /** the BMC saw a break on the host's serial port */
  breakDetected: boolean;
  data: Buffer;
}

function seqOk(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 15) throw new RangeError(`${what} must be 0..15, got ${n}`);
}

/** Encodes a console → BMC SOL payload (the plaintext of an RMCP+ payload type 1 packet). */
export function encodeSolPacket(p: SolConsolePacket): Buffer {
  seqOk(p.seq, 'SOL sequence number');
  seqOk(p.ackSeq, 'SOL ack sequence number');
  if (!Number.isInteger(p.accepted) || p.accepted < 0 || p.accepted > 255) throw new RangeError(`accepted character count must be 0..255, got ${p.accepted}`);
  const data = p.data ?? new Uint8Array(0);
  if (data.length > 0 && p.seq === 0) throw new RangeError('character data needs a non-zero sequence number');
  if (data.length > 1020) throw new RangeError('SOL packets carry at most 1020 characters');
  const b = Buffer.alloc(4 + data.length);
  b[0] = p.seq;
  b[1] = p.ackSeq;
  b[2] = p.accepted;
  b[3] = (p.nack ? 0x40 : 0) | (p.ring ? 0x20 : 0) | (p.breakSignal ? 0x10 : 0) | (p.ctsPause ? 0x08 : 0)
    | (p.dcdDeassert ? 0x04 : 0) | (p.flushInbound ? 0x02 : 0) | (p.flushOutbound ? 0x01 : 0);
  b.set(data, 4);
  return b;
}

/** Decodes a BMC → console SOL payload. */
export function decodeSolPacket(buf: Uint8Array): SolBmcPacket {
  need(buf, 0, 4, 'SOL packet');
  const v = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (v[0] & 0xf0) throw new IpmiDecodeError('SOL packet', 0, `reserved bits set in the sequence number 0x${v[0].toString(16)}`);
  if (v[1] & 0xf0) throw new IpmiDecodeError('SOL packet', 1, `reserved bits set in the ack sequence number 0x${v[1].toString(16)}`);
  const seq = v[0];
  const data = Buffer.from(v.subarray(4));
  if (seq === 0 && data.length > 0) throw new IpmiDecodeError('SOL packet', 4, `${data.length} characters in an ack-only packet (sequence number 0)`);
  return {
    seq,
    ackSeq: v[1],
    accepted: v[2],
    nack: (v[3] & 0x40) !== 0,
    unavailable: (v[3] & 0x20) !== 0,
    deactivating: (v[3] & 0x10) !== 0,
    overrun: (v[3] & 0x08) !== 0,
    breakDetected: (v[3] & 0x04) !== 0,
    data,
  };
}

/** The next SOL sequence number after `n` (1..15, wrapping past 0). */
export function nextSolSeq(n: number): number { return n >= 15 ? 1 : n + 1; }

// ---- Activate Payload (§24.1)
export function activatePayloadRequest(o: { type?: number; instance?: number; encrypt: boolean; authenticate: boolean }): CommandRequest {
  const aux = (o.encrypt ? 0x80 : 0) | (o.authenticate ? 0x40 : 0);
  return { netFn: NetFn.App, cmd: PayloadCmd.ActivatePayload, data: Buffer.from([o.type ?? SOL_PAYLOAD_TYPE, o.instance ?? 1, aux, 0, 0, 0]) };
}

export interface ActivatedPayload {
  /** max characters per console → BMC packet the BMC takes (the payload size minus the 4-byte header when > 4) */
  inboundSize: number;
  outboundSize: number;
  /** UDP port the payload's packets use (623 on most BMCs) */
  port: number;
  /** 0xFFFF = no VLAN */
  vlan: number;
}

export function decodeActivatePayload(d: Uint8Array): ActivatedPayload {
  need(d, 0, 12, 'Activate Payload response');
  const v = Buffer.from(d.buffer, d.byteOffset, d.length);
  return { inboundSize: v.readUInt16LE(4), outboundSize: v.readUInt16LE(6), port: v.readUInt16LE(8), vlan: v.readUInt16LE(10) };
}

// ---- Deactivate Payload (§24.2)
export function deactivatePayloadRequest(o: { type?: number; instance?: number } = {}): CommandRequest {
  return { netFn: NetFn.App, cmd: PayloadCmd.DeactivatePayload, data: Buffer.from([o.type ?? SOL_PAYLOAD_TYPE, o.instance ?? 1, 0, 0, 0, 0]) };
}

// ---- Get Payload Activation Status (§24.4)
export function getPayloadActivationStatusRequest(type = SOL_PAYLOAD_TYPE): CommandRequest {
  return { netFn: NetFn.App, cmd: PayloadCmd.GetPayloadActivationStatus, data: Buffer.from([type]) };
}

export interface PayloadActivationStatus { capacity: number; active: number[] }

export function decodePayloadActivationStatus(d: Uint8Array): PayloadActivationStatus {
  need(d, 0, 3, 'Get Payload Activation Status response');
  const bits = d[1] | (d[2] << 8);
  const active: number[] = [];
  for (let i = 0; i < 16; i++) if (bits & (1 << i)) active.push(i + 1);
  return { capacity: d[0] & 0x0f, active };
}

// ---- Get Payload Instance Info (§24.5)
export function getPayloadInstanceInfoRequest(type = SOL_PAYLOAD_TYPE, instance = 1): CommandRequest {
  return { netFn: NetFn.App, cmd: PayloadCmd.GetPayloadInstanceInfo, data: Buffer.from([type, instance]) };
}

/** The BMC's id of the session that activated the instance (0 = not active). */
export function decodePayloadInstanceInfo(d: Uint8Array): { sessionId: number } {
  need(d, 0, 4, 'Get Payload Instance Info response');
  return { sessionId: Buffer.from(d.buffer, d.byteOffset, d.length).readUInt32LE(0) };
}

// ---- Get Session Info (§22.20), by the BMC's session id
export function getSessionInfoRequest(sessionId: number): CommandRequest {
  const b = Buffer.alloc(5);
  b[0] = 0xff;
  b.writeUInt32LE(sessionId >>> 0, 1);
  return { netFn: NetFn.App, cmd: PayloadCmd.GetSessionInfo, data: b };
}

export interface SessionInfo {
  handle: number;
  userId: number;
  privilege: number;
  channel: number;
  /** the remote console's IPv4 address (LAN channels), when the BMC gives it */
  address: string | null;
  remotePort: number | null;
}

export function decodeSessionInfo(d: Uint8Array): SessionInfo {
  need(d, 0, 3, 'Get Session Info response');
  const v = Buffer.from(d.buffer, d.byteOffset, d.length);
  // a session that is not active gives only handle and counts
  if (v.length < 6) return { handle: v[0], userId: 0, privilege: 0, channel: 0, address: null, remotePort: null };
  const lan = v.length >= 18;
  return {
    handle: v[0],
    userId: v[3] & 0x3f,
    privilege: v[4] & 0x0f,
    channel: v[5] & 0x0f,
    address: lan ? `${v[6]}.${v[7]}.${v[8]}.${v[9]}` : null,
    remotePort: v.length >= 18 ? v.readUInt16BE(16) : null,
  };
}

// ---- Get User Name (§22.29)
export function getUserNameRequest(userId: number): CommandRequest {
  return { netFn: NetFn.App, cmd: PayloadCmd.GetUserName, data: Buffer.from([userId & 0x3f]) };
}

export function decodeUserName(d: Uint8Array): string {
  need(d, 0, 16, 'Get User Name response');
  const v = Buffer.from(d.buffer, d.byteOffset, 16);
  const end = v.indexOf(0);
  return v.subarray(0, end < 0 ? 16 : end).toString('latin1');
}
