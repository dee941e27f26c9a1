// The one error the TFTP decoder throws: malformed input, with the byte offset where decoding failed.

/** Thrown by every TFTP decode function for malformed input; `offset` is the byte offset of the problem. */
export class TftpDecodeError extends Error {
  override readonly name = 'TftpDecodeError';
  constructor(
    /** byte offset into the packet where the problem was found */
    readonly offset: number,
    /** what was wrong, without the offset (e.g. "string not NUL-terminated") */
    readonly reason: string,
  ) {
    super(`TFTP decode error at offset ${offset}: ${reason}`);
  }
}
