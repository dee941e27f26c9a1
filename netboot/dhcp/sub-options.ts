// Type-length-value sub-options as used inside option 43 (PXE vendor options) and option 82 (relay agent info).

import { DhcpDecodeError } from './decode-error.ts';

export interface SubOption { code: number; data: Buffer }

/**
 * Decode TLV sub-options. `pad`/`end` (0/255) are honoured when `padEnd` is set (PXE, option 43);
 * option 82 has no pad/end. Throws DhcpDecodeError at `baseOffset + i` on truncation.
 */
export function decodeSubOptions(data: Uint8Array, baseOffset: number, padEnd: boolean): SubOption[] {
  const out: SubOption[] = [];
  let i = 0;
  while (i < data.length) {
    const code = data[i];
    if (padEnd && code === 0) { i++; continue; }
    if (padEnd && code === 255) break;
    if (i + 1 >= data.length) throw new DhcpDecodeError(`sub-option ${code} has no length byte`, baseOffset + i);
    const len = data[i + 1];
    if (i + 2 + len > data.length) throw new DhcpDecodeError(`sub-option ${code} length ${len} runs past its option`, baseOffset + i);
    out.push({ code, data: Buffer.from(data.subarray(i + 2, i + 2 + len)) });
    i += 2 + len;
  }
  return out;
}

/** Encode TLV sub-options, appending an end marker (255) when `end` is set. Each value ≤ 255 bytes. */
export function encodeSubOptions(subs: SubOption[], end: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const s of subs) {
    if (s.data.length > 255) throw new RangeError(`sub-option ${s.code} longer than 255 bytes`);
    parts.push(Buffer.from([s.code, s.data.length]), s.data);
  }
  if (end) parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}
