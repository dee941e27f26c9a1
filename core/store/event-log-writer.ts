// The main thread's side of the event log writer: hands batches of rows to event-log-worker.ts and can wait,
// synchronously, until everything handed over is written. If the worker fails, stops answering or exits, the
// writer writes on the caller's own connection from then on, starting with every batch not known to be written
// (INSERT OR IGNORE, so rows the worker did write are not doubled): slower, but nothing is lost.
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { insertEventRows, type EventRow } from './event-log-db.ts';
import type { Db } from '../db.ts';
import { CLOSED, FAILED, MARKS_BYTES, READY, WRITTEN, type WriterData, type WriterMessage, type WriterReply } from './event-log-protocol.ts';

const WORKER_URL = new URL(`./event-log-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
/** how long a read waits for the worker to start (loading tsx and SQLite on a busy machine) … */
const START_WAIT_MS = 30_000;
/** … and then for a batch, before writing the rows itself */
const WAIT_MS = 5000;

/**
 * The worker's V8 young generation (MB). Node's default lets each isolate's young generation grow to ~48 MB, which
 * a thread that only hands rows to SQLite never needs: capped, the daemon's RSS is ~25 MB smaller (bench/hall.ts).
 */
const YOUNG_GENERATION_MB = 4;

/** Start the worker; under tsx (a .ts module) it registers tsx first. */
function startWorker(data: WriterData): Worker {
  const transferList = [data.failures];
  const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB };
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { workerData: data, transferList, resourceLimits });
  // tsx's CommonJS hooks, in the worker's own thread: its ESM hooks (tsx/esm/api) start one more loader thread, a
  // whole V8 isolate (~10-20 MB of RSS) per worker, for the few modules this worker loads once. tsx by absolute
  // path: an eval worker's require() searches from the working directory (a root daemon started in a folder other
  // users can write must not load their tsx). ESBUILD_WORKER_THREADS=0: esbuild's synchronous transform, which those
  // hooks call, would otherwise keep a thread of its own (one more isolate) in the worker for good.
  const tsx = fileURLToPath(import.meta.resolve('tsx/cjs/api'));
  const src = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(fileURLToPath(WORKER_URL))});`;
  return new Worker(src, { eval: true, workerData: data, transferList, resourceLimits, env: { ...process.env, ESBUILD_WORKER_THREADS: '0' } });
}

export class EventLogWriter {
  private readonly marks = new BigInt64Array(new SharedArrayBuffer(MARKS_BYTES));
  private worker: Worker | null;
  /** batches posted and not yet known written, oldest first (re-written here if the worker fails) */
  private inFlight: EventRow[][] = [];
  private lastPosted = 0;
  /** the worker's failure reports (WriterReply) */
  private readonly failures: MessagePort;

  /** `path`: the event log file (created by openEventLogDb); `fallback`: a connection to the same file. */
  constructor(path: string, private readonly fallback: Db, private readonly warn: (msg: string) => void, keep: number) {
    const { port1, port2 } = new MessageChannel();
    this.failures = port1;
    port1.unref();
    port1.on('message', (m: WriterReply) => this.giveUp(`event log worker could not write (${m.message})`));
    const w = startWorker({ path, marks: this.marks.buffer as SharedArrayBuffer, failures: port2, keep });
    w.unref();
    w.on('error', (err) => this.giveUp(`event log worker failed: ${err.message}`));
    w.on('exit', (code) => this.giveUp(`event log worker exited (code ${code})`));
    this.worker = w;
  }

  /** Hand rows (ids increasing, after every earlier batch) to the writer. */
  write(rows: EventRow[]): void {
    if (rows.length === 0) return;
    if (!this.worker) { this.writeHere([rows]); return; }
    const done = Number(Atomics.load(this.marks, WRITTEN));
    while (this.inFlight.length > 0 && lastId(this.inFlight[0]!) <= done) this.inFlight.shift();
    this.inFlight.push(rows);
    this.lastPosted = lastId(rows);
    this.worker.postMessage({ type: 'rows', rows } satisfies WriterMessage);
  }

  /** Block until every row handed over so far is written (by the worker, or here if it failed or timed out). */
  waitWritten(): void {
    if (!this.worker) return;
    if (Atomics.load(this.marks, READY) === 0n && Atomics.wait(this.marks, READY, 0n, START_WAIT_MS) === 'timed-out') {
      this.giveUp(`event log worker did not start within ${START_WAIT_MS / 1000} s`);
      return;
    }
    const target = BigInt(this.lastPosted);
    const deadline = Date.now() + WAIT_MS;
    let done = Atomics.load(this.marks, WRITTEN);
    while (done < target) {
      if (Atomics.load(this.marks, FAILED) !== 0n) {
        const m = receiveMessageOnPort(this.failures)?.message as WriterReply | undefined;
        this.giveUp(`event log worker could not write (${m?.message ?? 'no reason given'})`);
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) { this.giveUp(`event log worker did not answer within ${WAIT_MS} ms`); return; }
      Atomics.wait(this.marks, WRITTEN, done, left);
      done = Atomics.load(this.marks, WRITTEN);
    }
    this.inFlight = [];
  }

  /** Write what is handed over, close the worker's database and stop it (blocks at most a few seconds). */
  close(): void {
    this.waitWritten();
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    w.postMessage({ type: 'close' } satisfies WriterMessage);
    Atomics.wait(this.marks, CLOSED, 0n, WAIT_MS);
    void w.terminate();
    this.failures.close();
  }

  /** Stop using the worker; write every batch not known to be written here. Never throws. */
  private giveUp(why: string): void {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    this.warn(`${why}; writing events on the main thread from now on`);
    void w.terminate();
    this.failures.close();
    const batches = this.inFlight;
    this.inFlight = [];
    this.writeHere(batches);
  }

  /** Write batches on the fallback connection (a row that breaks a constraint is skipped). Never throws. */
  private writeHere(batches: EventRow[][]): void {
    if (batches.length === 0) return;
    if (!this.fallback.open) { this.warn(`${batches.reduce((n, b) => n + b.length, 0)} events not written: the event log is closed`); return; }
    try {
      this.fallback.transaction(() => { for (const rows of batches) insertEventRows(this.fallback, rows, true); })();
    } catch (err) {
      this.warn(`${batches.reduce((n, b) => n + b.length, 0)} events not written: ${(err as Error).message}`);
    }
  }
}

const lastId = (rows: EventRow[]): number => rows[rows.length - 1]![0] as number;
