// The image library's records, as both the daemon and the UI see them (GET /api/v1/images, the 'image' stream
// message). An image is stored once, as a sparse raw file, whatever it was imported from; agents download it from
// the HTTP boot server at `imageServingPath(sha256)`.

/** `importing` → `ready` | `failed`. A failed image keeps its record (and reason) until removed or re-imported. */
export type ImageState = 'importing' | 'ready' | 'failed';

/** What the file was, by content: a qcow2, a raw disk image, either of them gzip- or xz-compressed. */
export type ImageSourceFormat = 'raw' | 'qcow2' | 'raw.gz' | 'raw.xz' | 'qcow2.gz' | 'qcow2.xz';

/** How firmware can start the image: `bios` (legacy boot code in the MBR) and/or `uefi` (removable-media path). */
export type BootMode = 'bios' | 'uefi';

/**
 * Why an import failed: `invalid` — the file itself is refused (format, corruption, cannot boot): importing it again
 * fails again; `error` — the daemon could not finish (interrupted upload, disk full, daemon stopped): try again.
 */
export type ImageFailure = 'invalid' | 'error';

/** Progress of an import. `total` is null while unknown (an upload without Content-Length). */
export interface ImageProgress {
  /** upload: bytes received; convert: qemu-img convert; hash: reading the raw file for its sha256; inspect: boot modes */
  phase: 'upload' | 'convert' | 'hash' | 'inspect';
  done: number;
  total: number | null;
}

export interface ImageRecord {
  id: string;
  /** unique, user-chosen: IMAGE_NAME */
  name: string;
  state: ImageState;
  /** null until the first bytes were seen */
  sourceFormat: ImageSourceFormat | null;
  /** bytes received from the client (the file as uploaded, compressed or not) */
  sourceBytes: number;
  /** size of the disk image in bytes: what a target disk must hold (qcow2: its virtual size) */
  virtualSize: number | null;
  /** length of the stored raw file = bytes an agent downloads (equal to virtualSize once ready) */
  rawSize: number | null;
  /** bytes the raw file occupies on the daemon's disk (it is sparse: holes are not stored) */
  diskBytes: number | null;
  /** lower-case hex SHA-256 of the raw bytes (what an agent verifies after writing); null until ready */
  sha256: string | null;
  /** boot modes the image supports (never empty when ready) */
  bootModes: BootMode[];
  /** failed: why */
  error: string | null;
  failure: ImageFailure | null;
  /** importing: how far (not stored: null after a restart) */
  progress: ImageProgress | null;
  createdAt: number;
  updatedAt: number;
}

/** Image names: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters. */
export const IMAGE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const IMAGE_NAME_RULE = '1–64 characters of a-z 0-9 . _ -, starting with a letter or digit';

/** Path of a ready image's raw bytes on the HTTP boot server (GET/HEAD, Range supported). */
export function imageServingPath(sha256: string): string {
  return `/images/${sha256}.raw`;
}

/** Path of a ready image's extent map (text: `data|zero OFFSET LENGTH` lines) on the HTTP boot server. */
export function imageMapPath(sha256: string): string {
  return `/images/${sha256}.map`;
}

/** Path of a ready image's data ranges, concatenated in map order, on the HTTP boot server. */
export function imageDataPath(sha256: string): string {
  return `/images/${sha256}.data`;
}
