// dgram's `lookup` option for sockets that only ever send to IP literals (DHCP replies, TFTP DATA): Node's default
// (dns.lookup) answers even an IP literal through process.nextTick, so every send was deferred behind a tick and a
// closure. This answers IPv4 literals at once and hands anything else to dns.lookup. (In the DHCP storm the effect
// is below the machine's run-to-run noise; it is here because the send path should not wait for nothing.)
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIPv4 } from 'node:net';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

export function ipLiteralLookup(hostname: string, options: number | LookupOneOptions, callback: LookupCallback): void {
  if (isIPv4(hostname)) { callback(null, hostname, 4); return; }
  dnsLookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}
