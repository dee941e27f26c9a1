// The few DHCP packets a relaying load generator sends and the reply fields it reads (RFC 2131 §2, §4.1;
// RFC 2132 options 50, 53, 54, 55, 61). Pure functions over bytes; no sockets, no clock.
//
// This is deliberately a tiny, bench-local encoder: the storm must cost the client as little CPU as
// possible so the server is what gets measured, and it must not depend on the codec under test to build
// its requests. Replies are cross-checked with RackSeed's own decoder in the smoke test.

const BOOTP_FIXED = 236;
const MAGIC = [99, 130, 83, 99];
/** Requests are padded to the BOOTP minimum so every server sees a normal-sized packet (RFC 1542 §3.1). */
const MIN_LEN = 300;

export const MSG_DISCOVER = 1;
export const MSG_OFFER = 2;
export const MSG_REQUEST = 3;
export const MSG_ACK = 5;
export const MSG_NAK = 6;

export interface RelayedRequest {
  type: typeof MSG_DISCOVER | typeof MSG_REQUEST;
  xid: number;
  /** 6 bytes */
  mac: Uint8Array;
  /** relay agent address (giaddr) as a uint32 */
  giaddr: number;
  /** REQUEST only: option 50 (address from the OFFER) and option 54 (server identifier), uint32 */
  requestedIp?: number;
  serverId?: number;
}

/** Encode a relayed (hops = 1, giaddr set) DISCOVER or REQUEST of at least 300 bytes. */
export function encodeRelayedRequest(req: RelayedRequest): Buffer {
  const buf = Buffer.alloc(MIN_LEN);
  writeRequest(buf, 0, req, 1, false);
  return buf;
}

/** Bytes writeRequest writes (requests are padded to the BOOTP minimum). */
export const REQUEST_LENGTH = MIN_LEN;

/**
 * Write a DISCOVER or REQUEST (REQUEST_LENGTH bytes) into `buf` at `at`, which must be zeroed: `hops` 1 for a relay,
 * 0 for a client on the server's own segment (giaddr 0 then); `broadcast` sets the broadcast flag (RFC 2131 §2),
 * as PXE ROMs do.
 */
export function writeRequest(buf: Buffer, at: number, req: RelayedRequest, hops: number, broadcast: boolean): void {
  buf[at] = 1; // BOOTREQUEST
  buf[at + 1] = 1; // Ethernet
  buf[at + 2] = 6;
  buf[at + 3] = hops;
  buf.writeUInt32BE(req.xid >>> 0, at + 4);
  if (broadcast) buf[at + 10] = 0x80;
  buf.writeUInt32BE(req.giaddr >>> 0, at + 24);
  buf.set(req.mac, at + 28);
  let o = at + BOOTP_FIXED;
  buf.set(MAGIC, o); o += 4;
  buf[o++] = 53; buf[o++] = 1; buf[o++] = req.type;
  buf[o++] = 61; buf[o++] = 7; buf[o++] = 1; buf.set(req.mac, o); o += 6; // client id: htype + MAC
  if (req.type === MSG_REQUEST) {
    if (req.requestedIp === undefined || req.serverId === undefined) throw new RangeError('REQUEST needs requestedIp and serverId');
    buf[o++] = 50; buf[o++] = 4; buf.writeUInt32BE(req.requestedIp >>> 0, o); o += 4;
    buf[o++] = 54; buf[o++] = 4; buf.writeUInt32BE(req.serverId >>> 0, o); o += 4;
  }
  buf[o++] = 55; buf[o++] = 4; buf[o++] = 1; buf[o++] = 3; buf[o++] = 6; buf[o++] = 51; // mask, router, dns, lease
  buf[o] = 255;
}

export interface RelayedReply {
  xid: number;
  /** yiaddr as uint32 */
  yiaddr: number;
  /** option 53; null when absent */
  type: number | null;
  /** option 54 as uint32; null when absent */
  serverId: number | null;
  /** chaddr's first 6 bytes as 12 lower-case hex digits */
  macHex: string;
}

/**
 * Read the fields the storm needs from a BOOTREPLY. Returns null for anything that is not a well-formed
 * BOOTREPLY with the DHCP magic cookie (the storm counts and drops those). Option overload (52) is not
 * followed: none of the servers under test uses it for these replies.
 */
export function decodeRelayedReply(buf: Buffer): RelayedReply | null {
  if (buf.length < BOOTP_FIXED + 4 || buf[0] !== 2) return null;
  if (buf[236] !== 99 || buf[237] !== 130 || buf[238] !== 83 || buf[239] !== 99) return null;
  let type: number | null = null;
  let serverId: number | null = null;
  let o = BOOTP_FIXED + 4;
  while (o < buf.length) {
    const code = buf[o];
    if (code === 255) break;
    if (code === 0) { o++; continue; }
    if (o + 1 >= buf.length) return null;
    const len = buf[o + 1];
    if (o + 2 + len > buf.length) return null;
    if (code === 53 && len === 1) type = buf[o + 2];
    else if (code === 54 && len === 4) serverId = buf.readUInt32BE(o + 2);
    o += 2 + len;
  }
  return { xid: buf.readUInt32BE(4), yiaddr: buf.readUInt32BE(16), type, serverId, macHex: buf.toString('hex', 28, 34) };
}

export function u32ToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function ipToU32(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new RangeError(`not an IPv4 address: ${ip}`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** The storm's i-th MAC: locally administered 02:5e:<run>:<i as 3 bytes>, so runs never collide. */
export function stormMac(run: number, i: number): Buffer {
  return Buffer.from([0x02, 0x5e, run & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255]);
}
