// Worker-thread side of send-pool.ts: sends file ranges to TCP sockets with sendfile(2), many at once, without an
// event loop — the thread waits in epoll_wait(2) on every socket it serves plus an eventfd the main thread writes
// to after posting a message on the worker's port (read here with receiveMessageOnPort). Each socket is a dup of
// the connection's descriptor, already non-blocking (libuv made it so); the HTTP status line and headers are
// already in the kernel when a job arrives, so the bytes sent here are exactly the body.
// Messages (see send-pool.ts for the main side):
//   in  { type: 'send', id, socketFd, fileFd, start, length }   { type: 'abort', id, reason }   { type: 'stop' }
//   out { type: 'ready' }   { type: 'done', id, outcome }
// A socket is served in turns of at most TURN_BYTES, so one fast client cannot starve the others, and a turn ends
// as soon as sendfile(2) takes less than it was offered (the send buffer is full: the next EAGAIN is not asked for,
// epoll says when there is room, as nginx does); a transfer that makes no progress for `stallMs` is ended (a client
// that stopped reading), so a worker never holds a socket forever.
import { readSync } from 'node:fs';
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import {
  EAGAIN, ECONNRESET, EINTR, EPIPE, EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_EVENT_BYTES,
  loadSendCalls, readEpollEvent, writeEpollEvent,
} from './linux-calls.ts';

export interface SendJob {
  id: number;
  /** a dup of the connection's socket; the worker closes it when the job ends */
  socketFd: number;
  /** the open file; read-only here, the main thread closes it after `done` */
  fileFd: number;
  start: number;
  length: number;
}

export interface SendOutcome {
  ok: boolean;
  /** body bytes handed to the kernel */
  bytes: number;
  /** why it ended early ('' when ok) */
  reason: string;
  /** the client closed or reset the connection */
  clientAborted: boolean;
}

export type ToSendWorker = ({ type: 'send' } & SendJob) | { type: 'abort'; id: number; reason: string } | { type: 'stop' };
export type FromSendWorker = { type: 'ready' } | { type: 'failed'; reason: string } | { type: 'done'; id: number; outcome: SendOutcome };

export interface SendWorkerData { port: MessagePort; wakeFd: number; stallMs: number }

/**
 * bytes one socket may take per turn before the others get theirs: 2 MiB, nginx's sendfile_max_chunk. With 4 MiB
 * turns, 50 loopback downloads on 2 busy cores ran at 0.6–0.8× nginx and ksoftirqd did 0.05 CPU s/GB of the
 * TCP receive work (deferred out of the sending thread, then competing for a core as one task); with 2 MiB it
 * stays in the sender (~0.01 s/GB in ksoftirqd) and the same runs came out at 0.95–1.6× (docs/BENCHMARKS.md).
 */
const TURN_BYTES = 2 * 1024 * 1024;
/** epoll_wait timeout: how often stalls are checked when nothing happens */
const TICK_MS = 500;
const MAX_EVENTS = 64;
const WAKE = 0;

interface Running extends SendJob { offset: Buffer; sent: number; lastProgress: number }

function serve(d: SendWorkerData): void {
  const { port } = d;
  const c = loadSendCalls();
  const ep = c ? c.epollCreate() : -1;
  if (!c || ep < 0) { port.postMessage({ type: 'failed', reason: c ? `epoll_create1 failed (errno ${c.errno()})` : 'sendfile/epoll not available' } satisfies FromSendWorker); port.close(); return; }
  const ev = Buffer.alloc(EPOLL_EVENT_BYTES * MAX_EVENTS);
  const one = Buffer.alloc(EPOLL_EVENT_BYTES);
  writeEpollEvent(one, 0, EPOLLIN, WAKE);
  c.epollCtl(ep, EPOLL_CTL_ADD, d.wakeFd, one);
  const running = new Map<number, Running>();
  const counter = Buffer.alloc(8);
  let stopping = false;

  const finish = (t: Running, outcome: Omit<SendOutcome, 'bytes'>) => {
    if (!running.delete(t.id)) return;
    c.epollCtl(ep, EPOLL_CTL_DEL, t.socketFd, null);
    c.close(t.socketFd);
    port.postMessage({ type: 'done', id: t.id, outcome: { ...outcome, bytes: t.sent } } satisfies FromSendWorker);
  };

  const pump = (t: Running, now: number) => {
    let budget = TURN_BYTES;
    while (budget > 0) {
      const want = Math.min(t.length - t.sent, budget);
      const n = c.sendfile(t.socketFd, t.fileFd, t.offset, want);
      if (n > 0) {
        t.sent += n; budget -= n; t.lastProgress = now;
        if (t.sent >= t.length) { finish(t, { ok: true, reason: '', clientAborted: false }); return; }
        if (n < want) return; // the send buffer is full: wait for EPOLLOUT rather than ask for the EAGAIN
        continue;
      }
      if (n === 0) { finish(t, { ok: false, reason: `the file is shorter than announced (ended at byte ${t.start + t.sent})`, clientAborted: false }); return; }
      const e = c.errno();
      if (e === EAGAIN) return;
      if (e === EINTR) continue;
      if (e === EPIPE || e === ECONNRESET) { finish(t, { ok: false, reason: 'the client closed the connection', clientAborted: true }); return; }
      finish(t, { ok: false, reason: `sendfile failed (errno ${e})`, clientAborted: false });
      return;
    }
  };

  const take = (m: ToSendWorker) => {
    if (m.type === 'stop') { stopping = true; return; }
    if (m.type === 'abort') {
      const t = running.get(m.id);
      if (t) finish(t, { ok: false, reason: m.reason, clientAborted: false });
      return;
    }
    const offset = Buffer.alloc(8);
    offset.writeBigInt64LE(BigInt(m.start));
    const t: Running = { ...m, offset, sent: 0, lastProgress: Date.now() };
    running.set(t.id, t);
    writeEpollEvent(one, 0, EPOLLOUT, t.id);
    if (c.epollCtl(ep, EPOLL_CTL_ADD, t.socketFd, one) !== 0) {
      const e = c.errno();
      running.delete(t.id);
      c.close(t.socketFd);
      port.postMessage({ type: 'done', id: t.id, outcome: { ok: false, bytes: 0, reason: `epoll_ctl failed (errno ${e})`, clientAborted: false } } satisfies FromSendWorker);
    }
  };

  port.postMessage({ type: 'ready' } satisfies FromSendWorker);
  let lastSweep = Date.now();
  while (!stopping) {
    const n = c.epollWait(ep, ev, MAX_EVENTS, TICK_MS);
    if (n < 0 && c.errno() !== EINTR) { port.postMessage({ type: 'failed', reason: `epoll_wait failed (errno ${c.errno()})` } satisfies FromSendWorker); break; }
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const { events, data } = readEpollEvent(ev, i);
      if (data === WAKE) {
        try { readSync(d.wakeFd, counter, 0, 8, null); } catch { /* EAGAIN: already drained */ }
        for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) take(m.message as ToSendWorker);
        continue;
      }
      const t = running.get(data);
      if (!t) continue;
      pump(t, now);
      // an error or hang-up with nothing more to send: the connection is gone
      if (running.has(t.id) && events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLOUT)) finish(t, { ok: false, reason: 'the connection failed', clientAborted: true });
    }
    if (now - lastSweep >= TICK_MS) {
      lastSweep = now;
      for (const t of [...running.values()]) if (now - t.lastProgress > d.stallMs) finish(t, { ok: false, reason: `no progress for ${Math.round(d.stallMs / 1000)} s (the client stopped reading)`, clientAborted: false });
    }
  }
  for (const t of [...running.values()]) finish(t, { ok: false, reason: 'the server is stopping', clientAborted: false });
  c.close(ep);
  port.close();
}

// Start after this module has finished loading (the pool's loader awaits the import), then keep the thread.
setImmediate(() => serve(workerData as SendWorkerData));
