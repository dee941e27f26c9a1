// What a node's DHCP exchange does to the core, for unit tests of what follows it (boot scripts, agent tokens): the
// boot policy's DHCP decision (open admission makes the node) and the DHCPACK event through the daemon's netboot sink
// (the address that now holds the MAC's lease). Only a DHCP exchange creates a node or moves its address (issue 19).
import type { Core } from '../../core/core.ts';
import { createNetbootSink } from '../../core/netboot-sink.ts';

/** `mac` made a PXE DHCP exchange and holds `ip`; returns the node id (null when admission did not make it a node). */
export function dhcpExchange(core: Core, mac: string, ip: string): string | null {
  core.policy.dhcpBoot({ mac, arch: null, vendorClass: 'PXEClient', userClass: null, uuid: null, interface: 'br0' });
  createNetbootSink(core)({ source: 'dhcp', kind: 'ack', mac, ip, message: `DHCPACK ${ip} to ${mac}` });
  return core.nodes.idByMac(mac);
}
