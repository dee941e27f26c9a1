// TFTP error codes (RFC 1350 appendix "Error Codes"; 8 from RFC 2347 §2). Names print themselves for logs.

export const TftpErrorCode = {
  NotDefined: 0,
  FileNotFound: 1,
  AccessViolation: 2,
  DiskFull: 3,
  IllegalOperation: 4,
  UnknownTransferId: 5,
  FileAlreadyExists: 6,
  NoSuchUser: 7,
  /** RFC 2347: the client (or server) refuses the negotiated options */
  OptionNegotiation: 8,
} as const;
export type TftpErrorCodeName = keyof typeof TftpErrorCode;

const TEXT: Record<number, string> = {
  0: 'Not defined',
  1: 'File not found',
  2: 'Access violation',
  3: 'Disk full or allocation exceeded',
  4: 'Illegal TFTP operation',
  5: 'Unknown transfer ID',
  6: 'File already exists',
  7: 'No such user',
  8: 'Option negotiation failed',
};

/** Log form: "File not found (1)", or "<unknown TFTP error 42>". */
export function errorCodeToString(code: number): string {
  const text = TEXT[code];
  return text === undefined ? `<unknown TFTP error ${code}>` : `${text} (${code})`;
}

/** The standard message for a code ("File not found"), used when an ERROR packet needs a default text. */
export function errorCodeMessage(code: number): string {
  return TEXT[code] ?? 'Error';
}
