// Pure part of the image extent map (extent-map.ts): turning a file's 4 KiB blocks, seen in order, into data and zero
// extents, and feeding exactly the bytes of the data extents to a hash. Used by extent-map-worker.ts; tested alone.

/** Granularity of the map: 4 KiB; zero extents are whole blocks (BLKZEROOUT wants 512-byte multiples). */
export const BLOCK = 4096;
/**
 * Zero runs shorter than this are sent as data: each extent costs the agent a `dd` of its own for the write and one
 * for the read-back, which under QEMU's emulation is worth ~100-200 KiB of hashing, and on hardware ~100 KiB of 1 GbE.
 */
export const MIN_ZERO_RUN = 256 * 1024;

export interface Extent {
  offset: number;
  length: number;
  /** true: bytes to send and hash; false: reads as zeros */
  data: boolean;
}

const ZEROS = Buffer.alloc(64 * 1024);

/**
 * Feed it the file's blocks in order (`block(bytes)`, every one BLOCK long but the last), then `end()`. Zero blocks
 * are held back until the run ends: a run of at least `minZero` bytes becomes a zero extent, a shorter one (also at
 * the start or the end of the file) becomes data, and its zeros go to `hash` then. The last block, when shorter than
 * BLOCK, is always data, so zero extents stay block-aligned.
 */
export class ExtentFolder {
  readonly extents: Extent[] = [];
  private pos = 0;
  private zeroRun = 0;

  constructor(private readonly hash: { update(b: Uint8Array): unknown }, private readonly minZero = MIN_ZERO_RUN) {}

  /** Whether `b` is all zeros. */
  static isZero(b: Uint8Array): boolean {
    for (let off = 0; off < b.length; off += ZEROS.length) {
      const n = Math.min(ZEROS.length, b.length - off);
      if (Buffer.compare(b.subarray(off, off + n), ZEROS.subarray(0, n)) !== 0) return false;
    }
    return true;
  }

  block(b: Uint8Array): void {
    if (b.length === BLOCK && ExtentFolder.isZero(b)) { this.zeroRun += b.length; return; }
    this.flushZeros();
    this.add(true, b.length);
    this.hash.update(b);
  }

  /** Ends the file; returns the extents (adjacent, covering every byte given). */
  end(): Extent[] {
    this.flushZeros();
    return this.extents;
  }

  get size(): number { return this.pos + this.zeroRun; }

  private flushZeros(): void {
    const n = this.zeroRun;
    if (n === 0) return;
    this.zeroRun = 0;
    if (n >= this.minZero) { this.add(false, n); return; }
    this.add(true, n);
    for (let left = n; left > 0; left -= ZEROS.length) this.hash.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  }

  private add(data: boolean, length: number): void {
    const last = this.extents[this.extents.length - 1];
    if (last && last.data === data) last.length += length;
    else this.extents.push({ offset: this.pos, length, data });
    this.pos += length;
  }
}
