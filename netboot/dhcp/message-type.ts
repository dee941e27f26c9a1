// DHCP message types, option 53 (RFC 2132 §9.6, RFC 4388 for 10–13). Values print themselves for logs.

export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type DhcpMessageType = (typeof DhcpMessageType)[keyof typeof DhcpMessageType];

const NAMES = ['', 'DHCPDISCOVER', 'DHCPOFFER', 'DHCPREQUEST', 'DHCPDECLINE', 'DHCPACK', 'DHCPNAK', 'DHCPRELEASE', 'DHCPINFORM'];

/** "DHCPDISCOVER" …; unknown values print as "<unknown DHCP message type 9>"; null (option absent) as "<no DHCP message type>". */
export function messageTypeName(type: number | null): string {
  if (type === null) return '<no DHCP message type>';
  return NAMES[type] || `<unknown DHCP message type ${type}>`;
}

/** Lower-case verb for events and counters: "discover", "offer" …; unknown types give "unknown". */
export function messageTypeVerb(type: number | null): string {
  const name = type === null ? '' : NAMES[type];
  return name ? name.slice(4).toLowerCase() : 'unknown';
}
