// The namespace setup every DHCP benchmark run uses, identical for every server under test:
//
//   [server ns]  srv0 10.210.0.1/24 ──veth── cli0 10.210.0.2/24  [client ns]
//                route 10.211.0.0/16 via 10.210.0.2               lo: 10.211.0.1/32 (the relay's giaddr)
//
// The load generator in the client namespace plays a DHCP relay agent (RFC 2131 §4.1, RFC 1542): it sends
// every DISCOVER/REQUEST unicast from port 67 to 10.210.0.1:67 with giaddr 10.211.0.1, and the server
// answers the relay at giaddr:67. The pool is 10.211.0.0/16, big enough for 10,000 clients plus probes.
// These addresses exist only inside the two namespaces; nothing touches the root namespace.
import { NetnsSandbox } from '../../test/helpers/netns.ts';

export const SERVER_ADDR = '10.210.0.1';
export const RELAY_ADDR = '10.210.0.2';
export const GIADDR = '10.211.0.1';
export const POOL_FIRST = '10.211.1.0';
export const POOL_LAST = '10.211.255.254';
export const POOL_PREFIX = '10.211.0.0/16';
export const SERVER_IF = 'srv0';
export const CLIENT_IF = 'cli0';

export interface DhcpTopology {
  sandbox: NetnsSandbox;
  serverNs: string;
  clientNs: string;
}

/** Create both namespaces and the veth between them. Call `sandbox.cleanup()` in `finally`. */
export function createDhcpTopology(tag = 'bench'): DhcpTopology {
  const sandbox = new NetnsSandbox();
  try {
    const serverNs = sandbox.addNamespace(`${tag}s`);
    const clientNs = sandbox.addNamespace(`${tag}c`);
    sandbox.addVeth({ ns: serverNs, name: SERVER_IF, cidr: `${SERVER_ADDR}/24` }, { ns: clientNs, name: CLIENT_IF, cidr: `${RELAY_ADDR}/24` });
    sandbox.exec(serverNs, 'ip', ['route', 'add', POOL_PREFIX, 'via', RELAY_ADDR]);
    sandbox.exec(clientNs, 'ip', ['addr', 'add', `${GIADDR}/32`, 'dev', 'lo']);
    return { sandbox, serverNs, clientNs };
  } catch (err) {
    void sandbox.cleanup();
    throw err;
  }
}
