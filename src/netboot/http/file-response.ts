// Serves one file from a root directory over HTTP with validators and byte ranges (RFC 9110 §13–14):
// ETag + If-None-Match → 304, single Range → 206 / 416, If-Range, HEAD. Multiple ranges are answered with the
// whole file (200), which RFC 9110 §14.2 allows. Paths go through the same traversal guard as TFTP.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { resolveUnderRoot } from '../tftp/server/safe-path.ts';

export interface FileResponseResult {
  status: number;
  /** bytes in the response body (0 for HEAD, 304, errors) */
  bytes: number;
  /** the Range header when one was honoured */
  range: string | null;
}

const TYPES: Record<string, string> = {
  '.ipxe': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.efi': 'application/efi',
};

export async function sendFileFromRoot(req: FastifyRequest, reply: FastifyReply, root: string, relPath: string): Promise<FileResponseResult> {
  const r = await resolveUnderRoot(root, relPath);
  if (r.kind === 'refused') {
    await reply.code(403).type('text/plain').send(`forbidden: ${r.reason}\n`);
    return { status: 403, bytes: 0, range: null };
  }
  if (r.kind === 'missing') {
    await reply.code(404).type('text/plain').send('not found\n');
    return { status: 404, bytes: 0, range: null };
  }
  const fh = await open(r.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  let handedOver = false;
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      await reply.code(404).type('text/plain').send('not found\n');
      return { status: 404, bytes: 0, range: null };
    }
    const size = st.size;
    const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const ext = r.path.slice(r.path.lastIndexOf('.'));
    reply.header('etag', etag).header('last-modified', st.mtime.toUTCString()).header('accept-ranges', 'bytes');
    reply.type(TYPES[ext] ?? 'application/octet-stream');

    if (etagMatches(req.headers['if-none-match'], etag)) {
      await reply.code(304).send();
      return { status: 304, bytes: 0, range: null };
    }
    const rangeHeader = req.headers.range;
    const ifRange = req.headers['if-range'];
    const useRange = typeof rangeHeader === 'string' && (ifRange === undefined || ifRange === etag);
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (useRange) {
      const range = parseSingleRange(rangeHeader, size);
      if (range === 'unsatisfiable') {
        await reply.code(416).header('content-range', `bytes */${size}`).type('text/plain').send('range not satisfiable\n');
        return { status: 416, bytes: 0, range: rangeHeader };
      }
      if (range) {
        [start, end] = range;
        status = 206;
        reply.header('content-range', `bytes ${start}-${end}/${size}`);
      }
    }
    const length = Math.max(0, end - start + 1);
    reply.code(status).header('content-length', String(length));
    if (req.method === 'HEAD' || length === 0) {
      await reply.send();
      return { status, bytes: 0, range: status === 206 ? rangeHeader! : null };
    }
    const stream = fh.createReadStream({ start, end, autoClose: true });
    handedOver = true;
    await reply.send(stream);
    return { status, bytes: length, range: status === 206 ? rangeHeader! : null };
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
