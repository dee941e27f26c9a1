// Worker thread of raw-writer.ts: the CPU-heavy part of an import (SHA-256, zero detection, positional writes) off
// the serving thread. Two modes (workerData.mode):
//   write — receive buffers, hash them, write only the non-zero 4 KiB blocks (holes stay holes: a sparse file),
//           set the final length, fsync; every buffer goes back to the sender (its backpressure and its reuse).
//   hash  — read an existing file (qemu-img's output) and hash it, reporting progress.
import { parentPort, workerData } from 'node:worker_threads';
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { RawWorkerData, RawWorkerIn, RawWorkerOut } from './raw-writer.ts';

const BLOCK = 4096;
const STAGE = 1024 * 1024;
const ZERO = Buffer.alloc(BLOCK);

const data = workerData as RawWorkerData;
const port = parentPort!;
const post = (m: RawWorkerOut) => port.postMessage(m);

function fail(err: unknown): void {
  post({ type: 'error', message: (err as Error).message ?? String(err) });
}

if (data.mode === 'write') {
  let fd: number;
  try {
    fd = openSync(data.path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    fail(err);
    throw err;
  }
  const hash = createHash('sha256');
  const stage = Buffer.allocUnsafe(STAGE);
  let fill = 0;
  /** file offset of stage[0] */
  let pos = 0;

  /** Write the non-zero blocks of stage[0..len) (runs coalesced) at `pos`. */
  const flush = (len: number) => {
    let runStart = -1;
    for (let i = 0; i < len; i += BLOCK) {
      const end = Math.min(i + BLOCK, len);
      const zero = end - i === BLOCK ? stage.subarray(i, end).equals(ZERO) : stage.subarray(i, end).equals(ZERO.subarray(0, end - i));
      if (!zero && runStart < 0) runStart = i;
      if (zero && runStart >= 0) { writeAll(fd, stage, runStart, i - runStart, pos + runStart); runStart = -1; }
    }
    if (runStart >= 0) writeAll(fd, stage, runStart, len - runStart, pos + runStart);
    pos += len;
    fill = 0;
  };

  port.on('message', (m: RawWorkerIn) => {
    try {
      if (m.type === 'data') {
        const chunk = Buffer.from(m.buf, 0, m.length);
        hash.update(chunk);
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(STAGE - fill, chunk.length - off);
          chunk.copy(stage, fill, off, off + n);
          fill += n; off += n;
          if (fill === STAGE) flush(STAGE);
        }
        // the buffer goes back to the serving thread for its next chunk
        port.postMessage({ type: 'ack', bytes: chunk.length, buf: m.buf } satisfies RawWorkerOut, [m.buf]);
      } else if (m.type === 'end') {
        flush(fill);
        ftruncateSync(fd, pos);
        fsyncSync(fd);
        const st = fstatSync(fd);
        closeSync(fd);
        post({ type: 'done', sha256: hash.digest('hex'), size: pos, diskBytes: st.blocks * 512 });
        port.close();
      }
    } catch (err) {
      fail(err);
    }
  });
} else {
  try {
    const fd = openSync(data.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(4 * STAGE);
    let done = 0;
    let lastReport = Date.now();
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, done);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      done += n;
      if (Date.now() - lastReport >= 200) { post({ type: 'progress', done }); lastReport = Date.now(); }
    }
    const st = fstatSync(fd);
    closeSync(fd);
    post({ type: 'done', sha256: hash.digest('hex'), size: done, diskBytes: st.blocks * 512 });
  } catch (err) {
    fail(err);
  }
  port.close();
}

function writeAll(fd: number, b: Buffer, off: number, len: number, at: number): void {
  while (len > 0) {
    const n = writeSync(fd, b, off, len, at);
    off += n; len -= n; at += n;
  }
}
