// Option 82, relay agent information (RFC 3046): sub-options 1 circuit id, 2 remote id, others kept raw.
// A server echoes the option unchanged in its reply to the relay (RFC 3046 §2.2).

import { decodeSubOptions, type SubOption } from './sub-options.ts';

export interface RelayAgentInfo {
  subOptions: SubOption[];
  /** sub-option 1, null when absent */
  circuitId: Buffer | null;
  /** sub-option 2, null when absent */
  remoteId: Buffer | null;
}

/** Decode option 82; throws DhcpDecodeError (offset relative to `baseOffset`) when a sub-option is truncated. */
export function decodeRelayAgentInfo(data: Uint8Array, baseOffset = 0): RelayAgentInfo {
  const subOptions = decodeSubOptions(data, baseOffset, false);
  return {
    subOptions,
    circuitId: subOptions.find((s) => s.code === 1)?.data ?? null,
    remoteId: subOptions.find((s) => s.code === 2)?.data ?? null,
  };
}
