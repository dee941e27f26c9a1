// Fletcher-4 as ZFS computes it (its default data checksum, `fletcher_4_native`): the byte stream read as
// little-endian 32-bit words w, four 64-bit accumulators, each word: a += w; b += a; c += b; d += c (all mod 2^64);
// the checksum is a‖b‖c‖d, written here as 64 hex digits (each accumulator as 16 big-endian hex digits). A stream
// whose length is not a multiple of 4 is zero-padded to the next word (the deploy's data ranges are whole sectors,
// so this never happens there; it is defined so that every input has one answer).
//
// Why it is here: the deploy agent's read-back check (agent/ramdisk/rackseed-zero.c `sum`) runs under QEMU's
// emulation in the lab, where SHA-256 costs ~69 guest instructions per byte and Fletcher-4 ~2 (docs/BENCHMARKS.md
// "Deploy"). It detects what a read-back is for — a disk, controller or stream that returns other bytes — as a 256-bit
// sum; it is not a cryptographic digest (someone who can change the disk's contents at will can also make them sum
// right), which is why the image's SHA-256 is still what the library checks at import and when it maps the file for deploys, and
// why `readBackCheck: 'sha256'` keeps the cryptographic read-back for whoever wants it (shared/deploy.ts).
//
// Words are read in the host's byte order (Uint32Array): little-endian on every host RackSeed runs on (x86-64, arm64).
// Speed in JavaScript: words are summed in blocks of 64 in plain doubles, which stay exact (from zero, after n words
// d ≤ n⁴/24 · 2³² < 2⁵³ for n = 64), and each block is folded into the 64-bit state with BigInt:
//   A' = A + a,  B' = B + nA + b,  C' = C + nB + T₂A + c,  D' = D + nC + T₂B + T₃A + d,
// with T₂ = n(n+1)/2 and T₃ = n(n+1)(n+2)/6 (what A, B and C add over n more steps). ~400 MB/s on one core here.

const MASK = (1n << 64n) - 1n;
const BLOCK_WORDS = 64;

interface Weights { n: bigint; t2: bigint; t3: bigint }
const weights = new Map<number, Weights>();
function weightsOf(n: number): Weights {
  let w = weights.get(n);
  if (!w) {
    const b = BigInt(n);
    w = { n: b, t2: (b * (b + 1n)) / 2n, t3: (b * (b + 1n) * (b + 2n)) / 6n };
    weights.set(n, w);
  }
  return w;
}

export class Fletcher4 {
  private a = 0n;
  private b = 0n;
  private c = 0n;
  private d = 0n;
  /** 0–3 bytes of a word not yet complete */
  private readonly tail = new Uint8Array(4);
  private tailLen = 0;

  update(bytes: Uint8Array): this {
    let p = 0;
    if (this.tailLen) {
      while (this.tailLen < 4 && p < bytes.length) this.tail[this.tailLen++] = bytes[p++]!;
      if (this.tailLen < 4) return this;
      this.words(this.tail, 0, 1);
      this.tailLen = 0;
    }
    const whole = (bytes.length - p) >>> 2;
    this.words(bytes, p, whole);
    p += whole * 4;
    while (p < bytes.length) this.tail[this.tailLen++] = bytes[p++]!;
    return this;
  }

  /** a‖b‖c‖d as 64 lowercase hex digits (the state is not changed: more bytes may follow) */
  hex(): string {
    let { a, b, c, d } = this;
    if (this.tailLen) {
      const w = BigInt(this.tail[0]! | (this.tailLen > 1 ? this.tail[1]! << 8 : 0) | (this.tailLen > 2 ? this.tail[2]! << 16 : 0));
      a = (a + w) & MASK; b = (b + a) & MASK; c = (c + b) & MASK; d = (d + c) & MASK;
    }
    return [a, b, c, d].map((x) => x.toString(16).padStart(16, '0')).join('');
  }

  /** `count` little-endian words of `bytes` from byte `at` */
  private words(bytes: Uint8Array, at: number, count: number): void {
    const view = (at + bytes.byteOffset) % 4 === 0
      ? new Uint32Array(bytes.buffer, bytes.byteOffset + at, count)
      : new Uint32Array(bytes.slice(at, at + count * 4).buffer);
    for (let i = 0; i < count; i += BLOCK_WORDS) {
      const end = Math.min(i + BLOCK_WORDS, count);
      let a = 0; let b = 0; let c = 0; let d = 0;
      for (let j = i; j < end; j++) { a += view[j]!; b += a; c += b; d += c; }
      const w = weightsOf(end - i);
      this.d = (this.d + w.n * this.c + w.t2 * this.b + w.t3 * this.a + BigInt(d)) & MASK;
      this.c = (this.c + w.n * this.b + w.t2 * this.a + BigInt(c)) & MASK;
      this.b = (this.b + w.n * this.a + BigInt(b)) & MASK;
      this.a = (this.a + BigInt(a)) & MASK;
    }
  }
}

/** Fletcher-4 of `bytes` (64 hex digits). */
export function fletcher4Hex(bytes: Uint8Array): string {
  return new Fletcher4().update(bytes).hex();
}
