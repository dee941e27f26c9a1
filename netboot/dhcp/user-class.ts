// Option 77, user class (RFC 3004 §4): a sequence of [length, bytes] class instances. iPXE and many
// firmwares instead send one bare string ("iPXE"), so both forms are read.

/**
 * Decode option 77. Returns the RFC 3004 instances when the bytes parse exactly as that form (every
 * instance non-empty, lengths consuming the whole option); otherwise the whole option as one string.
 * Strings are latin1 so every byte survives.
 */
export function decodeUserClass(data: Uint8Array): string[] {
  const classes: string[] = [];
  let i = 0;
  while (i < data.length) {
    const len = data[i];
    if (len === 0 || i + 1 + len > data.length) return [Buffer.from(data).toString('latin1')];
    classes.push(Buffer.from(data.subarray(i + 1, i + 1 + len)).toString('latin1'));
    i += 1 + len;
  }
  return classes.length ? classes : [Buffer.from(data).toString('latin1')];
}

/** Encode user classes in RFC 3004 form (each 1–255 bytes). */
export function encodeUserClassRfc3004(classes: string[]): Buffer {
  const parts: Buffer[] = [];
  for (const c of classes) {
    const b = Buffer.from(c, 'latin1');
    if (b.length < 1 || b.length > 255) throw new RangeError(`user class instance must be 1..255 bytes, got ${b.length}`);
    parts.push(Buffer.from([b.length]), b);
  }
  return Buffer.concat(parts);
}
