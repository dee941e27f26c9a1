// The options of one DHCP packet: an ordered map code → raw bytes (RFC 3396 instances already
// concatenated), with typed getters and setters for the options RackSeed uses. Unknown options stay raw
// and are re-encoded unchanged. Getters return null when the option is absent; shapes are checked at
// decode time (option-codes.ts OPTION_SHAPES), so a decoded packet never makes a getter throw.

import { Opt } from './option-codes.ts';
import { readIpv4, writeIpv4 } from './ipv4.ts';
import { decodeUserClass } from './user-class.ts';
import { decodePxeVendorOptions, type PxeVendorOptions } from './pxe-vendor-options.ts';
import { decodeRelayAgentInfo, type RelayAgentInfo } from './relay-agent-info.ts';

function ipList(ips: string[]): Buffer {
  const b = Buffer.alloc(ips.length * 4);
  ips.forEach((ip, i) => writeIpv4(b, i * 4, ip));
  return b;
}
function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0, 0); return b; }

export class DhcpOptions {
  // Codes and their bytes in insertion (= wire) order, in two arrays: a packet has a handful of options, and a
  // linear scan over them is cheaper than a Map built for every packet a server receives and sends.
  private readonly codes: number[] = [];
  private readonly values: Buffer[] = [];

  private indexOf(code: number): number {
    const c = this.codes;
    for (let i = 0; i < c.length; i++) if (c[i] === code) return i;
    return -1;
  }
  private get(code: number): Buffer | undefined {
    const i = this.indexOf(code);
    return i < 0 ? undefined : this.values[i];
  }

  /** Options in insertion (= wire) order; callers must not mutate the buffers. */
  *entries(): IterableIterator<[number, Buffer]> {
    for (let i = 0; i < this.codes.length; i++) yield [this.codes[i]!, this.values[i]!];
  }
  /** Each option in wire order, without an [code, bytes] pair per option (the codec's hot path). */
  forEachRaw(fn: (data: Buffer, code: number) => void): void {
    const c = this.codes, v = this.values;
    for (let i = 0; i < c.length; i++) fn(v[i]!, c[i]!);
  }
  get size(): number { return this.codes.length; }
  has(code: number): boolean { return this.indexOf(code) >= 0; }
  /** Raw bytes of an option, null when absent. */
  getRaw(code: number): Buffer | null { return this.get(code) ?? null; }
  /** Set raw bytes (any length; encoding splits > 255 per RFC 3396). Codes 0 and 255 are not options. */
  setRaw(code: number, data: Uint8Array): this {
    if (!Number.isInteger(code) || code <= 0 || code >= 255) throw new RangeError(`option code must be 1..254, got ${code}`);
    this.put(code, Buffer.from(data));
    return this;
  }
  delete(code: number): this {
    const i = this.indexOf(code);
    if (i >= 0) { this.codes.splice(i, 1); this.values.splice(i, 1); }
    return this;
  }
  /** Decoder use: take ownership of `data` without copying (the decoder hands over a private copy). */
  adoptRaw(code: number, data: Buffer): void { this.put(code, data); }

  private ip(code: number): string | null { const b = this.get(code); return b ? readIpv4(b, 0) : null; }
  private ips(code: number): string[] | null {
    const b = this.get(code);
    if (!b) return null;
    const out: string[] = [];
    for (let i = 0; i + 4 <= b.length; i += 4) out.push(readIpv4(b, i));
    return out;
  }
  /** latin1 text; trailing NULs (dnsmasq terminates option 67 with one) are not part of the value */
  private str(code: number): string | null {
    const b = this.get(code);
    if (!b) return null;
    let end = b.length;
    while (end > 0 && b[end - 1] === 0) end--;
    return b.toString('latin1', 0, end);
  }
  private u32(code: number): number | null { const b = this.get(code); return b ? b.readUInt32BE(0) : null; }

  /** 53, RFC 2132 §9.6 */
  get messageType(): number | null { const b = this.get(Opt.MESSAGE_TYPE); return b ? b[0] : null; }
  set messageType(v: number | null) { this.put(Opt.MESSAGE_TYPE, v === null ? null : Buffer.from([v])); }
  /** 1 */
  get subnetMask(): string | null { return this.ip(Opt.SUBNET_MASK); }
  set subnetMask(v: string | null) { this.put(Opt.SUBNET_MASK, v === null ? null : ipList([v])); }
  /** 3 */
  get routers(): string[] | null { return this.ips(Opt.ROUTER); }
  set routers(v: string[] | null) { this.put(Opt.ROUTER, v === null || v.length === 0 ? null : ipList(v)); }
  /** 6 */
  get dnsServers(): string[] | null { return this.ips(Opt.DNS_SERVERS); }
  set dnsServers(v: string[] | null) { this.put(Opt.DNS_SERVERS, v === null || v.length === 0 ? null : ipList(v)); }
  /** 12 */
  get hostname(): string | null { return this.str(Opt.HOSTNAME); }
  set hostname(v: string | null) { this.put(Opt.HOSTNAME, v ? Buffer.from(v, 'latin1') : null); }
  /** 15 */
  get domainName(): string | null { return this.str(Opt.DOMAIN_NAME); }
  set domainName(v: string | null) { this.put(Opt.DOMAIN_NAME, v ? Buffer.from(v, 'latin1') : null); }
  /** 28 */
  get broadcastAddress(): string | null { return this.ip(Opt.BROADCAST_ADDRESS); }
  set broadcastAddress(v: string | null) { this.put(Opt.BROADCAST_ADDRESS, v === null ? null : ipList([v])); }
  /** 43 raw (vendor-specific; see pxeVendorOptions) */
  get vendorSpecific(): Buffer | null { return this.get(Opt.VENDOR_SPECIFIC) ?? null; }
  set vendorSpecific(v: Buffer | null) { this.put(Opt.VENDOR_SPECIFIC, v); }
  /** 43 read as PXE sub-options; null when absent or not a TLV list */
  get pxeVendorOptions(): PxeVendorOptions | null {
    const b = this.get(Opt.VENDOR_SPECIFIC);
    return b ? decodePxeVendorOptions(b) : null;
  }
  /** 50 */
  get requestedIp(): string | null { return this.ip(Opt.REQUESTED_IP); }
  set requestedIp(v: string | null) { this.put(Opt.REQUESTED_IP, v === null ? null : ipList([v])); }
  /** 51, seconds (0xffffffff = infinite) */
  get leaseTime(): number | null { return this.u32(Opt.LEASE_TIME); }
  set leaseTime(v: number | null) { this.put(Opt.LEASE_TIME, v === null ? null : u32(v)); }
  /** 54 */
  get serverId(): string | null { return this.ip(Opt.SERVER_ID); }
  set serverId(v: string | null) { this.put(Opt.SERVER_ID, v === null ? null : ipList([v])); }
  /** 55, requested option codes in the client's order */
  get parameterRequestList(): number[] | null { const b = this.get(Opt.PARAMETER_REQUEST_LIST); return b ? [...b] : null; }
  set parameterRequestList(v: number[] | null) { this.put(Opt.PARAMETER_REQUEST_LIST, v === null ? null : Buffer.from(v)); }
  /** 56, error message (in NAKs) */
  get message(): string | null { return this.str(Opt.MESSAGE); }
  set message(v: string | null) { this.put(Opt.MESSAGE, v ? Buffer.from(v, 'latin1') : null); }
  /** 57 */
  get maxMessageSize(): number | null { const b = this.get(Opt.MAX_MESSAGE_SIZE); return b ? b.readUInt16BE(0) : null; }
  set maxMessageSize(v: number | null) { this.put(Opt.MAX_MESSAGE_SIZE, v === null ? null : Buffer.from([(v >> 8) & 255, v & 255])); }
  /** 58, seconds */
  get renewalTime(): number | null { return this.u32(Opt.RENEWAL_TIME); }
  set renewalTime(v: number | null) { this.put(Opt.RENEWAL_TIME, v === null ? null : u32(v)); }
  /** 59, seconds */
  get rebindingTime(): number | null { return this.u32(Opt.REBINDING_TIME); }
  set rebindingTime(v: number | null) { this.put(Opt.REBINDING_TIME, v === null ? null : u32(v)); }
  /** 60, e.g. "PXEClient:Arch:00007:UNDI:003016" */
  get vendorClass(): string | null { return this.str(Opt.VENDOR_CLASS); }
  set vendorClass(v: string | null) { this.put(Opt.VENDOR_CLASS, v ? Buffer.from(v, 'latin1') : null); }
  /** 61 raw (type byte + identifier) */
  get clientId(): Buffer | null { return this.get(Opt.CLIENT_ID) ?? null; }
  set clientId(v: Buffer | null) { this.put(Opt.CLIENT_ID, v); }
  /** 66 */
  get tftpServerName(): string | null { return this.str(Opt.TFTP_SERVER_NAME); }
  set tftpServerName(v: string | null) { this.put(Opt.TFTP_SERVER_NAME, v ? Buffer.from(v, 'latin1') : null); }
  /** 67 */
  get bootfileName(): string | null { return this.str(Opt.BOOTFILE_NAME); }
  set bootfileName(v: string | null) { this.put(Opt.BOOTFILE_NAME, v ? Buffer.from(v, 'latin1') : null); }
  /** 77, RFC 3004 instances or the bare string iPXE sends; see user-class.ts */
  get userClasses(): string[] | null { const b = this.get(Opt.USER_CLASS); return b ? decodeUserClass(b) : null; }
  /** 77 written as one bare string, the way iPXE does */
  set userClassString(v: string | null) { this.put(Opt.USER_CLASS, v ? Buffer.from(v, 'latin1') : null); }
  /** 82 */
  get relayAgentInfo(): RelayAgentInfo | null { const b = this.get(Opt.RELAY_AGENT_INFO); return b ? decodeRelayAgentInfo(b) : null; }
  /** 93, architecture types (RFC 4578 §2.1; IANA "Processor Architecture Types") */
  get clientArch(): number[] | null {
    const b = this.get(Opt.CLIENT_ARCH);
    if (!b) return null;
    const out: number[] = [];
    for (let i = 0; i + 2 <= b.length; i += 2) out.push(b.readUInt16BE(i));
    return out;
  }
  set clientArch(v: number[] | null) {
    this.put(Opt.CLIENT_ARCH, v === null ? null : Buffer.from(v.flatMap((a) => [(a >> 8) & 255, a & 255])));
  }
  /** 94, network interface identifier: type (1 = UNDI), major, minor */
  get clientNdi(): { type: number; major: number; minor: number } | null {
    const b = this.get(Opt.CLIENT_NDI);
    return b ? { type: b[0], major: b[1], minor: b[2] } : null;
  }
  set clientNdi(v: { type: number; major: number; minor: number } | null) {
    this.put(Opt.CLIENT_NDI, v === null ? null : Buffer.from([v.type, v.major, v.minor]));
  }
  /**
   * 97, client machine identifier (RFC 4578 §2.3): type 0 + 16 bytes, returned as the canonical dashed
   * SMBIOS UUID. PXE firmware copies the SMBIOS bytes, whose first three fields are little-endian (SMBIOS
   * 2.6+); measured here: QEMU `-smbios type=1,uuid=12345678-9abc-def0-…` makes both iPXE and OVMF send
   * 78 56 34 12 bc 9a f0 de …, which this getter returns as "12345678-9abc-def0-…" — the same text as
   * dmidecode, iPXE's ${uuid} and the BMC's system GUID. Null when absent or type ≠ 0.
   */
  get clientUuid(): string | null {
    const b = this.get(Opt.CLIENT_UUID);
    if (!b || b[0] !== 0) return null;
    const h = (i: number, n: number, reverse: boolean): string => {
      const part = Buffer.from(b.subarray(1 + i, 1 + i + n));
      return (reverse ? part.reverse() : part).toString('hex');
    };
    return `${h(0, 4, true)}-${h(4, 2, true)}-${h(6, 2, true)}-${h(8, 2, false)}-${h(10, 6, false)}`;
  }
  set clientUuid(v: string | null) {
    if (v === null) { this.put(Opt.CLIENT_UUID, null); return; }
    const hex = v.replace(/-/g, '');
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a UUID: ${JSON.stringify(v)}`);
    const b = Buffer.from(hex, 'hex');
    b.subarray(0, 4).reverse();
    b.subarray(4, 6).reverse();
    b.subarray(6, 8).reverse();
    this.put(Opt.CLIENT_UUID, Buffer.concat([Buffer.from([0]), b]));
  }

  /** Replace an option's bytes in place (keeping its position), append a new one, or delete it (null). */
  private put(code: number, data: Buffer | null): void {
    if (data === null) { this.delete(code); return; }
    const i = this.indexOf(code);
    if (i >= 0) this.values[i] = data;
    else { this.codes.push(code); this.values.push(data); }
  }
}
