// Serves one file from a root directory over HTTP with validators and byte ranges (RFC 9110 §13–14):
// ETag + If-None-Match → 304, single Range → 206 / 416, If-Range, HEAD. Multiple ranges are answered with the
// whole file (200), which RFC 9110 §14.2 allows. Paths go through the same traversal guard as TFTP.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { resolveUnderRoot } from '../tftp/server/safe-path.ts';

/** What to answer; the caller emits its event, then `send(reply)`. */
export interface FileResponse {
  status: number;
  headers: Record<string, string>;
  /** a stream of exactly `bytes` bytes, a short text (errors), or null (HEAD, 304, empty) */
  body: Readable | string | null;
  /** bytes of file content in the body (0 for HEAD, 304, errors) */
  bytes: number;
  /** the Range header when one was honoured (206) or refused (416) */
  range: string | null;
  /**
   * With `deferBody`: the open file and the inclusive byte range the body is, instead of a stream in `body`. The
   * caller owns the handle: it sends the range (sendfile-offload.ts, or `fileBodyStream`) and closes it.
   */
  file?: OpenFileBody;
}

export interface OpenFileBody { handle: FileHandle; start: number; end: number }

/** The body of an `OpenFileBody` as a stream that closes the handle at its end (or when destroyed). */
export function fileBodyStream(f: OpenFileBody, readChunk = 64 * 1024): Readable {
  return f.handle.createReadStream({ start: f.start, end: f.end, autoClose: true, highWaterMark: readChunk });
}

export function sendFileResponse(reply: FastifyReply, r: FileResponse): FastifyReply {
  return reply.code(r.status).headers(r.headers).send(r.body ?? undefined);
}

const TYPES: Record<string, string> = {
  '.ipxe': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.efi': 'application/efi',
};

const text = (status: number, body: string, headers: Record<string, string> = {}): FileResponse =>
  ({ status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body, bytes: 0, range: null });

/**
 * Decide the answer for `relPath` under `root`; keeps the file open only when a body will be sent. `readChunk`: bytes
 * per read of the body stream (default 64 KiB). `deferBody`: answer the open file and range in `file` (body null)
 * instead of a stream, for a caller that sends it another way (the image route: sendfile-offload.ts).
 */
export async function prepareFileResponse(req: FastifyRequest, root: string, relPath: string, o: { readChunk?: number; deferBody?: boolean } = {}): Promise<FileResponse> {
  const r = await resolveUnderRoot(root, relPath);
  if (r.kind === 'refused') return text(403, `forbidden: ${r.reason}\n`);
  if (r.kind === 'missing') return text(404, 'not found\n');
  const fh = await open(r.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  let handedOver = false;
  try {
    const st = await fh.stat();
    if (!st.isFile()) return text(404, 'not found\n');
    const size = st.size;
    const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const ext = r.path.slice(r.path.lastIndexOf('.'));
    const headers: Record<string, string> = {
      etag, 'last-modified': st.mtime.toUTCString(), 'accept-ranges': 'bytes', 'content-type': TYPES[ext] ?? 'application/octet-stream',
    };
    if (etagMatches(req.headers['if-none-match'], etag)) return { status: 304, headers, body: null, bytes: 0, range: null };
    const rangeHeader = req.headers.range;
    const ifRange = req.headers['if-range'];
    const useRange = typeof rangeHeader === 'string' && (ifRange === undefined || ifRange === etag);
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (useRange) {
      const range = parseSingleRange(rangeHeader, size);
      if (range === 'unsatisfiable') return { ...text(416, 'range not satisfiable\n', { 'content-range': `bytes */${size}` }), range: rangeHeader };
      if (range) {
        [start, end] = range;
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${size}`;
      }
    }
    const length = Math.max(0, end - start + 1);
    headers['content-length'] = String(length);
    const range = status === 206 ? rangeHeader! : null;
    if (req.method === 'HEAD' || length === 0) return { status, headers, body: null, bytes: 0, range };
    handedOver = true;
    const file: OpenFileBody = { handle: fh, start, end };
    if (o.deferBody) return { status, headers, body: null, bytes: length, range, file };
    return { status, headers, body: fileBodyStream(file, o.readChunk), bytes: length, range };
  } finally {
    if (!handedOver) await fh.close();
  }
}

/** RFC 9110 §13.1.2: weak comparison, list of tags or "*". */
function etagMatches(header: string | string[] | undefined, etag: string): boolean {
  if (typeof header !== 'string') return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/**
 * Parse "bytes=a-b", "bytes=a-" or "bytes=-n" against `size`. Returns [start, end] (inclusive),
 * 'unsatisfiable' (→ 416), or null when the header is not a single byte range (→ ignore it, send 200).
 */
export function parseSingleRange(header: string, size: number): [number, number] | 'unsatisfiable' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null; // invalid range: ignore (RFC 9110 §14.1.1)
  if (start >= size) return 'unsatisfiable';
  return [start, end];
}
