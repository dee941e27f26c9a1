// Hardware inventory reported by the discovery agent, and the agent's command protocol — one TypeBox
// definition gives the daemon its validator and the renderer its types.
//
// Agent protocol (agent/ramdisk/rackseed-agent.sh is the client; the daemon implements the routes):
//   POST /agent/v1/inventory   Authorization: Bearer <per-node token>, Content-Type: application/json,
//                              body: Inventory (≤ INVENTORY_MAX_BYTES). 2xx = stored; anything else and the
//                              agent retries with backoff (1 s doubling to 30 s), forever.
//   GET  /agent/v1/next        Authorization: Bearer <token> → AgentCommand as JSON. The agent acts on it:
//                              poweroff / reboot at once; wait → asks again after `seconds` (default 5).
//                              A non-2xx answer is retried with backoff.
// The token arrives on the kernel command line (`rackseed.token=`, see agentKernelArgs in
// agent/build/manifest.ts); the daemon must refuse a missing or wrong token before parsing the body.
//
// Strings read from hardware are cut to 256 bytes by the agent; every string and list here has a limit so
// a hostile or broken body cannot grow the node store. Unknown properties are refused (agent and daemon
// ship together). `null` always means "the hardware or kernel did not say".
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** Largest inventory body the daemon should accept (fastify `bodyLimit` for the route). */
export const INVENTORY_MAX_BYTES = 256 * 1024;
export const INVENTORY_MAX_DISKS = 256;
export const INVENTORY_MAX_NICS = 64;

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/** A string from hardware (DMI, sysfs): ≤ 256 characters, or null when absent. */
const HwString = Nullable(Type.String({ maxLength: 256 }));
const Count = Type.Integer({ minimum: 0, maximum: 1_000_000 });
const Bytes = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** Link-layer address, lower-case colon form: 6 bytes for Ethernet, up to 20 (InfiniBand). */
const LinkAddress = Type.String({ pattern: '^[0-9a-f]{2}(:[0-9a-f]{2}){5,19}$', maxLength: 59 });
const Mac = Type.String({ pattern: '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$', maxLength: 17 });
const Ipv4 = Type.String({ pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$', maxLength: 15 });
const strict = { additionalProperties: false } as const;

export const CpuSchema = Type.Object({
  model: HwString,
  arch: HwString,
  /** physical packages */
  sockets: Nullable(Count),
  /** physical cores over all sockets */
  cores: Nullable(Count),
  /** logical CPUs (hardware threads) */
  threads: Nullable(Count),
  /** current clock of the first CPU, MHz */
  mhz: Nullable(Count),
}, strict);

export const MemorySchema = Type.Object({
  /** installed memory as the kernel sees it (online memory blocks × block size) */
  totalBytes: Nullable(Bytes),
  /** MemTotal: what is left after firmware and kernel reservations */
  usableBytes: Nullable(Bytes),
}, strict);

export const DiskSchema = Type.Object({
  /** kernel name, e.g. "sda", "nvme0n1", "vda" */
  name: Type.String({ minLength: 1, maxLength: 64 }),
  sizeBytes: Nullable(Bytes),
  model: HwString,
  vendor: HwString,
  serial: HwString,
  /** world-wide identifier as sysfs gives it ("naa.…", "eui.…", "t10.…") */
  wwn: HwString,
  /** true for spinning disks; null when unknown */
  rotational: Nullable(Type.Boolean()),
  bus: Nullable(Type.Union([Type.Literal('nvme'), Type.Literal('virtio'), Type.Literal('scsi'), Type.Literal('mmc')])),
}, strict);

export const NicSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 16 }),
  mac: Nullable(LinkAddress),
  driver: HwString,
  /** carrier; null when the interface is down */
  link: Nullable(Type.Boolean()),
  speedMbps: Nullable(Count),
  /** address the agent got by DHCP (boot NIC only, usually) */
  ipv4: Nullable(Ipv4),
}, strict);

export const DmiSchema = Type.Object({
  system: Type.Object({
    vendor: HwString, product: HwString, version: HwString, serial: HwString,
    /** SMBIOS system UUID, lower-case; compare with the BMC's System GUID */
    uuid: Nullable(Type.String({ maxLength: 64 })),
    sku: HwString, family: HwString,
  }, strict),
  board: Type.Object({ vendor: HwString, product: HwString, version: HwString, serial: HwString, assetTag: HwString }, strict),
  /** `type` is the SMBIOS chassis type number (3 desktop, 17 main server chassis, 23 rack mount, …) */
  chassis: Type.Object({ vendor: HwString, type: Nullable(Count), version: HwString, serial: HwString, assetTag: HwString }, strict),
  bios: Type.Object({ vendor: HwString, version: HwString, date: HwString }, strict),
}, strict);

/** The node's BMC as seen in-band through the kernel's IPMI driver (ipmi_si); null when none answered. */
export const InbandBmcSchema = Type.Object({
  /** Get Device GUID as the kernel prints it (lower-case, dashed); equals the BMC's System GUID over LAN,
   *  possibly byte-swapped — compare in both orders */
  guid: Nullable(Type.String({ maxLength: 64 })),
  /** e.g. "2.0" */
  ipmiVersion: HwString,
  /** IANA enterprise number as the kernel prints it, e.g. "0x002a7c" */
  manufacturerId: HwString,
  productId: HwString,
  firmwareRevision: HwString,
}, strict);

export const InventorySchema = Type.Object({
  schemaVersion: Type.Literal(1),
  agentVersion: HwString,
  /** node id from the kernel command line (rackseed.node=), echoed */
  nodeId: Nullable(Type.String({ maxLength: 64 })),
  /** MAC of the NIC the node booted from */
  bootMac: Nullable(Mac),
  /** 'uefi' when the kernel was started by UEFI firmware (/sys/firmware/efi exists) */
  bootMode: Type.Union([Type.Literal('bios'), Type.Literal('uefi')]),
  /** `uname -r` of the ramdisk kernel */
  kernel: HwString,
  cpu: CpuSchema,
  memory: MemorySchema,
  disks: Type.Array(DiskSchema, { maxItems: INVENTORY_MAX_DISKS }),
  nics: Type.Array(NicSchema, { maxItems: INVENTORY_MAX_NICS }),
  /** absent in inventories from agents before it was added */
  bmc: Type.Optional(Nullable(InbandBmcSchema)),
  dmi: DmiSchema,
}, strict);

export type Inventory = Static<typeof InventorySchema>;
export type InventoryDisk = Static<typeof DiskSchema>;
export type InventoryNic = Static<typeof NicSchema>;
export type InventoryBmc = Static<typeof InbandBmcSchema>;

/** What the daemon answers on GET /agent/v1/next. */
export const AgentCommandSchema = Type.Union([
  Type.Object({ action: Type.Literal('poweroff') }, strict),
  Type.Object({ action: Type.Literal('reboot') }, strict),
  /** ask again after `seconds` (1–3600; the agent uses 5 when absent or out of range) */
  Type.Object({ action: Type.Literal('wait'), seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })) }, strict),
]);
export type AgentCommand = Static<typeof AgentCommandSchema>;

export type InventoryCheck = { ok: true; value: Inventory } | { ok: false; errors: string[] };

/**
 * Validate a parsed POST body. Returns the value typed, or at most 10 errors as "path: message" lines
 * (safe to log: they name paths, not values). Uses TypeBox's interpreter (no code generation, so it
 * also runs under the renderer's CSP).
 */
export function checkInventory(body: unknown): InventoryCheck {
  if (Value.Check(InventorySchema, body)) return { ok: true, value: body };
  const errors: string[] = [];
  for (const e of Value.Errors(InventorySchema, body)) {
    errors.push(`${e.path || '/'}: ${e.message}`);
    if (errors.length >= 10) break;
  }
  return { ok: false, errors };
}

/** Total disk capacity in bytes (null sizes count as 0). */
export function totalDiskBytes(inv: Inventory): number {
  return inv.disks.reduce((n, d) => n + (d.sizeBytes ?? 0), 0);
}
