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

export interface ReplyTarget { address: string; port: number }

/**
 * 1. giaddr ≠ 0: to the relay agent on the server port.
 * 2. DHCPNAK: broadcast.
 * 3. ciaddr ≠ 0 (RENEWING, REBINDING, INFORM): unicast to ciaddr.
 * 4. broadcast flag: broadcast.
 * 5. otherwise RFC 2131 would unicast to yiaddr at chaddr, which needs an ARP entry a UDP socket cannot
 *    insert; like many servers we broadcast instead (clients accept broadcast replies).
 */
export function replyTarget(req: DhcpPacket, isNak: boolean, ports: ReplyPorts): ReplyTarget {
  if (req.giaddr !== IPV4_ANY) return { address: req.giaddr, port: ports.relay };
  if (isNak) return { address: ports.broadcastAddress, port: ports.client };
  if (req.ciaddr !== IPV4_ANY) return { address: req.ciaddr, port: ports.client };
  if (req.flags & FLAG_BROADCAST) return { address: ports.broadcastAddress, port: ports.client };
  return { address: ports.broadcastAddress, port: ports.client };
}
