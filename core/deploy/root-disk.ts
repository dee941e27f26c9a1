// Which disk of a node an image goes to (issue 15 item 2), as a pure function of the node's inventory: by default the
// smallest disk that holds the image (ties: the first by kernel name); with root device hints (Ironic's `root_device`:
// name, serial, wwn, size in GiB, min_size) only disks that match every hint, and then the smallest that holds it.
import type { InventoryDisk } from '../../shared/inventory.ts';
import type { RootDeviceHints, TargetDisk } from '../../shared/deploy.ts';

const GIB = 1024 ** 3;

export type RootDiskChoice = { ok: true; disk: TargetDisk } | { ok: false; reason: string };

/** "1.06 GiB", "64.0 MiB" */
export function formatBytes(n: number): string {
  if (n >= GIB) return `${(n / GIB).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${n} bytes`;
}

function describe(d: InventoryDisk): string {
  return `${d.name} ${d.sizeBytes === null ? 'size unknown' : formatBytes(d.sizeBytes)}${d.serial ? ` serial ${d.serial}` : ''}`;
}

const norm = (s: string) => s.trim().toLowerCase();

/** Why `d` does not match `h`, or null when it matches every hint given. */
export function hintMismatch(d: InventoryDisk, h: RootDeviceHints): string | null {
  if (h.name !== undefined && norm(h.name).replace(/^\/dev\//, '') !== norm(d.name)) return `name is not ${h.name}`;
  if (h.serial !== undefined && (d.serial === null || norm(d.serial) !== norm(h.serial))) return `serial is not ${h.serial}`;
  if (h.wwn !== undefined && (d.wwn === null || norm(d.wwn).replace(/^(naa|eui|t10)\./, '') !== norm(h.wwn).replace(/^(naa|eui|t10)\./, ''))) {
    return `WWN is not ${h.wwn}`;
  }
  if (h.size !== undefined && (d.sizeBytes === null || Math.floor(d.sizeBytes / GIB) !== h.size)) return `size is not ${h.size} GiB`;
  if (h.minSizeGiB !== undefined && (d.sizeBytes === null || d.sizeBytes < h.minSizeGiB * GIB)) return `smaller than ${h.minSizeGiB} GiB`;
  return null;
}

/**
 * The disk for an image of `imageBytes` among `disks` (the node's inventory), honouring `hints`. Every refusal says
 * which disks there are and why none fits: no disks, no disk matching the hints, or the image larger than every
 * (matching) disk.
 */
export function chooseRootDisk(disks: readonly InventoryDisk[], imageBytes: number, hints: RootDeviceHints = {}): RootDiskChoice {
  const known = disks.filter((d) => d.sizeBytes !== null && d.sizeBytes > 0);
  if (known.length === 0) return { ok: false, reason: disks.length ? `no disk of known size (${disks.map(describe).join(', ')})` : 'the node has no disks in its inventory' };
  const hinted = Object.values(hints).some((v) => v !== undefined);
  const matching = hinted ? known.filter((d) => hintMismatch(d, hints) === null) : known;
  if (matching.length === 0) {
    return { ok: false, reason: `no disk matches the root device hints ${JSON.stringify(hints)}: ${known.map((d) => `${describe(d)} (${hintMismatch(d, hints)})`).join(', ')}` };
  }
  const fits = matching.filter((d) => d.sizeBytes! >= imageBytes).sort((a, b) => a.sizeBytes! - b.sizeBytes! || a.name.localeCompare(b.name));
  if (fits.length === 0) {
    return {
      ok: false,
      reason: `the image (${formatBytes(imageBytes)}) is larger than every ${hinted ? 'matching ' : ''}disk of the node: ${matching.map(describe).join(', ')}`,
    };
  }
  const d = fits[0]!;
  return { ok: true, disk: { name: d.name, sizeBytes: d.sizeBytes!, serial: d.serial, wwn: d.wwn } };
}
