// Agent tokens (issue 19 item 3): what a boot script hands the discovery/deploy agent on its kernel command line,
// bound to the lease it was issued for, good for one purpose, and short-lived.
//   - bound: issued only to the address that holds the node's DHCP lease (authoritative mode: our lease for its MAC;
//     proxy mode: the address the node gave in its DHCP/proxyDHCP exchange), and accepted only from that address or
//     from the address a later DHCP exchange of the same MAC moved it to (the ramdisk's own DHCP);
//   - single-purpose: `inventory` (discovery/inspection: POST inventory, GET next), `deploy` (also the deploy
//     progress/result reports and the config drive), `clean` (progress/result, never a config drive);
//   - short-lived: it expires IDLE_MS after it was issued or last used (every accepted request extends it), and
//     MAX_LIFETIME_MS after it was issued whatever its use. A node gets a new one each time it network-boots the ramdisk,
//     which revokes the old one.
// Only the SHA-256 of a token is stored (SQLite, table agent_tokens: a daemon restart keeps a running deploy's token).
import type { Db } from '../db.ts';
import { hashToken, newToken } from '../ids.ts';

export type TokenPurpose = 'inventory' | 'deploy' | 'clean';

/** A token not used for this long is refused (15 min: the ramdisk's boot on a slow machine, with room to spare). */
export const TOKEN_IDLE_MS = 15 * 60_000;
/** A token older than this is refused however often it was used (24 h: a discovery agent left running asks every minute). */
export const TOKEN_MAX_LIFETIME_MS = 24 * 60 * 60_000;
/** An accepted request extends the expiry at most this often (one write per minute, not per progress report). */
const EXTEND_EVERY_MS = 60_000;

/** What each route of the agent needs (daemon/agent-routes.ts names the route by this key). */
export type AgentCapability = 'report' | 'deploy-report' | 'config-drive';
const ALLOWED: Record<TokenPurpose, ReadonlySet<AgentCapability>> = {
  inventory: new Set(['report']),
  deploy: new Set(['report', 'deploy-report', 'config-drive']),
  clean: new Set(['report', 'deploy-report']),
};

export interface TokenGrant { nodeId: string; purpose: TokenPurpose; ip: string; issuedAt: number; expiresAt: number }
export type TokenCheck =
  | { ok: true; grant: TokenGrant }
  | { ok: false; reason: 'unknown' | 'expired' | 'wrong-address' | 'wrong-purpose'; grant: TokenGrant | null };

interface Row { node_id: string; purpose: TokenPurpose; ip: string; issued_at: number; expires_at: number; used_at: number }

/** `::ffff:10.0.0.5` (an IPv4 client of a dual-stack socket) → `10.0.0.5`; anything else as given. */
export function plainIp(ip: string | null | undefined): string | null {
  if (!ip) return null;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export class AgentTokens {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** A new token for `nodeId`, usable from `ip` for `purpose`; the node's earlier tokens are revoked. */
  issue(nodeId: string, purpose: TokenPurpose, ip: string): string {
    const token = newToken();
    const t = this.now();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM agent_tokens WHERE node_id = ?').run(nodeId);
      this.db.prepare('INSERT INTO agent_tokens (hash, node_id, purpose, ip, issued_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(hashToken(token), nodeId, purpose, ip, t, Math.min(t + TOKEN_IDLE_MS, t + TOKEN_MAX_LIFETIME_MS), t);
    })();
    return token;
  }

  /** Revoke every token of `nodeId` (the node was removed or handed over). */
  revoke(nodeId: string): void {
    this.db.prepare('DELETE FROM agent_tokens WHERE node_id = ?').run(nodeId);
  }

  /** The grant behind `token`, whatever its state; null when no such token was issued (or it was replaced). */
  grantOf(token: string): TokenGrant | null {
    const r = this.db.prepare('SELECT node_id, purpose, ip, issued_at, expires_at, used_at FROM agent_tokens WHERE hash = ?').get(hashToken(token)) as Row | undefined;
    return r ? { nodeId: r.node_id, purpose: r.purpose, ip: r.ip, issuedAt: r.issued_at, expiresAt: r.expires_at } : null;
  }

  /**
   * Check `token` used from `ip` for `need`. `leaseMoved(ip)`: whether a DHCP exchange of the grant's node has since
   * put it at `ip` (its lease now holds that address). Accepting extends the expiry (sliding, capped).
   */
  check(token: string, ip: string | null, need: AgentCapability, leaseMoved: (nodeId: string, ip: string) => boolean): TokenCheck {
    const grant = this.grantOf(token);
    if (!grant) return { ok: false, reason: 'unknown', grant: null };
    const t = this.now();
    if (t >= grant.expiresAt) return { ok: false, reason: 'expired', grant };
    const from = plainIp(ip);
    if (!from || (from !== grant.ip && !leaseMoved(grant.nodeId, from))) return { ok: false, reason: 'wrong-address', grant };
    if (!ALLOWED[grant.purpose].has(need)) return { ok: false, reason: 'wrong-purpose', grant };
    if (grant.expiresAt - TOKEN_IDLE_MS + EXTEND_EVERY_MS <= t) {
      const expiresAt = Math.min(t + TOKEN_IDLE_MS, grant.issuedAt + TOKEN_MAX_LIFETIME_MS);
      this.db.prepare('UPDATE agent_tokens SET expires_at = ?, used_at = ? WHERE hash = ?').run(expiresAt, t, hashToken(token));
      grant.expiresAt = expiresAt;
    }
    return { ok: true, grant };
  }
}
