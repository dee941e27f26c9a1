// One-NIC confinement (DESIGN.md): a UdpSocketFactory whose sockets are created through libc with
// SO_BINDTODEVICE, so a socket on 0.0.0.0:67 hears and sends only on the chosen interface. The fd is then
// handed to node's dgram (`bind({ fd })`). Linux only (macOS would use IP_BOUND_IF; not done).
//
// Optionally the socket is created inside a named network namespace (/var/run/netns/NAME): the calling
// thread enters the namespace for the socket() call only and returns at once; the socket stays in the
// namespace it was created in. Tests use this to run servers in-process inside the namespaces they create.

import dgram from 'node:dgram';
import koffi from 'koffi';
import type { UdpSocketFactory, UdpSocketOptions } from './udp-socket.ts';
import { ipLiteralLookup } from './ip-literal-lookup.ts';
import { BoundSocketError, errnoName, inNamespace, loadLibc, type Libc } from './libc.ts';

import { openLinkLayerSender } from './link-layer.ts';
import { openDatagramDrain } from './datagram-drain.ts';
import { openUdpSendBatch } from './send-batch.ts';

export { BoundSocketError };

// Linux constants (asm-generic/socket.h, linux/in.h)
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_BROADCAST = 6;
const SO_BINDTODEVICE = 25;

function fail(c: Libc, what: string, opts: UdpSocketOptions, netns: string | undefined): never {
  const errno = koffi.errno();
  const code = errnoName(errno);
  let hint = '';
  if (code === 'ENODEV') hint = `: interface ${JSON.stringify(opts.interface)} does not exist${netns ? ` in namespace ${netns}` : ''}`;
  else if (code === 'EPERM' || code === 'EACCES') hint = what === 'bind' ? `: port ${opts.port} needs root or CAP_NET_BIND_SERVICE` : ': SO_BINDTODEVICE needs root or CAP_NET_RAW';
  else if (code === 'EADDRINUSE') hint = `: ${opts.address ?? '0.0.0.0'}:${opts.port} is in use (another DHCP/TFTP server?)`;
  else if (code === 'EADDRNOTAVAIL') hint = `: address ${opts.address} is not configured here`;
  throw new BoundSocketError(`${what} failed with ${code} (${c.strerror(errno)})${hint}`, code, errno);
}

function sockaddrIn(address: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new RangeError(`not an IPv4 address: ${address}`);
  Buffer.from(parts).copy(b, 4);
  return b;
}

function intOpt(v: number): Buffer { const b = Buffer.alloc(4); b.writeInt32LE(v, 0); return b; }

/** Create, configure and bind the raw fd (synchronously). */
function openBoundFd(c: Libc, opts: UdpSocketOptions, netns: string | undefined): number {
  const fd = inNamespace(c, netns, () => c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd < 0) fail(c, 'socket', opts, netns);
  try {
    if (opts.reuseAddr && c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, intOpt(1), 4) !== 0) fail(c, 'setsockopt(SO_REUSEADDR)', opts, netns);
    if (opts.broadcast && c.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, intOpt(1), 4) !== 0) fail(c, 'setsockopt(SO_BROADCAST)', opts, netns);
    if (opts.interface !== undefined) {
      const name = Buffer.from(`${opts.interface}\0`, 'utf8');
      if (name.length > 16) throw new BoundSocketError(`interface name ${JSON.stringify(opts.interface)} is longer than 15 bytes`, 'EINVAL', 22);
      if (c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length) !== 0) fail(c, 'setsockopt(SO_BINDTODEVICE)', opts, netns);
    }
    const addr = sockaddrIn(opts.address ?? '0.0.0.0', opts.port);
    if (c.bind(fd, addr, addr.length) !== 0) fail(c, 'bind', opts, netns);
    return fd;
  } catch (err) {
    c.close(fd);
    throw err;
  }
}

/**
 * A factory of sockets confined to `options.interface` with SO_BINDTODEVICE (required: a bound factory
 * refuses to create an unconfined socket). `netns` creates the sockets inside that named namespace. Its `linkLayer`
 * opens packet-socket senders on the same terms (link-layer.ts); its `drain`
 * reads one of its sockets in batches (datagram-drain.ts), its `sendBatch` sends through one in batches (send-batch.ts).
 * Rejects with BoundSocketError (code EACCES/EPERM, ENODEV naming the interface, EADDRINUSE …).
 */
export function createBoundUdpSocketFactory(factoryOptions: { netns?: string } = {}): UdpSocketFactory {
  /** the fd under each socket this factory made, for batched reads of it */
  const fds = new WeakMap<dgram.Socket, number>();
  const factory: UdpSocketFactory = async (opts) => {
    if (!opts.interface) throw new BoundSocketError('an interface-bound socket needs options.interface', 'EINVAL', 22);
    const c = loadLibc();
    const fd = openBoundFd(c, opts, factoryOptions.netns);
    const socket = dgram.createSocket({ type: 'udp4', lookup: ipLiteralLookup });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ fd }, () => { socket.off('error', reject); resolve(); });
      });
    } catch (err) {
      try { socket.close(); } catch { c.close(fd); }
      throw err;
    }
    fds.set(socket, fd);
    return socket;
  };
  factory.drain = (socket) => {
    const fd = fds.get(socket);
    return fd === undefined ? null : openDatagramDrain(fd);
  };
  factory.sendBatch = (socket) => {
    const fd = fds.get(socket);
    return fd === undefined ? null : openUdpSendBatch(fd);
  };
  // frames at the link layer on the same interfaces, in the same namespace (link-layer.ts)
  factory.linkLayer = async (o) => openLinkLayerSender({ ...o, netns: factoryOptions.netns });
  return factory;
}
