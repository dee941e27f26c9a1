// Answers a prepared file response (prepareFileResponse with deferBody) with its body sent by a FileSendPool
// worker (sendfile(2) on a dup of the connection) instead of a stream on this thread. This thread still writes the
// status line and headers through node's http (so keep-alive, pipelining and the response state stay node's); once
// they are in the kernel the worker sends exactly `bytes` bytes behind them, and then the response is ended with no
// more bytes (success: the connection stays open for the next request) or the connection is destroyed (the client
// left, the file shrank, the transfer stalled: the client sees a short body, never a wrong one).
// A response queued behind another on the same connection (pipelined, or a keep-alive client that saw the previous
// body whole before this thread ended that response) first waits until node hands it the connection ('socket').
// Falls back to the stream when the pool cannot take the job: not Linux, no workers, a TLS or non-TCP socket.
import { pipeline } from 'node:stream/promises';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fileBodyStream, sendFileResponse, type FileResponse, type OpenFileBody } from '../file-response.ts';
import type { FileSendPool, SendOutcome } from './send-pool.ts';

const EMPTY = Buffer.alloc(0);

/** How the body went: by a worker (with its outcome), by a stream on this thread, or there was none. */
export type BodyRoute = { via: 'worker'; outcome: SendOutcome } | { via: 'stream' } | { via: 'none' };

/** node's TCP handle keeps the descriptor in `_handle.fd` (libuv stream); null when there is none (TLS, pipes, closed). */
function tcpFd(socket: Socket): number | null {
  if ('encrypted' in socket) return null;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Send `r` on `reply`. With a deferred body (`r.file`) and a pool that can take it, the body goes through a worker;
 * otherwise `r.file` becomes a stream of `readChunk`-byte reads. Resolves once the body has been sent or given up.
 */
export async function sendFileResponseOffloaded(req: FastifyRequest, reply: FastifyReply, r: FileResponse, pool: FileSendPool | null, o: { readChunk?: number } = {}): Promise<BodyRoute> {
  const file = r.file;
  if (!file) { sendFileResponse(reply, r); return { via: 'none' }; }
  const socket = req.raw.socket;
  const fd = socket ? tcpFd(socket) : null;
  const offload = !!pool?.available && fd !== null && req.method === 'GET' && !reply.raw.headersSent;
  const owned = offload && socket && await ownsConnection(socket, reply.raw);
  if (!offload || !owned) {
    sendFileResponse(reply, { ...r, body: fileBodyStream(file, o.readChunk) });
    return { via: 'stream' };
  }
  reply.hijack();
  const res = reply.raw;
  try {
    res.writeHead(r.status, r.headers);
    res.flushHeaders();
    // the status line and headers reach the kernel before any body byte the worker sends
    await new Promise<void>((ok) => socket.write(EMPTY, () => ok()));
  } catch (err) {
    await file.handle.close().catch(() => {});
    socket.destroy();
    req.log.warn({ err: (err as Error).message }, 'file response: the headers could not be written');
    return { via: 'worker', outcome: { ok: false, bytes: 0, reason: `headers not written: ${(err as Error).message}`, clientAborted: true } };
  }
  if (socket.destroyed) {
    await file.handle.close().catch(() => {});
    return { via: 'worker', outcome: { ok: false, bytes: 0, reason: 'the client closed the connection', clientAborted: true } };
  }
  const job = pool.send({ socketFd: fd, fileFd: file.handle.fd, start: file.start, length: r.bytes });
  if (!job) { await streamAfterHeaders(file, res, o.readChunk); return { via: 'stream' }; }
  const onClose = () => job.abort('the connection closed');
  socket.once('close', onClose);
  const outcome = await job.done;
  socket.off('close', onClose);
  await file.handle.close().catch(() => {});
  if (outcome.ok) res.end();
  else socket.destroy();
  return { via: 'worker', outcome };
}

/**
 * True once `res` is the response node writes on `socket` now: at once, or when the responses ahead of it on the
 * connection have finished (node's http server emits 'socket' on a queued response as it assigns it). False when the
 * connection closes first (then nothing is sent on it anyway).
 */
function ownsConnection(socket: Socket, res: FastifyReply['raw']): Promise<boolean> {
  const current = () => (socket as unknown as { _httpMessage?: unknown })._httpMessage;
  if (current() === res) return Promise.resolve(true);
  if (socket.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (v: boolean) => { res.off('socket', onSocket); socket.off('close', onClose); resolve(v); };
    const onSocket = () => done(current() === res);
    const onClose = () => done(false);
    res.on('socket', onSocket);
    socket.on('close', onClose);
  });
}

/** The headers are out but no worker took the body: stream it into the response ourselves. */
async function streamAfterHeaders(file: OpenFileBody, res: FastifyReply['raw'], readChunk?: number): Promise<void> {
  try { await pipeline(fileBodyStream(file, readChunk), res); } catch { res.destroy(); }
}
