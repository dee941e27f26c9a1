// The frames a DHCP client without an address exchanges on its own segment (RFC 2131 §4.1, §4.4.1): it sends
// DISCOVER/REQUEST from 0.0.0.0:68 to 255.255.255.255:67 in an Ethernet broadcast frame whose source is its own
// hardware address (chaddr), and takes a reply either as a broadcast (flag set, or a server that always broadcasts)
// or unicast to yiaddr at chaddr (flag clear). Pure functions over bytes for the same-segment load generator
// (dhcp-local-storm.ts), which sends and receives whole frames on a packet socket as dhclient and udhcpc do.
import { REQUEST_LENGTH, writeRequest, type RelayedRequest } from './dhcp-relay-wire.ts';

export const ETH_HEADER = 14;
const IP_HEADER = 20;
const UDP_HEADER = 8;
/** where the DHCP message starts in a request frame */
export const REQUEST_PAYLOAD_AT = ETH_HEADER + IP_HEADER + UDP_HEADER;
export const REQUEST_FRAME_LENGTH = REQUEST_PAYLOAD_AT + REQUEST_LENGTH;
export const BROADCAST_IP = 0xffffffff;

/** RFC 1071 one's-complement sum of `len` bytes from `at`, folded (not inverted). */
function sum16(buf: Buffer, at: number, len: number, initial = 0): number {
  let s = initial;
  for (let i = 0; i < len - 1; i += 2) s += (buf[at + i] << 8) | buf[at + i + 1];
  if (len & 1) s += buf[at + len - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The IPv4 header checksum of the 20-byte header at `at` (its checksum field counted as written). */
export function ipv4HeaderChecksum(buf: Buffer, at: number): number {
  return ~sum16(buf, at, IP_HEADER) & 0xffff;
}

/**
 * A DISCOVER/REQUEST as a client without an address sends it: Ethernet ff:ff:ff:ff:ff:ff from chaddr, IPv4
 * 0.0.0.0 → 255.255.255.255, UDP 68 → 67 (no UDP checksum: 0 is allowed in IPv4, RFC 768, and every receiver
 * skips it alike), giaddr 0, hops 0; `broadcast` sets the broadcast flag.
 */
export function encodeLocalRequestFrame(req: Omit<RelayedRequest, 'giaddr'>, broadcast: boolean): Buffer {
  const f = Buffer.alloc(REQUEST_FRAME_LENGTH);
  f.fill(0xff, 0, 6);
  f.set(req.mac, 6);
  f[12] = 0x08; f[13] = 0x00; // IPv4
  const ip = ETH_HEADER;
  f[ip] = 0x45; // version 4, 20-byte header
  f.writeUInt16BE(REQUEST_FRAME_LENGTH - ETH_HEADER, ip + 2);
  f[ip + 8] = 64; // TTL
  f[ip + 9] = 17; // UDP
  f.writeUInt32BE(BROADCAST_IP, ip + 16); // source 0.0.0.0 stays zero
  f.writeUInt16BE(ipv4HeaderChecksum(f, ip), ip + 10);
  const udp = ip + IP_HEADER;
  f.writeUInt16BE(68, udp);
  f.writeUInt16BE(67, udp + 2);
  f.writeUInt16BE(UDP_HEADER + REQUEST_LENGTH, udp + 4);
  writeRequest(f, REQUEST_PAYLOAD_AT, { ...req, giaddr: 0 }, 0, broadcast);
  return f;
}

/** How a reply frame reached the client, by its Ethernet and IP destinations. */
export const Delivery = {
  /** ff:ff:ff:ff:ff:ff and 255.255.255.255 (or the subnet's broadcast address) */
  Broadcast: 0,
  /** chaddr and yiaddr: RFC 2131 §4.1's unicast to a client without an address */
  Unicast: 1,
  /** 255.255.255.255 (or the subnet's broadcast) in a frame to chaddr: what Kea sends for the broadcast flag */
  BroadcastToMac: 2,
  /** anything else (e.g. a broadcast frame to yiaddr, or a frame to another MAC) */
  Other: 3,
} as const;
export type Delivery = (typeof Delivery)[keyof typeof Delivery];

export interface ReplyFrame {
  /** the UDP payload (the DHCP message) */
  payloadAt: number;
  payloadEnd: number;
  dstIp: number;
  /** true when the Ethernet destination is ff:ff:ff:ff:ff:ff */
  ethBroadcast: boolean;
}

/**
 * The UDP payload of an IPv4 frame to port 68, or null for anything else (other protocols, fragments, a header
 * that does not fit, another port). The packet socket's filter already passes only such frames; this is the check.
 */
export function parseReplyFrame(f: Buffer, len: number): ReplyFrame | null {
  if (len < ETH_HEADER + IP_HEADER + UDP_HEADER || f[12] !== 0x08 || f[13] !== 0x00) return null;
  const ip = ETH_HEADER;
  if (f[ip] >> 4 !== 4 || f[ip + 9] !== 17) return null;
  const ihl = (f[ip] & 15) * 4;
  if (ihl < IP_HEADER || (f.readUInt16BE(ip + 6) & 0x3fff) !== 0) return null; // no fragments
  const total = Math.min(f.readUInt16BE(ip + 2), len - ETH_HEADER);
  const udp = ip + ihl;
  if (udp + UDP_HEADER > ETH_HEADER + total || f.readUInt16BE(udp + 2) !== 68) return null;
  const end = Math.min(udp + f.readUInt16BE(udp + 4), ETH_HEADER + total);
  if (end < udp + UDP_HEADER) return null;
  return {
    payloadAt: udp + UDP_HEADER, payloadEnd: end, dstIp: f.readUInt32BE(ip + 16),
    ethBroadcast: f[0] === 0xff && f[1] === 0xff && f[2] === 0xff && f[3] === 0xff && f[4] === 0xff && f[5] === 0xff,
  };
}

/** Classify a reply: `mac` the client's chaddr, `yiaddr` the address in the reply, `subnetBroadcast` e.g. 10.211.255.255. */
export function deliveryOf(f: Buffer, r: ReplyFrame, mac: Uint8Array, yiaddr: number, subnetBroadcast: number): Delivery {
  const ipBroadcast = r.dstIp === BROADCAST_IP || r.dstIp === subnetBroadcast;
  if (r.ethBroadcast) return ipBroadcast ? Delivery.Broadcast : Delivery.Other;
  const toMac = f[0] === mac[0] && f[1] === mac[1] && f[2] === mac[2] && f[3] === mac[3] && f[4] === mac[4] && f[5] === mac[5];
  if (!toMac) return Delivery.Other;
  return r.dstIp === yiaddr ? Delivery.Unicast : ipBroadcast ? Delivery.BroadcastToMac : Delivery.Other;
}
