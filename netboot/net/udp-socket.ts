// Contract for UDP sockets used by the DHCP/proxyDHCP/TFTP servers. Servers never create sockets themselves:
// they get a factory, so tests inject loopback sockets on high ports and production injects interface-bound ones.
import type { Socket } from 'node:dgram';
import type { DatagramDrain } from './datagram-drain.ts';
import type { LinkLayerSenderFactory } from './link-layer.ts';
import type { UdpSendBatch } from './send-batch.ts';

export interface UdpSocketOptions {
  /** local port; 0 = ephemeral */
  port: number;
  /** local address to bind; default 0.0.0.0 */
  address?: string;
  /** Linux interface name to confine the socket to (SO_BINDTODEVICE); undefined = no confinement */
  interface?: string;
  /** allow sending to broadcast addresses (SO_BROADCAST) */
  broadcast?: boolean;
  /** SO_REUSEADDR, so DHCP (0.0.0.0:67) and per-interface sockets can coexist */
  reuseAddr?: boolean;
}

/**
 * Creates a bound, ready-to-use IPv4 UDP socket. Rejects with a clear error (EACCES, ENODEV, EADDRINUSE).
 * `linkLayer`: present when the factory can also send frames at the link layer on the same interfaces (Linux
 * packet sockets, bound-udp.ts), which the DHCP server uses to answer clients without an address (link-layer.ts);
 * absent (loopback tests, other platforms): those replies are broadcast through the UDP socket.
 * `drain`: present when the factory can read a socket it made in batches (datagram-drain.ts); null for a socket it
 * did not make. `sendBatch`: likewise, to send through such a socket in batches (send-batch.ts).
 */
export type UdpSocketFactory = ((options: UdpSocketOptions) => Promise<Socket>) & {
  linkLayer?: LinkLayerSenderFactory;
  drain?: (socket: Socket) => DatagramDrain | null;
  sendBatch?: (socket: Socket) => UdpSendBatch | null;
};
