// Worker thread of extent-map.ts: reads a raw image file once, in 4 MiB reads, hashing every byte (the file's
// SHA-256) and folding its 4 KiB blocks into data and zero extents (extent-fold.ts), hashing the data extents' bytes
// on the side (the SHA-256 and the Fletcher-4 an agent's read-back of the data extents must give).
import { parentPort, workerData } from 'node:worker_threads';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { BLOCK, ExtentFolder } from './extent-fold.ts';
import { Fletcher4 } from './fletcher4.ts';
import type { MapWorkerOut } from './extent-map.ts';

const { path, minZero } = workerData as { path: string; minZero: number };
const port = parentPort!;
const post = (m: MapWorkerOut) => port.postMessage(m);

try {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const file = createHash('sha256');
    const data = createHash('sha256');
    const dataSum = new Fletcher4();
    const folder = new ExtentFolder({ update: (b: Uint8Array) => { data.update(b); dataSum.update(b); } }, minZero);
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    let done = 0;
    let lastReport = Date.now();
    for (;;) {
      // fill the buffer completely (short reads happen), so blocks never straddle two reads
      let n = 0;
      for (;;) {
        const got = readSync(fd, buf, n, buf.length - n, done + n);
        if (got === 0) break;
        n += got;
        if (n === buf.length) break;
      }
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      file.update(chunk);
      for (let off = 0; off < n; off += BLOCK) folder.block(chunk.subarray(off, Math.min(off + BLOCK, n)));
      done += n;
      if (Date.now() - lastReport >= 200) { post({ type: 'progress', done }); lastReport = Date.now(); }
      if (n < buf.length) break;
    }
    const extents = folder.end();
    post({ type: 'done', extents, size: done, fileSha256: file.digest('hex'), dataSha256: data.digest('hex'), dataFletcher4: dataSum.hex() });
  } finally {
    closeSync(fd);
  }
} catch (err) {
  post({ type: 'error', message: (err as Error).message ?? String(err) });
}
port.close();
