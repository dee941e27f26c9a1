// The deploy agent's view of an image by its extent map (core/images/extent-map.ts), on the HTTP boot server beside
// the raw bytes (image-serving.ts registers the routes; same rules: ready images by digest, no token):
//   GET|HEAD /images/<sha256>.map   → text/plain, one `data|zero OFFSET LENGTH` line per range, in disk order
//   GET|HEAD /images/<sha256>.data  → the data ranges' bytes concatenated in map order (Content-Length = their sum)
// The agent zeroes the zero ranges on the disk itself, so only the data crosses the network. The data body goes out
// range by range through the same sendfile(2) worker pool as the raw image, after the headers this thread writes;
// without the pool (not Linux, no workers, a pipelined request) each range is streamed in 1 MiB reads. No Range
// requests here (the agent never resumes a stream: a broken write starts over under a new attempt).
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../core/core.ts';
import type { ImageRecord } from '../shared/image.ts';
import { ImageDamagedError, extentMapText, type Extent, type ExtentMap } from '../core/images/extent-map.ts';

const READ_CHUNK = 1024 * 1024;

/** What serveImageData needs of a sendfile(2) worker pool (netboot/http/sendfile's FileSendPool is one). */
export interface RangeSendPool {
  readonly available: boolean;
  /** send `length` bytes of the file from `start` on the socket; null when no worker takes it */
  send(r: { socketFd: number; fileFd: number; start: number; length: number }): { done: Promise<{ ok: boolean; reason?: string }>; abort(reason: string): void } | null;
}
const EMPTY = Buffer.alloc(0);

async function mapOf(core: Core, img: ImageRecord, req: FastifyRequest, reply: FastifyReply): Promise<ExtentMap | null> {
  try {
    return await core.images.extentMap(img);
  } catch (err) {
    const damaged = err instanceof ImageDamagedError;
    req.log.warn({ image: img.name, err: (err as Error).message }, 'image extent map unavailable');
    await reply.code(damaged ? 409 : 500).type('text/plain; charset=utf-8').send(`${(err as Error).message}\n`);
    return null;
  }
}

/** GET|HEAD /images/<sha256>.map */
export async function serveImageMap(core: Core, img: ImageRecord, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const map = await mapOf(core, img, req, reply);
  if (!map) return reply;
  const text = extentMapText(map);
  reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store');
  if (req.method === 'HEAD') return reply.header('content-length', Buffer.byteLength(text)).send();
  return reply.send(text);
}

/** node's TCP handle keeps the descriptor in `_handle.fd`; null for TLS or a closed socket (as http-offload.ts reads it). */
function tcpFd(socket: Socket): number | null {
  if ('encrypted' in socket) return null;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/** The data ranges of `fh` as one stream of READ_CHUNK reads. */
function rangesStream(fh: FileHandle, ranges: Extent[]): Readable {
  return Readable.from((async function* () {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (const r of ranges) {
      for (let at = r.offset, left = r.length; left > 0;) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(left, buf.length), at);
        if (bytesRead === 0) throw new Error(`the image file ends at byte ${at}, inside a data range`);
        yield Buffer.from(buf.subarray(0, bytesRead));
        at += bytesRead; left -= bytesRead;
      }
    }
  })(), { objectMode: false });
}

/** GET|HEAD /images/<sha256>.data */
export async function serveImageData(core: Core, img: ImageRecord, dir: string, pool: RangeSendPool | null,
  req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const map = await mapOf(core, img, req, reply);
  if (!map) return reply;
  const headers = { 'content-type': 'application/octet-stream', 'content-length': String(map.dataBytes), 'cache-control': 'no-store' };
  if (req.method === 'HEAD') return reply.headers(headers).send();
  const ranges = map.extents.filter((e) => e.data);
  const fh = await open(`${dir}/${img.id}.raw`, constants.O_RDONLY | constants.O_NOFOLLOW);
  const socket = req.raw.socket;
  const fd = socket ? tcpFd(socket) : null;
  const owned = socket && (socket as unknown as { _httpMessage?: unknown })._httpMessage === reply.raw && !reply.raw.headersSent;
  if (!pool?.available || fd === null || !owned) {
    // fastify closes nothing of ours: the stream's end (or error) closes the file
    const body = rangesStream(fh, ranges);
    body.once('close', () => { void fh.close().catch(() => {}); });
    return reply.headers(headers).send(body);
  }
  reply.hijack();
  const res = reply.raw;
  let sent = 0;
  try {
    res.writeHead(200, headers);
    res.flushHeaders();
    // the headers reach the kernel before the first body byte a worker sends
    await new Promise<void>((ok) => socket.write(EMPTY, () => ok()));
    for (const r of ranges) {
      if (socket.destroyed) throw new Error('the client closed the connection');
      const job = pool.send({ socketFd: fd, fileFd: fh.fd, start: r.offset, length: r.length });
      if (!job) {
        // no worker now: the rest on this thread
        await pipeline(rangesStream(fh, ranges.slice(ranges.indexOf(r))), res, { end: false });
        sent = map.dataBytes;
        break;
      }
      const onClose = () => job.abort('the connection closed');
      socket.once('close', onClose);
      const outcome = await job.done;
      socket.off('close', onClose);
      if (!outcome.ok) throw new Error(outcome.reason ?? 'the transfer failed');
      sent += r.length;
    }
    res.end();
  } catch (err) {
    req.log.warn({ image: img.name, sent, of: map.dataBytes, reason: (err as Error).message }, 'image data download ended early');
    socket.destroy();
  } finally {
    await fh.close().catch(() => {});
  }
  return reply;
}
