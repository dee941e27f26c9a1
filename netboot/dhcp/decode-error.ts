// The one error type the DHCP codec throws for malformed input. Servers catch it, log it and drop the packet.

/** Malformed DHCP/BOOTP bytes. `offset` is the byte offset in the UDP payload where decoding gave up. */
export class DhcpDecodeError extends Error {
  override readonly name = 'DhcpDecodeError';
  constructor(message: string, readonly offset: number) {
    super(`${message} (at offset ${offset})`);
  }
}
