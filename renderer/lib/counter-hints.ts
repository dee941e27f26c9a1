// What each service counter on the Services panel counts, shown as its tooltip. Keys are the counter names the
// daemon sends (GET /services: the DHCP/proxyDHCP server's counters, the TFTP server's, the HTTP tallies).
// A counter without an entry simply has no tooltip.

export type ServiceKey = 'dhcp' | 'proxy' | 'tftp' | 'http';

const DHCP: Record<string, string> = {
  received: 'DHCP packets received on the provisioning NIC (including our own survey probes)',
  discover: 'DISCOVERs from clients', offer: 'OFFERs sent', request: 'REQUESTs from clients', ack: 'ACKs sent',
  nak: 'NAKs sent (a client asked for an address it cannot have)', release: 'RELEASEs from clients',
  decline: 'DECLINEs from clients (the address was found in use)',
  declineRefused: 'DECLINEs not acted on because the sender does not hold an active lease of that address (another client\u2019s lease, or none): the lease and the address are left as they were; also counted in dropped',
  inform: 'INFORMs from clients',
  expired: 'leases that expired',
  dropped: 'packets not answered, on purpose: RackSeed\u2019s own foreign-DHCP survey probes (one every survey), requests for another server, requests that cannot be served (pool exhausted, relay outside the subnet), non-PXE clients in proxy mode, replies of other servers; the event log names the reason for each request ignored',
  errors: 'packets that did not decode (malformed); logged and dropped',
};

const HINTS: Record<ServiceKey, Record<string, string>> = {
  dhcp: DHCP,
  proxy: DHCP,
  tftp: {
    rrq: 'read requests accepted', done: 'transfers completed (last block acknowledged)',
    errors: 'requests refused or transfers failed (missing file, timeout, client error); see the event log',
    aborted: 'transfers the client ended after the OACK, as PXE ROMs do to learn the size (not errors)',
    bytes: 'file bytes of completed transfers', dropped: 'packets on port 69 that were not requests or did not decode',
    active: 'transfers in progress',
    clientLimited: 'read requests refused because their client address already had the maximum number of transfers running (default 8; a PXE client needs 1\u20132); also counted in errors',
  },
  http: { scripts: 'iPXE boot scripts served', downloads: 'files served (kernels, ramdisks, images)' },
};

/** The tooltip for counter `name` of `service`, or undefined when there is none. */
export function counterHint(service: ServiceKey, name: string): string | undefined {
  return Object.hasOwn(HINTS[service], name) ? HINTS[service][name] : undefined;
}
