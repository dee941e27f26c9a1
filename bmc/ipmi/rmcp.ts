// RMCP (DMTF DSP0114 / IPMI 2.0 §13.1.3) framing and the ASF presence ping/pong (DSP0136 §3.2.4).
// Every IPMI-over-LAN datagram starts with the 4-byte RMCP header: version 6, reserved, sequence, class.
import { IpmiDecodeError, need } from './errors.ts';

export const RMCP_VERSION = 0x06;
/** Sequence number 0xFF = "no RMCP ACK wanted": what IPMI messages always use. */
export const RMCP_SEQ_NO_ACK = 0xff;
export enum RmcpClass { Asf = 0x06, Ipmi = 0x07 }
export const ASF_IANA = 4542;
export enum AsfMessageType { PresencePong = 0x40, PresencePing = 0x80 }

export interface RmcpHeader { sequence: number; messageClass: number }

export function encodeRmcpHeader(messageClass: RmcpClass, sequence = RMCP_SEQ_NO_ACK): Buffer {
  return Buffer.from([RMCP_VERSION, 0x00, sequence & 0xff, messageClass]);
}

/** Decodes the RMCP header at offset 0; the body starts at offset 4. */
export function decodeRmcpHeader(buf: Uint8Array): RmcpHeader {
  need(buf, 0, 4, 'RMCP header');
  if (buf[0] !== RMCP_VERSION) throw new IpmiDecodeError('RMCP header', 0, `version 0x${buf[0].toString(16)} is not 6`);
  return { sequence: buf[2], messageClass: buf[3] & 0x1f };
}

/** An ASF presence ping (a whole datagram). `tag` (0..254) is echoed by the pong. */
export function encodeAsfPing(tag: number): Buffer {
  const b = Buffer.alloc(12);
  encodeRmcpHeader(RmcpClass.Asf, 0xff).copy(b, 0);
  b.writeUInt32BE(ASF_IANA, 4);
  b[8] = AsfMessageType.PresencePing;
  b[9] = tag & 0xff;
  b[10] = 0;
  b[11] = 0;
  return b;
}

export interface AsfPong {
  tag: number;
  /** IANA enterprise number of the responder's OEM (4542 when none) */
  oemIana: number;
  oemDefined: number;
  /** true when the pong says the managed system supports IPMI (supported entities bit 7) */
  ipmiSupported: boolean;
  asfVersion: number;
  supportedInteractions: number;
}

/** Decodes an ASF presence pong datagram (RMCP header included). */
export function decodeAsfPong(buf: Uint8Array): AsfPong {
  const h = decodeRmcpHeader(buf);
  if (h.messageClass !== RmcpClass.Asf) throw new IpmiDecodeError('ASF pong', 3, `class ${h.messageClass} is not ASF`);
  need(buf, 4, 8, 'ASF pong');
  const v = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (v.readUInt32BE(4) !== ASF_IANA) throw new IpmiDecodeError('ASF pong', 4, 'IANA is not 4542');
  if (v[8] !== AsfMessageType.PresencePong) throw new IpmiDecodeError('ASF pong', 8, `message type 0x${v[8].toString(16)} is not a pong`);
  const len = v[11];
  if (len < 16) throw new IpmiDecodeError('ASF pong', 11, `data length ${len} < 16`);
  need(buf, 12, 16, 'ASF pong');
  return {
    tag: v[9],
    oemIana: v.readUInt32BE(12),
    oemDefined: v.readUInt32BE(16),
    ipmiSupported: (v[20] & 0x80) !== 0,
    asfVersion: v[20] & 0x0f,
    supportedInteractions: v[21],
  };
}
