// Feeds NetbootEvents (DHCP, TFTP, HTTP servers) into the per-MAC history: resolves a TFTP/HTTP client's IP to its
// MAC through the DHCP leases, then the addresses seen in DHCP events (core.addresses: the only source in proxy
// mode), then the node store; remembers a node's own address (isOwnAddress) in the node store; persists and
// broadcasts. Only DHCP events move an address: an HTTP request naming a MAC (`/boot.ipxe?mac=`) can come from anyone
// on the segment, so it neither maps its address to that MAC nor re-points the node (issue 19 item 3).
import type { NetbootEvent, NetbootEventSink } from '../netboot/boot-policy.ts';
import type { Core } from './core.ts';
import { normalizeMac } from './ids.ts';

/**
 * DHCP event kinds whose ip is the client's own address (requests carry ciaddr or option 50, replies yiaddr).
 * Authoritative mode: only what this server gave (offer, ack) — a REQUEST/INFORM's address is the sender's claim,
 * which this server may NAK. Proxy mode (the "proxy-" prefix): the site's DHCP server gives the addresses, so the
 * client's REQUEST/INFORM and the answers to them are all there is. Not discover (a stale option 50), decline or nak.
 */
const ADDRESS_KINDS = /^(offer|ack|proxy-(request|ack|inform|offer))$/;

/** proxyDHCP event kinds whose detail.ciaddr, when present, is the address the client is bound to (isOwnAddress) */
const PROXY_BOUND_KINDS = /^proxy-(request|ack|inform)$/;

/** The MAC an HTTP boot-script event names (`/boot.ipxe?mac=…`, carried in detail.mac), or null. */
function scriptMac(e: NetbootEvent): string | null {
  const m = e.source === 'http' ? e.detail?.mac : undefined;
  return typeof m === 'string' ? normalizeMac(m) : null;
}

/**
 * Whether `e` shows the address the client itself now uses, so it becomes the node's ip (kept in SQLite: after a
 * restart, TFTP/HTTP events of that address still find their MAC through the node store, also in proxy mode):
 * - our DHCPACK (authoritative mode: yiaddr);
 * - a proxyDHCP REQUEST/INFORM (or its answer) carrying ciaddr (RFC 2131 §4.1: only a client bound to that address
 *   fills it; a RELEASE carries it too, but gives the address up).
 * Never an HTTP request: `/boot.ipxe?mac=` names a MAC, but anyone can send it.
 */
function isOwnAddress(e: NetbootEvent): boolean {
  return e.source === 'dhcp' && (e.kind === 'ack' || (PROXY_BOUND_KINDS.test(e.kind) && e.detail?.ciaddr === e.ip));
}

/** A sink for the netboot servers. `ipToMac` looks up the DHCP leases (null when unknown). Never throws. */
export function createNetbootSink(core: Core, ipToMac: (ip: string) => string | null = () => null): NetbootEventSink {
  return (e: NetbootEvent) => {
    try {
      let mac = e.mac ? normalizeMac(e.mac) : scriptMac(e);
      if (mac && e.ip && e.source === 'dhcp' && ADDRESS_KINDS.test(e.kind)) core.addresses.note(e.ip, mac);
      if (!mac && e.ip) mac = ipToMac(e.ip) ?? core.addresses.get(e.ip) ?? core.nodes.getByIp(e.ip)?.mac ?? null;
      const nodeId = mac ? core.nodes.idByMac(mac) : null;
      if (nodeId && e.ip && isOwnAddress(e) && core.nodes.get(nodeId)?.ip !== e.ip) {
        if (core.nodes.update(nodeId, { ip: e.ip })) core.lifecycle.announce(nodeId);
      }
      // the event is handed over (NetbootEventSink), so its detail is extended in place: no copy per DHCP exchange
      const detail = e.detail ?? {};
      if (e.ip) detail.ip = e.ip;
      core.bus.record({ source: e.source, kind: e.kind, mac, nodeId, message: e.message, detail, level: e.level, at: e.at });
    } catch (err) {
      core.log.error({ err, kind: e.kind, source: e.source }, 'netboot event dropped');
    }
  };
}
