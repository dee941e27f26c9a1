// Wire format of the options area (RFC 2131 §4.1, RFC 2132 §2–3): code, length, bytes; 0 pad, 255 end.
// RFC 3396: several instances of one code are concatenated in order (options field, then file, then sname
// when option 52 overloads them); on encode an option longer than 255 bytes is split into instances.

import { DhcpDecodeError } from './decode-error.ts';
import { Opt, OPTION_SHAPES, optionName } from './option-codes.ts';
import { DhcpOptions } from './options.ts';
import { decodeRelayAgentInfo } from './relay-agent-info.ts';

/**
 * Where each option's first instance was found, for error messages (shared scratch: decoding is synchronous, and a
 * stale entry is never read — an option's entry is written when its first instance is met)
 */
const firstAt = new Int32Array(256);

/**
 * Collects option instances from one or more regions of a packet straight into a DhcpOptions (RFC 3396: a later
 * instance of a code is appended to the first), then validates them. No per-option lists or second map: this runs for
 * every packet a server receives.
 */
export class OptionsReader {
  private readonly options = new DhcpOptions();

  /**
   * Read the region `buf[start, end)`. Values are views into `buf`: the caller passes a private copy. Stops at the end option; a region without one ends at `end`
   * (lenient: several clients pad without an end option in sname/file).
   */
  readRegion(buf: Buffer, start: number, end: number): void {
    const options = this.options;
    let i = start;
    while (i < end) {
      const code = buf[i];
      if (code === Opt.PAD) { i++; continue; }
      if (code === Opt.END) return;
      if (i + 1 >= end) throw new DhcpDecodeError(`option ${code} (${optionName(code)}) has no length byte`, i);
      const len = buf[i + 1];
      if (i + 2 + len > end) throw new DhcpDecodeError(`option ${code} (${optionName(code)}) length ${len} runs past the end of its field`, i);
      const value = buf.subarray(i + 2, i + 2 + len);
      const earlier = options.getRaw(code);
      if (earlier === null) { options.adoptRaw(code, value); firstAt[code] = i; } else options.adoptRaw(code, Buffer.concat([earlier, value]));
      i += 2 + len;
    }
  }

  /** Option 52 value seen so far (1 file, 2 sname, 3 both), null when absent. Throws when malformed. */
  overload(): number | null {
    const data = this.options.getRaw(Opt.OVERLOAD);
    if (!data) return null;
    if (data.length !== 1 || data[0] < 1 || data[0] > 3) throw new DhcpDecodeError('option 52 (overload) must be one byte 1..3', firstAt[Opt.OVERLOAD]);
    return data[0];
  }

  /** Check the shapes of known options and hand over the options object. */
  finish(): DhcpOptions {
    this.options.forEachRaw(checkShape);
    return this.options;
  }
}

function checkShape(data: Buffer, code: number): void {
  const shape = OPTION_SHAPES[code];
  if (shape) {
    if (data.length < shape.min || (shape.max !== undefined && data.length > shape.max) || (shape.multiple && data.length % shape.multiple !== 0)) {
      throw new DhcpDecodeError(`option ${code} (${optionName(code)}) has invalid length ${data.length}`, firstAt[code]);
    }
  }
  if (code === Opt.RELAY_AGENT_INFO) decodeRelayAgentInfo(data, firstAt[code] + 2);
}

/** Bytes needed to encode `options` including the end option (no padding). */
export function optionsEncodingLength(options: DhcpOptions): number {
  let n = 1;
  options.forEachRaw((data) => { n += data.length === 0 ? 2 : data.length + 2 * Math.ceil(data.length / 255); });
  return n;
}

/** Encode options (split per RFC 3396) and the end option into `buf` at `offset`; returns the new offset. */
export function writeOptions(options: DhcpOptions, buf: Buffer, offset: number): number {
  let o = offset;
  options.forEachRaw((data, code) => {
    if (data.length === 0) { buf[o++] = code; buf[o++] = 0; return; }
    for (let i = 0; i < data.length; i += 255) {
      const n = Math.min(255, data.length - i);
      buf[o++] = code;
      buf[o++] = n;
      data.copy(buf, o, i, i + n);
      o += n;
    }
  });
  buf[o++] = Opt.END;
  return o;
}
