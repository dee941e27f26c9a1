// What an image file is, from its first bytes (never its name). Pure: the caller hands over the head of the stream.
//   qcow2  'QFI\xfb' + version 2 or 3          → converted with qemu-img
//   gzip   1f 8b                               → node:zlib
//   xz     fd 37 7a 58 5a 00                   → xz -dc
//   anything else not listed below             → raw (then the partition tables decide whether it can boot)
// Refused, each with its reason: zstd (the ramdisk's busybox has no zstd; and we store raw anyway, but the user should
// know why), bzip2, lz4, qcow version 1, VMDK, VDI, VHD(X), and archives (zip, tar) that are not disk images.

export type DetectedFormat = 'qcow2' | 'gzip' | 'xz' | 'raw';

export type Detection = { format: DetectedFormat } | { refused: string };

/** bytes detect() wants to see (fewer only at the end of a short file) */
export const DETECT_BYTES = 512;

const startsWith = (b: Uint8Array, sig: number[], at = 0) => b.length >= at + sig.length && sig.every((x, i) => b[at + i] === x);
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

export function detect(head: Uint8Array): Detection {
  if (startsWith(head, [0x51, 0x46, 0x49, 0xfb])) {
    if (head.length < 8) return { refused: 'qcow2 header is truncated' };
    const version = ((head[4]! << 24) | (head[5]! << 16) | (head[6]! << 8) | head[7]!) >>> 0;
    if (version === 2 || version === 3) return { format: 'qcow2' };
    return { refused: `qcow version ${version} is not supported (only qcow2 v2/v3): convert it with qemu-img convert -O qcow2` };
  }
  if (startsWith(head, [0x1f, 0x8b])) return { format: 'gzip' };
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return { format: 'xz' };
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) {
    return { refused: 'zstd-compressed images are not supported (the deploy ramdisk\'s busybox has no zstd): decompress it (zstd -d) or recompress with gzip or xz' };
  }
  if (startsWith(head, ascii('BZh'))) return { refused: 'bzip2-compressed images are not supported: decompress it (bunzip2) or recompress with gzip or xz' };
  if (startsWith(head, [0x04, 0x22, 0x4d, 0x18])) return { refused: 'lz4-compressed images are not supported: decompress it (lz4 -d) or recompress with gzip or xz' };
  if (startsWith(head, ascii('KDMV'))) return { refused: 'VMDK images are not supported: convert it with qemu-img convert -O qcow2 (or raw)' };
  if (startsWith(head, ascii('conectix'))) return { refused: 'dynamic VHD images are not supported: convert it with qemu-img convert -O qcow2 (or raw)' };
  if (startsWith(head, ascii('vhdxfile'))) return { refused: 'VHDX images are not supported: convert it with qemu-img convert -O qcow2 (or raw)' };
  if (startsWith(head, [0x7f, 0x10, 0xda, 0xbe], 0x40)) return { refused: 'VDI images are not supported: convert it with qemu-img convert -O qcow2 (or raw)' };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return { refused: 'a zip archive is not a disk image: unpack it and import the image inside' };
  if (startsWith(head, ascii('ustar'), 257)) return { refused: 'a tar archive is not a disk image: unpack it and import the image inside' };
  return { format: 'raw' };
}
