// The rack's wiring (docs/LAB.md has the picture):
//
//   rack ns:   br-prov ── tap1..tapN (QEMU nodes), app-prov          br-bmc (10.242.0.11.. = BMCs), app-bmc
//   app ns:    prov0 10.240.0.1/24 (peer app-prov)   bmc0 10.242.0.1/24 (peer app-bmc)   uplink0 10.241.0.10/24
//              default route via 10.241.0.1 — like a laptop whose Wi-Fi holds the default route
//   uplink ns: wifi0 10.241.0.1/24 (peer uplink0); tcpdump watches it for anything RackSeed must not send
//
// `ip netns del` removes every link inside a namespace, so teardown is deleting the three namespaces.
import { randomBytes } from 'node:crypto';
import { IFACES, NET, type LabNames } from './config.ts';
import { run, tryRun } from './processes.ts';

const ip = (...args: string[]): string => run(null, 'ip', args);

export function namespaceExists(ns: string): boolean {
  return (tryRun(null, 'ip', ['netns', 'list']) ?? '').split('\n').some((l) => l.split(' ')[0] === ns);
}

function addNamespace(ns: string): void {
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
}

function addBridge(ns: string, name: string): void {
  ip('-n', ns, 'link', 'add', name, 'type', 'bridge');
  ip('-n', ns, 'link', 'set', name, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
  ip('-n', ns, 'link', 'set', name, 'up');
}

interface End { ns: string; name: string; cidr?: string; bridge?: string }

function addVeth(a: End, b: End): void {
  const tmpA = `rsl${randomBytes(4).toString('hex')}`;
  const tmpB = `rsl${randomBytes(4).toString('hex')}`;
  ip('link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB);
  try {
    for (const [tmp, end] of [[tmpA, a], [tmpB, b]] as const) {
      ip('link', 'set', tmp, 'netns', end.ns);
      ip('-n', end.ns, 'link', 'set', tmp, 'name', end.name);
      if (end.bridge) ip('-n', end.ns, 'link', 'set', end.name, 'master', end.bridge);
      if (end.cidr) ip('-n', end.ns, 'addr', 'add', end.cidr, 'dev', end.name);
      ip('-n', end.ns, 'link', 'set', end.name, 'up');
    }
  } catch (err) {
    tryRun(null, 'ip', ['link', 'del', tmpA]);
    throw err;
  }
}

/** Create the three namespaces, both bridges and the appliance's three NICs. Throws if any step fails. */
export function createTopology(n: LabNames): void {
  for (const ns of [n.rackNs, n.appNs, n.uplinkNs]) addNamespace(ns);
  addBridge(n.rackNs, IFACES.provBridge);
  addBridge(n.rackNs, IFACES.bmcBridge);
  // radvd wants forwarding on; harmless inside the rack namespace (nothing routes there)
  run(n.rackNs, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
  addVeth({ ns: n.appNs, name: IFACES.appProv, cidr: `${NET.provAppliance}/${NET.provPrefix}` },
    { ns: n.rackNs, name: IFACES.rackProvPort, bridge: IFACES.provBridge });
  addVeth({ ns: n.appNs, name: IFACES.appBmc, cidr: `${NET.bmcAppliance}/${NET.bmcPrefix}` },
    { ns: n.rackNs, name: IFACES.rackBmcPort, bridge: IFACES.bmcBridge });
  addVeth({ ns: n.appNs, name: IFACES.appUplink, cidr: `${NET.uplinkAppliance}/${NET.uplinkPrefix}` },
    { ns: n.uplinkNs, name: IFACES.uplinkSide, cidr: `${NET.uplinkGateway}/${NET.uplinkPrefix}` });
  ip('-n', n.appNs, 'route', 'add', 'default', 'via', NET.uplinkGateway, 'dev', IFACES.appUplink);
}

/** One tap per node on br-prov (or, for a node's second NIC, on br-bmc), created in the rack namespace (QEMU there
 *  attaches with ifname=). */
export function addNodeTap(n: LabNames, tap: string, bridge: string = IFACES.provBridge): void {
  ip('-n', n.rackNs, 'tuntap', 'add', 'dev', tap, 'mode', 'tap');
  ip('-n', n.rackNs, 'link', 'set', tap, 'master', bridge);
  ip('-n', n.rackNs, 'link', 'set', tap, 'up');
}

/** The BMC's address on br-bmc (ipmi_sim binds it). */
export function addBmcAddress(n: LabNames, address: string): void {
  ip('-n', n.rackNs, 'addr', 'add', `${address}/${NET.bmcPrefix}`, 'dev', IFACES.bmcBridge);
}

/** Give br-prov a "site" address (for a site DHCP server such as dnsmasq in proxy-mode runs). */
export function addSiteAddress(n: LabNames): void {
  ip('-n', n.rackNs, 'addr', 'add', `${NET.provSite}/${NET.provPrefix}`, 'dev', IFACES.provBridge);
}

/** MAC of the appliance's uplink NIC (to recognise its frames in the uplink capture). */
export function interfaceMac(ns: string, iface: string): string {
  const out = run(ns, 'cat', [`/sys/class/net/${iface}/address`]);
  return out.trim().toLowerCase();
}

/** Delete the namespaces that exist (idempotent); links inside go with them. */
export function deleteNamespaces(names: string[]): void {
  for (const ns of names) if (namespaceExists(ns)) tryRun(null, 'ip', ['netns', 'del', ns]);
}

/** Every lab namespace on the machine (any instance). */
export function listLabNamespaces(prefix: string): string[] {
  return (tryRun(null, 'ip', ['netns', 'list']) ?? '').split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(prefix));
}
