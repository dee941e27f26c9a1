// The image library (`core.images`): records in SQLite (store.ts), raw files in `<data>/images/`, imports
// (import.ts) with their live progress, 'image' messages on the core's event bus, and crash recovery.
//
// For the deploy engineer: `core.images.get(idOrName)` → ImageRecord (`sha256`, `virtualSize`, `bootModes`);
// `core.images.rawPath(record)` → the raw file; agents download it at `imageServingPath(sha256)` on the HTTP boot
// server (daemon/image-serving.ts).
import { readdirSync, rmSync, lstatSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Db } from '../db.ts';
import type { EventBus } from '../event-bus.ts';
import { newId } from '../ids.ts';
import { IMAGE_NAME, IMAGE_NAME_RULE, type ImageProgress, type ImageRecord } from '../../shared/image.ts';
import { ImageStore, type StoredImage } from './store.ts';
import { importImage, rawFilePath, workFiles } from './import.ts';
import { ImageError, ImageRefusedError } from './errors.ts';
import { ExtentMapCache, mapImage, type ExtentMap } from './extent-map.ts';

export interface ImageLibraryOptions {
  db: Db;
  bus: EventBus;
  /** the images folder (private, checked: safe-path.ts privateSubdir); null = no data dir: imports are refused (503) */
  dir: string | null;
  log: Logger;
  /** most bytes accepted per upload (default 64 GiB) */
  maxUploadBytes?: number;
  /** largest raw image (default 8 TiB) */
  maxRawBytes?: number;
  /** least time between two progress messages of one import (default 250 ms) */
  progressEveryMs?: number;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 ** 3;
export const DEFAULT_MAX_RAW_BYTES = 8 * 1024 ** 4;

interface Running {
  abort: AbortController;
  body: Readable;
  progress: ImageProgress | null;
  lastPublished: number;
  done: Promise<ImageRecord>;
}

export interface StartedImport {
  /** the record as created (state importing) */
  image: ImageRecord;
  /** settles when the import has ended (ready, failed), or — qcow2 — when the upload is read and the conversion starts */
  received: Promise<ImageRecord>;
  /** settles when the import is ready or failed (never rejects) */
  done: Promise<ImageRecord>;
}

export class ImageLibrary {
  readonly store: ImageStore;
  private readonly running = new Map<string, Running>();
  private readonly maxUploadBytes: number;
  private readonly maxRawBytes: number;
  private readonly everyMs: number;
  /** set by close(): imports still settling must not touch the (closing) database */
  private closed = false;
  /** extent maps of ready images (extent-map.ts), computed on first use or right after an import */
  private readonly maps: ExtentMapCache;

  constructor(private readonly o: ImageLibraryOptions) {
    this.store = new ImageStore(o.db);
    this.maxUploadBytes = o.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    this.maxRawBytes = o.maxRawBytes ?? DEFAULT_MAX_RAW_BYTES;
    this.everyMs = o.progressEveryMs ?? 250;
    this.maps = new ExtentMapCache((id) => this.rawPath({ id }));
  }

  /** The images folder, or null without a data dir. */
  get dir(): string | null {
    return this.o.dir;
  }

  private withProgress(i: StoredImage): ImageRecord {
    return { ...i, progress: this.running.get(i.id)?.progress ?? null };
  }

  list(): ImageRecord[] {
    return this.store.list().map((i) => this.withProgress(i));
  }

  /** By id, else by name. */
  get(ref: string): ImageRecord | null {
    const i = this.store.get(ref) ?? this.store.byName(ref);
    return i ? this.withProgress(i) : null;
  }

  /** The ready image whose raw bytes have this SHA-256 (lower-case hex), or null. */
  readyBySha256(sha256: string): ImageRecord | null {
    const i = this.store.readyBySha256(sha256);
    return i ? this.withProgress(i) : null;
  }

  /** Absolute path of a ready image's raw file (sparse; `rawSize` bytes; 0600, read by the daemon only). */
  rawPath(image: Pick<ImageRecord, 'id'>): string {
    if (!this.o.dir) throw new ImageError(503, 'the daemon has no data directory: there are no images');
    return rawFilePath(this.o.dir, image.id);
  }

  /**
   * The extent map of a ready image (which ranges hold data, which are zeros; the SHA-256 of the data ranges), computed
   * once in a worker and kept; rejects with ImageDamagedError when the raw file no longer has the recorded SHA-256.
   */
  extentMap(image: Pick<ImageRecord, 'id' | 'sha256' | 'state'>): Promise<ExtentMap> {
    if (image.state !== 'ready' || !image.sha256) return Promise.reject(new ImageError(409, 'the image is not ready'));
    return this.maps.get({ id: image.id, sha256: image.sha256 });
  }

  /** The image's map computed afresh from its file (bypassing the kept one): is the library's copy still intact? */
  remapImage(image: Pick<ImageRecord, 'id' | 'sha256'>): Promise<ExtentMap> {
    return mapImage(this.rawPath(image), image.sha256 ?? '');
  }

  /** A running import's settled record, or the record itself when nothing runs (tests, --wait). */
  async whenSettled(id: string): Promise<ImageRecord | null> {
    const r = this.running.get(id);
    if (r) return r.done;
    const i = this.store.get(id);
    return i ? this.withProgress(i) : null;
  }

  /**
   * Start importing `body` under `name`. Throws ImageError 400 (bad name), 409 (name taken by an image that is not
   * failed: a failed one is replaced), 413 (declared size over the limit), 503 (no data dir). The body is read by the
   * import; on a refusal the rest of it is read and dropped, so the caller can still answer the request.
   */
  startImport(name: string, body: Readable, declaredSize: number | null): StartedImport {
    if (!this.o.dir) throw new ImageError(503, 'the daemon has no data directory (start it with --data DIR): images cannot be stored');
    if (!IMAGE_NAME.test(name)) throw new ImageError(400, `bad image name ${JSON.stringify(name)}: ${IMAGE_NAME_RULE}`);
    if (declaredSize !== null && declaredSize > this.maxUploadBytes) {
      throw new ImageError(413, `the upload (${declaredSize} bytes) is larger than the limit of ${this.maxUploadBytes} bytes`);
    }
    const existing = this.store.byName(name);
    if (existing && existing.state !== 'failed') {
      throw new ImageError(409, `an image named ${name} already exists (${existing.state}): remove it first (rackseed images rm ${name}) or choose another name`);
    }
    const now = Date.now();
    const stored: StoredImage = {
      id: newId(), name, state: 'importing', sourceFormat: null, sourceBytes: 0, virtualSize: null, rawSize: null, diskBytes: null, sha256: null,
      bootModes: [], error: null, failure: null, createdAt: now, updatedAt: now,
    };
    this.o.db.transaction(() => {
      if (existing) this.store.delete(existing.id);
      this.store.insert(stored);
    })();
    const id = stored.id;
    const dir = this.o.dir;
    const log = this.o.log.child({ image: name, id });
    let markReceived!: (r: ImageRecord) => void;
    const received = new Promise<ImageRecord>((r) => { markReceived = r; });
    const run: Running = { abort: new AbortController(), body, progress: { phase: 'upload', done: 0, total: declaredSize }, lastPublished: 0, done: null! };
    this.running.set(id, run);
    this.publish(id, true);
    log.info({ declaredSize }, 'image import started');

    run.done = importImage(body, {
      dir, id, declaredSize, maxUploadBytes: this.maxUploadBytes, maxRawBytes: this.maxRawBytes, signal: run.abort.signal,
      progress: (p) => {
        const phaseChanged = run.progress?.phase !== p.phase;
        run.progress = p;
        this.publish(id, phaseChanged);
      },
      format: (f) => { if (this.closed) return; this.store.update(id, { sourceFormat: f }); this.publish(id, true); },
      uploaded: (bytes) => {
        if (this.closed) return;
        const cur = this.store.update(id, { sourceBytes: bytes });
        if (cur) markReceived(this.withProgress(cur));
      },
    }).then((out) => {
      this.running.delete(id);
      if (this.closed) return this.settle(id, null);
      const cur = this.store.update(id, {
        state: 'ready', sourceFormat: out.sourceFormat, sourceBytes: out.sourceBytes, virtualSize: out.virtualSize, rawSize: out.rawSize,
        diskBytes: out.diskBytes, sha256: out.sha256, bootModes: out.bootModes, error: null, failure: null,
      });
      log.info({ sha256: out.sha256, virtualSize: out.virtualSize, bootModes: out.bootModes, bios: out.check.bios, uefi: out.check.uefi }, 'image ready');
      this.o.bus.record({ source: 'api', kind: 'image-ready', mac: null, nodeId: null, message: `image ${name} ready (${out.sourceFormat}, ${out.virtualSize} bytes, boots ${out.bootModes.join('+')})`, detail: { id, sha256: out.sha256 } });
      // the first deploy needs the extent map: compute it now, while the bytes are in the page cache
      if (cur) this.extentMap(cur).catch((err: Error) => log.warn({ err: err.message }, 'image extent map failed'));
      return this.settle(id, cur);
    }, (err: Error) => {
      this.running.delete(id);
      if (this.closed) return this.settle(id, null);
      const failure = err instanceof ImageRefusedError ? 'invalid' : 'error';
      const cur = this.store.update(id, { state: 'failed', error: err.message, failure });
      log.warn({ failure, err: err.message }, 'image import failed');
      this.o.bus.record({ source: 'api', kind: 'image-failed', mac: null, nodeId: null, level: 'warn', message: `image ${name} failed: ${err.message}`, detail: { id, failure } });
      return this.settle(id, cur);
    }).then((rec) => { markReceived(rec); return rec; });
    return { image: this.withProgress(stored), received, done: run.done };
  }

  /** The record after an import ended (a removed image: its last known state). */
  private settle(id: string, cur: StoredImage | null): ImageRecord {
    if (cur) { this.publish(id, true); return this.withProgress(cur); }
    return { id, name: '', state: 'failed', sourceFormat: null, sourceBytes: 0, virtualSize: null, rawSize: null, diskBytes: null, sha256: null, bootModes: [],
      error: this.closed ? 'daemon stopping' : 'removed during import', failure: 'error', progress: null, createdAt: 0, updatedAt: Date.now() };
  }

  /** Send the record on the bus: always when `force`, else at most every `progressEveryMs`. */
  private publish(id: string, force: boolean): void {
    if (this.closed) return;
    const run = this.running.get(id);
    const now = Date.now();
    if (!force && run && now - run.lastPublished < this.everyMs) return;
    if (run) run.lastPublished = now;
    const i = this.store.get(id);
    if (i) this.o.bus.publish({ type: 'image', payload: this.withProgress(i) });
  }

  /** Remove an image (an import in progress is stopped first) and its file. Returns the record as it was. */
  async remove(ref: string): Promise<ImageRecord> {
    const img = this.get(ref);
    if (!img) throw new ImageError(404, `no image ${ref} (rackseed images list shows them)`);
    const run = this.running.get(img.id);
    if (run) {
      run.abort.abort(new Error('removed during import'));
      await run.done;
    }
    this.store.delete(img.id);
    this.maps.forget(img.id);
    if (this.o.dir) rmSync(rawFilePath(this.o.dir, img.id), { force: true });
    this.o.log.info({ image: img.name, id: img.id }, 'image removed');
    this.o.bus.publish({ type: 'image-removed', payload: { id: img.id, name: img.name } });
    return img;
  }

  /**
   * At startup (nothing can be importing yet): images left `importing` by a daemon that stopped become failed
   * ('daemon stopped during import'); their work files, and any other `.import-*` file, are removed, as is the raw
   * file of any image that is not ready (a crash between the rename and the database update).
   */
  recover(): void {
    for (const i of this.store.list()) {
      if (i.state === 'importing') {
        this.store.update(i.id, { state: 'failed', error: 'daemon stopped during import', failure: 'error' });
        this.o.log.warn({ image: i.name, id: i.id }, 'image import interrupted by a daemon stop: marked failed');
      }
    }
    const dir = this.o.dir;
    if (!dir) return;
    const ready = new Set(this.store.list().filter((i) => i.state === 'ready').map((i) => i.id));
    for (const f of readdirSync(dir)) {
      const m = /^(?:\.import-(.+)\.(?:raw|src)|(.+)\.raw)$/.exec(f);
      if (!m) continue;
      const id = m[1] ?? m[2]!;
      if (m[2] !== undefined && ready.has(id)) continue;
      const path = `${dir}/${f}`;
      // only plain files or links (rm removes a link, never its target); a folder of that name is left alone
      const st = lstatSync(path);
      if (st.isFile() || st.isSymbolicLink()) { rmSync(path, { force: true }); this.o.log.info({ file: f }, 'removed a leftover image work file'); }
    }
  }

  /** Stop every import (daemon shutdown): their records stay `importing` until the next start's recover(). */
  close(): void {
    this.closed = true;
    for (const run of this.running.values()) {
      run.abort.abort(new Error('daemon stopping'));
      run.body.destroy();
    }
  }

  /** Work files of an import (tests). */
  workFiles(id: string): { raw: string; src: string } {
    if (!this.o.dir) throw new ImageError(503, 'no data directory');
    return workFiles(this.o.dir, id);
  }
}
