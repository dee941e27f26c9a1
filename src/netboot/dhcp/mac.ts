// MAC address notations accepted in configuration (reservations) and the one we print.

const HEX12 = /^[0-9a-f]{12}$/;

/**
 * Normalise a MAC written as "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aabb.ccdd.eeff" (Cisco) or
 * "aabbccddeeff" to lower-case colon notation. Returns null when the text is not a 48-bit MAC.
 */
export function parseMac(text: string): string | null {
  const t = text.trim().toLowerCase();
  let hex: string;
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/.test(t)) hex = t.replace(/[:-]/g, '');
  else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(t)) hex = t.replace(/\./g, '');
  else hex = t;
  if (!HEX12.test(hex)) return null;
  return hex.match(/../g)!.join(':');
}

/** Bytes as lower-case colon notation ("" for no bytes). */
export function formatMac(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    s += (i ? ':' : '') + (b < 16 ? '0' : '') + b.toString(16);
  }
  return s;
}

/** Lower-case colon MAC to 6 bytes; throws RangeError if not a MAC in any accepted notation. */
export function macToBytes(mac: string): Buffer {
  const m = parseMac(mac);
  if (!m) throw new RangeError(`not a MAC address: ${JSON.stringify(mac)}`);
  return Buffer.from(m.replace(/:/g, ''), 'hex');
}
