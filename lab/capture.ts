// A tcpdump on the uplink side for the whole run: the appliance must never send a DHCP/proxyDHCP/TFTP
// packet (or any UDP from its boot servers) out of uplink0, the "office Wi-Fi".
import { join } from 'node:path';
import { IFACES } from './config.ts';
import { run, spawnDetached } from './processes.ts';

/** Start capturing every IPv4 UDP frame on the uplink namespace's wifi0; returns tcpdump's PID. */
export function startUplinkCapture(uplinkNs: string, dir: string): { pid: number; file: string } {
  const file = join(dir, 'uplink.pcap');
  // -U: write each packet at once (the file is complete whenever we read it); -Z root: keep permission to write
  const pid = spawnDetached(uplinkNs, 'tcpdump', ['-i', IFACES.uplinkSide, '-n', '-U', '-Z', 'root', '-w', file, 'ip and udp'],
    join(dir, 'tcpdump.log'));
  return { pid, file };
}

export interface UplinkReport {
  /** every UDP packet seen on the uplink, one tcpdump line each */
  total: number;
  /** UDP packets sent by the appliance's uplink NIC (by source MAC) — DHCP/TFTP replies would be here */
  fromAppliance: string[];
  /** of those, the ones on DHCP/proxyDHCP/TFTP ports (67, 68, 69, 4011) */
  bootReplies: string[];
}

/** Read the capture so far. `applianceMac`: uplink0's MAC. */
export function analyzeUplinkCapture(file: string, applianceMac: string): UplinkReport {
  const out = run(null, 'tcpdump', ['-r', file, '-nn', '-e'], 30_000);
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  const fromAppliance = lines.filter((l) => l.toLowerCase().includes(`${applianceMac.toLowerCase()} >`));
  const bootReplies = fromAppliance.filter((l) => /\.(67|68|69|4011)[ :]/.test(l) || /\b(BOOTP|TFTP|DHCP)\b/i.test(l));
  return { total: lines.length, fromAppliance, bootReplies };
}
