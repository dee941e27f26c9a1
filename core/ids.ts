// Identifiers and MAC normalisation used across the core.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** A new stable node/job id (random UUID). */
export function newId(): string {
  return randomUUID();
}

/** A new secret token (32 random bytes, base64url). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 hex of a token: only this is stored, never the token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Normalise a MAC in any common notation (aa:bb:…, AA-BB-…, aabb.ccdd.eeff, aabbccddeeff) to lower-case colon form.
 * Returns null when it is not a 48-bit MAC.
 */
const CANONICAL_MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

export function normalizeMac(input: string): string | null {
  if (CANONICAL_MAC.test(input)) return input; // already lower-case colon notation (every netboot server's form)
  const hex = input.trim().toLowerCase().replace(/[:.\-]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex)) return null;
  return hex.match(/../g)!.join(':');
}
