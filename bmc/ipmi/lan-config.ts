// Transport netFn: Get LAN Configuration Parameters (IPMI 2.0 §23.2, Table 23-4) — the BMC's own IP and MAC.
import { IpmiDecodeError, need } from './errors.ts';
import { NetFn } from './ipmi-message.ts';
import type { CommandRequest } from './app-commands.ts';

export const LanParam = { IpAddress: 3, IpAddressSource: 4, MacAddress: 5, SubnetMask: 6, DefaultGateway: 12 } as const;

export function getLanConfigRequest(channel: number, param: number): CommandRequest {
  return { netFn: NetFn.Transport, cmd: 0x02, data: Buffer.from([channel & 0x0f, param & 0xff, 0, 0]) };
}

/** The parameter data after the revision byte. */
export function decodeLanConfig(d: Uint8Array, param: number): Buffer {
  need(d, 0, 1, 'Get LAN Configuration response');
  const want = param === LanParam.MacAddress ? 6 : param === LanParam.IpAddressSource ? 1 : 4;
  need(d, 1, want, `LAN parameter ${param}`);
  return Buffer.from(d.subarray(1, 1 + want));
}

export function formatIp(b: Uint8Array): string {
  if (b.length !== 4) throw new IpmiDecodeError('IPv4 address', 0, 'needs 4 bytes');
  return Array.from(b).join('.');
}

export function formatMac(b: Uint8Array): string {
  if (b.length !== 6) throw new IpmiDecodeError('MAC address', 0, 'needs 6 bytes');
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}
