// Feeds NetbootEvents (DHCP, TFTP, HTTP servers) into the per-MAC history: resolves a TFTP/HTTP client's IP to its
// MAC through the DHCP leases, then the node store; remembers the address a DHCP ACK gave; persists and broadcasts.
import type { NetbootEvent, NetbootEventSink } from '../netboot/boot-policy.ts';
import type { Core } from './core.ts';
import { normalizeMac } from './ids.ts';

/** A sink for the netboot servers. `ipToMac` looks up the DHCP leases (null when unknown). Never throws. */
export function createNetbootSink(core: Core, ipToMac: (ip: string) => string | null = () => null): NetbootEventSink {
  return (e: NetbootEvent) => {
    try {
      let mac = e.mac ? normalizeMac(e.mac) : null;
      if (!mac && e.ip) mac = ipToMac(e.ip) ?? core.nodes.getByIp(e.ip)?.mac ?? null;
      let node = mac ? core.nodes.getByMac(mac) : null;
      if (node && e.source === 'dhcp' && e.kind === 'ack' && e.ip && node.ip !== e.ip) {
        node = core.nodes.update(node.id, { ip: e.ip });
        if (node) core.lifecycle.announce(node.id);
      }
      core.bus.record({
        source: e.source, kind: e.kind, mac, nodeId: node?.id ?? null, message: e.message,
        detail: { ...(e.detail ?? {}), ...(e.ip ? { ip: e.ip } : {}) }, level: e.level,
      });
    } catch (err) {
      core.log.error({ err, kind: e.kind, source: e.source }, 'netboot event dropped');
    }
  };
}
