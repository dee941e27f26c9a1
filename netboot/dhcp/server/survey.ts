// Foreign-DHCP survey (DESIGN.md "Surveys the network before it answers anything"): broadcast a
// DHCPDISCOVER on the chosen interface and collect the OFFERs of every server that answers. The daemon
// refuses to start authoritative mode when this finds one (unless overridden).
// Needs UDP port 68 on the interface: run it before our own server, or on another namespace/socket.

import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ForeignDhcpServer } from '../../../shared/api.ts';
import type { UdpSocketFactory } from '../../net/udp-socket.ts';
import { interfaceMac } from '../../net/interface-mac.ts';
import { IPV4_ANY } from '../ipv4.ts';
import { macToBytes, parseMac } from '../mac.ts';
import { DhcpMessageType } from '../message-type.ts';
import { Opt } from '../option-codes.ts';
import { BOOTREPLY, decodePacket, encodePacket, FLAG_BROADCAST, newPacket } from '../packet.ts';

export interface SurveyOptions {
  interface: string;
  /** listen window for OFFERs, default 3000 ms */
  timeoutMs?: number;
  socketFactory: UdpSocketFactory;
  /** chaddr to send; default: the interface's MAC from /sys/class/net (a random local MAC if unreadable) */
  mac?: string;
  logger?: Logger;
  /** defaults 67 / 68 / 255.255.255.255 (loopback tests override) */
  ports?: { server?: number; client?: number; broadcastAddress?: string };
}

/** The interface's MAC, or a random locally administered one when unreadable. */
function surveyMac(iface: string): string {
  const m = interfaceMac(iface);
  if (m) return m;
  const b = randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02; // locally administered, unicast
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * One survey: send a DISCOVER (random xid, our MAC, broadcast flag; repeated once after 1 s) and return
 * every distinct server that OFFERed within the window. `mac` of a server is null: a UDP socket does not
 * see the Ethernet source. Rejects only when the socket cannot be created (EACCES, ENODEV, EADDRINUSE).
 */
export async function surveyDhcp(opts: SurveyOptions): Promise<ForeignDhcpServer[]> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const serverPort = opts.ports?.server ?? 67;
  const broadcast = opts.ports?.broadcastAddress ?? '255.255.255.255';
  const mac = opts.mac ? parseMac(opts.mac) : surveyMac(opts.interface);
  if (!mac) throw new RangeError(`bad MAC ${JSON.stringify(opts.mac)}`);
  const xid = randomBytes(4).readUInt32BE(0);
  const discover = newPacket({ xid, flags: FLAG_BROADCAST, chaddr: macToBytes(mac) });
  discover.options.messageType = DhcpMessageType.DISCOVER;
  discover.options.parameterRequestList = [Opt.SUBNET_MASK, Opt.ROUTER, Opt.DNS_SERVERS, Opt.LEASE_TIME, Opt.SERVER_ID, Opt.VENDOR_CLASS, Opt.TFTP_SERVER_NAME, Opt.BOOTFILE_NAME];
  discover.options.setRaw(Opt.CLIENT_ID, Buffer.concat([Buffer.from([1]), macToBytes(mac)]));
  const bytes = encodePacket(discover);

  const socket = await opts.socketFactory({ port: opts.ports?.client ?? 68, interface: opts.interface, broadcast: true, reuseAddr: true });
  const found = new Map<string, ForeignDhcpServer>();
  socket.on('error', (err) => opts.logger?.warn({ interface: opts.interface, err }, 'survey socket error'));
  socket.on('message', (msg, from) => {
    let p;
    try { p = decodePacket(msg); } catch { return; }
    if (p.op !== BOOTREPLY || p.xid !== xid || p.options.messageType !== DhcpMessageType.OFFER) return;
    const serverId = p.options.serverId ?? from.address;
    if (found.has(serverId)) return;
    found.set(serverId, {
      serverId, mac: null,
      offered: p.yiaddr !== IPV4_ANY ? p.yiaddr : null,
      bootFile: p.options.bootfileName ?? (p.file || null),
      seenAt: Date.now(),
    });
    opts.logger?.info({ interface: opts.interface, serverId, offered: p.yiaddr }, 'foreign DHCP server answered the survey');
  });
  const send = () => socket.send(bytes, serverPort, broadcast, (err) => { if (err) opts.logger?.warn({ interface: opts.interface, err: err.message }, 'survey DISCOVER not sent'); });
  send();
  const resend = setTimeout(send, Math.min(1000, timeoutMs / 2));
  await new Promise((r) => setTimeout(r, timeoutMs));
  clearTimeout(resend);
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return [...found.values()];
}

/** Survey every `intervalMs` (first run at once) and hand each result to `onResult`; errors go to `onError`. */
export function startPeriodicSurvey(opts: SurveyOptions & { intervalMs: number; onResult: (servers: ForeignDhcpServer[]) => void; onError?: (err: unknown) => void }): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const run = async (): Promise<void> => {
    try { const r = await surveyDhcp(opts); if (!stopped) opts.onResult(r); } catch (err) { opts.onError?.(err); }
    if (!stopped) timer = setTimeout(run, opts.intervalMs);
  };
  void run();
  return { stop() { stopped = true; if (timer) clearTimeout(timer); } };
}
