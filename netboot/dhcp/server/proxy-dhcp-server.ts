// createProxyDhcpServer: the proxyDHCP service on one interface, ports 67 and 4011 (see README.md).

import type { Socket } from 'node:dgram';
import type { Logger } from 'pino';
import type { BootPolicy, NetbootEventSink } from '../../boot-policy.ts';
import type { UdpSocketFactory } from '../../net/udp-socket.ts';
import { newCounters } from './counters.ts';
import type { DhcpService } from './dhcp-server.ts';
import { ProxyHandler } from './proxy-handler.ts';
import { attachPipeline } from './serve-loop.ts';
import { interfaceMac } from '../../net/interface-mac.ts';

export interface ProxyDhcpServerOptions {
  interface: string;
  /**
   * The interface's own MAC: requests from it are our foreign-DHCP survey's probes and are not answered. Default:
   * read from /sys/class/net (right when this process runs in the interface's network namespace, as the daemon
   * does); pass it when the sockets live in another namespace than the process (tests), null to turn it off.
   */
  ownMac?: string | null;
  /** our address on that interface: server identifier and TFTP next-server */
  serverIp: string;
  bootPolicy: BootPolicy;
  socketFactory: UdpSocketFactory;
  logger: Logger;
  events?: NetbootEventSink;
  /** defaults: server 67, bootServer 4011, client 68, broadcast 255.255.255.255 */
  ports?: { server?: number; relay?: number; bootServer?: number; client?: number; broadcastAddress?: string };
  bindAddress?: string;
}

export function createProxyDhcpServer(opts: ProxyDhcpServerOptions): DhcpService {
  const ports = { server: opts.ports?.server ?? 67, relay: opts.ports?.relay ?? opts.ports?.server ?? 67, client: opts.ports?.client ?? 68, broadcastAddress: opts.ports?.broadcastAddress ?? '255.255.255.255' };
  const bootServerPort = opts.ports?.bootServer ?? 4011;
  const log = opts.logger.child({ component: 'dhcp', mode: 'proxy', interface: opts.interface });
  const events: NetbootEventSink | null = opts.events ?? null;
  const counters = newCounters();
  const handler = new ProxyHandler(opts.serverIp, opts.bootPolicy, ports, opts.interface);
  let sockets: Socket[] = [];
  return {
    async start() {
      if (sockets.length) return;
      const base = { address: opts.bindAddress, interface: opts.interface, broadcast: true, reuseAddr: true };
      const dhcp = await opts.socketFactory({ port: ports.server, ...base });
      let boot: Socket;
      try { boot = await opts.socketFactory({ port: bootServerPort, ...base }); } catch (err) { dhcp.close(); throw err; }
      const ctx = { iface: opts.interface, log, counters, events, eventPrefix: 'proxy-', commit: null, ownMac: opts.ownMac === undefined ? interfaceMac(opts.interface) : opts.ownMac, offers: null };
      attachPipeline(dhcp, ctx, handler.decideDhcpPort);
      attachPipeline(boot, ctx, handler.decideBootServerPort);
      sockets = [dhcp, boot];
      log.info({ serverIp: opts.serverIp }, 'proxyDHCP listening on 67 and 4011');
    },
    async stop() {
      const s = sockets;
      sockets = [];
      await Promise.all(s.map((x) => new Promise<void>((resolve) => x.close(() => resolve()))));
      log.info('proxyDHCP stopped');
    },
    counters: () => ({ ...counters }),
  };
}
