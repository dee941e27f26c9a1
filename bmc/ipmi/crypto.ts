// RMCP+ cryptography (IPMI 2.0 §13.28–13.32): RAKP key-exchange auth codes, session keys SIK/K1/K2, per-packet
// integrity (HMAC-SHA1-96, HMAC-SHA256-128) and AES-CBC-128 with IPMI's own padding. Pure: randomness (console
// random number, IV) is passed in by the caller.
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual, type Cipher, type Decipher } from 'node:crypto';
import type { CipherSuite } from './cipher-suites.ts';
import { IpmiDecodeError } from './errors.ts';

export function hmac(hash: 'sha1' | 'sha256', key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Constant-time equality for auth codes (false when lengths differ). */
export function sameCode(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The fields every RAKP computation is made of (names follow IPMI 2.0 §13.31). */
export interface RakpContext {
  suite: CipherSuite;
  /** Kuid: the user's password (up to 20 bytes; HMAC pads it with zeros the way the spec asks) */
  password: Uint8Array;
  /** Kg: the BMC key; null = none configured, then Kuid is used */
  kg?: Uint8Array | null;
  consoleSessionId: number;
  managedSessionId: number;
  consoleRandom: Uint8Array;
  bmcRandom: Uint8Array;
  bmcGuid: Uint8Array;
  /** the role byte sent in RAKP 1 (privilege level, plus 0x10 for name-only lookup) */
  role: number;
  username: Uint8Array;
}

function u32le(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0, 0); return b; }
function roleUser(c: RakpContext): Buffer { return Buffer.concat([Buffer.from([c.role & 0xff, c.username.length]), c.username]); }
function hashOf(c: RakpContext): 'sha1' | 'sha256' {
  if (!c.suite.hash) throw new Error(`cipher suite ${c.suite.id} has no RAKP hash`);
  return c.suite.hash;
}

/** RAKP 2 key-exchange auth code the BMC must send (§13.31, RAKP Message 2). */
export function rakp2AuthCode(c: RakpContext): Buffer {
  return hmac(hashOf(c), c.password, u32le(c.consoleSessionId), u32le(c.managedSessionId), c.consoleRandom, c.bmcRandom, c.bmcGuid, roleUser(c));
}

/** RAKP 3 key-exchange auth code the console sends (§13.31, RAKP Message 3). */
export function rakp3AuthCode(c: RakpContext): Buffer {
  return hmac(hashOf(c), c.password, c.bmcRandom, u32le(c.consoleSessionId), roleUser(c));
}

/** Session Integrity Key (§13.31): HMAC over both randoms and role/user, keyed by Kg (or Kuid when no Kg). */
export function sessionIntegrityKey(c: RakpContext): Buffer {
  const key = c.kg && c.kg.length > 0 ? c.kg : c.password;
  return hmac(hashOf(c), key, c.consoleRandom, c.bmcRandom, roleUser(c));
}

/** RAKP 4 integrity check value the BMC must send: HMAC(SIK, Rm | SIDc... ) truncated (§13.31, RAKP Message 4). */
export function rakp4Icv(c: RakpContext, sik: Uint8Array): Buffer {
  return hmac(hashOf(c), sik, c.consoleRandom, u32le(c.managedSessionId), c.bmcGuid).subarray(0, c.suite.icvLength);
}

export interface SessionKeys { sik: Buffer; k1: Buffer; k2: Buffer; aesKey: Buffer }

/** K1 = HMAC(SIK, 0x01×20), K2 = HMAC(SIK, 0x02×20) (§13.32); the AES key is the first 16 bytes of K2. */
export function deriveKeys(hash: 'sha1' | 'sha256', sik: Buffer): SessionKeys {
  const k1 = hmac(hash, sik, Buffer.alloc(20, 0x01));
  const k2 = hmac(hash, sik, Buffer.alloc(20, 0x02));
  return { sik, k1, k2, aesKey: k2.subarray(0, 16) };
}

/** Per-packet auth code: HMAC(K1, data) truncated to the suite's length (§13.28.4). */
export function packetAuthCode(suite: CipherSuite, k1: Uint8Array, data: Uint8Array): Buffer {
  if (!suite.hash) return Buffer.alloc(0);
  return hmac(suite.hash, k1, data).subarray(0, suite.icvLength);
}

/** IPMI confidentiality trailer (§13.29, Table 13-20): pad bytes 1,2,…,n then n, so the total is a multiple of 16. */
export function ipmiAesPad(len: number): Buffer {
  const n = (16 - ((len + 1) % 16)) % 16;
  const pad = Buffer.alloc(n + 1);
  for (let i = 0; i < n; i++) pad[i] = i + 1;
  pad[n] = n;
  return pad;
}

/**
 * AES-CBC-128 under one key for many packets: one AES-128-ECB cipher and one decipher, made the first time the key
 * is used (keyed by the key's own Buffer, which a session keeps for its lifetime, in a WeakMap: they go with it), and
 * the CBC chaining (NIST SP 800-38A §6.2) done here block by block. createCipheriv per packet built a Cipheriv stream
 * and an OpenSSL context every time: on a fresh daemon ~30 µs of the ~60 µs between a keystroke's WebSocket frame
 * and its datagram (bench/sol.ts, issue 18). ECB without padding keeps no state between whole blocks, and only whole
 * blocks are ever given to it, so reusing the two objects gives exactly what a new CBC cipher per packet gives
 * (test/unit/ipmi-codecs.test.ts compares them).
 */
class AesCbc128 {
  /** a copy of the key the two objects were made with (aesFor checks it: a key changed in place gets new ones) */
  readonly key: Buffer;
  /** set when OpenSSL's ECB context did not give whole blocks back (never seen): aesFor makes new objects then */
  broken = false;
  private readonly enc: Cipher;
  private readonly dec: Decipher;
  /** one block of plaintext XOR the previous ciphertext block (scratch, zeroed after each packet) */
  private readonly x = Buffer.alloc(16);
  constructor(key: Uint8Array) {
    this.key = Buffer.from(key);
    this.enc = createCipheriv('aes-128-ecb', key, null);
    this.enc.setAutoPadding(false);
    this.dec = createDecipheriv('aes-128-ecb', key, null);
    this.dec.setAutoPadding(false);
  }
  /** IV ‖ CBC ciphertext of `plain`, whose length is a multiple of 16; the IV must be 16 bytes. */
  encrypt(iv: Uint8Array, plain: Uint8Array): Buffer {
    if (iv.length !== 16) throw new Error(`AES-CBC needs a 16-byte IV, not ${iv.length} bytes`);
    if (plain.length % 16 !== 0) throw new Error(`AES-CBC plaintext of ${plain.length} bytes is not whole blocks`);
    const out = Buffer.allocUnsafe(16 + plain.length);
    out.set(iv, 0);
    const x = this.x;
    try {
      for (let o = 0; o < plain.length; o += 16) {
        // the previous ciphertext block (the IV first) sits right before this one's place in `out`
        for (let i = 0; i < 16; i++) x[i] = plain[o + i]! ^ out[o + i]!;
        const e = this.enc.update(x);
        if (e.length !== 16) this.fail(`AES-128-ECB gave ${e.length} bytes for one block`); // never: no padding, whole blocks
        out.set(e, 16 + o);
      }
    } finally {
      x.fill(0);
    }
    return out;
  }
  /** The CBC plaintext of `field` = IV ‖ ciphertext (length 16 + a multiple of 16). */
  decrypt(field: Uint8Array): Buffer {
    const ct = field.subarray(16);
    const plain = this.dec.update(ct);
    if (plain.length !== ct.length) this.fail(`AES-128-ECB gave ${plain.length} bytes for ${ct.length}`); // never, as above
    // P[i] = D(C[i]) XOR C[i-1], C[-1] = IV: the block before C[i] in `field` is C[i-1] (the IV for the first)
    for (let i = 0; i < plain.length; i++) plain[i]! ^= field[i]!;
    return plain;
  }
  /** A context that may hold part of a block is never used again. */
  private fail(why: string): never {
    this.broken = true;
    throw new Error(why);
  }
}

const aesByKey = new WeakMap<Uint8Array, AesCbc128>();
function aesFor(key: Uint8Array): AesCbc128 {
  let a = aesByKey.get(key);
  if (!a || a.broken || !a.key.equals(key)) { a = new AesCbc128(key); aesByKey.set(key, a); }
  return a;
}

/** AES-CBC-128 encryption of a payload: returns IV ‖ ciphertext (the RMCP+ encrypted payload field). */
export function aesEncrypt(key: Uint8Array, iv: Uint8Array, plain: Uint8Array): Buffer {
  return aesFor(key).encrypt(iv, Buffer.concat([plain, ipmiAesPad(plain.length)]));
}

/**
 * Decrypts IV ‖ ciphertext and strips IPMI padding. Throws IpmiDecodeError on a length that is not a multiple
 * of 16 or a pad that is not 1,2,…,n,n — `baseOffset` is where the field starts in the datagram.
 */
export function aesDecrypt(key: Uint8Array, field: Uint8Array, baseOffset = 0): Buffer {
  if (field.length < 32 || field.length % 16 !== 0) {
    throw new IpmiDecodeError('AES-CBC payload', baseOffset, `length ${field.length} is not IV + a multiple of 16`);
  }
  const plain = aesFor(key).decrypt(field);
  const n = plain[plain.length - 1];
  if (n > 15) throw new IpmiDecodeError('AES-CBC payload', baseOffset + field.length - 1, `pad length ${n} > 15`);
  for (let i = 0; i < n; i++) {
    if (plain[plain.length - 1 - n + i] !== i + 1) throw new IpmiDecodeError('AES-CBC payload', baseOffset + 16 + plain.length - 1 - n + i, 'bad confidentiality pad');
  }
  return plain.subarray(0, plain.length - 1 - n);
}
