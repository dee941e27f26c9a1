// Decode errors of the IPMI codecs. Every decoder in this folder throws only IpmiDecodeError (never a RangeError
// or TypeError) so that a receive loop can catch one class, log it with the offset and drop the datagram.

/** A reply that cannot be decoded: too short, a bad checksum, an unknown format. `offset` is where it went wrong. */
export class IpmiDecodeError extends Error {
  override readonly name = 'IpmiDecodeError';
  constructor(readonly what: string, readonly offset: number, detail: string) {
    super(`${what}: ${detail} at offset ${offset}`);
  }
}

/** Throws IpmiDecodeError unless `buf` holds at least `need` bytes from `offset`. */
export function need(buf: Uint8Array, offset: number, need: number, what: string): void {
  if (offset < 0 || buf.length < offset + need) {
    throw new IpmiDecodeError(what, Math.min(offset, buf.length), `need ${need} bytes, have ${Math.max(0, buf.length - offset)}`);
  }
}
