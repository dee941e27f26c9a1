// The namespace setup every DHCP benchmark run uses, identical for every server under test:
//
//   [server ns]  srv0 10.210.0.1/24 ──veth── cli0 10.210.0.2/24  [client ns]
//                route 10.211.0.0/16 via 10.210.0.2               lo: 10.211.0.1/32 (the relay's giaddr)
//
// The load generator in the client namespace plays a DHCP relay agent (RFC 2131 §4.1, RFC 1542): it sends
// every DISCOVER/REQUEST unicast from port 67 to 10.210.0.1:67 with giaddr 10.211.0.1, and the server
// answers the relay at giaddr:67. The pool is 10.211.0.0/16, big enough for 10,000 clients plus probes.
// These addresses exist only inside the two namespaces; nothing touches the root namespace.
//
// The same-segment topology (createLocalDhcpTopology), what a laptop on a provisioning network sees — no relay:
//
//   [server ns]  srv0 10.211.0.1/16 ──veth── [segment ns: bridge br0] ──veth── cli0, no address  [client ns]
//
// The load generator (dhcp-local-storm.ts) sends every DISCOVER/REQUEST from 0.0.0.0:68 to 255.255.255.255:67 in
// frames from the client's own MAC, so the bridge learns each client's MAC as a switch would, and the server answers
// by broadcast or by unicast to yiaddr at chaddr. The pool is the same 10.211.1.0–10.211.255.254, now the server's
// own subnet.
import { NetnsSandbox } from '../../test/helpers/netns.ts';

export const SERVER_ADDR = '10.210.0.1';
export const RELAY_ADDR = '10.210.0.2';
export const GIADDR = '10.211.0.1';
export const POOL_FIRST = '10.211.1.0';
export const POOL_LAST = '10.211.255.254';
export const POOL_PREFIX = '10.211.0.0/16';
export const SERVER_IF = 'srv0';
export const CLIENT_IF = 'cli0';

export const LOCAL_SERVER_ADDR = '10.211.0.1';
export const LOCAL_SUBNET_BROADCAST = '10.211.255.255';

/** Where a bench server serves from and what it hands out: one descriptor per topology. */
export interface DhcpBenchNet {
  topology: 'relayed' | 'local';
  /** the server's address on SERVER_IF (option 54) */
  serverAddr: string;
  subnetMask: string;
  /** the served subnet (CIDR), which holds the pool */
  prefix: string;
  poolFirst: string;
  poolLast: string;
  /** option 3 */
  router: string;
}

export const RELAYED_NET: DhcpBenchNet = { topology: 'relayed', serverAddr: SERVER_ADDR, subnetMask: '255.255.0.0', prefix: POOL_PREFIX, poolFirst: POOL_FIRST, poolLast: POOL_LAST, router: GIADDR };
export const LOCAL_NET: DhcpBenchNet = { topology: 'local', serverAddr: LOCAL_SERVER_ADDR, subnetMask: '255.255.0.0', prefix: POOL_PREFIX, poolFirst: POOL_FIRST, poolLast: POOL_LAST, router: LOCAL_SERVER_ADDR };

export interface DhcpTopology {
  sandbox: NetnsSandbox;
  serverNs: string;
  clientNs: string;
  net: DhcpBenchNet;
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
    return { sandbox, serverNs, clientNs, net: RELAYED_NET };
  } catch (err) {
    void sandbox.cleanup();
    throw err;
  }
}

/** The same-segment topology (above): three namespaces, a bridge, no relay. Call `sandbox.cleanup()` in `finally`. */
export function createLocalDhcpTopology(tag = 'bench'): DhcpTopology {
  const sandbox = new NetnsSandbox();
  try {
    const segmentNs = sandbox.addNamespace(`${tag}b`);
    const serverNs = sandbox.addNamespace(`${tag}s`);
    const clientNs = sandbox.addNamespace(`${tag}c`);
    // no IPv6 chatter (router solicitations, DAD) on the segment: only the storm's frames
    for (const ns of [segmentNs, serverNs, clientNs]) sandbox.exec(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    sandbox.addBridge(segmentNs, 'br0');
    sandbox.addVeth({ ns: segmentNs, name: 'psrv', bridge: 'br0' }, { ns: serverNs, name: SERVER_IF, cidr: `${LOCAL_SERVER_ADDR}/16` });
    sandbox.addVeth({ ns: segmentNs, name: 'pcli', bridge: 'br0' }, { ns: clientNs, name: CLIENT_IF });
    return { sandbox, serverNs, clientNs, net: LOCAL_NET };
  } catch (err) {
    void sandbox.cleanup();
    throw err;
  }
}
