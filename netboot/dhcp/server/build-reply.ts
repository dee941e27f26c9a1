// Building server replies: the BOOTREPLY header copied from the request (RFC 2131 §4.3.1 table 3) and the
// boot fields from a DhcpBootAnswer. Shared by the authoritative and the proxy handlers.

import type { DhcpBootAnswer } from '../../boot-policy.ts';
import { IPV4_ANY, writeIpv4 } from '../ipv4.ts';
import { Opt } from '../option-codes.ts';
import { BOOTREPLY, FLAG_BROADCAST, newPacket, type DhcpPacket } from '../packet.ts';

/** option 53 values 0..8, shared by every reply (option buffers of a reply are never mutated) */
const MESSAGE_TYPE_BYTES = Array.from({ length: 9 }, (_, t) => Buffer.from([t]));
/** one-entry memo: a server always answers with the same identifier */
let lastServerId = '';
let lastServerIdBytes: Buffer = Buffer.alloc(4);
function ipv4Bytes(ip: string): Buffer {
  const b = Buffer.alloc(4);
  writeIpv4(b, 0, ip);
  return b;
}

/**
 * A reply to `req` of message `type` from `serverId`: xid, flags, giaddr, chaddr, htype/hlen copied;
 * option 53 then 54 first; option 82 echoed (RFC 3046 §2.2). yiaddr/ciaddr are the caller's.
 */
export function replyTo(req: DhcpPacket, type: number, serverId: string): DhcpPacket {
  const reply = newPacket({
    op: BOOTREPLY, htype: req.htype, hlen: req.hlen, xid: req.xid, flags: req.flags, giaddr: req.giaddr, chaddr: req.chaddr,
  });
  reply.options.adoptRaw(Opt.MESSAGE_TYPE, MESSAGE_TYPE_BYTES[type] ?? Buffer.from([type]));
  if (serverId !== lastServerId) { lastServerIdBytes = ipv4Bytes(serverId); lastServerId = serverId; }
  reply.options.adoptRaw(Opt.SERVER_ID, lastServerIdBytes);
  const relay = req.options.getRaw(Opt.RELAY_AGENT_INFO);
  if (relay) reply.options.setRaw(Opt.RELAY_AGENT_INFO, relay);
  return reply;
}

/** A DHCPNAK (RFC 2131 §4.3.2): no addresses, broadcast bit set when going through a relay, a reason in option 56. */
export function nakTo(req: DhcpPacket, serverId: string, reason: string): DhcpPacket {
  const nak = replyTo(req, 6, serverId);
  nak.yiaddr = IPV4_ANY;
  nak.ciaddr = IPV4_ANY;
  if (req.giaddr !== IPV4_ANY) nak.flags |= FLAG_BROADCAST;
  nak.options.message = reason;
  return nak;
}

/**
 * Put boot information in a reply: siaddr = next server (TFTP), file field (when it fits) and option 67,
 * option 66 when the client asked for it, option 60 when the answer names one.
 */
export function applyBootAnswer(reply: DhcpPacket, req: DhcpPacket, answer: DhcpBootAnswer): void {
  reply.siaddr = answer.nextServer ?? IPV4_ANY;
  if (Buffer.byteLength(answer.bootFile, 'latin1') < 128) reply.file = answer.bootFile;
  reply.options.bootfileName = answer.bootFile;
  if (answer.nextServer && req.options.parameterRequestList?.includes(Opt.TFTP_SERVER_NAME)) reply.options.tftpServerName = answer.nextServer;
  if (answer.vendorClass) reply.options.vendorClass = answer.vendorClass;
}
