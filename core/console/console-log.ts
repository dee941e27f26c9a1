// The rolling log of one node's serial console: `<data dir>/console/<node>.log`, the last 1 MiB of what the
// console printed, kept across daemon restarts. Appends are kept in memory and written to the file together, at
// most `flushMs` (20 ms) later or as soon as 64 KiB wait, so the console's hot path (SOL packet in → viewers → the
// log; bench/sol.ts) makes no disk write per packet — a daemon killed with SIGKILL loses at most those last
// milliseconds of output; every read (tail, lastLines) and close() writes what waits first, so readers never miss
// any. When the file passes twice the limit it is rewritten with its last `limit` bytes (a temp file renamed over
// it, so a crash leaves the old or the new file, never half of one). Files are created 0600 without following
// symlinks and checked like the other files of the data dir (core/safe-path.ts).
//
// File descriptors: the log holds one only between the first append and close() (the console manager closes it
// when the node's console ends), so a hall of nodes whose logs are read now and then holds none. Reading a log
// that holds no descriptor opens the file read-only for that read (without creating it: a node that never had a
// console reads as empty). close() leaves the object usable: the next append opens the file again.
import { closeSync, constants, fstatSync, openSync, readSync, renameSync, writeSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { checkOwnFile } from '../safe-path.ts';

export const CONSOLE_LOG_LIMIT = 1024 * 1024;
/** How long appended output may wait in memory before it is written (ConsoleLog's flushMs default). */
export const CONSOLE_LOG_FLUSH_MS = 20;
/** Appended output written at once when this much waits, without waiting for the timer. */
const FLUSH_BYTES = 64 * 1024;

function safeName(nodeId: string): string {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(nodeId) || nodeId.startsWith('.')) throw new Error(`not a node id usable as a file name: ${JSON.stringify(nodeId)}`);
  return `${nodeId}.log`;
}

function openPrivate(path: string, flags: number): number {
  checkOwnFile(path, 'console log');
  return openSync(path, flags | constants.O_NOFOLLOW, 0o600);
}

/** The last `n` bytes of the file open on `fd`, whose size is `size`. */
function readTail(fd: number, size: number, n: number): Buffer {
  const want = Math.min(n, size);
  const b = Buffer.alloc(want);
  let got = 0;
  while (got < want) {
    const r = readSync(fd, b, got, want - got, size - want + got);
    if (r <= 0) break;
    got += r;
  }
  return b.subarray(0, got);
}

export class ConsoleLog {
  readonly path: string;
  /** open only while appending (between the first append and close()) */
  private fd: number | null = null;
  /** bytes in the file (not counting `waiting`) */
  private size = 0;
  /** appended, not written yet (at most FLUSH_BYTES, for at most flushMs) */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(dir: string, nodeId: string, readonly limit = CONSOLE_LOG_LIMIT, readonly flushMs = CONSOLE_LOG_FLUSH_MS) {
    this.path = join(dir, safeName(nodeId));
  }

  /** True while the log holds a file descriptor. */
  get isOpen(): boolean { return this.fd !== null; }

  private openForAppend(): number {
    if (this.fd === null) {
      const fd = openPrivate(this.path, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND);
      this.size = fstatSync(fd).size;
      this.fd = fd;
    }
    return this.fd;
  }

  /** Adds output to the log: written within `flushMs` (at once when 64 KiB wait); the caller may reuse `data`. */
  append(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.fd === null) this.openForAppend(); // held from the first append (module comment), written at the flush
    this.waiting.push(Buffer.from(data));
    this.waitingBytes += data.length;
    if (this.waitingBytes >= FLUSH_BYTES) { this.flush(); return; }
    if (!this.timer) {
      // a failed write (disk full, the folder removed) costs the log that output, never the daemon or the console
      this.timer = setTimeout(() => { this.timer = null; try { this.flush(); } catch { /* dropped: see above */ } }, this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes what was appended and waits (a no-op when nothing waits). */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.waitingBytes === 0) return;
    const data = this.waiting.length === 1 ? this.waiting[0]! : Buffer.concat(this.waiting, this.waitingBytes);
    this.waiting = [];
    this.waitingBytes = 0;
    const fd = this.openForAppend();
    for (let off = 0; off < data.length;) off += writeSync(fd, data, off);
    this.size += data.length;
    if (this.size > 2 * this.limit) this.trim();
  }

  /** Rewrites the file with its last `limit` bytes. */
  private trim(): void {
    const keep = this.tail(this.limit);
    const tmp = `${this.path}.tmp`;
    try { unlinkSync(tmp); } catch { /* none */ }
    const t = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try { writeSync(t, keep); } finally { closeSync(t); }
    renameSync(tmp, this.path);
    this.close();
    this.openForAppend();
  }

  /** The last `bytes` bytes (at most `limit`); empty when there is no log yet. */
  tail(bytes = this.limit): Buffer {
    const n = Math.min(bytes, this.limit);
    this.flush();
    if (this.fd !== null) return readTail(this.fd, this.size, n);
    let fd: number;
    try {
      fd = openPrivate(this.path, constants.O_RDONLY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw err;
    }
    try { return readTail(fd, fstatSync(fd).size, n); } finally { closeSync(fd); }
  }

  /** The last `n` lines as text (control sequences left in; the UI's terminal or a log view renders them). */
  lastLines(n: number): string[] {
    const lines = this.tail(64 * 1024).toString('utf8').split(/\r?\n/);
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n);
  }

  /** Writes what waits, then lets the file descriptor go (the next append opens the file again). */
  close(): void {
    try { this.flush(); } catch { /* the file went away: nothing to keep it in */ }
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try { closeSync(fd); } catch { /* closed */ }
  }
}
