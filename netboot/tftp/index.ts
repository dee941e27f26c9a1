// TFTP codec (pure): packets, opcodes, error codes, options, netascii. See README.md.
export * from './decode-error.ts';
export * from './opcode.ts';
export * from './error-code.ts';
export * from './packet.ts';
export * from './options.ts';
export * from './netascii.ts';
