// API authentication (shared/api.ts header): one per-launch token, sent as `Authorization: Bearer <token>`
// (or `?token=` on the WebSocket), or a session cookie `rackseed_session` obtained by redeeming a one-time
// login code at `GET /login?code=…` (or posting the token to `POST /login`). Codes are single use; sessions live as
// long as the daemon process.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'rackseed_session';

export class ApiAuth {
  private readonly codes = new Set<string>();
  private readonly sessions = new Set<string>();
  private readonly tokenDigest: Buffer;

  /** `token`: from RACKSEED_TOKEN, or null to generate one (read it back from `.token`). */
  constructor(token: string | null) {
    this.token = token && token.length > 0 ? token : randomBytes(32).toString('base64url');
    this.tokenDigest = digest(this.token);
  }

  readonly token: string;

  /** Mint a one-time login code (base64url, 24 bytes). */
  issueLoginCode(): string {
    const code = randomBytes(24).toString('base64url');
    this.codes.add(code);
    return code;
  }

  /** Redeem a login code: returns a new session id, or null if the code is unknown or already used. */
  redeem(code: string): string | null {
    if (!this.codes.delete(code)) return null;
    return this.newSession();
  }

  /** A new session id (for a redeemed code, or a browser that proved it has the token: POST /login). */
  newSession(): string {
    const sid = randomBytes(32).toString('base64url');
    this.sessions.add(sid);
    return sid;
  }

  /** True when `candidate` equals the token (constant time). */
  checkToken(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  /** True when the request carries the bearer token, a valid session cookie, or (if `allowQuery`) `?token=`. */
  isAuthorized(req: FastifyRequest, allowQuery = false): boolean {
    const h = req.headers.authorization;
    if (typeof h === 'string' && h.startsWith('Bearer ') && this.checkToken(h.slice(7).trim())) return true;
    const sid = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (sid && this.sessions.has(sid)) return true;
    if (allowQuery) {
      const q = (req.query as Record<string, unknown> | undefined)?.token;
      if (typeof q === 'string' && this.checkToken(q)) return true;
    }
    return false;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Value of cookie `name` in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return null;
}
