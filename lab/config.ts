// The virtual rack's fixed plan: names, addresses and node identities. Pure (no I/O), so the CLI, the tests
// and the docs all describe the same rack.
//
// Every namespace is named `rslab-<id>-<role>`; `id` keeps the interactive lab (`lab`) and each test run
// (`t<random>`) apart, and `down` finds leftovers by the `rslab-` prefix. All addresses below exist only
// inside those namespaces.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NS_PREFIX = 'rslab-';
/** Instance id of `npm run lab`. */
export const DEFAULT_ID = 'lab';

export const NET = {
  /** provisioning segment (br-prov): the appliance's prov0 */
  provAppliance: '10.240.0.1',
  provPrefix: 24,
  provNetwork: '10.240.0.0/24',
  /** authoritative pool handed to `rackseed serve --pool` */
  pool: { first: '10.240.0.100', last: '10.240.0.199' },
  /** address the lab gives br-prov itself when a site DHCP server (dnsmasq) plays the site network */
  provSite: '10.240.0.2',
  /** the "office Wi-Fi": appliance uplink0 and the uplink namespace's wifi0 (also the appliance's default route) */
  uplinkAppliance: '10.241.0.10',
  uplinkGateway: '10.241.0.1',
  uplinkPrefix: 24,
  /** BMC segment (br-bmc): the appliance's bmc0 and one address per BMC from .11 up */
  bmcAppliance: '10.242.0.1',
  bmcPrefix: 24,
  bmcNetwork: '10.242.0.0/24',
  bmcFirstHost: 11,
  /** the lab's Ironic on the BMC segment (its ironic0; API on port 6385): reaches every BMC, the appliance reaches it */
  ironic: '10.242.0.2',
  ironicPort: 6385,
  /** the seed scenario (lab/seed.ts): node 1's static addresses as the control node, its dnsmasq's range (outside
   *  the appliance's pool), and the address the lab's checks use on br-prov once the appliance is gone */
  seed: {
    controlProvisioning: '10.240.0.250',
    controlBmc: '10.242.0.250',
    dhcpRange: { start: '10.240.0.200', end: '10.240.0.249' },
    observer: '10.240.0.3',
  },
  /** IPv6 ULA prefix announced by radvd on br-prov (RA only; iPXE otherwise waits 13–16 s) */
  ulaPrefix: 'fd52:5253:4c41:1::/64',
} as const;

/**
 * Host port (on 127.0.0.1) of the lab Ironic's API forwarder when `--ironic-port` is not given: `RACKSEED_IRONIC_PORT`
 * from `env`, else Ironic's own port 6385 (where `openstack baremetal` users expect it). Not checked here: parseHostPort.
 */
export function ironicHostPortDefault(env: Readonly<Record<string, string | undefined>>): string {
  const v = env.RACKSEED_IRONIC_PORT?.trim();
  return v ? v : String(NET.ironicPort);
}

/** A host port as typed on the command line or in the environment (0: any free port); `what` names it in the error. */
export function parseHostPort(value: string, what: string): number {
  const v = value.trim();
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new Error(`${what} must be a port number 0–65535 (0: any free port), got "${value}"`);
  return Number(v);
}

/** Interface names inside the namespaces (fixed: namespaces keep instances apart). */
export const IFACES = {
  provBridge: 'br-prov',
  bmcBridge: 'br-bmc',
  appProv: 'prov0',
  appUplink: 'uplink0',
  appBmc: 'bmc0',
  uplinkSide: 'wifi0',
  rackProvPort: 'app-prov',
  rackBmcPort: 'app-bmc',
} as const;

export type Firmware = 'bios' | 'uefi';
export type NicModel = 'e1000' | 'virtio';
/** rom: QEMU's NIC option ROM (iPXE) boots; firmware: the firmware's own PXE client (UEFI only; `romfile=`) */
export type PxeClient = 'rom' | 'firmware';

export interface NodeSpec {
  firmware: Firmware;
  nic: NicModel;
  pxe: PxeClient;
  /** serial console on a unix socket (nodes/NAME/serial.sock) besides console.log, so a test can type into
   *  the firmware or iPXE (lab/serial.ts); default: on the telnet port the node's BMC connects to for
   *  Serial-over-LAN (NodeIdentity.serialPort), so a socket node has no SOL */
  serialSocket?: boolean;
  /** guest RAM in MiB for this node (default: LabOptions.node.memoryMiB, else 256); the seed's control node needs 1536 */
  memoryMiB?: number;
  /** a second NIC on br-bmc (virtio, no option ROM: never a boot device), MAC NodeIdentity.bmcNicMac — the seed's
   *  control node reaches the BMCs through it after the laptop leaves (issue 17 item 1) */
  bmcNic?: boolean;
}

/**
 * Parse one firmware token: `bios` (SeaBIOS + e1000), `uefi` (OVMF + virtio-net), optionally with the NIC
 * (`bios-virtio`, `uefi-e1000`) and `-pxe` for OVMF's own PXE client (`uefi-pxe`, `uefi-e1000-pxe`).
 */
export function parseNodeSpec(token: string): NodeSpec {
  const parts = token.trim().toLowerCase().split('-');
  const firmware = parts.shift();
  if (firmware !== 'bios' && firmware !== 'uefi') throw new Error(`unknown firmware "${token}" (bios, uefi, uefi-pxe, bios-virtio, uefi-e1000)`);
  let nic: NicModel = firmware === 'bios' ? 'e1000' : 'virtio';
  let pxe: PxeClient = 'rom';
  for (const p of parts) {
    if (p === 'e1000' || p === 'virtio') nic = p;
    else if (p === 'pxe') pxe = 'firmware';
    else throw new Error(`unknown firmware option "${p}" in "${token}"`);
  }
  if (pxe === 'firmware' && firmware !== 'uefi') throw new Error(`"${token}": SeaBIOS has no PXE client of its own; use the ROM`);
  return { firmware, nic, pxe };
}

/** `count` nodes from a comma list of tokens, repeating the list (default bios,uefi,bios…). */
export function planNodes(count: number, firmwareList = 'bios,uefi'): NodeSpec[] {
  const tokens = firmwareList.split(',').filter((t) => t.trim() !== '');
  if (tokens.length === 0) throw new Error('empty firmware list');
  if (!Number.isInteger(count) || count < 1 || count > 40) throw new Error(`node count must be 1–40, got ${count}`);
  return Array.from({ length: count }, (_, i) => parseNodeSpec(tokens[i % tokens.length]));
}

export interface LabNames {
  id: string;
  /** per-instance folder: node consoles, BMC configs, daemon data and logs, the uplink capture */
  dir: string;
  /** bridges br-prov and br-bmc, the node taps, the BMCs (ipmi_sim) and the QEMU nodes */
  rackNs: string;
  /** the appliance (RackSeed daemon) with prov0, bmc0 and uplink0 */
  appNs: string;
  /** the laptop's other network (office Wi-Fi) behind uplink0 */
  uplinkNs: string;
  /** the daemon's API socket (unix sockets are not namespaced: the host reaches it directly) */
  apiSocket: string;
  /** the lab's OpenStack Ironic (lab/ironic.ts): its own namespace with ironic0 on br-bmc */
  ironicNs: string;
  /** relay socket of Ironic's API (the host forwarder on 127.0.0.1:6385 pipes to it) */
  ironicSocket: string;
}

export function labBaseDir(): string {
  return process.env.RSLAB_DIR ?? join(tmpdir(), 'rslab');
}

export function labNames(id: string): LabNames {
  if (!/^[a-z0-9]{1,12}$/.test(id)) throw new Error(`lab id must be 1–12 of [a-z0-9], got "${id}"`);
  const dir = join(labBaseDir(), id);
  return {
    id, dir,
    rackNs: `${NS_PREFIX}${id}-rack`, appNs: `${NS_PREFIX}${id}-app`, uplinkNs: `${NS_PREFIX}${id}-up`,
    apiSocket: join(dir, 'appliance', 'api.sock'),
    ironicNs: `${NS_PREFIX}${id}-ironic`, ironicSocket: join(dir, 'ironic', 'api.sock'),
  };
}

/** Identity of node `index` (1-based) of instance `id`: stable across runs of the same instance. */
export interface NodeIdentity {
  index: number;
  name: string;
  mac: string;
  serial: string;
  /** SMBIOS system UUID (lower-case, dashed), what dmidecode and /sys/class/dmi/id/product_uuid show */
  uuid: string;
  diskSerial: string;
  tap: string;
  /** the second NIC's MAC and tap (on br-bmc), used when the node's spec has bmcNic */
  bmcNicMac: string;
  bmcTap: string;
  bmcAddress: string;
  /** TCP port on 127.0.0.1 in the rack namespace where the node's QEMU serves its serial line (a telnet chardev);
   *  the node's ipmi_sim BMC connects there for Serial-over-LAN (lan.conf `sol "telnet:127.0.0.1:PORT"`) */
  serialPort: number;
}

export function nodeIdentity(id: string, index: number): NodeIdentity {
  const h = createHash('sha256').update(`rslab/${id}/${index}`).digest('hex');
  // RFC 4122 version 4 / variant 10 bits, so tools that check them are happy
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  const idx = index.toString(16).padStart(2, '0');
  return {
    index,
    name: `node${index}`,
    mac: `52:54:00:52:53:${idx}`,
    serial: `RSLAB-${id.toUpperCase()}-${String(index).padStart(3, '0')}`,
    uuid,
    diskSerial: `RSDISK${String(index).padStart(3, '0')}`,
    tap: `tap${index}`,
    bmcNicMac: `52:54:00:52:42:${idx}`,
    bmcTap: `btap${index}`,
    bmcAddress: `10.242.0.${NET.bmcFirstHost + index - 1}`,
    serialPort: 7000 + index,
  };
}

/**
 * The 16 bytes an IPMI Get System GUID should return so that it decodes to the node's SMBIOS UUID the way
 * SMBIOS stores it (SMBIOS 2.6+ §7.2.1: time_low, time_mid, time_hi_and_version little-endian, the rest as
 * written) — the order real BMCs use and `ipmitool mc guid smbios` decodes. As 32 hex digits for lan.conf.
 */
export function ipmiGuidHex(uuid: string): string {
  const hex = uuid.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  const b = Buffer.from(hex, 'hex');
  const out = Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
  return out.toString('hex');
}

export const DEFAULT_BMC_USER = 'admin';
export const DEFAULT_BMC_PASSWORD = 'rackseed-lab';
