// IPMI completion codes (IPMI 2.0 §5.2, Table 5-2) with names a field engineer can read.

export const COMPLETION_CODES: Readonly<Record<number, string>> = {
  0x00: 'command completed normally',
  0xc0: 'node busy',
  0xc1: 'invalid command',
  0xc2: 'command invalid for given LUN',
  0xc3: 'timeout while processing command',
  0xc4: 'out of space',
  0xc5: 'reservation cancelled or invalid reservation ID',
  0xc6: 'request data truncated',
  0xc7: 'request data length invalid',
  0xc8: 'request data field length limit exceeded',
  0xc9: 'parameter out of range',
  0xca: 'cannot return number of requested data bytes',
  0xcb: 'requested sensor, data, or record not present',
  0xcc: 'invalid data field in request',
  0xcd: 'command illegal for specified sensor or record type',
  0xce: 'command response could not be provided',
  0xcf: 'cannot execute duplicated request',
  0xd0: 'SDR repository in update mode',
  0xd1: 'device in firmware update mode',
  0xd2: 'BMC initialization in progress',
  0xd3: 'destination unavailable',
  0xd4: 'insufficient privilege level',
  0xd5: 'command not supported in present state',
  0xd6: 'command sub-function disabled or unavailable',
  0xff: 'unspecified error',
};

/** "0xc1 (invalid command)"; command-specific codes 0x80–0xBE print as such. */
export function completionCodeName(cc: number): string {
  const hex = `0x${cc.toString(16).padStart(2, '0')}`;
  const name = COMPLETION_CODES[cc] ?? (cc >= 0x80 && cc <= 0xbe ? 'command-specific error' : 'unknown completion code');
  return `${hex} (${name})`;
}

export const CC_INSUFFICIENT_PRIVILEGE = 0xd4;
export const CC_NODE_BUSY = 0xc0;
