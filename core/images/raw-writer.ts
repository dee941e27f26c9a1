// The serving thread's side of raw-writer-worker.ts. `RawFileWriter` is a Writable that packs the chunks written to
// it into 1 MiB buffers and transfers each to a worker thread, which hashes it, writes it sparsely and transfers the
// buffer back for reuse; when all BUFFERS are with the worker, write() waits (backpressure up to the upload socket).
// Reusing the buffers matters: copying into fresh memory cost ~2 ms per MiB of page faults on the serving thread of
// a busy VM (a 512 MiB import: p99 event-loop delay 60 ms); into warm buffers it is a plain memcpy.
// `hashFile()` hashes an existing file in a worker.
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';

export type RawWorkerData = { mode: 'write'; path: string } | { mode: 'hash'; path: string };
export type RawWorkerIn = { type: 'data'; buf: ArrayBuffer; length: number } | { type: 'end' };
export type RawWorkerOut =
  | { type: 'ack'; bytes: number; buf: ArrayBuffer }
  | { type: 'progress'; done: number }
  | { type: 'done'; sha256: string; size: number; diskBytes: number }
  | { type: 'error'; message: string };

export interface RawResult {
  /** lower-case hex SHA-256 of the file's bytes */
  sha256: string;
  size: number;
  /** bytes allocated on disk (st_blocks × 512) */
  diskBytes: number;
}

const WORKER_URL = new URL(`./raw-writer-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
/** size of the buffers handed to the worker, and how many there are (at most BUF × BUFFERS bytes in flight) */
const BUF = 1024 * 1024;
const BUFFERS = 16;

/** tsx's API, resolved once when this module loads: import.meta.resolve under tsx blocks the serving thread on the
 *  loader thread (~150 ms on a busy machine), which must not happen per import */
const TSX_API = WORKER_URL.pathname.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : null;

/** Start the worker; under tsx (a .ts module) it registers tsx first (as event-log-writer.ts does). */
function startWorker(data: RawWorkerData): Worker {
  if (!TSX_API) return new Worker(WORKER_URL, { workerData: data });
  const src = `const { register } = await import(${JSON.stringify(TSX_API)}); register(); await import(${JSON.stringify(WORKER_URL.href)});`;
  return new Worker(src, { eval: true, type: 'module', workerData: data } as ConstructorParameters<typeof Worker>[1]);
}

/**
 * Writes a new file at `path` (created O_EXCL, mode 0600: it must not exist) as a sparse copy of what is written to
 * it. `result` settles after `end()`: the digest, length and allocation, with the file fsynced.
 */
export class RawFileWriter extends Writable {
  readonly result: Promise<RawResult>;
  private readonly worker: Worker;
  /** buffers back from the worker, ready for reuse */
  private readonly pool: ArrayBuffer[] = [];
  private allocated = 0;
  /** the buffer being filled */
  private cur: Buffer | null = null;
  private curFill = 0;
  /** a write() waiting for a buffer: resumes it, or ends it with the failure */
  private waiting: ((err: Error | null) => void) | null = null;
  private finish: ((r: RawResult) => void) | null = null;
  private failure: Error | null = null;
  private readonly reject: (e: Error) => void;

  constructor(path: string) {
    super({ highWaterMark: 1024 * 1024 });
    let resolve!: (r: RawResult) => void;
    let reject!: (e: Error) => void;
    this.result = new Promise<RawResult>((res, rej) => { resolve = res; reject = rej; });
    this.reject = reject;
    this.result.catch(() => undefined);
    this.worker = startWorker({ mode: 'write', path });
    this.worker.on('message', (m: RawWorkerOut) => {
      if (m.type === 'ack') {
        this.pool.push(m.buf);
        const w = this.waiting; this.waiting = null;
        if (w) w(null);
      } else if (m.type === 'done') {
        const r = { sha256: m.sha256, size: m.size, diskBytes: m.diskBytes };
        resolve(r);
        this.finish?.(r);
      } else if (m.type === 'error') {
        this.fail(new Error(m.message));
      }
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => { if (code !== 0) this.fail(new Error(`raw writer worker exited (code ${code})`)); });
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.reject(err);
    const w = this.waiting; this.waiting = null;
    if (w) w(err);
    this.destroy(err);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let off = 0;
    const step = (err: Error | null): void => {
      if (err ?? this.failure) { cb(err ?? this.failure); return; }
      while (off < chunk.length) {
        if (!this.cur) {
          const ab = this.pool.pop() ?? (this.allocated < BUFFERS ? (this.allocated++, new ArrayBuffer(BUF)) : null);
          if (!ab) { this.waiting = step; return; }
          this.cur = Buffer.from(ab);
          this.curFill = 0;
        }
        const n = Math.min(BUF - this.curFill, chunk.length - off);
        chunk.copy(this.cur, this.curFill, off, off + n);
        this.curFill += n;
        off += n;
        if (this.curFill === BUF) this.send();
      }
      cb();
    };
    step(null);
  }

  /** Transfer the buffer being filled to the worker. */
  private send(): void {
    const b = this.cur!;
    this.cur = null;
    this.worker.postMessage({ type: 'data', buf: b.buffer as ArrayBuffer, length: this.curFill } satisfies RawWorkerIn, [b.buffer as ArrayBuffer]);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.failure) { cb(this.failure); return; }
    if (this.cur && this.curFill > 0) this.send();
    this.finish = () => cb();
    this.worker.postMessage({ type: 'end' } satisfies RawWorkerIn);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // wait for the thread to stop: a caller that removes the file after 'close' must not race a last write
    this.worker.terminate().then(() => cb(err), () => cb(err));
  }
}

/** SHA-256, length and allocation of the file at `path`, computed in a worker; `onProgress(bytes hashed)`. */
export function hashFile(path: string, onProgress: (done: number) => void, signal?: AbortSignal): Promise<RawResult> {
  return new Promise<RawResult>((resolve, reject) => {
    const worker = startWorker({ mode: 'hash', path });
    const abort = () => { void worker.terminate(); reject(signal!.reason instanceof Error ? signal!.reason : new Error('aborted')); };
    if (signal?.aborted) { abort(); return; }
    signal?.addEventListener('abort', abort, { once: true });
    let settled = false;
    worker.on('message', (m: RawWorkerOut) => {
      if (m.type === 'progress') onProgress(m.done);
      else if (m.type === 'done') { settled = true; resolve({ sha256: m.sha256, size: m.size, diskBytes: m.diskBytes }); }
      else if (m.type === 'error') { settled = true; reject(new Error(m.message)); }
    });
    worker.on('error', (err) => { settled = true; reject(err); });
    worker.on('exit', (code) => {
      signal?.removeEventListener('abort', abort);
      if (!settled) reject(new Error(`hash worker exited (code ${code}) before finishing`));
    });
  });
}
