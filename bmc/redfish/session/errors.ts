// Errors of the Redfish client a field engineer (and a script) can act on: each has a stable `code` and a CLI exit
// code (the IPMI client's where the meaning is the same: 10 credentials, 12 privilege, 15 unreachable, 17 command
// failed, 18 protocol), and a message that names the BMC and says what to check. Passwords never appear in them.
import { BmcError } from '../../ipmi/session/errors.ts';

export { BmcError };

/** 401: the BMC refused the user name/password (session login or basic auth). */
export class RedfishAuthError extends BmcError {
  readonly code = 'wrong-password'; readonly exitCode = 10; override readonly name = 'RedfishAuthError';
  constructor(host: string, user: string, what: string) { super(host, `HTTP 401 on ${what}: the BMC refused user "${user}" and this password (check both; some BMCs lock the account after a few failures)`); }
}

/** 403: authenticated, but the account may not do this. */
export class RedfishForbiddenError extends BmcError {
  readonly code = 'privilege-too-low'; readonly exitCode = 12; override readonly name = 'RedfishForbiddenError';
  constructor(host: string, what: string, detail: string) { super(host, `HTTP 403 on ${what}: the account may not do this${detail ? ` (${detail})` : ''}; give it the Administrator (or Operator) role`); }
}

/** Nothing answered (connect refused, timeout, TLS failure other than a changed certificate) after every retry. */
export class RedfishUnreachableError extends BmcError {
  readonly code = 'unreachable'; readonly exitCode = 15; override readonly name = 'RedfishUnreachableError';
  constructor(host: string, what: string, tries: number, detail: string) { super(host, `Redfish service unreachable: ${what} failed ${tries} time(s) (${detail}); check the address, port 443/tcp and that Redfish is enabled`); }
}

/** GET /redfish/v1 answered, but not with a Redfish service root. */
export class NotRedfishError extends BmcError {
  readonly code = 'not-redfish'; readonly exitCode = 18; override readonly name = 'NotRedfishError';
  constructor(host: string, detail: string) { super(host, `not a Redfish service: ${detail}`); }
}

/** A body that is not the resource it should be: malformed or huge JSON, wrong shape (the decoder's reason). */
export class RedfishMalformedError extends BmcError {
  readonly code = 'malformed-response'; readonly exitCode = 18; override readonly name = 'RedfishMalformedError';
  constructor(host: string, what: string, detail: string) { super(host, `malformed answer to ${what}: ${detail}`); }
}

/** Any other HTTP error, with the Redfish error message when the BMC sent one. */
export class RedfishHttpError extends BmcError {
  readonly code = 'command-failed'; readonly exitCode = 17; override readonly name = 'RedfishHttpError';
  constructor(host: string, readonly status: number, what: string, detail: string) { super(host, `HTTP ${status} on ${what}${detail ? `: ${detail}` : ''}`); }
}

/** ComputerSystem.Reset with a ResetType the system does not list in ResetType@Redfish.AllowableValues. */
export class ResetTypeNotAllowedError extends BmcError {
  readonly code = 'reset-type-not-allowed'; readonly exitCode = 20; override readonly name = 'ResetTypeNotAllowedError';
  constructor(host: string, readonly resetType: string, readonly allowed: string[]) {
    super(host, `reset type ${resetType} is not allowed by this system; it allows ${allowed.length ? allowed.join(', ') : 'none'}`);
  }
}

/** The BMC's TLS certificate is not the one pinned at first use. Nothing (no credentials) was sent. */
export class CertificateChangedError extends BmcError {
  readonly code = 'certificate-changed'; readonly exitCode = 21; override readonly name = 'CertificateChangedError';
  constructor(host: string, readonly pinned: string, readonly presented: string) {
    super(host, `TLS certificate changed: pinned SHA-256 ${pinned}, the BMC now presents ${presented}. Refusing to send credentials: if the BMC's certificate was replaced on purpose (new firmware, a reset BMC), verify the new fingerprint on its console and forget the old pin; otherwise something else answers at this address`);
  }
}

/** A task monitor still said "running" when the wait ran out. */
export class TaskTimeoutError extends BmcError {
  readonly code = 'task-timeout'; readonly exitCode = 22; override readonly name = 'TaskTimeoutError';
  constructor(host: string, what: string, monitor: string, waitedMs: number, last: string) {
    super(host, `${what} did not complete within ${(waitedMs / 1000).toFixed(1)} s (task monitor ${monitor}, last state ${last})`);
  }
}

/** The task ended in Exception/Killed/Cancelled. */
export class TaskFailedError extends BmcError {
  readonly code = 'task-failed'; readonly exitCode = 17; override readonly name = 'TaskFailedError';
  constructor(host: string, what: string, state: string, messages: string[]) { super(host, `${what}: task ended ${state}${messages.length ? `: ${messages.join('; ')}` : ''}`); }
}

/** The service has several ComputerSystems and none was chosen. */
export class SeveralSystemsError extends BmcError {
  readonly code = 'several-systems'; readonly exitCode = 23; override readonly name = 'SeveralSystemsError';
  constructor(host: string, readonly systems: string[]) {
    super(host, `this Redfish service manages ${systems.length} systems (${systems.join(', ')}); choose one (address ${host}#SYSTEM-ID, CLI --system ID)`);
  }
}

/** The service has no ComputerSystem (or no Systems collection). */
export class NoSystemError extends BmcError {
  readonly code = 'no-system'; readonly exitCode = 18; override readonly name = 'NoSystemError';
  constructor(host: string, detail: string) { super(host, `no computer system: ${detail}`); }
}
