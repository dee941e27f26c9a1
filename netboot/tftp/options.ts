// Typed view of the RFC 2347 options this project understands:
//   blksize (RFC 2348 §2: 8–65464 octets), timeout (RFC 2349 §2: 1–255 s), tsize (RFC 2349 §3: ≥ 0),
//   windowsize (RFC 7440 §3: 1–65535 blocks).
// Option names are case-insensitive (RFC 2347 §2); the first occurrence of a name wins. Values outside the
// allowed range are reported as invalid so the server can ignore them (RFC 2347: "the server ... may omit").
import type { TftpOption } from './packet.ts';

export const BLKSIZE_MIN = 8;
export const BLKSIZE_MAX = 65464;
export const TIMEOUT_MIN = 1;
export const TIMEOUT_MAX = 255;
export const WINDOWSIZE_MIN = 1;
export const WINDOWSIZE_MAX = 65535;

export interface TftpRequestedOptions {
  blksize?: number;
  timeout?: number;
  /** 0 in a read request means "tell me the size" */
  tsize?: number;
  windowsize?: number;
  /** options we do not know, or known ones with invalid values, as sent */
  ignored: TftpOption[];
}

const RANGES: Record<string, [number, number]> = {
  blksize: [BLKSIZE_MIN, BLKSIZE_MAX],
  timeout: [TIMEOUT_MIN, TIMEOUT_MAX],
  tsize: [0, Number.MAX_SAFE_INTEGER],
  windowsize: [WINDOWSIZE_MIN, WINDOWSIZE_MAX],
};

/** Parse request options into typed values; never throws. */
export function parseRequestOptions(options: TftpOption[]): TftpRequestedOptions {
  const out: TftpRequestedOptions = { ignored: [] };
  const seen = new Set<string>();
  for (const o of options) {
    const name = o.name.toLowerCase();
    const range = RANGES[name];
    const value = /^[0-9]{1,16}$/.test(o.value) ? Number(o.value) : NaN;
    if (!range || seen.has(name) || !(value >= range[0] && value <= range[1])) {
      out.ignored.push(o);
      continue;
    }
    seen.add(name);
    (out as unknown as Record<string, number>)[name] = value;
  }
  return out;
}

/** Options acknowledged in an OACK, in a fixed order. */
export interface TftpAcceptedOptions {
  blksize?: number;
  timeout?: number;
  tsize?: number;
  windowsize?: number;
}

/** The OACK option list for accepted options (RFC 2347 §2: only options the server accepts appear). */
export function formatAcceptedOptions(accepted: TftpAcceptedOptions): TftpOption[] {
  const list: TftpOption[] = [];
  for (const name of ['blksize', 'timeout', 'tsize', 'windowsize'] as const) {
    const v = accepted[name];
    if (v !== undefined) list.push({ name, value: String(v) });
  }
  return list;
}
