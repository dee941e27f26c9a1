// The rolling log of one node's serial console: `<data dir>/console/<node>.log`, the last 1 MiB of what the
// console printed, kept across daemon restarts. Appends go straight to the file; when it passes twice the limit
// it is rewritten with its last `limit` bytes (a temp file renamed over it, so a crash leaves the old or the new
// file, never half of one). Files are created 0600 without following symlinks and checked like the other
// files of the data dir (core/safe-path.ts).
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

export class ConsoleLog {
  readonly path: string;
  private fd: number;
  private size: number;

  constructor(dir: string, nodeId: string, readonly limit = CONSOLE_LOG_LIMIT) {
    this.path = join(dir, safeName(nodeId));
    this.fd = openPrivate(this.path, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND);
    this.size = fstatSync(this.fd).size;
  }

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    writeSync(this.fd, data);
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
    closeSync(this.fd);
    this.fd = openPrivate(this.path, constants.O_RDWR | constants.O_APPEND);
    this.size = keep.length;
  }

  /** The last `bytes` bytes (at most `limit`). */
  tail(bytes = this.limit): Buffer {
    const n = Math.min(bytes, this.limit, this.size);
    const b = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, b, got, n - got, this.size - n + got);
      if (r <= 0) break;
      got += r;
    }
    return b.subarray(0, got);
  }

  /** The last `n` lines as text (control sequences left in; the UI's terminal or a log view renders them). */
  lastLines(n: number): string[] {
    const lines = this.tail(64 * 1024).toString('utf8').split(/\r?\n/);
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n);
  }

  close(): void { try { closeSync(this.fd); } catch { /* closed */ } }
}
