// TFTP packets (RFC 1350 §5; OACK and request options RFC 2347): plain objects with encode/decode.
// Pure: no sockets, no clock. Strings are handled as latin1 so every byte round-trips exactly
// (netboot file names are ASCII in practice).
import { TftpDecodeError } from './decode-error.ts';
import { TftpOpcode, opcodeToString } from './opcode.ts';

/** One option as it appeared on the wire (RFC 2347 §2). Names keep their case here; see options.ts. */
export interface TftpOption {
  name: string;
  value: string;
}

export interface TftpRequestPacket {
  op: 'RRQ' | 'WRQ';
  filename: string;
  /** as sent, e.g. "octet", "netascii" (compare case-insensitively) */
  mode: string;
  /** in wire order, duplicates and unknown options kept */
  options: TftpOption[];
}
export interface TftpDataPacket {
  op: 'DATA';
  /** 16-bit wire block number (wraps past 65535) */
  block: number;
  data: Buffer;
}
export interface TftpAckPacket {
  op: 'ACK';
  block: number;
}
export interface TftpErrorPacket {
  op: 'ERROR';
  code: number;
  message: string;
}
export interface TftpOackPacket {
  op: 'OACK';
  options: TftpOption[];
}
export type TftpPacket = TftpRequestPacket | TftpDataPacket | TftpAckPacket | TftpErrorPacket | TftpOackPacket;

/** Largest DATA payload any TFTP packet can carry (RFC 2348 §2: blksize ≤ 65464). */
export const MAX_BLOCK_SIZE = 65464;

// ---------- decode ----------

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  u16(what: string): number {
    if (this.pos + 2 > this.buf.length) throw new TftpDecodeError(this.pos, `truncated ${what}: need 2 bytes, have ${this.buf.length - this.pos}`);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  /** A NUL-terminated string (RFC 1350 §5 "netascii string terminated by a zero byte"). */
  cstring(what: string): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new TftpDecodeError(this.pos, `${what} is not NUL-terminated`);
    const s = this.buf.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

/**
 * Decode one TFTP packet. Throws TftpDecodeError (only) for malformed input: too short, unknown opcode,
 * unterminated strings, an option name without a value, an empty filename or mode, bytes after ACK.
 */
export function decodeTftpPacket(buf: Buffer): TftpPacket {
  const c = new Cursor(buf);
  const op = c.u16('opcode');
  switch (op) {
    case TftpOpcode.RRQ:
    case TftpOpcode.WRQ: {
      const filenameAt = c.pos;
      const filename = c.cstring('filename');
      if (filename.length === 0) throw new TftpDecodeError(filenameAt, 'empty filename');
      const modeAt = c.pos;
      const mode = c.cstring('mode');
      if (mode.length === 0) throw new TftpDecodeError(modeAt, 'empty mode');
      return { op: op === TftpOpcode.RRQ ? 'RRQ' : 'WRQ', filename, mode, options: decodeOptions(c) };
    }
    case TftpOpcode.DATA: {
      const block = c.u16('block number');
      if (c.remaining > MAX_BLOCK_SIZE) throw new TftpDecodeError(c.pos, `DATA payload of ${c.remaining} bytes exceeds ${MAX_BLOCK_SIZE}`);
      return { op: 'DATA', block, data: buf.subarray(c.pos) };
    }
    case TftpOpcode.ACK: {
      const block = c.u16('block number');
      if (c.remaining !== 0) throw new TftpDecodeError(c.pos, `${c.remaining} unexpected bytes after ACK`);
      return { op: 'ACK', block };
    }
    case TftpOpcode.ERROR: {
      const code = c.u16('error code');
      // Some clients omit the terminating NUL of the message; accept the rest of the packet as the text.
      const end = buf.indexOf(0, c.pos);
      const message = buf.toString('latin1', c.pos, end < 0 ? buf.length : end);
      return { op: 'ERROR', code, message };
    }
    case TftpOpcode.OACK:
      return { op: 'OACK', options: decodeOptions(c) };
    default:
      throw new TftpDecodeError(0, `unknown opcode ${opcodeToString(op)}`);
  }
}

function decodeOptions(c: Cursor): TftpOption[] {
  const options: TftpOption[] = [];
  while (c.remaining > 0) {
    const nameAt = c.pos;
    const name = c.cstring('option name');
    if (name.length === 0) throw new TftpDecodeError(nameAt, 'empty option name');
    if (c.remaining === 0) throw new TftpDecodeError(c.pos, `option "${name}" has no value`);
    const value = c.cstring(`value of option "${name}"`);
    options.push({ name, value });
  }
  return options;
}

// ---------- encode ----------

/** Exact number of bytes encodeTftpPacket(p) produces. */
export function encodingLength(p: TftpPacket): number {
  switch (p.op) {
    case 'RRQ':
    case 'WRQ':
      return 2 + cstrLen(p.filename) + cstrLen(p.mode) + optionsLength(p.options);
    case 'DATA':
      return 4 + p.data.length;
    case 'ACK':
      return 4;
    case 'ERROR':
      return 4 + cstrLen(p.message);
    case 'OACK':
      return 2 + optionsLength(p.options);
  }
}

/** Encode a packet. Throws RangeError for values that cannot be represented (block > 65535, NUL in strings). */
export function encodeTftpPacket(p: TftpPacket): Buffer {
  const buf = Buffer.allocUnsafe(encodingLength(p));
  let pos = buf.writeUInt16BE(TftpOpcode[p.op], 0);
  const str = (s: string, what: string) => {
    if (s.includes('\0')) throw new RangeError(`TFTP ${what} contains a NUL byte`);
    pos += buf.write(s, pos, 'latin1');
    pos = buf.writeUInt8(0, pos);
  };
  switch (p.op) {
    case 'RRQ':
    case 'WRQ':
      str(p.filename, 'filename');
      str(p.mode, 'mode');
      for (const o of p.options) { str(o.name, 'option name'); str(o.value, 'option value'); }
      break;
    case 'DATA':
      pos = buf.writeUInt16BE(u16(p.block, 'block'), pos);
      p.data.copy(buf, pos);
      break;
    case 'ACK':
      buf.writeUInt16BE(u16(p.block, 'block'), pos);
      break;
    case 'ERROR':
      pos = buf.writeUInt16BE(u16(p.code, 'error code'), pos);
      str(p.message, 'error message');
      break;
    case 'OACK':
      for (const o of p.options) { str(o.name, 'option name'); str(o.value, 'option value'); }
      break;
  }
  return buf;
}

/** The 4-byte DATA header for a wire block number; the server sends it with the payload as a second buffer. */
export function encodeDataHeader(block: number): Buffer {
  const h = Buffer.allocUnsafe(4);
  h.writeUInt16BE(TftpOpcode.DATA, 0);
  h.writeUInt16BE(block & 0xffff, 2);
  return h;
}

function u16(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`TFTP ${what} ${v} is not a 16-bit unsigned integer`);
  return v;
}
function cstrLen(s: string): number {
  return Buffer.byteLength(s, 'latin1') + 1;
}
function optionsLength(options: TftpOption[]): number {
  return options.reduce((n, o) => n + cstrLen(o.name) + cstrLen(o.value), 0);
}

/** Log form of a packet without payload bytes, e.g. `RRQ "undionly.kpxe" octet blksize=1468`. */
export function packetToString(p: TftpPacket): string {
  switch (p.op) {
    case 'RRQ':
    case 'WRQ':
      return `${p.op} ${JSON.stringify(p.filename)} ${p.mode}${p.options.map((o) => ` ${o.name}=${o.value}`).join('')}`;
    case 'DATA':
      return `DATA block=${p.block} bytes=${p.data.length}`;
    case 'ACK':
      return `ACK block=${p.block}`;
    case 'ERROR':
      return `ERROR code=${p.code} ${JSON.stringify(p.message)}`;
    case 'OACK':
      return `OACK${p.options.map((o) => ` ${o.name}=${o.value}`).join('')}`;
  }
}
