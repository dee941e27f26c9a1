// Supplies numbered DATA blocks (1-based, absolute — not wrapped) from a TftpFile, keeping only the blocks of
// the current window in memory. A block shorter than blksize (possibly empty) is the last one (RFC 1350 §6).
import type { TftpFile } from './handler.ts';

/** bytes per read from a range file (sequential, one read ahead of the one being sent) */
const CHUNK_BYTES = 256 * 1024;

export class BlockSource {
  private readonly cache = new Map<number, Buffer>();
  /** stream files: next block number the stream will produce, and the bytes of a partial block */
  private nextStreamBlock = 1;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private streamDone = false;
  private iterator: AsyncIterator<Uint8Array> | null = null;

  /** range files: blocks per read, the next block not yet read, the last block once seen, a read in flight */
  private readonly chunkBlocks: number;
  private nextRangeBlock = 1;
  private lastRangeBlock = Infinity;
  private inflight: Promise<void> | null = null;
  /** range chunks read, oldest first, with the last block each holds (for recycling) */
  private readonly chunks: { last: number; buf: Buffer }[] = [];
  /** chunk buffers whose blocks were all released, ready for the next read (recycling only) */
  private readonly spare: Buffer[] = [];

  /**
   * `recycle`: reuse a chunk's buffer for a later read once every block in it is released. Only for callers that
   * never hold a block after release (the GSO send path copies each window into its own buffer); without it every
   * 256 KiB read is a fresh allocation, and at TFTP rates that external memory made V8 collect ~17 % of the time.
   */
  constructor(
    private readonly file: TftpFile,
    private readonly blksize: number,
    private recycle = false,
  ) {
    this.chunkBlocks = Math.max(1, Math.ceil(CHUNK_BYTES / blksize));
  }

  /**
   * Data of block `n` (resolves a Buffer of ≤ blksize bytes). Range files are read sequentially in chunks, and the
   * next chunk is read ahead while the current one is sent, so the network never waits for the disk.
   */
  async get(n: number): Promise<Buffer> {
    let hit = this.cache.get(n);
    if (!hit) {
      if (this.file.kind === 'ranges') {
        while (!this.cache.has(n) && n >= this.nextRangeBlock && n <= this.lastRangeBlock) await this.readAhead();
      } else {
        await this.readStreamUpTo(n);
      }
      hit = this.cache.get(n);
      if (!hit) throw new Error(`block ${n} is not available (already acknowledged, or past the end)`);
    }
    if (this.file.kind === 'ranges' && !this.inflight && this.nextRangeBlock <= this.lastRangeBlock && this.nextRangeBlock - n < this.chunkBlocks) {
      void this.readAhead().catch(() => { /* surfaced by the next get() */ });
    }
    return hit;
  }

  /** Block `n` when it is already in memory (no await on the hot path); starts the read-ahead like get(). */
  peek(n: number): Buffer | undefined {
    const hit = this.cache.get(n);
    if (hit && this.file.kind === 'ranges' && !this.inflight && this.nextRangeBlock <= this.lastRangeBlock && this.nextRangeBlock - n < this.chunkBlocks) {
      void this.readAhead().catch(() => { /* surfaced by the next get() */ });
    }
    return hit;
  }

  /** Read the next sequential chunk (joins a read already in flight). */
  private readAhead(): Promise<void> {
    this.inflight ??= this.readRangeAt(this.nextRangeBlock).finally(() => { this.inflight = null; });
    return this.inflight;
  }

  private released = 0;

  /** Forget blocks ≤ n (acknowledged); with recycling, a chunk whose blocks are all released becomes spare. */
  release(n: number): void {
    if (n <= this.released) return;
    for (let k = this.released + 1; k <= n; k++) this.cache.delete(k);
    this.released = n;
    while (this.chunks.length > 0 && this.chunks[0]!.last <= n) {
      const c = this.chunks.shift()!;
      if (this.recycle && this.spare.length < 2) this.spare.push(c.buf);
    }
  }

  /** Stop recycling (the caller's send path no longer copies blocks). */
  stopRecycling(): void {
    this.recycle = false;
    this.spare.length = 0;
  }

  /**
   * Read chunkBlocks blocks starting at block n into the cache, never beyond the file's `size` (the tsize announced
   * in the OACK: a file that grows while it is served still ends where the client was told).
   */
  private async readRangeAt(n: number): Promise<void> {
    if (this.file.kind !== 'ranges') return;
    const count = this.chunkBlocks;
    const buf = (this.recycle ? this.spare.pop() : undefined) ?? Buffer.allocUnsafe(count * this.blksize);
    this.chunks.push({ last: n + count - 1, buf });
    const position = (n - 1) * this.blksize;
    const room = Math.max(0, Math.min(buf.length, this.file.size - position));
    const got = await this.file.read(room === buf.length ? buf : buf.subarray(0, room), position);
    for (let i = 0; i < count; i++) {
      const start = i * this.blksize;
      const len = Math.max(0, Math.min(this.blksize, got - start));
      if (n + i > this.released) this.cache.set(n + i, buf.subarray(start, start + len));
      if (len < this.blksize) {
        this.lastRangeBlock = Math.min(this.lastRangeBlock, n + i);
        break;
      }
    }
    this.nextRangeBlock = Math.max(this.nextRangeBlock, n + count);
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
