// Supplies numbered DATA blocks (1-based, absolute — not wrapped) from a TftpFile, keeping only the blocks of
// the current window in memory. A block shorter than blksize (possibly empty) is the last one (RFC 1350 §6).
import type { TftpFile } from './handler.ts';

export class BlockSource {
  private readonly cache = new Map<number, Buffer>();
  /** stream files: next block number the stream will produce, and the bytes of a partial block */
  private nextStreamBlock = 1;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private streamDone = false;
  private iterator: AsyncIterator<Uint8Array> | null = null;

  constructor(
    private readonly file: TftpFile,
    private readonly blksize: number,
    /** blocks fetched per read for range files (normally the window size) */
    private readonly prefetch: number,
  ) {}

  /** Data of block `n`; resolves a Buffer of ≤ blksize bytes. */
  async get(n: number): Promise<Buffer> {
    const hit = this.cache.get(n);
    if (hit) return hit;
    if (this.file.kind === 'ranges') await this.readRange(n);
    else await this.readStreamUpTo(n);
    const b = this.cache.get(n);
    if (!b) throw new Error(`block ${n} is no longer available (already acknowledged)`);
    return b;
  }

  /** Forget blocks ≤ n (acknowledged). */
  release(n: number): void {
    for (const k of this.cache.keys()) if (k <= n) this.cache.delete(k);
  }

  private async readRange(n: number): Promise<void> {
    if (this.file.kind !== 'ranges') return;
    const count = Math.max(1, this.prefetch);
    const buf = Buffer.allocUnsafe(count * this.blksize);
    const got = await this.file.read(buf, (n - 1) * this.blksize);
    for (let i = 0; i < count; i++) {
      const start = i * this.blksize;
      const len = Math.max(0, Math.min(this.blksize, got - start));
      this.cache.set(n + i, buf.subarray(start, start + len));
      if (len < this.blksize) break; // last block
    }
  }

  private async readStreamUpTo(n: number): Promise<void> {
    if (this.file.kind !== 'stream') return;
    this.iterator ??= this.file.stream[Symbol.asyncIterator]();
    while (this.nextStreamBlock <= n) {
      while (!this.streamDone && this.pendingBytes < this.blksize) {
        const r = await this.iterator.next();
        if (r.done) this.streamDone = true;
        else if (r.value.length > 0) {
          const chunk = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
          this.pending.push(chunk);
          this.pendingBytes += chunk.length;
        }
      }
      const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
      const len = Math.min(this.blksize, this.pendingBytes);
      this.cache.set(this.nextStreamBlock++, all.subarray(0, len));
      const rest = all.subarray(len);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
      if (len < this.blksize) return; // that was the last block
    }
  }
}
