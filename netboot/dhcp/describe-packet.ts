// A stable, human-readable text form of a decoded packet: the golden snapshots (test/fixtures/dhcp/*.txt)
// and debug logs use it. Every typed getter is exercised, so it also documents what the codec understands.

import { messageTypeName } from './message-type.ts';
import { optionName, Opt } from './option-codes.ts';
import { packetMac, type DhcpPacket } from './packet.ts';

/** Multi-line description: header fields, then one line per option in wire order. */
export function describePacket(p: DhcpPacket): string {
  const o = p.options;
  const lines = [
    `${messageTypeName(o.messageType)} op=${p.op} htype=${p.htype} hlen=${p.hlen} hops=${p.hops} xid=0x${p.xid.toString(16).padStart(8, '0')} secs=${p.secs} flags=0x${p.flags.toString(16).padStart(4, '0')}`,
    `chaddr=${packetMac(p)} ciaddr=${p.ciaddr} yiaddr=${p.yiaddr} siaddr=${p.siaddr} giaddr=${p.giaddr}`,
    `sname=${JSON.stringify(p.sname)} file=${JSON.stringify(p.file)}`,
  ];
  for (const [code, raw] of o.entries()) {
    let v: unknown;
    switch (code) {
      case Opt.MESSAGE_TYPE: v = messageTypeName(o.messageType); break;
      case Opt.SUBNET_MASK: v = o.subnetMask; break;
      case Opt.ROUTER: v = o.routers; break;
      case Opt.DNS_SERVERS: v = o.dnsServers; break;
      case Opt.HOSTNAME: v = o.hostname; break;
      case Opt.DOMAIN_NAME: v = o.domainName; break;
      case Opt.BROADCAST_ADDRESS: v = o.broadcastAddress; break;
      case Opt.REQUESTED_IP: v = o.requestedIp; break;
      case Opt.LEASE_TIME: v = o.leaseTime; break;
      case Opt.SERVER_ID: v = o.serverId; break;
      case Opt.PARAMETER_REQUEST_LIST: v = o.parameterRequestList; break;
      case Opt.MESSAGE: v = o.message; break;
      case Opt.MAX_MESSAGE_SIZE: v = o.maxMessageSize; break;
      case Opt.RENEWAL_TIME: v = o.renewalTime; break;
      case Opt.REBINDING_TIME: v = o.rebindingTime; break;
      case Opt.VENDOR_CLASS: v = o.vendorClass; break;
      case Opt.CLIENT_ID: v = o.clientId!.toString('hex'); break;
      case Opt.TFTP_SERVER_NAME: v = o.tftpServerName; break;
      case Opt.BOOTFILE_NAME: v = o.bootfileName; break;
      case Opt.USER_CLASS: v = o.userClasses; break;
      case Opt.CLIENT_ARCH: v = o.clientArch; break;
      case Opt.CLIENT_NDI: v = o.clientNdi; break;
      case Opt.CLIENT_UUID: v = o.clientUuid ?? `raw:${raw.toString('hex')}`; break;
      case Opt.VENDOR_SPECIFIC: {
        const pxe = o.pxeVendorOptions;
        v = pxe ? { pxe: pxe.subOptions.map((s) => `${s.code}:${s.data.toString('hex')}`), discoveryControl: pxe.discoveryControl } : `raw:${raw.toString('hex')}`;
        break;
      }
      case Opt.RELAY_AGENT_INFO: {
        const r = o.relayAgentInfo!;
        v = r.subOptions.map((s) => `${s.code}:${s.data.toString('hex')}`);
        break;
      }
      default: v = `raw:${raw.toString('hex')}`;
    }
    lines.push(`  ${String(code).padStart(3)} ${optionName(code)} = ${JSON.stringify(v)}`);
  }
  return lines.join('\n') + '\n';
}
