// One import: the uploaded bytes → a sparse raw file `<images>/<id>.raw` with its sha256 and boot modes.
//
//   body ─▶ meter (count, cap, progress) ─▶ [gunzip | xz -dc] ─▶ detect ─┬▶ raw:   RawFileWriter (worker: sha256 + sparse write)
//                                                                        └▶ qcow2: file ─▶ qemu-img info/check/convert ─▶ hashFile
//   then: partition tables + ESP (boot-modes.ts) ─▶ rename .import-<id>.raw → <id>.raw
//
// Everything heavy runs off the serving thread (zlib's thread pool, child processes, a worker); the serving thread
// moves buffers. Formats are decided by content (detect.ts), at both levels (the file, and what a compressor
// holds). Work files are `.import-<id>.raw` / `.import-<id>.src` in the images folder, removed on failure; the
// final name appears only by rename once everything passed. The request body is never destroyed here (it is piped,
// not pipelined): on a refusal it is drained, so the API can still answer.
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { finished, PassThrough, Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ImageProgress, ImageSourceFormat, BootMode } from '../../shared/image.ts';
import { detect, DETECT_BYTES } from './detect.ts';
import { ImageRefusedError } from './errors.ts';
import { RawFileWriter, hashFile } from './raw-writer.ts';
import { qcow2Check, qcow2Info, qcow2ToRaw } from './qemu-img.ts';
import { detectBootModes, unbootableReason, type BootCheck } from './boot-modes.ts';
import type { ReadAt } from './fat.ts';

export interface ImportHooks {
  /** the images folder (private, checked) */
  dir: string;
  id: string;
  /** Content-Length of the upload, if the client sent one */
  declaredSize: number | null;
  /** most bytes accepted from the client */
  maxUploadBytes: number;
  /** largest raw image accepted (decompressed size, qcow2 virtual size) */
  maxRawBytes: number;
  signal: AbortSignal;
  progress(p: ImageProgress): void;
  format(f: ImageSourceFormat): void;
  /**
   * The whole body has been read and a long step follows (qcow2: check and convert). Not called for raw, gzip and
   * xz uploads, whose import ends with the upload (only fsync and the boot check follow).
   */
  uploaded(bytes: number): void;
}

export interface ImportOutcome {
  sourceFormat: ImageSourceFormat;
  sourceBytes: number;
  virtualSize: number;
  rawSize: number;
  diskBytes: number;
  sha256: string;
  bootModes: BootMode[];
  check: BootCheck;
}

/** Work files of import `id` (removed on failure, and at startup). */
export function workFiles(dir: string, id: string): { raw: string; src: string } {
  return { raw: join(dir, `.import-${id}.raw`), src: join(dir, `.import-${id}.src`) };
}

/** Where a ready image's raw bytes are. */
export function rawFilePath(dir: string, id: string): string {
  return join(dir, `${id}.raw`);
}

/** First `n` bytes of `src` (fewer at its end) and a stream of everything, those bytes included. */
async function peek(src: Readable, n: number): Promise<{ head: Buffer; all: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < n) {
    const r = await it.next();
    if (r.done) { ended = true; break; }
    chunks.push(r.value);
    have += r.value.length;
  }
  const head = Buffer.concat(chunks);
  const all = Readable.from((async function* () {
    if (head.length) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  })(), { objectMode: false });
  return { head, all };
}

const GiB = 1024 ** 3;
const size = (n: number) => (n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : `${n} bytes`);

/** Run one import; resolves with what was stored, rejects with ImageRefusedError (the file) or Error (anything else). */
export async function importImage(body: Readable, h: ImportHooks): Promise<ImportOutcome> {
  const files = workFiles(h.dir, h.id);
  let sourceBytes = 0;
  let uploadError: Error | null = null;
  let uploadDone = false;
  let sink: Writable | null = null;
  const children: ChildProcess[] = [];

  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sourceBytes += chunk.length;
      if (sourceBytes > h.maxUploadBytes) { cb(new ImageRefusedError(`the upload is larger than the limit of ${size(h.maxUploadBytes)}`)); return; }
      h.progress({ phase: 'upload', done: sourceBytes, total: h.declaredSize });
      cb(null, chunk);
    },
    flush(cb) {
      uploadDone = true;
      cb();
    },
  });
  body.pipe(meter);
  finished(body, (err) => {
    if (err && !uploadDone) {
      uploadError = new Error(`the upload was interrupted after ${sourceBytes} bytes (${err.message})`);
      meter.destroy(uploadError);
    }
  });
  const onAbort = () => { meter.destroy(abortError(h.signal)); for (const c of children) c.kill('SIGKILL'); };
  h.signal.addEventListener('abort', onAbort, { once: true });

  try {
    const outer = await peek(meter, DETECT_BYTES);
    if (outer.head.length === 0) throw new ImageRefusedError('the file is empty');
    const d1 = detect(outer.head);
    if ('refused' in d1) throw new ImageRefusedError(d1.refused);

    let compression: 'gz' | 'xz' | null = null;
    let decoded: Readable = outer.all;
    let xzDone: Promise<void> | null = null;
    if (d1.format === 'gzip') {
      compression = 'gz';
      const gunzip = createGunzip();
      outer.all.on('error', (e) => gunzip.destroy(e));
      decoded = outer.all.pipe(gunzip).on('error', () => undefined);
      decoded = tagErrors(decoded, (e) => (isZlibError(e) ? new ImageRefusedError(`the gzip data is damaged: ${e.message}`) : e));
    } else if (d1.format === 'xz') {
      compression = 'xz';
      const x = startXz(outer.all, h.signal);
      children.push(x.child);
      decoded = x.stdout;
      xzDone = x.done;
    }

    const inner = compression ? await peek(decoded, DETECT_BYTES) : { head: outer.head, all: decoded };
    let kind: 'raw' | 'qcow2';
    if (compression) {
      if (inner.head.length === 0) throw new ImageRefusedError(`the ${compression === 'gz' ? 'gzip' : 'xz'} file holds no data`);
      const d2 = detect(inner.head);
      if ('refused' in d2) throw new ImageRefusedError(`inside the ${compression === 'gz' ? 'gzip' : 'xz'} compression: ${d2.refused}`);
      if (d2.format === 'gzip' || d2.format === 'xz') throw new ImageRefusedError(`the image is compressed twice (${d2.format} inside ${compression === 'gz' ? 'gzip' : 'xz'}): decompress it once first`);
      kind = d2.format;
    } else {
      kind = d1.format === 'qcow2' ? 'qcow2' : 'raw';
    }
    const sourceFormat = `${kind}${compression ? `.${compression}` : ''}` as ImageSourceFormat;
    h.format(sourceFormat);

    let rawBytes = 0;
    const cap = async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        rawBytes += c.length;
        if (kind === 'raw' && rawBytes > h.maxRawBytes) throw new ImageRefusedError(`the raw image is larger than the limit of ${size(h.maxRawBytes)}`);
        yield c;
      }
    };
    const writer = kind === 'raw' ? new RawFileWriter(files.raw) : createWriteStream(files.src, { flags: 'wx', mode: 0o600 });
    sink = writer;
    await pipeline(inner.all, cap, writer, { signal: h.signal });
    if (xzDone) await xzDone;
    if (uploadError) throw uploadError;

    let raw: { sha256: string; size: number; diskBytes: number };
    let virtualSize: number;
    if (writer instanceof RawFileWriter) {
      raw = await writer.result;
      virtualSize = raw.size;
    } else {
      h.uploaded(sourceBytes);
      h.progress({ phase: 'convert', done: 0, total: null });
      const info = await qcow2Info(files.src, h.signal);
      if (info.virtualSize > h.maxRawBytes) throw new ImageRefusedError(`the qcow2 image's virtual size (${size(info.virtualSize)}) is larger than the limit of ${size(h.maxRawBytes)}`);
      await qcow2Check(files.src, h.signal);
      h.progress({ phase: 'convert', done: 0, total: info.virtualSize });
      await qcow2ToRaw(files.src, files.raw, (f) => h.progress({ phase: 'convert', done: Math.round(f * info.virtualSize), total: info.virtualSize }), h.signal);
      await rm(files.src, { force: true });
      h.progress({ phase: 'hash', done: 0, total: info.virtualSize });
      raw = await hashFile(files.raw, (done) => h.progress({ phase: 'hash', done, total: info.virtualSize }), h.signal);
      if (raw.size !== info.virtualSize) throw new Error(`qemu-img wrote ${raw.size} bytes for a virtual size of ${info.virtualSize}`);
      virtualSize = info.virtualSize;
    }
    if (raw.size === 0) throw new ImageRefusedError(`the ${compression ? 'decompressed ' : ''}image is empty`);

    h.progress({ phase: 'inspect', done: 0, total: null });
    const check = await inspectRaw(files.raw, raw.size);
    if (check.modes.length === 0) throw new ImageRefusedError(unbootableReason(check));
    if (h.signal.aborted) throw abortError(h.signal);
    await rename(files.raw, rawFilePath(h.dir, h.id));
    return { sourceFormat, sourceBytes, virtualSize, rawSize: raw.size, diskBytes: raw.diskBytes, sha256: raw.sha256, bootModes: check.modes, check };
  } catch (err) {
    const e = uploadError ?? (h.signal.aborted ? abortError(h.signal) : err as Error);
    // stop reading what the client still sends, but let it finish sending (the API answers with the reason)
    body.unpipe(meter);
    if (!body.destroyed) body.resume();
    meter.destroy();
    for (const c of children) c.kill('SIGKILL');
    if (sink && !sink.closed) { sink.destroy(); await new Promise((r) => sink!.once('close', r)); }
    await Promise.all([rm(files.raw, { force: true }), rm(files.src, { force: true })]);
    throw e;
  } finally {
    h.signal.removeEventListener('abort', onAbort);
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason ?? 'import aborted'));
}

function isZlibError(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** `src` re-emitted through a PassThrough whose errors are mapped by `map` (to name what failed). */
function tagErrors(src: Readable, map: (e: Error) => Error): Readable {
  const out = new PassThrough();
  src.on('error', (e) => out.destroy(map(e)));
  return src.pipe(out);
}

/** `xz -dc` fed from `src`; `done` rejects with xz's own words when it exits non-zero. */
function startXz(src: Readable, signal: AbortSignal): { child: ChildProcess; stdout: Readable; done: Promise<void> } {
  const child = spawn('xz', ['-dc', '--memlimit-decompress=1GiB'], { stdio: ['pipe', 'pipe', 'pipe'], signal, env: { ...process.env, LC_ALL: 'C' } });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr = (stderr + s).slice(-4096); });
  child.stdin!.on('error', () => undefined); // EPIPE when xz gives up early: its exit status says why
  src.on('error', () => child.stdin!.destroy());
  src.pipe(child.stdin!);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('xz is not installed (Debian package xz-utils)') : err));
    child.on('close', (code, sig) => {
      if (code === 0) resolve();
      else reject(sig ? new Error(`xz was stopped (${sig})`) : new ImageRefusedError(`the xz data is damaged: ${stderr.trim().split('\n')[0]?.replace(/^xz: \(stdin\): /, '') || `xz exited ${code}`}`));
    });
  });
  done.catch(() => undefined);
  // xz's stdout ends normally even when it failed: the caller awaits `done` after reading it all
  const stdout = child.stdout!;
  const checked = new PassThrough();
  stdout.pipe(checked, { end: false });
  stdout.on('end', () => { done.then(() => checked.end(), (e: Error) => checked.destroy(e)); });
  stdout.on('error', (e) => checked.destroy(e));
  return { child, stdout: checked, done };
}

/** Boot modes of the raw file at `path` (`size` bytes). */
export async function inspectRaw(path: string, size: number): Promise<BootCheck> {
  const fh = await open(path, 'r');
  try {
    const read: ReadAt = async (offset, length) => {
      if (offset < 0 || offset >= size || length <= 0) return new Uint8Array(0);
      const buf = Buffer.alloc(Math.min(length, size - offset));
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      return buf.subarray(0, bytesRead);
    };
    return await detectBootModes(read, size);
  } finally {
    await fh.close();
  }
}
