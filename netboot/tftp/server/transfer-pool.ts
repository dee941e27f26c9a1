// Worker threads that run read transfers, so transfers use more than one core (each transfer owns its socket,
// so transfers are independent). The main thread keeps the listening socket, the handler and the bookkeeping;
// it hands a worker two descriptors — a dup of the bound transfer socket and the file's fd — and gets the
// outcome back. Only range files that expose `fd` can move; everything else runs on the main thread.
//
// Workers cost memory (a V8 isolate each, ~10 MB), so they run only while there are transfers: the first transfer
// that could use one starts them all, and runs on the calling thread (as do the ones after it) until a worker has
// loaded; once every worker has been idle for `idleMs` they are ended, and the next transfer starts them again.
import type { Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { dupSocketFd } from './socket-fd.ts';
import type { TransferOutcome, TransferSettings } from './transfer.ts';
import type { FromWorker, ToWorker } from './transfer-worker.ts';

export interface PooledTransferParams extends TransferSettings {
  socket: Socket;
  fileFd: number;
  size: number;
  logLevel: string;
}

interface Slot {
  worker: Worker;
  pending: Map<number, (o: TransferOutcome) => void>;
  /** true once the worker has loaded its modules */
  loaded: boolean;
  /** resolves once the worker has loaded its modules (or has failed: then the slot is gone) */
  ready: Promise<void>;
}

/** What the pool is doing now (TftpServer.transferWorkers()). */
export interface TransferPoolState {
  /** worker threads running (loading or loaded) */
  running: number;
  /** of them, loaded and taking transfers */
  loaded: number;
  /** transfers handed to a worker since the pool was made */
  transfers: number;
  /** times the workers were started (the first transfer after creation or after an idle stop) */
  starts: number;
}

/** How long warm() waits for the workers to load before it returns without them being ready. */
const READY_WAIT_MS = 30_000;
/** Default idle time after which the workers are ended. */
export const DEFAULT_WORKER_IDLE_MS = 60_000;
/**
 * A worker's V8 young generation (MB): a transfer allocates little (its window buffers are reused), and Node's
 * default (up to ~48 MB an isolate) would be resident for nothing.
 */
const YOUNG_GENERATION_MB = 4;

const WORKER_URL = new URL(`./transfer-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * Start a worker on the transfer module. Under tsx (a .ts module) the worker loads it through tsx's CommonJS hooks,
 * in the worker's own thread: tsx's ESM hooks (tsx/esm/api) would start one more loader thread, a whole V8 isolate,
 * per worker. ESBUILD_WORKER_THREADS=0: esbuild's synchronous transform (what those hooks call) would otherwise keep
 * a thread of its own, another isolate, in every worker for the few modules it compiles once.
 */
function startWorker(): Worker {
  const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB };
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { resourceLimits });
  // tsx by absolute path: an eval worker's require() would search from the working directory
  const tsx = fileURLToPath(import.meta.resolve('tsx/cjs/api'));
  const src = `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(fileURLToPath(WORKER_URL))});`;
  return new Worker(src, { eval: true, resourceLimits, env: { ...process.env, ESBUILD_WORKER_THREADS: '0' } });
}

export class TransferPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private transfers = 0;
  private starts = 0;
  private idleTimer: NodeJS.Timeout | null = null;

  /** Up to `size` workers, started by the first transfer that can use one and ended after `idleMs` without any. */
  constructor(private readonly size: number, private readonly idleMs = DEFAULT_WORKER_IDLE_MS) {}

  /**
   * Run a transfer on the least busy loaded worker. On success the caller's `socket` is closed here (the worker owns
   * a dup of it) and the caller keeps the file open until `done` resolves. Null when no worker has loaded yet (this
   * call then starts them), when the socket's descriptor cannot be duplicated or when the pool is closed: the caller
   * runs the transfer itself, with `socket` untouched.
   */
  run(p: PooledTransferParams): { done: Promise<TransferOutcome>; abort(reason: string): void } | null {
    if (this.closed || this.size < 1) return null;
    this.startAll();
    this.armIdle();
    const slot = this.pick();
    if (!slot) return null;
    const socketFd = dupSocketFd(p.socket);
    if (socketFd === null) return null;
    try { p.socket.close(); } catch { /* closed */ }
    const id = this.nextId++;
    this.transfers++;
    const done = new Promise<TransferOutcome>((resolve) => slot.pending.set(id, resolve));
    if (slot.pending.size === 1) slot.worker.ref();
    const { socket: _socket, ...rest } = p;
    slot.worker.postMessage({ type: 'start', id, socketFd, ...rest } satisfies ToWorker);
    return { done, abort: (reason) => slot.worker.postMessage({ type: 'abort', id, reason } satisfies ToWorker) };
  }

  state(): TransferPoolState {
    return { running: this.slots.length, loaded: this.slots.filter((s) => s.loaded).length, transfers: this.transfers, starts: this.starts };
  }

  /** Wait up to `graceMs` for running transfers to report (abort them first), then end the workers. */
  async close(graceMs = 2000): Promise<void> {
    this.closed = true;
    this.disarmIdle();
    const deadline = Date.now() + graceMs;
    while (this.slots.some((s) => s.pending.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
    this.closed = false; // a restarted server starts workers again
  }

  /**
   * Start every worker now and resolve once all have loaded (at most READY_WAIT_MS), so that the next transfers run
   * on them (tests and the benchmark's standalone server use this; the daemon leaves it to the first transfer). The
   * idle timer still ends them later.
   */
  async warm(): Promise<void> {
    this.startAll();
    this.armIdle();
    const slots = [...this.slots];
    for (const s of slots) s.worker.ref(); // workers are unref'd while idle; the wait must keep the process up
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => { timer = setTimeout(r, READY_WAIT_MS); });
    try {
      await Promise.race([Promise.all(slots.map((s) => s.ready)), timeout]);
    } finally {
      clearTimeout(timer);
      for (const s of slots) if (s.pending.size === 0) s.worker.unref();
    }
  }

  /** (Re)start the idle countdown; it ends the workers when it runs out with every worker loaded and without a transfer. */
  private armIdle(): void {
    this.disarmIdle();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.slots.some((s) => s.pending.size > 0 || !s.loaded)) { this.armIdle(); return; } // busy, or still loading
      for (const s of this.slots.splice(0)) void s.worker.terminate();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private disarmIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Start workers up to `size` (none when they all run). */
  private startAll(): void {
    if (this.closed || this.slots.length >= this.size) return;
    if (this.slots.length === 0) this.starts++;
    while (this.slots.length < this.size) this.slots.push(this.startSlot());
  }

  /** The least busy loaded worker, or null when none has loaded. */
  private pick(): Slot | null {
    let best: Slot | null = null;
    for (const s of this.slots) if (s.loaded && (!best || s.pending.size < best.pending.size)) best = s;
    return best;
  }

  private startSlot(): Slot {
    let loaded!: () => void;
    const slot: Slot = { worker: startWorker(), pending: new Map(), loaded: false, ready: new Promise<void>((r) => (loaded = r)) };
    slot.worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') { slot.loaded = true; loaded(); return; }
      const resolve = slot.pending.get(m.id);
      slot.pending.delete(m.id);
      if (slot.pending.size === 0) { slot.worker.unref(); this.armIdle(); }
      resolve?.(m.outcome);
    });
    const failAll = (reason: string) => {
      loaded();
      for (const resolve of slot.pending.values()) resolve({ ok: false, reason, bytes: 0, retransmits: 0, clientAborted: false });
      slot.pending.clear();
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
    };
    slot.worker.on('error', (err) => failAll(`transfer worker failed: ${err.message}`));
    slot.worker.on('exit', (code) => failAll(`transfer worker exited (${code})`));
    slot.worker.unref();
    return slot;
  }
}
