// A plain node:dgram UdpSocketFactory: binds address:port, no interface confinement. For tests on loopback and
// for processes already confined by a network namespace. Production on a laptop uses the interface-bound
// factory (netboot/net/bound-udp.ts) so nothing leaks to other NICs.
import { createSocket, type Socket } from 'node:dgram';
import type { UdpSocketFactory } from '../../net/udp-socket.ts';
import { ipLiteralLookup } from '../../net/ip-literal-lookup.ts';

/** Rejects if `interface` is requested (this factory cannot confine), or when bind fails. */
export const dgramSocketFactory: UdpSocketFactory = (options) =>
  new Promise<Socket>((resolve, reject) => {
    if (options.interface) {
      reject(new Error(`dgramSocketFactory cannot confine a socket to interface ${options.interface}; use the bound-udp factory`));
      return;
    }
    const s = createSocket({ type: 'udp4', reuseAddr: options.reuseAddr ?? false, lookup: ipLiteralLookup });
    const onError = (err: Error) => {
      s.close();
      reject(err);
    };
    s.once('error', onError);
    s.bind({ port: options.port, address: options.address ?? '0.0.0.0', exclusive: true }, () => {
      s.off('error', onError);
      if (options.broadcast) s.setBroadcast(true);
      resolve(s);
    });
  });
