// netascii encoding for read transfers (RFC 1350 §5 / RFC 764): LF → CR LF, CR → CR NUL.
// Stateless per byte, so chunks can be encoded independently. Pure.

/** Encode one chunk of file bytes as netascii. */
export function encodeNetascii(chunk: Buffer): Buffer {
  let extra = 0;
  for (const b of chunk) if (b === 0x0a || b === 0x0d) extra++;
  if (extra === 0) return chunk;
  const out = Buffer.allocUnsafe(chunk.length + extra);
  let j = 0;
  for (const b of chunk) {
    if (b === 0x0a) { out[j++] = 0x0d; out[j++] = 0x0a; }
    else if (b === 0x0d) { out[j++] = 0x0d; out[j++] = 0x00; }
    else out[j++] = b;
  }
  return out;
}
