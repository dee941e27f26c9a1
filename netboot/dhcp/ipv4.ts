// Dotted-quad IPv4 helpers for the codec (pure; hot path, so no regexes on decode).

/** Four bytes at `offset` as "a.b.c.d". Caller guarantees the bounds. */
export function readIpv4(buf: Uint8Array, offset: number): string {
  const a = buf[offset], b = buf[offset + 1], c = buf[offset + 2], d = buf[offset + 3];
  // most address fields of a request are 0.0.0.0: one shared string instead of a new one each time
  if ((a | b | c | d) === 0) return IPV4_ANY;
  return `${a}.${b}.${c}.${d}`;
}

/** Parse "a.b.c.d" to a uint32 (decimal, 1–3 digits per part); throws RangeError on anything else. Hot path: no regex. */
export function ipv4ToInt(ip: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) throw new RangeError(`not an IPv4 address: ${JSON.stringify(ip)}`);
    } else if (c === 46 && digits > 0 && dots < 3) {
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else {
      throw new RangeError(`not an IPv4 address: ${JSON.stringify(ip)}`);
    }
  }
  if (dots !== 3 || digits === 0) throw new RangeError(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return n * 256 + part;
}

export function intToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Write "a.b.c.d" as four bytes at `offset`. */
export function writeIpv4(buf: Uint8Array, offset: number, ip: string): void {
  const n = ipv4ToInt(ip);
  buf[offset] = (n >>> 24) & 255;
  buf[offset + 1] = (n >>> 16) & 255;
  buf[offset + 2] = (n >>> 8) & 255;
  buf[offset + 3] = n & 255;
}

export function isIpv4(s: string): boolean {
  try { ipv4ToInt(s); return true; } catch { return false; }
}

export const IPV4_ANY = '0.0.0.0';
export const IPV4_BROADCAST = '255.255.255.255';
