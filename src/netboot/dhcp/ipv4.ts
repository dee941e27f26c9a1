// Dotted-quad IPv4 helpers for the codec (pure; hot path, so no regexes on decode).

/** Four bytes at `offset` as "a.b.c.d". Caller guarantees the bounds. */
export function readIpv4(buf: Uint8Array, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** Parse "a.b.c.d" to a uint32; throws RangeError on anything else. */
export function ipv4ToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new RangeError(`not an IPv4 address: ${JSON.stringify(ip)}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(ip)}`);
    const v = Number(p);
    if (v > 255) throw new RangeError(`not an IPv4 address: ${JSON.stringify(ip)}`);
    n = n * 256 + v;
  }
  return n;
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
