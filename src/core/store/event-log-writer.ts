// The main thread's side of the event log writer: hands batches of rows to event-log-worker.ts and can wait,
// synchronously, until a given id is written. If the worker fails or stops answering, the writer falls back to
// writing on the caller's own connection (INSERT OR IGNORE, so rows the worker may have written are not doubled):
// slower, but nothing is lost.
import { Worker } from 'node:worker_threads';
import { insertEventRows, type EventRow } from './event-log-db.ts';
import type { Db } from '../db.ts';
import type { WriterData, WriterMessage, WriterReply } from './event-log-worker.ts';

const WORKER_URL = new URL(`./event-log-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
/** how long a read waits for the worker before writing the rows itself */
const WAIT_MS = 5000;

/** Start the worker; under tsx (a .ts module) it registers tsx first. */
function startWorker(data: WriterData): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { workerData: data });
  const api = import.meta.resolve('tsx/esm/api');
  const src = `const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(WORKER_URL.href)});`;
  return new Worker(src, { eval: true, type: 'module', workerData: data } as ConstructorParameters<typeof Worker>[1]);
}

export class EventLogWriter {
  private readonly marks = new BigInt64Array(new SharedArrayBuffer(16));
  private worker: Worker | null;
  /** batches posted and not yet known written, oldest first (re-written here if the worker fails) */
  private inFlight: EventRow[][] = [];
  private lastPosted = 0;

  /** `path`: the event log file (created by openEventLogDb); `fallback`: a connection to the same file. */
  constructor(path: string, private readonly fallback: Db, private readonly warn: (msg: string) => void) {
    const w = startWorker({ path, written: this.marks.buffer as SharedArrayBuffer });
    w.unref();
    w.on('message', (m: WriterReply) => { this.warn(`event log worker could not write ${m.rows.length} events (${m.message}); writing them here`); this.writeHere([m.rows]); });
    w.on('error', (err) => this.giveUp(`event log worker failed: ${err.message}`));
    w.on('exit', (code) => { if (this.worker) this.giveUp(`event log worker exited (code ${code})`); });
    this.worker = w;
  }

  /** Hand rows (ids increasing, after every earlier batch) to the writer. */
  write(rows: EventRow[]): void {
    if (rows.length === 0) return;
    if (!this.worker) { this.writeHere([rows]); return; }
    const done = Number(Atomics.load(this.marks, 0));
    while (this.inFlight.length > 0 && (this.inFlight[0]![this.inFlight[0]!.length - 1]![0] as number) <= done) this.inFlight.shift();
    this.inFlight.push(rows);
    this.lastPosted = rows[rows.length - 1]![0] as number;
    this.worker.postMessage({ type: 'rows', rows } satisfies WriterMessage);
  }

  /** Block until every row handed over so far is written (falls back to writing them here after WAIT_MS). */
  waitWritten(): void {
    if (!this.worker) return;
    const target = BigInt(this.lastPosted);
    const deadline = Date.now() + WAIT_MS;
    let done = Atomics.load(this.marks, 0);
    while (done < target) {
      const left = deadline - Date.now();
      if (left <= 0) { this.giveUp(`event log worker did not answer within ${WAIT_MS} ms`); return; }
      Atomics.wait(this.marks, 0, done, left);
      done = Atomics.load(this.marks, 0);
    }
    this.inFlight = [];
  }

  /** Write what is handed over, close the worker's database and stop it (blocks up to WAIT_MS). */
  close(): void {
    this.waitWritten();
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    w.postMessage({ type: 'close' } satisfies WriterMessage);
    Atomics.wait(this.marks, 1, 0n, WAIT_MS);
    void w.terminate();
  }

  private giveUp(why: string): void {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    this.warn(`${why}; writing events on the main thread from now on`);
    void w.terminate();
    this.writeHere(this.inFlight);
    this.inFlight = [];
  }

  private writeHere(batches: EventRow[][]): void {
    if (batches.length === 0 || !this.fallback.open) return;
    this.fallback.transaction(() => { for (const rows of batches) insertEventRows(this.fallback, rows, true); })();
  }
}
