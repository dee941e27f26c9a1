// Errors a field engineer (and a script) can act on. Each class has a stable `code` and a CLI exit code;
// messages name the BMC and say what to check. Passwords never appear in them.

export abstract class BmcError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: number;
  constructor(readonly host: string, message: string) { super(`${host}: ${message}`); }
}

/** The BMC proved it knows a different password (RAKP 2 HMAC mismatch) or refused ours (RAKP 4 status 0x0F). */
export class WrongPasswordError extends BmcError {
  readonly code = 'wrong-password'; readonly exitCode = 10; override readonly name = 'WrongPasswordError';
  constructor(host: string, user: string) { super(host, `wrong password for user "${user}" (the BMC's RAKP reply does not match this password)`); }
}

/** The BMC does not know the user name (RAKP 2 status "unauthorized name"). */
export class UnknownUserError extends BmcError {
  readonly code = 'unknown-user'; readonly exitCode = 11; override readonly name = 'UnknownUserError';
  constructor(host: string, user: string) { super(host, `the BMC has no user "${user}" (or it is disabled for LAN access)`); }
}

/** The user may not have the privilege the command needs (RAKP role refused, completion code 0xD4, ...). */
export class PrivilegeTooLowError extends BmcError {
  readonly code = 'privilege-too-low'; readonly exitCode = 12; override readonly name = 'PrivilegeTooLowError';
  constructor(host: string, detail: string) { super(host, `privilege too low: ${detail}; give the user the Administrator (or Operator) role on this channel`); }
}

/** Neither side has a cipher suite in common with RackSeed's secure list. */
export class NoCommonCipherSuiteError extends BmcError {
  readonly code = 'no-common-cipher-suite'; readonly exitCode = 13; override readonly name = 'NoCommonCipherSuiteError';
  constructor(host: string, tried: number[], detail: string) { super(host, `no common cipher suite (tried ${tried.join(', ')}): ${detail}`); }
}

/** A suite without authentication, integrity or encryption was asked for without `allowInsecure`. */
export class InsecureCipherSuiteError extends BmcError {
  readonly code = 'insecure-cipher-suite'; readonly exitCode = 14; override readonly name = 'InsecureCipherSuiteError';
  constructor(host: string, readonly suite: number, reason: string) { super(host, `refusing cipher suite ${suite}: ${reason}. Pass allowInsecure (CLI --allow-insecure) only on an isolated lab network`); }
}

/** No valid reply after every retry. */
export class BmcUnreachableError extends BmcError {
  readonly code = 'unreachable'; readonly exitCode = 15; override readonly name = 'BmcUnreachableError';
  constructor(host: string, what: string, tries: number, waitedMs: number) { super(host, `BMC unreachable: no reply to ${what} after ${tries} tries (${(waitedMs / 1000).toFixed(1)} s); check the address, port 623/udp and that IPMI over LAN is enabled`); }
}

/** The BMC is out of sessions or resources (status 0x01/0x0B, completion code 0xC0). */
export class BmcBusyError extends BmcError {
  readonly code = 'bmc-busy'; readonly exitCode = 16; override readonly name = 'BmcBusyError';
  constructor(host: string, detail: string) { super(host, `BMC busy: ${detail}; close other sessions (or wait for them to time out) and retry`); }
}

/** A command failed with a completion code other than the ones above. */
export class IpmiCommandError extends BmcError {
  readonly code = 'command-failed'; readonly exitCode = 17; override readonly name = 'IpmiCommandError';
  constructor(host: string, readonly command: string, readonly completionCode: number, ccName: string) { super(host, `${command} failed: completion code ${ccName}`); }
}

/** The BMC answered something that breaks the protocol (bad RAKP 4 check value, unexpected status, ...). */
export class BmcProtocolError extends BmcError {
  readonly code = 'protocol-error'; readonly exitCode = 18; override readonly name = 'BmcProtocolError';
  constructor(host: string, detail: string) { super(host, detail); }
}

/** The session was closed (by close() or the client shutting down) while a request was waiting. */
export class SessionClosedError extends BmcError {
  readonly code = 'session-closed'; readonly exitCode = 19; override readonly name = 'SessionClosedError';
  constructor(host: string) { super(host, 'session closed'); }
}

/** Another session holds the BMC's SOL payload (Activate Payload 0x80); `holder` says who, as far as the BMC tells. */
export class SolInUseError extends BmcError {
  readonly code = 'sol-in-use'; readonly exitCode = 20; override readonly name = 'SolInUseError';
  constructor(host: string, readonly holder: string) { super(host, `Serial-over-LAN is already active on this BMC, held by ${holder}; deactivate it there (ipmitool sol deactivate) or wait for that session to end`); }
}

/** The BMC has no SOL (Activate Payload: invalid command / payload type disabled / no SOL configured). */
export class SolUnavailableError extends BmcError {
  readonly code = 'sol-unavailable'; readonly exitCode = 21; override readonly name = 'SolUnavailableError';
  constructor(host: string, detail: string) { super(host, `this BMC offers no Serial-over-LAN console: ${detail}`); }
}

/**
 * Keystrokes refused: the BMC has not yet acknowledged `pending` bytes typed earlier, and taking these `dropped`
 * bytes too would pass the console's limit (SolOptions.maxPendingBytes). Nothing of this write was queued; the
 * console stays open and what was queued before still goes out in order. Exit code 1: not a BMC failure.
 */
export class SolInputOverflowError extends BmcError {
  readonly code = 'sol-input-overflow'; readonly exitCode = 1; override readonly name = 'SolInputOverflowError';
  constructor(host: string, readonly dropped: number, readonly pending: number, readonly limit: number) {
    super(host, `typed input dropped (${dropped} bytes): the BMC has not taken the ${pending} bytes typed before yet (at most ${limit} may wait); wait for the node to catch up, then type or paste again`);
  }
}

/** write()/sendBreak() on a console that has ended (`reason`: why, null when it was closed on purpose). */
export class SolConsoleClosedError extends BmcError {
  readonly code = 'sol-closed'; readonly exitCode = 1; override readonly name = 'SolConsoleClosedError';
  constructor(host: string, what: string, readonly reason: string | null) {
    super(host, `cannot ${what}: this Serial-over-LAN console has ended${reason ? ` (${reason})` : ' (closed)'}; open the console again`);
  }
}
