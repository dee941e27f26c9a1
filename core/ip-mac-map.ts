// Addresses the netboot servers saw each MAC use (DHCP requests/replies, proxyDHCP 4011 requests, iPXE's
// /boot.ipxe?mac=… requests), so TFTP and HTTP events — which carry only the client's IP — join the right per-MAC
// history even in proxy mode, where no lease of ours maps ip → mac. In memory, bounded, newest sighting wins.

/** ip → mac, the most recent sighting first; at most `limit` addresses (the oldest sighting is forgotten first). */
export class IpMacMap {
  private readonly byIp = new Map<string, string>();

  constructor(private readonly limit = 4096) {}

  /** Record that `mac` (lower-case colon form) used `ip`. Ignores 0.0.0.0 and empty values. */
  note(ip: string | null, mac: string | null): void {
    if (!ip || !mac || ip === '0.0.0.0') return;
    this.byIp.delete(ip);
    this.byIp.set(ip, mac);
    if (this.byIp.size > this.limit) {
      const oldest = this.byIp.keys().next().value;
      if (oldest !== undefined) this.byIp.delete(oldest);
    }
  }

  /** The MAC last seen with `ip`, or null when none was. */
  get(ip: string): string | null {
    return this.byIp.get(ip) ?? null;
  }

  get size(): number {
    return this.byIp.size;
  }
}
