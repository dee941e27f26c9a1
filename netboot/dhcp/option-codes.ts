// DHCP option codes used by RackSeed (RFC 2132 unless noted). Unknown codes are still carried as raw bytes.

export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST_ADDRESS: 28,
  VENDOR_SPECIFIC: 43,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER_NAME: 66,
  BOOTFILE_NAME: 67,
  /** RFC 3004 */
  USER_CLASS: 77,
  /** RFC 3046 */
  RELAY_AGENT_INFO: 82,
  /** RFC 4578 §2.1 */
  CLIENT_ARCH: 93,
  /** RFC 4578 §2.2 */
  CLIENT_NDI: 94,
  /** RFC 4578 §2.3 */
  CLIENT_UUID: 97,
  END: 255,
} as const;

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Opt).map(([name, code]) => [code, name.toLowerCase().replace(/_/g, '-')]),
);

/** "subnet-mask", "client-arch" …, or "option-123" for codes we do not name. */
export function optionName(code: number): string {
  return NAMES[code] ?? `option-${code}`;
}

/**
 * Shape constraints checked when a packet is decoded, so typed getters never see malformed data.
 * min/max: length bounds; multiple: length must be a multiple of this.
 */
export const OPTION_SHAPES: Readonly<Record<number, { min: number; max?: number; multiple?: number }>> = {
  [Opt.SUBNET_MASK]: { min: 4, max: 4 },
  [Opt.ROUTER]: { min: 4, multiple: 4 },
  [Opt.DNS_SERVERS]: { min: 4, multiple: 4 },
  [Opt.HOSTNAME]: { min: 1 },
  [Opt.DOMAIN_NAME]: { min: 1 },
  [Opt.BROADCAST_ADDRESS]: { min: 4, max: 4 },
  [Opt.REQUESTED_IP]: { min: 4, max: 4 },
  [Opt.LEASE_TIME]: { min: 4, max: 4 },
  [Opt.MESSAGE_TYPE]: { min: 1, max: 1 },
  [Opt.SERVER_ID]: { min: 4, max: 4 },
  [Opt.MAX_MESSAGE_SIZE]: { min: 2, max: 2 },
  [Opt.RENEWAL_TIME]: { min: 4, max: 4 },
  [Opt.REBINDING_TIME]: { min: 4, max: 4 },
  [Opt.CLIENT_ID]: { min: 2 },
  [Opt.CLIENT_ARCH]: { min: 2, multiple: 2 },
  [Opt.CLIENT_NDI]: { min: 3, max: 3 },
  [Opt.CLIENT_UUID]: { min: 17, max: 17 },
};
