// Worker threads that send file bodies with sendfile(2) (send-worker.ts), so serving large files neither copies
// them through user space nor runs the sockets' TCP work on the main thread (which answers DHCP and the API).
// The main thread keeps the HTTP exchange (request parsing, headers, keep-alive); it hands a worker a dup of the
// connection's socket and the open file's descriptor, and learns the outcome. Jobs go to the worker with the
// fewest running. All workers start on the first job and are unref'd while idle. Linux only: `send()` answers null when
// the calls cannot be loaded, the pool is empty or closed, or the socket cannot be duplicated — the caller streams.
import { writeSync } from 'node:fs';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { EFD_CLOEXEC, EFD_NONBLOCK, loadSendCalls } from './linux-calls.ts';
import type { FromSendWorker, SendOutcome, SendWorkerData, ToSendWorker } from './send-worker.ts';

export type { SendOutcome } from './send-worker.ts';

export interface FileSendPoolOptions {
  /** end a transfer that made no progress for this long (default 300 000 ms: a client that stopped reading) */
  stallMs?: number;
}

export interface SendRequest {
  /** the connection's socket descriptor (not taken over: the pool sends on a dup of it) */
  socketFd: number;
  /** an open file's descriptor; the caller keeps it open until `done` resolves, then closes it */
  fileFd: number;
  start: number;
  length: number;
}

export interface SendHandle { done: Promise<SendOutcome>; abort(reason: string): void }

interface Slot {
  worker: Worker;
  port: MessagePort;
  wakeFd: number;
  pending: Map<number, (o: SendOutcome) => void>;
  failed: boolean;
  /** the eventfd is closed (exactly once, by closeWake) */
  wakeClosed: boolean;
}

function closeWake(slot: Slot): void {
  if (slot.wakeClosed) return;
  slot.wakeClosed = true;
  loadSendCalls()?.close(slot.wakeFd);
}

const WORKER_URL = new URL(`./send-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
const WAKE = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);

/** A worker on send-worker; under tsx (a .ts module) it registers tsx first, as the TFTP transfer workers do. */
function startWorker(data: SendWorkerData): Worker {
  const options = { workerData: data, transferList: [data.port] };
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, options);
  const api = import.meta.resolve('tsx/esm/api');
  const src = `const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(WORKER_URL.href)});`;
  return new Worker(src, { ...options, eval: true, type: 'module' } as ConstructorParameters<typeof Worker>[1]);
}

export class FileSendPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private readonly stallMs: number;

  /** `size` workers (0: none, every send() answers null). */
  constructor(readonly size: number, o: FileSendPoolOptions = {}) {
    this.stallMs = o.stallMs ?? 300_000;
  }

  /** Whether send() can take jobs here (Linux, libc loaded, size > 0, not closed). */
  get available(): boolean {
    return !this.closed && this.size > 0 && loadSendCalls() !== null;
  }

  /** Hand `length` bytes of the file from `start` to a worker, or null (see the file comment): then nothing was taken. */
  send(r: SendRequest): SendHandle | null {
    if (!this.available) return null;
    const c = loadSendCalls()!;
    const slot = this.pick();
    if (!slot) return null;
    const socketFd = c.dupCloexec(r.socketFd);
    if (socketFd < 0) return null;
    const id = this.nextId++;
    const done = new Promise<SendOutcome>((resolve) => slot.pending.set(id, resolve));
    if (slot.pending.size === 1) slot.worker.ref();
    this.post(slot, { type: 'send', id, socketFd, fileFd: r.fileFd, start: r.start, length: r.length });
    return { done, abort: (reason) => { if (slot.pending.has(id)) this.post(slot, { type: 'abort', id, reason }); } };
  }

  /** Jobs running now, per worker. */
  running(): number[] {
    return this.slots.map((s) => s.pending.size);
  }

  /** Stop the workers: running sends end with 'the server is stopping' (their connections are then the caller's to close). */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map(async (s) => {
      if (!s.failed) this.post(s, { type: 'stop' });
      await new Promise<void>((r) => { if (s.failed) r(); else s.worker.once('exit', () => r()); setTimeout(r, 3000).unref(); });
      await s.worker.terminate();
      closeWake(s);
    }));
    this.closed = false; // a restarted server starts workers again
  }

  private post(slot: Slot, m: ToSendWorker): void {
    slot.port.postMessage(m);
    if (slot.wakeClosed) return;
    try { writeSync(slot.wakeFd, WAKE); } catch { /* the counter is already non-zero enough: the worker will wake */ }
  }

  /** The least busy worker; the first job starts all of them at once (so a burst of downloads finds them loaded). */
  private pick(): Slot | null {
    while (this.slots.filter((s) => !s.failed).length < this.size) if (!this.startSlot()) break;
    const live = this.slots.filter((s) => !s.failed);
    return live.length ? live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a)) : null;
  }

  /** One more worker (null when no eventfd can be made). */
  private startSlot(): Slot | null {
    const c = loadSendCalls()!;
    const wakeFd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd < 0) return null;
    const { port1, port2 } = new MessageChannel();
    const slot: Slot = { worker: startWorker({ port: port2, wakeFd, stallMs: this.stallMs }), port: port1, wakeFd, pending: new Map(), failed: false, wakeClosed: false };
    const failAll = (reason: string) => {
      if (slot.failed) return;
      slot.failed = true;
      for (const resolve of slot.pending.values()) resolve({ ok: false, bytes: 0, reason, clientAborted: false });
      slot.pending.clear();
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      void slot.worker.terminate().then(() => closeWake(slot));
    };
    port1.on('message', (m: FromSendWorker) => {
      if (m.type === 'ready') return;
      if (m.type === 'failed') { failAll(`file-send worker failed: ${m.reason}`); return; }
      const resolve = slot.pending.get(m.id);
      slot.pending.delete(m.id);
      if (slot.pending.size === 0) slot.worker.unref();
      resolve?.(m.outcome);
    });
    port1.unref();
    slot.worker.on('error', (err) => failAll(`file-send worker failed: ${err.message}`));
    slot.worker.on('exit', (code) => failAll(`file-send worker exited (${code})`));
    slot.worker.unref();
    this.slots.push(slot);
    return slot;
  }
}
