// Where a server reply goes (RFC 2131 §4.1, "Constructing and sending DHCP messages").

import { FLAG_BROADCAST, type DhcpPacket } from '../packet.ts';
import { IPV4_ANY } from '../ipv4.ts';

export interface ReplyPorts {
  /** the port we listen on (67) */
  server: number;
  /** relays listen on the server port (67); tests may move it */
  relay: number;
  /** clients listen on 68 */
  client: number;
  /** limited broadcast, or a substitute in loopback tests */
  broadcastAddress: string;
}

/** A reply to a client without an address, at the link layer: IPv4 destination `ip` in an Ethernet frame to `mac`. */
export interface LinkTarget { ip: string; mac: Uint8Array }

export interface ReplyTarget {
  /** UDP destination through the server's socket */
  address: string;
  port: number;
  /**
   * Set for a client on our own segment that has no address (giaddr and ciaddr 0): how RFC 2131 §4.1 says to reach
   * it. The serve loop sends it so when it has a link-layer sender (net/link-layer.ts); otherwise, and when that
   * sender cannot take it, `address` — the broadcast address — is the fallback, which such clients accept too.
   * null: plain UDP to `address`.
   */
  link: LinkTarget | null;
}

const BROADCAST: LinkTarget = Object.freeze({ ip: '255.255.255.255', mac: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff) });

/**
 * 1. giaddr ≠ 0: to the relay agent on the server port.
 * 2. DHCPNAK: broadcast.
 * 3. ciaddr ≠ 0 (RENEWING, REBINDING, INFORM): unicast to ciaddr.
 * 4. broadcast flag: broadcast.
 * 5. otherwise unicast to `yiaddr` at chaddr (an Ethernet address, htype 1 / hlen 6); without a yiaddr (proxyDHCP)
 *    or an Ethernet chaddr, broadcast.
 * Broadcasts (2, 4, 5) go to 255.255.255.255 in an Ethernet broadcast frame.
 */
export function replyTarget(req: DhcpPacket, isNak: boolean, ports: ReplyPorts, yiaddr: string = IPV4_ANY): ReplyTarget {
  if (req.giaddr !== IPV4_ANY) return { address: req.giaddr, port: ports.relay, link: null };
  if (isNak) return { address: ports.broadcastAddress, port: ports.client, link: BROADCAST };
  if (req.ciaddr !== IPV4_ANY) return { address: req.ciaddr, port: ports.client, link: null };
  if (req.flags & FLAG_BROADCAST || yiaddr === IPV4_ANY || !ethernetChaddr(req)) return { address: ports.broadcastAddress, port: ports.client, link: BROADCAST };
  return { address: ports.broadcastAddress, port: ports.client, link: { ip: yiaddr, mac: req.chaddr.subarray(0, 6) } };
}

/** htype 1 (Ethernet), hlen 6 and not all zeros: an address a frame can be sent to. */
function ethernetChaddr(req: DhcpPacket): boolean {
  const c = req.chaddr;
  return req.htype === 1 && req.hlen === 6 && (c[0] | c[1] | c[2] | c[3] | c[4] | c[5]) !== 0 && (c[0] & 1) === 0;
}

/** For logs: "10.0.0.5:68 at 52:54:00:…" for a link-layer target, "address:port" otherwise. */
export function describeTarget(to: ReplyTarget): string {
  if (!to.link) return `${to.address}:${to.port}`;
  return `${to.link.ip}:${to.port} at ${Array.from(to.link.mac, (b) => b.toString(16).padStart(2, '0')).join(':')}`;
}
