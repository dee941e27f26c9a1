// Server-side option negotiation for read requests (RFC 2347 §2, RFC 2348, RFC 2349, RFC 7440).
import { parseRequestOptions, type TftpAcceptedOptions } from '../options.ts';
import type { TftpOption } from '../packet.ts';

export interface NegotiationLimits {
  /** largest blksize the server agrees to (clients asking more get this, RFC 2348 §2) */
  maxBlksize: number;
  /** largest windowsize the server agrees to (clients asking more get this, RFC 7440 §3) */
  maxWindowsize: number;
}

export interface NegotiatedTransfer {
  /** what goes in the OACK; empty → no OACK, DATA 1 follows the RRQ directly */
  accepted: TftpAcceptedOptions;
  blksize: number;
  windowsize: number;
  /** retransmission timeout in ms when the client set one (RFC 2349 §2), else null */
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
  if (req.blksize !== undefined) blksize = accepted.blksize = Math.min(req.blksize, limits.maxBlksize);
  if (req.timeout !== undefined) {
    accepted.timeout = req.timeout;
    timeoutMs = req.timeout * 1000;
  }
  if (req.tsize !== undefined && size !== null) accepted.tsize = size;
  if (req.windowsize !== undefined) windowsize = accepted.windowsize = Math.min(req.windowsize, limits.maxWindowsize);
  return { accepted, blksize, windowsize, timeoutMs, ignored: req.ignored };
}
