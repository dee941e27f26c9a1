// A UdpSocketFactory on plain node dgram sockets: for unit tests on loopback (127.0.0.1, high ports).
// It cannot confine a socket to an interface, so it refuses `options.interface` unless told to ignore it.

import dgram from 'node:dgram';
import type { UdpSocketFactory } from './udp-socket.ts';
import { ipLiteralLookup } from './ip-literal-lookup.ts';

/**
 * `ignoreInterface`: accept options.interface and bind without confinement (loopback tests, where the
 * server's configured interface name is only a label). Default false: such a request is rejected.
 */
export function createPlainUdpSocketFactory(factoryOptions: { ignoreInterface?: boolean } = {}): UdpSocketFactory {
  return async (opts) => {
    if (opts.interface !== undefined && !factoryOptions.ignoreInterface) {
      throw new Error(`the plain UDP factory cannot confine a socket to ${opts.interface}; use createBoundUdpSocketFactory`);
    }
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: opts.reuseAddr ?? false, lookup: ipLiteralLookup });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) => { socket.close(); reject(err); });
      socket.bind({ port: opts.port, address: opts.address ?? '0.0.0.0' }, () => { socket.removeAllListeners('error'); resolve(); });
    });
    if (opts.broadcast) socket.setBroadcast(true);
    return socket;
  };
}
