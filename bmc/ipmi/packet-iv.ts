// Initialization vectors of RMCP+ packets (AES-CBC-128, IPMI 2.0 §13.29): 16 random bytes per packet, taken from a
// pool filled by the CSPRNG 4 KiB at a time, because one randomBytes(16) call per packet was a visible part of a
// console keystroke's cost (bench/sol.ts profile: ~10 µs per packet, three packets per keystroke). Each IV is still
// drawn from crypto.randomBytes and used once; a refill makes a new pool, so an IV handed out never changes.
import { randomBytes } from 'node:crypto';

const POOL_BYTES = 4096;
const IV_BYTES = 16;
let pool = Buffer.alloc(0);
let used = 0;

/** 16 fresh random bytes for one packet's IV (never handed out twice). */
export function packetIv(): Buffer {
  if (used + IV_BYTES > pool.length) { pool = randomBytes(POOL_BYTES); used = 0; }
  const iv = pool.subarray(used, used + IV_BYTES);
  used += IV_BYTES;
  return iv;
}
