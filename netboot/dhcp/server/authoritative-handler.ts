// Authoritative mode (RFC 2131 §4.3): our pool and reservations, DISCOVER → OFFER, REQUEST → ACK/NAK,
// RELEASE, DECLINE, INFORM. Boot information for network-boot clients comes from the BootPolicy; other
// clients get an address and no boot information.

import type { RemoteInfo } from 'node:dgram';
import type { BootPolicy, NetbootEventSink } from '../../boot-policy.ts';
import { IPV4_ANY, intToIpv4, ipv4ToInt } from '../ipv4.ts';
import { DhcpMessageType } from '../message-type.ts';
import { isNetbootClient } from '../netboot-client.ts';
import { DhcpOptions } from '../options.ts';
import { packetMac, type DhcpPacket } from '../packet.ts';
import type { AddressPool } from './address-pool.ts';
import { bootRequestOf } from './boot-request.ts';
import { applyBootAnswer, nakTo, replyTo } from './build-reply.ts';
import type { Counters } from './counters.ts';
import type { LeaseStore } from './lease-store.ts';
import { replyTarget, type ReplyPorts } from './reply-target.ts';
import type { Decision } from './serve-loop.ts';

export interface NetworkOptions {
  serverIp: string;
  /** first pool address: identifies the served subnet */
  poolFirst: string;
  subnetMask: string;
  routers: string[];
  dnsServers: string[];
  domainName: string | null;
  leaseTimeSec: number;
  renewalTimeSec: number;
  rebindingTimeSec: number;
}

export class AuthoritativeHandler {
  private readonly broadcast: string;
  /** network options (with and without 51/58/59), encoded once: every reply shares these immutable buffers */
  private readonly leaseOptions: Array<[number, Buffer]>;
  private readonly plainOptions: Array<[number, Buffer]>;
  /** packetMac of the request being decided (decide's steps each need it; a request is never changed) */
  private lastReq: DhcpPacket | null = null;
  private lastMac = '';

  constructor(
    private readonly net: NetworkOptions,
    private readonly pool: AddressPool,
    private readonly store: LeaseStore,
    private readonly policy: BootPolicy | null,
    private readonly ports: ReplyPorts,
    private readonly iface: string,
    private readonly now: () => number,
  ) {
    const mask = ipv4ToInt(net.subnetMask);
    // the served subnet is the pool's (with a relay it is not the server's own)
    this.broadcast = intToIpv4(((ipv4ToInt(net.poolFirst) & mask) | (~mask >>> 0)) >>> 0);
    this.leaseOptions = this.encodeNetworkOptions(true);
    this.plainOptions = this.encodeNetworkOptions(false);
  }

  private macOf(req: DhcpPacket): string {
    if (req !== this.lastReq) { this.lastMac = packetMac(req); this.lastReq = req; }
    return this.lastMac;
  }

  decide = (req: DhcpPacket, _from: RemoteInfo): Decision => {
    // one pool, one subnet: a relay agent on another subnet is not ours to serve (RFC 2131 §4.3.1: giaddr selects the subnet)
    if (req.giaddr !== IPV4_ANY && !this.pool.inSubnet(req.giaddr)) return { action: 'drop', reason: `relay ${req.giaddr} is outside the served subnet` };
    const type = req.options.messageType;
    // a node handed over to an engine gets nothing from us, not even an address (the engine's DHCP serves it)
    if (this.policy?.ownedElsewhere && (type === DhcpMessageType.DISCOVER || type === DhcpMessageType.REQUEST || type === DhcpMessageType.INFORM)) {
      const owner = this.policy.ownedElsewhere(this.macOf(req));
      if (owner !== null) return { action: 'drop', reason: `owned by ${owner}` };
    }
    switch (req.options.messageType) {
      case DhcpMessageType.DISCOVER: return this.discover(req);
      case DhcpMessageType.REQUEST: return this.request(req);
      case DhcpMessageType.RELEASE: return this.release(req);
      case DhcpMessageType.DECLINE: return this.decline(req);
      case DhcpMessageType.INFORM: return this.inform(req);
      default: return { action: 'drop', reason: 'message type a server does not accept' };
    }
  };

  /** §4.3.1 */
  private discover(req: DhcpPacket): Decision {
    const mac = this.macOf(req);
    const ip = this.pool.offer(mac, req.options.requestedIp, this.now());
    if (!ip) return { action: 'drop', reason: 'address pool exhausted' };
    const reply = this.addressReply(req, DhcpMessageType.OFFER, ip);
    return { action: 'reply', reply, to: replyTarget(req, false, this.ports, ip) };
  }

  /** §4.3.2: SELECTING (option 54 set), INIT-REBOOT (50 set, ciaddr 0), RENEWING/REBINDING (ciaddr set). */
  private request(req: DhcpPacket): Decision {
    const mac = this.macOf(req);
    const sid = req.options.serverId;
    const now = this.now();
    let ip: string | null;
    if (sid !== null) {
      if (sid !== this.net.serverIp) {
        this.pool.dropOffer(mac);
        return { action: 'drop', reason: `client selected server ${sid}` };
      }
      ip = req.options.requestedIp ?? (req.ciaddr !== IPV4_ANY ? req.ciaddr : null);
      if (!ip) return this.nak(req, 'no requested address');
    } else if (req.ciaddr === IPV4_ANY) {
      ip = req.options.requestedIp;
      if (!ip) return { action: 'drop', reason: 'INIT-REBOOT request without option 50' };
    } else {
      ip = req.ciaddr;
    }
    if (!this.pool.mayUse(mac, ip, now)) {
      return this.nak(req, this.pool.inSubnet(ip) ? `address ${ip} is not available to this client` : `address ${ip} is on the wrong network`);
    }
    // a client binding an address it was never offered nor leased is a new client: the pool's limit applies (silence)
    if (!this.pool.admitsBinding(mac, ip, now)) return { action: 'drop', reason: 'new client refused: the pool is under pressure' };
    this.pool.dropOffer(mac);
    // the ACK is sent after the store commits this (durable: true)
    this.store.put({ ip, mac, state: 'bound', expiresAt: now + this.net.leaseTimeSec * 1000, hostname: req.options.hostname });
    const reply = this.addressReply(req, DhcpMessageType.ACK, ip);
    reply.ciaddr = req.ciaddr;
    return { action: 'reply', reply, to: replyTarget(req, false, this.ports, ip), durable: true };
  }

  /** §4.3.4: the client gives its address back. */
  private release(req: DhcpPacket): Decision {
    const sid = req.options.serverId;
    if (sid !== null && sid !== this.net.serverIp) return { action: 'drop', reason: `release for server ${sid}` };
    const mac = this.macOf(req);
    const lease = this.store.byIp(req.ciaddr);
    if (!lease || lease.mac !== mac) return { action: 'drop', reason: `no lease of ${req.ciaddr} for this client` };
    this.store.put({ ...lease, state: 'released', expiresAt: this.now() });
    return { action: 'done', durable: true };
  }

  /**
   * §4.3.3: the client found the address in use (ARP after our ACK); keep it out of the pool for declineHoldMs.
   * Honoured only from the client that holds the address: an active (bound, unexpired) lease of option 50's address
   * whose MAC is the DECLINE's chaddr. Leases are keyed on chaddr alone (option 61 is not stored), so chaddr is the
   * whole check. Anything else — no lease, another client's lease, a released or expired one — changes nothing and is
   * dropped and counted as `declineRefused`: otherwise any host on the segment could take every address out of the
   * pool, one forged DECLINE each. A DECLINE naming another server (option 54) is not ours and is dropped as such.
   */
  private decline(req: DhcpPacket): Decision {
    const sid = req.options.serverId;
    if (sid !== null && sid !== this.net.serverIp) return { action: 'drop', reason: `decline for server ${sid}` };
    const ip = req.options.requestedIp;
    if (!ip) return { action: 'drop', reason: 'decline without option 50' };
    const mac = this.macOf(req);
    const now = this.now();
    const lease = this.store.byIp(ip);
    if (!lease || lease.state !== 'bound' || lease.expiresAt <= now) return { action: 'drop', reason: `decline of ${ip}, which has no active lease`, counter: 'declineRefused' };
    if (lease.mac !== mac) return { action: 'drop', reason: `decline of ${ip}, which is leased to another client`, counter: 'declineRefused' };
    this.store.remove(ip);
    this.pool.decline(ip, now);
    return { action: 'done', durable: true };
  }

  /** §4.3.5: configuration without a lease, unicast to ciaddr. */
  private inform(req: DhcpPacket): Decision {
    const reply = replyTo(req, DhcpMessageType.ACK, this.net.serverIp);
    reply.ciaddr = req.ciaddr;
    this.networkOptions(reply, false);
    this.bootInfo(req, reply);
    return { action: 'reply', reply, to: replyTarget(req, false, this.ports) };
  }

  private nak(req: DhcpPacket, reason: string): Decision {
    return { action: 'reply', reply: nakTo(req, this.net.serverIp, reason), to: replyTarget(req, true, this.ports) };
  }

  private addressReply(req: DhcpPacket, type: number, ip: string): DhcpPacket {
    const reply = replyTo(req, type, this.net.serverIp);
    reply.yiaddr = ip;
    this.networkOptions(reply, true);
    const reserved = this.pool.reservation(this.macOf(req));
    if (reserved?.hostname) reply.options.hostname = reserved.hostname;
    this.bootInfo(req, reply);
    return reply;
  }

  /** Options 51/58/59 (when `withLease`), 1, 28, 3, 6, 15 in wire order, as the typed setters encode them. */
  private encodeNetworkOptions(withLease: boolean): Array<[number, Buffer]> {
    const o = new DhcpOptions();
    if (withLease) {
      o.leaseTime = this.net.leaseTimeSec;
      o.renewalTime = this.net.renewalTimeSec;
      o.rebindingTime = this.net.rebindingTimeSec;
    }
    o.subnetMask = this.net.subnetMask;
    o.broadcastAddress = this.broadcast;
    o.routers = this.net.routers;
    o.dnsServers = this.net.dnsServers;
    o.domainName = this.net.domainName;
    return [...o.entries()];
  }

  private networkOptions(reply: DhcpPacket, withLease: boolean): void {
    for (const [code, bytes] of withLease ? this.leaseOptions : this.plainOptions) reply.options.adoptRaw(code, bytes);
  }

  private bootInfo(req: DhcpPacket, reply: DhcpPacket): void {
    if (!this.policy || !isNetbootClient(req)) return;
    const answer = this.policy.dhcpBoot(bootRequestOf(req, this.iface));
    if (answer) applyBootAnswer(reply, req, answer);
  }

  /** Lease expiry: bound leases past their time become `expired` (one event each). Called periodically. */
  expire(counters: Counters, events: NetbootEventSink): void {
    const now = this.now();
    this.pool.sweep(now);
    for (const lease of this.store.all()) {
      if (lease.state !== 'bound' || lease.expiresAt > now) continue;
      this.store.put({ ...lease, state: 'expired' });
      counters.expired++;
      events({ source: 'dhcp', kind: 'expire', mac: lease.mac, ip: lease.ip, message: `lease of ${lease.ip} for ${lease.mac} expired`, detail: { interface: this.iface } });
    }
    this.store.commit();
  }
}
