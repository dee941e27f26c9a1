// What a TFTP read request is answered from (STYLE.md: pixiecore's `(path, addr) → (stream, size)` handlers).
import { TftpErrorCode } from '../error-code.ts';

/** Who sent the read request. */
export interface TftpClient {
  address: string;
  port: number;
}

/**
 * A file readable at any offset (a FileHandle, a Buffer …): the server reads block by block at offsets, so it can
 * retransmit any block of the current window without holding the file in memory.
 */
export interface TftpRangeFile {
  kind: 'ranges';
  /** exact size in bytes (announced as tsize, RFC 2349) */
  size: number;
  /** Fill `buffer` from `position`; resolves the number of bytes read (short only at end of file). */
  read(buffer: Buffer, position: number): Promise<number>;
  /** Called exactly once when the transfer ends (success or not). */
  close(): Promise<void>;
  /**
   * Optional: an open descriptor of the same bytes, readable with pread until close() — lets the server run the
   * transfer on a worker thread (`transferWorkers`); without it the transfer stays on the main thread.
   */
  fd?: number;
  /**
   * Optional: read synchronously from `position` into `buffers` in order (readv(2)); returns the bytes read. With
   * it, windowed transfers read each window straight into its send buffer. It blocks the calling thread for the
   * read, so only the transfer worker threads offer it (their descriptors; page-cache reads of one window).
   */
  readvSync?(buffers: Buffer[], position: number): number;
}

/** A file only readable front to back; the server keeps the unacknowledged window of blocks in memory. */
export interface TftpStreamFile {
  kind: 'stream';
  stream: AsyncIterable<Uint8Array>;
  /** size when known (announced as tsize), null otherwise */
  size: number | null;
  /** Called exactly once when the transfer ends (success or not). */
  close?(): Promise<void>;
}

export type TftpFile = TftpRangeFile | TftpStreamFile;

/**
 * Resolve a read request. Returns null when the file does not exist (the client gets ERROR 1 "File not found",
 * which PXE clients provoke routinely). Throw TftpHandlerError to answer another TFTP error (e.g. 2 "Access
 * violation" for a path outside the root); any other exception is answered with ERROR 0 and logged.
 * Called once per RRQ (not for retransmitted duplicates of an active transfer).
 */
export type TftpHandler = (path: string, client: TftpClient) => Promise<TftpFile | null>;

/** A handler's refusal with the TFTP error code to send back (RFC 1350 error codes). */
export class TftpHandlerError extends Error {
  override readonly name = 'TftpHandlerError';
  constructor(readonly code: number, message: string) {
    super(message);
  }
  static accessViolation(message: string): TftpHandlerError {
    return new TftpHandlerError(TftpErrorCode.AccessViolation, message);
  }
}
