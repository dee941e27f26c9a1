// TFTP opcodes (RFC 1350 §5, OACK from RFC 2347). Names print themselves for logs.

export const TftpOpcode = {
  RRQ: 1,
  WRQ: 2,
  DATA: 3,
  ACK: 4,
  ERROR: 5,
  OACK: 6,
} as const;
export type TftpOpcodeName = keyof typeof TftpOpcode;

const NAMES: Record<number, TftpOpcodeName> = Object.fromEntries(
  Object.entries(TftpOpcode).map(([name, code]) => [code, name as TftpOpcodeName]),
);

/** The opcode's name, or undefined when it is not a TFTP opcode. */
export function opcodeName(code: number): TftpOpcodeName | undefined {
  return NAMES[code];
}

/** Log form: "RRQ", or "<unknown TFTP opcode 9>". */
export function opcodeToString(code: number): string {
  return NAMES[code] ?? `<unknown TFTP opcode ${code}>`;
}
