// Worker threads that run read transfers, so transfers use more than one core (each transfer owns its socket,
// so transfers are independent). The main thread keeps the listening socket, the handler and the bookkeeping;
// it hands a worker two descriptors — a dup of the bound transfer socket and the file's fd — and gets the
// outcome back. Only range files that expose `fd` can move; everything else runs on the main thread.
import type { Socket } from 'node:dgram';
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
  /** resolves once the worker has loaded its modules (or has failed: then the slot is gone) */
  ready: Promise<void>;
}

/** How long start-up waits for the workers to load before it goes on without them being ready. */
const READY_WAIT_MS = 30_000;

const WORKER_URL = new URL(`./transfer-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** Start a worker on the transfer module; under tsx (a .ts module) the worker registers tsx first. */
function startWorker(): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL);
  const api = import.meta.resolve('tsx/esm/api');
  const src = `const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(WORKER_URL.href)});`;
  return new Worker(src, { eval: true, type: 'module' } as ConstructorParameters<typeof Worker>[1]);
}

export class TransferPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  /** `size` workers, started on first use. */
  constructor(private readonly size: number) {}

  /**
   * Run a transfer on the least busy worker. On success the caller's `socket` is closed here (the worker owns a
   * dup of it) and the caller keeps the file open until `done` resolves. Null when the socket's descriptor cannot
   * be duplicated or the pool is closed: the caller runs the transfer itself, with `socket` untouched.
   */
  run(p: PooledTransferParams): { done: Promise<TransferOutcome>; abort(reason: string): void } | null {
    if (this.closed || this.size < 1) return null;
    const socketFd = dupSocketFd(p.socket);
    if (socketFd === null) return null;
    try { p.socket.close(); } catch { /* closed */ }
    const slot = this.pick();
    const id = this.nextId++;
    const done = new Promise<TransferOutcome>((resolve) => slot.pending.set(id, resolve));
    if (slot.pending.size === 1) slot.worker.ref();
    const { socket: _socket, ...rest } = p;
    slot.worker.postMessage({ type: 'start', id, socketFd, ...rest } satisfies ToWorker);
    return { done, abort: (reason) => slot.worker.postMessage({ type: 'abort', id, reason } satisfies ToWorker) };
  }

  /** Wait up to `graceMs` for running transfers to report (abort them first), then end the workers. */
  async close(graceMs = 2000): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + graceMs;
    while (this.slots.some((s) => s.pending.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
    this.closed = false; // a restarted server starts workers again
  }

  /**
   * Start every worker now and resolve once all have loaded (at most READY_WAIT_MS), so the first transfers neither
   * wait for a worker nor share the CPU with one that is still compiling its modules.
   */
  async warm(): Promise<void> {
    while (!this.closed && this.slots.length < this.size) this.pick(true);
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

  private pick(fresh = false): Slot {
    if (fresh || this.slots.length < this.size) {
      let loaded!: () => void;
      const slot: Slot = { worker: startWorker(), pending: new Map(), ready: new Promise<void>((r) => (loaded = r)) };
      slot.worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') { loaded(); return; }
        const resolve = slot.pending.get(m.id);
        slot.pending.delete(m.id);
        if (slot.pending.size === 0) slot.worker.unref();
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
      this.slots.push(slot);
      return slot;
    }
    return this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }
}
