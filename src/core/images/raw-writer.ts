// The serving thread's side of raw-writer-worker.ts. `RawFileWriter` is a Writable that hands every chunk (copied,
// then transferred) to a worker thread, which hashes it and writes it sparsely; at most IN_FLIGHT bytes wait in the
// worker before the stream applies backpressure. `hashFile()` hashes an existing file in a worker.
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';

export type RawWorkerData = { mode: 'write'; path: string } | { mode: 'hash'; path: string };
export type RawWorkerIn = { type: 'data'; chunk: Uint8Array } | { type: 'end' };
export type RawWorkerOut =
  | { type: 'ack'; bytes: number }
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
/** bytes handed to the worker and not yet acknowledged before write() waits */
const IN_FLIGHT = 16 * 1024 * 1024;

/** Start the worker; under tsx (a .ts module) it registers tsx first (as event-log-writer.ts does). */
function startWorker(data: RawWorkerData): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { workerData: data });
  const api = import.meta.resolve('tsx/esm/api');
  const src = `const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(WORKER_URL.href)});`;
  return new Worker(src, { eval: true, type: 'module', workerData: data } as ConstructorParameters<typeof Worker>[1]);
}

/**
 * Writes a new file at `path` (created O_EXCL, mode 0600: it must not exist) as a sparse copy of what is written to
 * it. `result` settles after `end()`: the digest, length and allocation, with the file fsynced.
 */
export class RawFileWriter extends Writable {
  readonly result: Promise<RawResult>;
  private readonly worker: Worker;
  private inFlight = 0;
  private waiting: (() => void) | null = null;
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
        this.inFlight -= m.bytes;
        if (this.waiting && this.inFlight < IN_FLIGHT) { const w = this.waiting; this.waiting = null; w(); }
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
    if (w) w();
    this.destroy(err);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.failure) { cb(this.failure); return; }
    const copy = new Uint8Array(chunk);
    this.inFlight += copy.byteLength;
    this.worker.postMessage({ type: 'data', chunk: copy } satisfies RawWorkerIn, [copy.buffer]);
    if (this.inFlight < IN_FLIGHT) cb();
    else this.waiting = () => cb(this.failure);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.failure) { cb(this.failure); return; }
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
