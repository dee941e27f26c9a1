// Server-side option negotiation for read requests (RFC 2347 §2, RFC 2348, RFC 2349, RFC 7440).
import { parseRequestOptions, type TftpAcceptedOptions } from '../options.ts';
import type { TftpOption } from '../packet.ts';

export interface NegotiationLimits {
  /** largest blksize the server agrees to (clients asking more get this, RFC 2348 §2) */
  maxBlksize: number;
  /** largest windowsize the server agrees to (clients asking more get this, RFC 7440 §3) */
  maxWindowsize: number;
  /** largest timeout (s) the server agrees to; a larger request is not acknowledged (see negotiateReadOptions) */
  maxTimeoutSec: number;
}

export interface NegotiatedTransfer {
  /** what goes in the OACK; empty → no OACK, DATA 1 follows the RRQ directly */
  accepted: TftpAcceptedOptions;
  blksize: number;
  windowsize: number;
  /** retransmission timeout in ms when the client asked for one (RFC 2349 §2; at most maxTimeoutSec), else null */
  timeoutMs: number | null;
  /** requested options that were ignored (unknown or out of range), for logs */
  ignored: TftpOption[];
}

/** Decide the transfer parameters for an RRQ's options; `size` null means tsize is not answered. */
export function negotiateReadOptions(options: TftpOption[], size: number | null, limits: NegotiationLimits): NegotiatedTransfer {
  const req = parseRequestOptions(options);
  const accepted: TftpAcceptedOptions = {};
  let blksize = 512;
  let windowsize = 1;
  let timeoutMs: number | null = null;
  const ignored = [...req.ignored];
  if (req.blksize !== undefined) blksize = accepted.blksize = Math.min(req.blksize, limits.maxBlksize);
  if (req.timeout !== undefined) {
    // RFC 2349 §2: "The specified timeout value must match the value specified by the client" — unlike blksize
    // (RFC 2348) and windowsize (RFC 7440) the server may not answer a smaller value; RFC 2347 lets it omit an option
    // it does not accept. So a timeout up to the ceiling is acknowledged as asked; a larger one is left out of the
    // OACK (the client keeps its own default) and the server retransmits after the ceiling: a client cannot make a
    // transfer hold its socket and slot for 255 s × retries.
    if (req.timeout <= limits.maxTimeoutSec) {
      accepted.timeout = req.timeout;
      timeoutMs = req.timeout * 1000;
    } else {
      timeoutMs = limits.maxTimeoutSec * 1000;
      ignored.push({ name: 'timeout', value: String(req.timeout) });
    }
  }
  if (req.tsize !== undefined && size !== null) accepted.tsize = size;
  if (req.windowsize !== undefined) windowsize = accepted.windowsize = Math.min(req.windowsize, limits.maxWindowsize);
  return { accepted, blksize, windowsize, timeoutMs, ignored };
}
