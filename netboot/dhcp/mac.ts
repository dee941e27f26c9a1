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

/** "00" … "ff" */
const HEX_BYTE = Array.from({ length: 256 }, (_, b) => (b < 16 ? '0' : '') + b.toString(16));

/** ASCII of each byte's two hex digits, high then low */
const HEX_CHARS = Buffer.from(HEX_BYTE.join(''), 'latin1');
/** "xx:xx:xx:xx:xx:xx" assembled here and read out as one flat string */
const MAC_TEXT = Buffer.from('00:00:00:00:00:00', 'latin1');

/** Bytes as lower-case colon notation ("" for no bytes). Hot path (every DHCP request): a table, one string made. */
export function formatMac(bytes: Uint8Array): string {
  if (bytes.length === 6) {
    for (let i = 0; i < 6; i++) {
      MAC_TEXT[i * 3] = HEX_CHARS[bytes[i] * 2];
      MAC_TEXT[i * 3 + 1] = HEX_CHARS[bytes[i] * 2 + 1];
    }
    return MAC_TEXT.toString('latin1');
  }
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (i ? ':' : '') + HEX_BYTE[bytes[i]];
  return s;
}

/** Lower-case colon MAC to 6 bytes; throws RangeError if not a MAC in any accepted notation. */
export function macToBytes(mac: string): Buffer {
  const m = parseMac(mac);
  if (!m) throw new RangeError(`not a MAC address: ${JSON.stringify(mac)}`);
  return Buffer.from(m.replace(/:/g, ''), 'hex');
}
