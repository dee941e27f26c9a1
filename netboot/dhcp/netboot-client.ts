// Protocol facts about network-boot clients, as pure functions over a decoded packet
// (PXE 2.1 §2.2 option 60, RFC 4578 options 93/94/97, iPXE user class 77).

import type { DhcpPacket } from './packet.ts';

/** Option 60 starts with "PXEClient" (PXE ROMs, iPXE, EDK2 PXE). */
export function isPxeClient(p: DhcpPacket): boolean {
  return p.options.vendorClass?.startsWith('PXEClient') ?? false;
}

/** Option 60 starts with "HTTPClient" (UEFI HTTP boot, UEFI 2.5 §24.7). */
export function isHttpClient(p: DhcpPacket): boolean {
  return p.options.vendorClass?.startsWith('HTTPClient') ?? false;
}

/** Option 77 carries the class "iPXE" (bare string or an RFC 3004 instance). */
export function isIpxeClient(p: DhcpPacket): boolean {
  return p.options.userClasses?.includes('iPXE') ?? false;
}

/**
 * A client that wants boot information: option 60 starts with "PXEClient" or "HTTPClient", or option 77
 * says "iPXE". Everything else (dhclient, udhcpc, phones, printers) is a plain DHCP client.
 */
export function isNetbootClient(p: DhcpPacket): boolean {
  return isPxeClient(p) || isHttpClient(p) || isIpxeClient(p);
}

/** First architecture of option 93 (RFC 4578 §2.1); null when absent. */
export function clientArch(p: DhcpPacket): number | null {
  return p.options.clientArch?.[0] ?? null;
}
