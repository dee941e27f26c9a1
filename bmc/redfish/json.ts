// Bounded JSON: a BMC's body is parsed only when it is small enough, and the value only kept when it is shallow
// enough and has few enough parts, so a hostile or broken BMC cannot make the daemon spend memory or stack on it.
// Pure: bytes in, a plain value out or RedfishDecodeError.
import { RedfishDecodeError } from './errors.ts';

export interface JsonLimits {
  /** largest body accepted, bytes (default 1 MiB: a ComputerSystem is a few KiB on real BMCs) */
  maxBytes: number;
  /** deepest nesting of objects/arrays (default 32) */
  maxDepth: number;
  /** most values (objects, arrays, scalars) in one body (default 100 000) */
  maxValues: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxBytes: 1024 * 1024, maxDepth: 32, maxValues: 100_000 };

/** Parse `body` as JSON within `limits`; `resource` names what was asked for in the error. */
export function parseJsonBounded(body: Buffer | string, resource: string, limits: Partial<JsonLimits> = {}): unknown {
  const l = { ...DEFAULT_JSON_LIMITS, ...limits };
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > l.maxBytes) throw new RedfishDecodeError(resource, '', `body of ${size} bytes is larger than the ${l.maxBytes} bytes accepted`);
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') throw new RedfishDecodeError(resource, '', 'empty body where JSON was expected');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // a RangeError (stack) from absurd nesting lands here too
    throw new RedfishDecodeError(resource, '', `not JSON (${(err as Error).message.slice(0, 120)})`);
  }
  checkShape(value, resource, l);
  return value;
}

/** Depth and size walk without recursion (the depth limit is what protects the decoders' recursion later). */
function checkShape(root: unknown, resource: string, l: JsonLimits): void {
  const stack: [unknown, number][] = [[root, 1]];
  let count = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++count > l.maxValues) throw new RedfishDecodeError(resource, '', `more than ${l.maxValues} JSON values`);
    if (v === null || typeof v !== 'object') continue;
    if (depth > l.maxDepth) throw new RedfishDecodeError(resource, '', `nested deeper than ${l.maxDepth} levels`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
}
