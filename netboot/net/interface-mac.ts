// The hardware address of a network interface, from /sys/class/net/IF/address (Linux).
import { readFileSync } from 'node:fs';
import { parseMac } from '../dhcp/mac.ts';

/** Lower-case colon MAC of `iface`, or null when unreadable or all zeros (loopback, a missing interface). */
export function interfaceMac(iface: string): string | null {
  try {
    const m = parseMac(readFileSync(`/sys/class/net/${iface}/address`, 'utf8'));
    return m && m !== '00:00:00:00:00:00' ? m : null;
  } catch {
    return null;
  }
}
