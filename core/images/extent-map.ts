// The allocation of a ready image: which byte ranges hold data and which are zeros, so that a deploy sends and hashes
// only the data and has the agent zero the rest on the disk (BLKZEROOUT) instead of streaming zeros
// (docs/BENCHMARKS.md "Deploy": the 1.28 GiB lab-debian raw image is 41 % zeros).
//
// `mapImage(path, expectSha256)` reads the raw file once in a worker thread (extent-map-worker.ts): every 4 KiB block
// is data or zero; runs of zero blocks shorter than MIN_ZERO_RUN are folded into the data around them (each range
// costs the agent a dd of its own, which under QEMU's emulation is worth ~100-200 KiB of hashing). The SHA-256 of the
// whole file is computed in the same pass and must equal the image's: the map and `dataSha256` describe exactly the
// bytes whose digest the library recorded, so "the data ranges read back with `dataSha256` and every zero range reads
// back as zeros" is the same statement as "the disk holds the image" (the agent verifies both, the daemon compares).
// `ExtentMapCache` keeps one map per image id and digest in memory (recomputed after a restart: a few seconds).
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { BLOCK, MIN_ZERO_RUN, type Extent } from './extent-fold.ts';

export { BLOCK, MIN_ZERO_RUN };

export type { Extent } from './extent-fold.ts';

export interface ExtentMap {
  /** in disk order, adjacent, covering [0, size) */
  extents: Extent[];
  size: number;
  /** sum of the data extents' lengths: what the agent downloads and hashes */
  dataBytes: number;
  /** SHA-256 of the data extents concatenated in order */
  dataSha256: string;
  /** Fletcher-4 (fletcher4.ts) of the same bytes: the agent's fast read-back check */
  dataFletcher4: string;
  /** SHA-256 of the whole file as this pass read it */
  fileSha256: string;
}

export class ImageDamagedError extends Error {
  constructor(readonly expected: string, readonly actual: string) {
    super(`the library's copy of the image is damaged: its file now has SHA-256 ${actual}, not the ${expected} recorded at import (import the image again)`);
  }
}

const TEXTS = new WeakMap<ExtentMap, { text: string; sha256: string }>();

/** The map as the agent reads it: one `data|zero OFFSET LENGTH` line per extent (built once per map object). */
export function extentMapText(m: ExtentMap): string {
  return mapText(m).text;
}

/** SHA-256 (hex) of `extentMapText(m)`: the agent refuses a map whose text does not hash to it. */
export function extentMapTextSha256(m: ExtentMap): string {
  return mapText(m).sha256;
}

function mapText(m: ExtentMap): { text: string; sha256: string } {
  let t = TEXTS.get(m);
  if (!t) {
    const text = m.extents.map((e) => `${e.data ? 'data' : 'zero'} ${e.offset} ${e.length}\n`).join('');
    t = { text, sha256: createHash('sha256').update(text).digest('hex') };
    TEXTS.set(m, t);
  }
  return t;
}

export type MapWorkerOut =
  | { type: 'progress'; done: number }
  | { type: 'done'; extents: Extent[]; size: number; fileSha256: string; dataSha256: string; dataFletcher4: string }
  | { type: 'error'; message: string };

const WORKER_URL = new URL(`./extent-map-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
/** resolved once at load: under tsx, import.meta.resolve blocks the serving thread on the loader (raw-writer.ts) */
const TSX_API = WORKER_URL.pathname.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : null;

function startWorker(data: { path: string; minZero: number }): Worker {
  if (!TSX_API) return new Worker(WORKER_URL, { workerData: data });
  const src = `const { register } = await import(${JSON.stringify(TSX_API)}); register(); await import(${JSON.stringify(WORKER_URL.href)});`;
  return new Worker(src, { eval: true, type: 'module', workerData: data } as ConstructorParameters<typeof Worker>[1]);
}

/**
 * Map the raw file at `path` (in a worker). Rejects with ImageDamagedError when the file's SHA-256 is not
 * `expectSha256`, with Error when it cannot be read.
 */
export function mapImage(path: string, expectSha256: string, o: { minZero?: number; onProgress?: (done: number) => void } = {}): Promise<ExtentMap> {
  return new Promise<ExtentMap>((resolve, reject) => {
    const minZero = o.minZero ?? MIN_ZERO_RUN;
    const worker = startWorker({ path, minZero });
    // a map nobody waits for any more must not keep a stopping daemon alive
    worker.unref();
    let settled = false;
    worker.on('message', (m: MapWorkerOut) => {
      if (m.type === 'progress') { o.onProgress?.(m.done); return; }
      settled = true;
      if (m.type === 'error') { reject(new Error(`mapping the image file failed: ${m.message}`)); return; }
      if (m.fileSha256 !== expectSha256) { reject(new ImageDamagedError(expectSha256, m.fileSha256)); return; }
      const dataBytes = m.extents.reduce((s, e) => s + (e.data ? e.length : 0), 0);
      resolve({ extents: m.extents, size: m.size, dataBytes, dataSha256: m.dataSha256, dataFletcher4: m.dataFletcher4, fileSha256: m.fileSha256 });
    });
    worker.on('error', (err) => { settled = true; reject(err); });
    worker.on('exit', (code) => { if (!settled) reject(new Error(`the image mapping worker exited (code ${code}) before finishing`)); });
  });
}

/**
 * One map per image (id + digest), computed once and shared by every deploy of it; a failed computation is
 * forgotten so the next deploy tries again (a re-imported image has another id or digest anyway).
 */
export class ExtentMapCache {
  private readonly maps = new Map<string, Promise<ExtentMap>>();

  constructor(private readonly pathOf: (id: string) => string, private readonly minZero = MIN_ZERO_RUN) {}

  get(image: { id: string; sha256: string }): Promise<ExtentMap> {
    const key = `${image.id}:${image.sha256}`;
    let p = this.maps.get(key);
    if (!p) {
      p = mapImage(this.pathOf(image.id), image.sha256, { minZero: this.minZero });
      this.maps.set(key, p);
      p.catch(() => { if (this.maps.get(key) === p) this.maps.delete(key); });
    }
    return p;
  }

  /** The map when it is already computed, else null (never starts one). */
  async peek(image: { id: string; sha256: string }): Promise<ExtentMap | null> {
    const p = this.maps.get(`${image.id}:${image.sha256}`);
    if (!p) return null;
    try { return await p; } catch { return null; }
  }

  /** Forget an image's maps (removed). */
  forget(id: string): void {
    for (const k of [...this.maps.keys()]) if (k.startsWith(`${id}:`)) this.maps.delete(k);
  }
}
