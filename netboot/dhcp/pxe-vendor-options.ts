// Option 43 for PXE clients (PXE spec 2.1 §2.4.5; Intel "Preboot Execution Environment"): sub-options
// 6 PXE_DISCOVERY_CONTROL, 8 PXE_BOOT_SERVERS, 9 PXE_BOOT_MENU, 10 PXE_MENU_PROMPT, 71 PXE_BOOT_ITEM.
// Option 43 from non-PXE vendors may be anything, so it is always kept raw and only read through here.

import { decodeSubOptions, encodeSubOptions, type SubOption } from './sub-options.ts';
import { DhcpDecodeError } from './decode-error.ts';

export const PxeSubOpt = {
  DISCOVERY_CONTROL: 6,
  BOOT_SERVERS: 8,
  BOOT_MENU: 9,
  MENU_PROMPT: 10,
  BOOT_ITEM: 71,
} as const;

/** PXE_DISCOVERY_CONTROL bits. */
export const PxeDiscoveryControl = {
  DISABLE_BROADCAST: 1,
  DISABLE_MULTICAST: 2,
  ONLY_LISTED_SERVERS: 4,
  /** a boot file name in the (proxy)DHCP offer is downloaded at once — no menu, no boot server discovery */
  USE_BOOT_FILE: 8,
} as const;

export interface PxeVendorOptions {
  /** every sub-option in order, raw */
  subOptions: SubOption[];
  /** sub-option 6, null when absent */
  discoveryControl: number | null;
  /** sub-option 71 (type, layer), null when absent or not 4 bytes */
  bootItem: { type: number; layer: number } | null;
}

/** Read option 43 as PXE sub-options; null when the bytes are not a well-formed TLV list (another vendor's format). */
export function decodePxeVendorOptions(data: Uint8Array): PxeVendorOptions | null {
  let subOptions: SubOption[];
  try { subOptions = decodeSubOptions(data, 0, true); } catch (err) { if (err instanceof DhcpDecodeError) return null; throw err; }
  const dc = subOptions.find((s) => s.code === PxeSubOpt.DISCOVERY_CONTROL);
  const bi = subOptions.find((s) => s.code === PxeSubOpt.BOOT_ITEM);
  return {
    subOptions,
    discoveryControl: dc && dc.data.length === 1 ? dc.data[0] : null,
    bootItem: bi && bi.data.length === 4 ? { type: bi.data.readUInt16BE(0), layer: bi.data.readUInt16BE(2) } : null,
  };
}

/** Option 43 for a proxyDHCP/PXE reply: discovery control (and optional boot item), end-terminated. */
export function encodePxeVendorOptions(opts: { discoveryControl: number; bootItem?: { type: number; layer: number } }): Buffer {
  const subs: SubOption[] = [{ code: PxeSubOpt.DISCOVERY_CONTROL, data: Buffer.from([opts.discoveryControl]) }];
  if (opts.bootItem) {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(opts.bootItem.type, 0);
    b.writeUInt16BE(opts.bootItem.layer, 2);
    subs.push({ code: PxeSubOpt.BOOT_ITEM, data: b });
  }
  return encodeSubOptions(subs, true);
}
