// Contract between the netboot servers (DHCP, TFTP, HTTP) and the core's boot policy.
// The servers know protocols; who boots what is decided behind this one interface (STYLE.md: pixiecore Booter).

/** What the DHCP server learned about a network-boot client (RFC 4578, iPXE user class). */
export interface BootRequest {
  /** client hardware address, lower-case colon notation */
  mac: string;
  /** option 93 client system architecture (RFC 4578 §2.1): 0 BIOS, 6 EFI IA32, 7/9 EFI x64, 11 arm64, 16 x64 HTTP; null when absent */
  arch: number | null;
  /** option 60 as sent, e.g. "PXEClient:Arch:00007:UNDI:003016" or "HTTPClient:…"; null when absent */
  vendorClass: string | null;
  /** option 77 user class; "iPXE" when the client is already iPXE; null when absent */
  userClass: string | null;
  /** option 97 client machine identifier (RFC 4578 §2.3) as a dashed UUID, null when absent */
  uuid: string | null;
  /** interface the request arrived on */
  interface: string;
}

/** Boot fields to put in a DHCP reply. */
export interface DhcpBootAnswer {
  /** siaddr (and option 66): the TFTP server; null when bootFile is an http:// URL */
  nextServer: string | null;
  /** file field / option 67: a TFTP path ("undionly.kpxe") or a full URL ("http://10.0.0.1:8080/boot.ipxe") */
  bootFile: string;
  /** option 60 to echo in the reply: "HTTPClient" for UEFI HTTP boot (UEFI 2.5 §24.7), "PXEClient" for proxyDHCP; null = none */
  vendorClass: string | null;
}

export interface BootPolicy {
  /**
   * Decide what a network-boot client gets. Called once per DISCOVER/REQUEST/INFORM from a PXE/iPXE/HTTP client.
   * Returns null to ignore the client (it gets no boot information; in authoritative mode it may still get an address).
   */
  dhcpBoot(req: BootRequest): DhcpBootAnswer | null;
  /**
   * A client someone else owns (a node handed over to a cloud engine, core/handoff): the DHCP server answers it
   * nothing — no offer, no ACK/NAK, no INFORM reply, in authoritative mode too. Returns who owns it (for the drop
   * reason), or null. Asked once per DISCOVER/REQUEST/INFORM of any client: must be one lookup. Optional.
   */
  ownedElsewhere?(mac: string): string | null;
  /**
   * Whether `mac` is a machine the appliance knows beyond a first request (inventoried, deployed, powered on by it): it
   * may take the addresses the DHCP pool keeps back when a flood of new clients fills it (new-client-limit.ts).
   * Asked only on the pool's new-client branch. Optional (absent: nobody is known).
   */
  knownClient?(mac: string): boolean;
}

/** Something the netboot servers report for the per-MAC history (DHCP → TFTP → HTTP). */
export interface NetbootEvent {
  source: 'dhcp' | 'tftp' | 'http';
  /** short verb: "discover", "offer", "request", "ack", "nak", "release", "decline", "inform", "proxy-offer",
   *  "rrq", "rrq-done", "rrq-error", "script", "download" … */
  kind: string;
  /** client MAC when the protocol carries one (DHCP); null for TFTP/HTTP (the core resolves ip → mac) */
  mac: string | null;
  /** client IPv4 address when known */
  ip: string | null;
  message: string;
  detail?: Record<string, unknown>;
  level?: 'info' | 'warn' | 'error';
  /** when it happened (ms since the epoch); absent: now. Set on entries written later than they happened (a held DHCP offer). */
  at?: number;
}

/**
 * Sink the servers call for every event; must not throw and must return quickly. The event (and its `detail`) is
 * handed over: the server builds a fresh one per call and never touches it again, so the sink may keep or extend it.
 */
export type NetbootEventSink = (event: NetbootEvent) => void;
