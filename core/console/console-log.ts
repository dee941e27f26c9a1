// The rolling log of one node's serial console: `<data dir>/console/<node>.log`, the last 1 MiB of what the
// console printed, kept across daemon restarts. Appends go straight to the file; when it passes twice the limit
// it is rewritten with its last `limit` bytes (a temp file renamed over it, so a crash leaves the old or the new
// file, never half of one). Files are created 0600 without following symlinks and checked like the other
// files of the data dir (core/safe-path.ts).
//
// File descriptors: the log holds one only between the first append and close() (the console manager closes it
// when the node's console ends), so a hall of nodes whose logs are read now and then holds none. Reading a log
// that holds no descriptor opens the file read-only for that read (without creating it: a node that never had a
// console reads as empty). close() leaves the object usable: the next append opens the file again.
import { closeSync, constants, fstatSync, openSync, readSync, renameSync, writeSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { checkOwnFile } from '../safe-path.ts';

export const CONSOLE_LOG_LIMIT = 1024 * 1024;

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
  private size = 0;

  constructor(dir: string, nodeId: string, readonly limit = CONSOLE_LOG_LIMIT) {
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

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    writeSync(this.openForAppend(), data);
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

  /** Lets the file descriptor go (the next append opens the file again). */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try { closeSync(fd); } catch { /* closed */ }
  }
}
