// Wire format of the options area (RFC 2131 §4.1, RFC 2132 §2–3): code, length, bytes; 0 pad, 255 end.
// RFC 3396: several instances of one code are concatenated in order (options field, then file, then sname
// when option 52 overloads them); on encode an option longer than 255 bytes is split into instances.

import { DhcpDecodeError } from './decode-error.ts';
import { Opt, OPTION_SHAPES, optionName } from './option-codes.ts';
import { DhcpOptions } from './options.ts';
import { decodeRelayAgentInfo } from './relay-agent-info.ts';

/** Collects option instances from one or more regions of a packet, then validates them. */
export class OptionsReader {
  private readonly chunks = new Map<number, Buffer[]>();
  /** offset of each option's first instance in the packet, for error messages */
  private readonly offsets = new Map<number, number>();

  /**
   * Read the region `buf[start, end)`. Values are views into `buf`: the caller passes a private copy. Stops at the end option; a region without one ends at `end`
   * (lenient: several clients pad without an end option in sname/file).
   */
  readRegion(buf: Buffer, start: number, end: number): void {
    let i = start;
    while (i < end) {
      const code = buf[i];
      if (code === Opt.PAD) { i++; continue; }
      if (code === Opt.END) return;
      if (i + 1 >= end) throw new DhcpDecodeError(`option ${code} (${optionName(code)}) has no length byte`, i);
      const len = buf[i + 1];
      if (i + 2 + len > end) throw new DhcpDecodeError(`option ${code} (${optionName(code)}) length ${len} runs past the end of its field`, i);
      let list = this.chunks.get(code);
      if (!list) { list = []; this.chunks.set(code, list); this.offsets.set(code, i); }
      list.push(buf.subarray(i + 2, i + 2 + len));
      i += 2 + len;
    }
  }

  /** Option 52 value seen so far (1 file, 2 sname, 3 both), null when absent. Throws when malformed. */
  overload(): number | null {
    const list = this.chunks.get(Opt.OVERLOAD);
    if (!list) return null;
    const data = Buffer.concat(list);
    const at = this.offsets.get(Opt.OVERLOAD)!;
    if (data.length !== 1 || data[0] < 1 || data[0] > 3) throw new DhcpDecodeError('option 52 (overload) must be one byte 1..3', at);
    return data[0];
  }

  /** Concatenate instances, check shapes of known options, and build the options object. */
  finish(): DhcpOptions {
    const options = new DhcpOptions();
    for (const [code, list] of this.chunks) {
      const data = list.length === 1 ? list[0] : Buffer.concat(list);
      const at = this.offsets.get(code)!;
      const shape = OPTION_SHAPES[code];
      if (shape) {
        if (data.length < shape.min || (shape.max !== undefined && data.length > shape.max) || (shape.multiple && data.length % shape.multiple !== 0)) {
          throw new DhcpDecodeError(`option ${code} (${optionName(code)}) has invalid length ${data.length}`, at);
        }
      }
      if (code === Opt.RELAY_AGENT_INFO) decodeRelayAgentInfo(data, at + 2);
      options.adoptRaw(code, data);
    }
    return options;
  }
}

/** Bytes needed to encode `options` including the end option (no padding). */
export function optionsEncodingLength(options: DhcpOptions): number {
  let n = 1;
  for (const [, data] of options.entries()) n += data.length === 0 ? 2 : data.length + 2 * Math.ceil(data.length / 255);
  return n;
}

/** Encode options (split per RFC 3396) and the end option into `buf` at `offset`; returns the new offset. */
export function writeOptions(options: DhcpOptions, buf: Buffer, offset: number): number {
  let o = offset;
  for (const [code, data] of options.entries()) {
    if (data.length === 0) { buf[o++] = code; buf[o++] = 0; continue; }
    for (let i = 0; i < data.length; i += 255) {
      const n = Math.min(255, data.length - i);
      buf[o++] = code;
      buf[o++] = n;
      data.copy(buf, o, i, i + n);
      o += n;
    }
  }
  buf[o++] = Opt.END;
  return o;
}
