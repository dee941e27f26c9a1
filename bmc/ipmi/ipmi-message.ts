// The IPMI LAN message inside a session (IPMI 2.0 §13.8, Table 13-4): rsAddr, netFn/LUN, checksum, rqAddr,
// rqSeq/LUN, cmd, data, checksum. Requests come from the remote console (software ID 0x81) to the BMC (0x20).
import { IpmiDecodeError, need } from './errors.ts';

export const BMC_SLAVE_ADDR = 0x20;
export const REMOTE_CONSOLE_SWID = 0x81;

export enum NetFn { Chassis = 0x00, Bridge = 0x02, SensorEvent = 0x04, App = 0x06, Firmware = 0x08, Storage = 0x0a, Transport = 0x0c }

export interface IpmiRequest {
  netFn: number;
  cmd: number;
  /** 0..63; the BMC echoes it so a reply can be matched to its request */
  rqSeq: number;
  data?: Uint8Array;
}

export interface IpmiResponse {
  /** the response netFn (request netFn + 1) */
  netFn: number;
  cmd: number;
  rqSeq: number;
  completionCode: number;
  data: Buffer;
}

/** Two's complement checksum: the bytes plus the checksum sum to 0 mod 256 (IPMI 2.0 §13.8). */
export function ipmiChecksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s = (s + bytes[i]) & 0xff;
  return (0x100 - s) & 0xff;
}

export function encodeIpmiRequest(req: IpmiRequest): Buffer {
  const data = req.data ?? new Uint8Array(0);
  const b = Buffer.alloc(7 + data.length);
  b[0] = BMC_SLAVE_ADDR;
  b[1] = (req.netFn << 2) & 0xfc;
  b[2] = ipmiChecksum(b, 0, 2);
  b[3] = REMOTE_CONSOLE_SWID;
  b[4] = (req.rqSeq & 0x3f) << 2;
  b[5] = req.cmd & 0xff;
  b.set(data, 6);
  b[6 + data.length] = ipmiChecksum(b, 3, 6 + data.length);
  return b;
}

/** Decodes a response message; both checksums are verified. */
export function decodeIpmiResponse(buf: Uint8Array): IpmiResponse {
  need(buf, 0, 8, 'IPMI response');
  if (ipmiChecksum(buf, 0, 2) !== buf[2]) throw new IpmiDecodeError('IPMI response', 2, 'header checksum mismatch');
  const last = buf.length - 1;
  if (ipmiChecksum(buf, 3, last) !== buf[last]) throw new IpmiDecodeError('IPMI response', last, 'data checksum mismatch');
  return {
    netFn: buf[1] >> 2,
    rqSeq: buf[4] >> 2,
    cmd: buf[5],
    completionCode: buf[6],
    data: Buffer.from(buf.subarray(7, last)),
  };
}

/** Decodes a request message (used by tests and fuzzers to check round trips). */
export function decodeIpmiRequest(buf: Uint8Array): IpmiRequest {
  need(buf, 0, 7, 'IPMI request');
  if (ipmiChecksum(buf, 0, 2) !== buf[2]) throw new IpmiDecodeError('IPMI request', 2, 'header checksum mismatch');
  const last = buf.length - 1;
  if (ipmiChecksum(buf, 3, last) !== buf[last]) throw new IpmiDecodeError('IPMI request', last, 'data checksum mismatch');
  return { netFn: buf[1] >> 2, rqSeq: buf[4] >> 2, cmd: buf[5], data: Buffer.from(buf.subarray(6, last)) };
}
