// Adapts the IPMI client (bmc/ipmi/session) to the core's BmcConnector port. Addresses are "host" or
// "host:port" (default 623).
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import type { BmcConnector, BmcSession } from '../bmc-port.ts';

/** Split "host[:port]" (IPv4 or hostname). */
export function splitBmcAddress(address: string): { host: string; port: number } {
  const m = /^(.+?)(?::(\d{1,5}))?$/.exec(address.trim());
  if (!m) throw new Error(`not a BMC address: ${address}`);
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 623 };
}

/** A BmcConnector over one shared IpmiClient (one UDP socket for all BMCs). */
export function ipmiConnector(client: IpmiClient): BmcConnector {
  return async (address, creds): Promise<BmcSession> => {
    const { host, port } = splitBmcAddress(address);
    const s = await client.session(host, { user: creds.user, password: creds.password, port });
    return {
      powerStatus: () => s.powerStatus(),
      power: (action) => s.power(action),
      setBootDevice: (device, o) => s.setBootDevice({ device, uefi: o?.uefi, persistent: o?.persistent }),
      systemGuid: () => s.systemGuid(),
      cipherSuite: s.suite?.id ?? null,
      protocol: 'ipmi',
      close: () => s.close().catch(() => undefined),
    };
  };
}
