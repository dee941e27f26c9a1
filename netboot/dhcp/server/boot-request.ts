// What a DHCP packet tells the boot policy (netboot/boot-policy.ts BootRequest).

import type { BootRequest } from '../../boot-policy.ts';
import { clientArch } from '../netboot-client.ts';
import { packetMac, type DhcpPacket } from '../packet.ts';

/** Build the BootRequest for a decoded client packet that arrived on `iface`. */
export function bootRequestOf(p: DhcpPacket, iface: string): BootRequest {
  const classes = p.options.userClasses;
  return {
    mac: packetMac(p),
    arch: clientArch(p),
    vendorClass: p.options.vendorClass,
    userClass: classes ? (classes.includes('iPXE') ? 'iPXE' : classes[0] ?? null) : null,
    uuid: p.options.clientUuid,
    interface: iface,
  };
}
