// ProxyDHCP mode (PXE 2.1 §2.2.5; DESIGN.md): never assigns addresses (yiaddr stays 0.0.0.0) and answers
// PXE clients only (option 60 starts "PXEClient"); the site's DHCP server gives the address.
//   port 67:   DHCPDISCOVER → DHCPOFFER with boot info, option 60 "PXEClient", option 43 with
//              PXE_DISCOVERY_CONTROL = USE_BOOT_FILE (the client downloads the file at once, no menu or
//              boot-server discovery); a DHCPREQUEST naming us in option 54 → DHCPACK likewise.
//   port 4011: DHCPREQUEST/DHCPINFORM → DHCPACK with the same boot info, unicast back to the sender.

import type { RemoteInfo } from 'node:dgram';
import type { BootPolicy } from '../../boot-policy.ts';
import { Opt } from '../option-codes.ts';
import { DhcpMessageType } from '../message-type.ts';
import { isPxeClient } from '../netboot-client.ts';
import type { DhcpPacket } from '../packet.ts';
import { encodePxeVendorOptions, PxeDiscoveryControl } from '../pxe-vendor-options.ts';
import { bootRequestOf } from './boot-request.ts';
import { applyBootAnswer, replyTo } from './build-reply.ts';
import { replyTarget, type ReplyPorts } from './reply-target.ts';
import type { Decision } from './serve-loop.ts';

export class ProxyHandler {
  constructor(
    private readonly serverIp: string,
    private readonly policy: BootPolicy,
    private readonly ports: ReplyPorts,
    private readonly iface: string,
  ) {}

  /** Requests on the DHCP server port (broadcast DISCOVERs, REQUESTs). */
  decideDhcpPort = (req: DhcpPacket, _from: RemoteInfo): Decision => {
    const type = req.options.messageType;
    if (type === DhcpMessageType.REQUEST && req.options.serverId !== this.serverIp) return { action: 'drop', reason: 'request for the address-assigning server' };
    if (type !== DhcpMessageType.DISCOVER && type !== DhcpMessageType.REQUEST) return { action: 'drop', reason: 'proxyDHCP answers DISCOVER and REQUEST only' };
    const reply = this.bootReply(req, type === DhcpMessageType.DISCOVER ? DhcpMessageType.OFFER : DhcpMessageType.ACK);
    if (!reply) return { action: 'drop', reason: isPxeClient(req) ? 'boot policy ignores this client' : 'not a PXE client' };
    return { action: 'reply', reply, to: replyTarget(req, false, this.ports) };
  };

  /** Requests on the PXE boot-server port 4011: unicast ACK back to where the request came from. */
  decideBootServerPort = (req: DhcpPacket, from: RemoteInfo): Decision => {
    const type = req.options.messageType;
    if (type !== DhcpMessageType.REQUEST && type !== DhcpMessageType.INFORM) return { action: 'drop', reason: 'port 4011 answers REQUEST and INFORM only' };
    const reply = this.bootReply(req, DhcpMessageType.ACK);
    if (!reply) return { action: 'drop', reason: isPxeClient(req) ? 'boot policy ignores this client' : 'not a PXE client' };
    reply.ciaddr = req.ciaddr;
    return { action: 'reply', reply, to: { address: from.address, port: from.port, link: null } };
  };

  private bootReply(req: DhcpPacket, type: number): DhcpPacket | null {
    if (!isPxeClient(req)) return null;
    const answer = this.policy.dhcpBoot(bootRequestOf(req, this.iface));
    if (!answer) return null;
    const reply = replyTo(req, type, this.serverIp);
    applyBootAnswer(reply, req, answer);
    // iPXE accepts a proxy reply only with a non-zero siaddr and a boot file (iPXE dhcp.c dhcp_has_pxeopts,
    // seen with QEMU's ROM beside dnsmasq): name ourselves as next server even when the file is an http:// URL.
    if (reply.siaddr === '0.0.0.0') reply.siaddr = this.serverIp;
    reply.options.vendorClass = 'PXEClient';
    reply.options.vendorSpecific = encodePxeVendorOptions({ discoveryControl: PxeDiscoveryControl.USE_BOOT_FILE });
    // PXE clients match proxy replies by their machine identifier (PXE 2.1 §2.2.5)
    const uuid = req.options.getRaw(Opt.CLIENT_UUID);
    if (uuid) reply.options.setRaw(Opt.CLIENT_UUID, uuid);
    return reply;
  }
}
