// Cipher suites (IPMI 2.0 §22.15.2, Table 22-20) and the algorithm numbers of Open Session (Tables 13-17..13-19).
// RackSeed speaks 17 (SHA-256) and 3 (SHA-1); both authenticate, protect integrity and encrypt with AES-CBC-128.
// Suite 0 (no authentication at all) is only ever used when the caller explicitly allows insecure suites.

export enum AuthAlg { None = 0, HmacSha1 = 1, HmacMd5 = 2, HmacSha256 = 3 }
export enum IntegrityAlg { None = 0, HmacSha1_96 = 1, HmacMd5_128 = 2, Md5_128 = 3, HmacSha256_128 = 4 }
export enum ConfAlg { None = 0, AesCbc128 = 1, XRc4_128 = 2, XRc4_40 = 3 }

export interface CipherSuite {
  id: number;
  auth: AuthAlg;
  integrity: IntegrityAlg;
  confidentiality: ConfAlg;
  /** node:crypto hash name used by the auth, integrity and key derivation; null for suite 0 */
  hash: 'sha1' | 'sha256' | null;
  /** bytes of the RAKP 2/3 key-exchange auth code (full HMAC) */
  authCodeLength: number;
  /** bytes of the RAKP 4 integrity check value and of each packet's auth code */
  icvLength: number;
}

export const CIPHER_SUITES: Readonly<Record<number, CipherSuite>> = {
  0: { id: 0, auth: AuthAlg.None, integrity: IntegrityAlg.None, confidentiality: ConfAlg.None, hash: null, authCodeLength: 0, icvLength: 0 },
  3: { id: 3, auth: AuthAlg.HmacSha1, integrity: IntegrityAlg.HmacSha1_96, confidentiality: ConfAlg.AesCbc128, hash: 'sha1', authCodeLength: 20, icvLength: 12 },
  17: { id: 17, auth: AuthAlg.HmacSha256, integrity: IntegrityAlg.HmacSha256_128, confidentiality: ConfAlg.AesCbc128, hash: 'sha256', authCodeLength: 32, icvLength: 16 },
};

/** Suites that authenticate, protect integrity and encrypt: the only ones used without `allowInsecure`. */
export const SECURE_SUITES: readonly number[] = [17, 3];

/** Why a suite is refused by default, or null when it is secure. */
export function insecureReason(id: number): string | null {
  const s = CIPHER_SUITES[id];
  if (!s) return `cipher suite ${id} is not implemented by RackSeed (use 17 or 3)`;
  if (s.auth === AuthAlg.None) return `cipher suite ${id} has no authentication: anyone who knows a user name can control the BMC without its password`;
  if (s.integrity === IntegrityAlg.None) return `cipher suite ${id} has no integrity protection: commands can be forged on the wire`;
  if (s.confidentiality === ConfAlg.None) return `cipher suite ${id} does not encrypt: commands and replies can be read on the wire`;
  return null;
}
