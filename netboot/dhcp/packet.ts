// A DHCP packet (RFC 2131 §2, Figure 1): the BOOTP fixed header with named fields, the magic cookie and
// the options. decodePacket/encodePacket are pure and total: decode throws only DhcpDecodeError.

import { DhcpDecodeError } from './decode-error.ts';
import { readIpv4, writeIpv4, IPV4_ANY } from './ipv4.ts';
import { formatMac } from './mac.ts';
import { Opt } from './option-codes.ts';
import { DhcpOptions } from './options.ts';
import { OptionsReader, optionsEncodingLength, writeOptions } from './options-codec.ts';

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** RFC 2131 §2: leftmost bit of `flags` asks the server to broadcast its reply */
export const FLAG_BROADCAST = 0x8000;
export const MAGIC_COOKIE = 0x63825363;
/** fixed header (236) + magic cookie (4) */
export const HEADER_LENGTH = 240;
/** RFC 1542 §3.3 / RFC 2131 §2: BOOTP relays and old clients drop shorter packets, so replies are padded to this */
export const MIN_PACKET_LENGTH = 300;

const OFF = { op: 0, htype: 1, hlen: 2, hops: 3, xid: 4, secs: 8, flags: 10, ciaddr: 12, yiaddr: 16, siaddr: 20, giaddr: 24, chaddr: 28, sname: 44, file: 108, cookie: 236 } as const;
const SNAME_LEN = 64;
const FILE_LEN = 128;

export interface DhcpPacket {
  /** 1 BOOTREQUEST, 2 BOOTREPLY */
  op: number;
  /** hardware type, 1 = Ethernet */
  htype: number;
  /** hardware address length, 6 for Ethernet; at most 16 */
  hlen: number;
  hops: number;
  /** transaction id, uint32 */
  xid: number;
  secs: number;
  /** bit 15 = broadcast (FLAG_BROADCAST) */
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** 16 bytes as on the wire; the hardware address is the first `hlen` bytes (see packetMac) */
  chaddr: Buffer;
  /** server host name, up to the first NUL; "" when empty or overloaded with options */
  sname: string;
  /** boot file name, up to the first NUL; "" when empty or overloaded with options */
  file: string;
  options: DhcpOptions;
}

/** A zeroed packet with the given fields; chaddr may be given as 6-byte MAC. */
export function newPacket(fields: Partial<DhcpPacket> = {}): DhcpPacket {
  return {
    op: BOOTREQUEST, htype: 1, hlen: 6, hops: 0, xid: 0, secs: 0, flags: 0,
    ciaddr: IPV4_ANY, yiaddr: IPV4_ANY, siaddr: IPV4_ANY, giaddr: IPV4_ANY,
    sname: '', file: '', options: new DhcpOptions(),
    ...fields,
    chaddr: padChaddr(fields.chaddr ?? Buffer.alloc(16)),
  };
}

function padChaddr(b: Buffer): Buffer {
  if (b.length === 16) return b;
  if (b.length > 16) throw new RangeError('chaddr longer than 16 bytes');
  const out = Buffer.alloc(16);
  b.copy(out);
  return out;
}

/** The client hardware address in lower-case colon notation (first `hlen` bytes of chaddr, hlen capped at 16). */
export function packetMac(p: DhcpPacket): string {
  return formatMac(p.chaddr.subarray(0, Math.min(p.hlen, 16)));
}

function cString(buf: Buffer, start: number, len: number): string {
  let end = start;
  const limit = start + len;
  while (end < limit && buf[end] !== 0) end++;
  return buf.toString('latin1', start, end);
}

/**
 * Decode a UDP payload. Checks every bound: the fixed header and magic cookie must be present, op must be
 * 1 or 2, hlen ≤ 16, every option must fit in its field, known options must have valid lengths.
 * Option 52 (overload) is honoured and consumed: options found in file/sname are merged and those fields
 * read as "". Throws DhcpDecodeError naming the offset.
 */
export function decodePacket(input: Uint8Array): DhcpPacket {
  // one private copy: option values and chaddr are views into it, so later changes to `input` do not leak in
  const buf = Buffer.allocUnsafe(input.length);
  buf.set(input);
  if (buf.length < HEADER_LENGTH) throw new DhcpDecodeError(`packet is ${buf.length} bytes, shorter than the ${HEADER_LENGTH}-byte DHCP header`, buf.length);
  const op = buf[OFF.op];
  if (op !== BOOTREQUEST && op !== BOOTREPLY) throw new DhcpDecodeError(`op ${op} is neither BOOTREQUEST nor BOOTREPLY`, OFF.op);
  const hlen = buf[OFF.hlen];
  if (hlen > 16) throw new DhcpDecodeError(`hlen ${hlen} exceeds 16`, OFF.hlen);
  const view = buf;
  if (view.readUInt32BE(OFF.cookie) !== MAGIC_COOKIE) throw new DhcpDecodeError('missing DHCP magic cookie (plain BOOTP is not supported)', OFF.cookie);

  const reader = new OptionsReader();
  reader.readRegion(buf, HEADER_LENGTH, buf.length);
  const overload = reader.overload();
  if (overload !== null) {
    if (overload & 1) reader.readRegion(buf, OFF.file, OFF.file + FILE_LEN);
    if (overload & 2) reader.readRegion(buf, OFF.sname, OFF.sname + SNAME_LEN);
  }
  const options = reader.finish();
  options.delete(Opt.OVERLOAD);

  return {
    op,
    htype: buf[OFF.htype],
    hlen,
    hops: buf[OFF.hops],
    xid: view.readUInt32BE(OFF.xid),
    secs: view.readUInt16BE(OFF.secs),
    flags: view.readUInt16BE(OFF.flags),
    ciaddr: readIpv4(buf, OFF.ciaddr),
    yiaddr: readIpv4(buf, OFF.yiaddr),
    siaddr: readIpv4(buf, OFF.siaddr),
    giaddr: readIpv4(buf, OFF.giaddr),
    chaddr: buf.subarray(OFF.chaddr, OFF.chaddr + 16),
    sname: overload !== null && overload & 2 ? '' : cString(buf, OFF.sname, SNAME_LEN),
    file: overload !== null && overload & 1 ? '' : cString(buf, OFF.file, FILE_LEN),
    options,
  };
}

/** Bytes encodePacket will produce (including padding to MIN_PACKET_LENGTH). */
export function packetEncodingLength(p: DhcpPacket): number {
  return Math.max(MIN_PACKET_LENGTH, HEADER_LENGTH + optionsEncodingLength(p.options));
}

/**
 * Encode a packet: fixed header, cookie, all options in the options field (never overloaded), end option,
 * zero padding up to 300 bytes. sname/file are NUL-terminated unless they fill their field (64/128 bytes).
 * Throws RangeError on values that do not fit (sname > 64 bytes, file > 128, a malformed address …).
 */
export function encodePacket(p: DhcpPacket): Buffer {
  // latin1: one byte per character
  if (p.sname.length > SNAME_LEN) throw new RangeError(`sname is ${p.sname.length} bytes; at most ${SNAME_LEN}`);
  if (p.file.length > FILE_LEN) throw new RangeError(`file is ${p.file.length} bytes; at most ${FILE_LEN}`);
  if (p.chaddr.length !== 16) throw new RangeError('chaddr must be 16 bytes');
  // from node's pool (a reply is encoded for every request a server answers), zeroed: padding and empty fields are 0
  const buf = Buffer.allocUnsafe(packetEncodingLength(p)).fill(0);
  buf[OFF.op] = p.op;
  buf[OFF.htype] = p.htype;
  buf[OFF.hlen] = p.hlen;
  buf[OFF.hops] = p.hops;
  buf.writeUInt32BE(p.xid >>> 0, OFF.xid);
  buf.writeUInt16BE(p.secs, OFF.secs);
  buf.writeUInt16BE(p.flags, OFF.flags);
  writeIpv4(buf, OFF.ciaddr, p.ciaddr);
  writeIpv4(buf, OFF.yiaddr, p.yiaddr);
  writeIpv4(buf, OFF.siaddr, p.siaddr);
  writeIpv4(buf, OFF.giaddr, p.giaddr);
  p.chaddr.copy(buf, OFF.chaddr);
  if (p.sname) buf.write(p.sname, OFF.sname, SNAME_LEN, 'latin1');
  if (p.file) buf.write(p.file, OFF.file, FILE_LEN, 'latin1');
  buf.writeUInt32BE(MAGIC_COOKIE, OFF.cookie);
  writeOptions(p.options, buf, HEADER_LENGTH);
  return buf;
}
