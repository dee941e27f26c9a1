// Where the daemon is and how to authenticate. In Electron the preload bridge hands over {baseUrl, token};
// in a browser (headless mode) the page is served by the daemon itself and the `rackseed_session` cookie
// (set by the one-time /login URL) authenticates, so the token is null.
import type { RackseedBridge } from '../../electron/ipc-contract.ts';

declare global {
  interface Window { rackseed?: RackseedBridge }
}

export interface ApiConnection {
  /** origin (+ optional path prefix) of the daemon, without a trailing slash */
  baseUrl: string;
  /** Bearer token; null = rely on the session cookie (browser mode) */
  token: string | null;
}

export async function resolveConnection(): Promise<ApiConnection> {
  if (typeof window !== 'undefined' && window.rackseed) {
    const c = await window.rackseed.getConnection();
    return { baseUrl: c.baseUrl.replace(/\/+$/, ''), token: c.token };
  }
  // Served by the daemon: the API lives beside index.html.
  const base = new URL('.', window.location.href);
  return { baseUrl: base.href.replace(/\/+$/, ''), token: null };
}

/** ws:// URL of the event stream; the token goes in the query because browsers cannot set WS headers. */
export function streamUrl(conn: ApiConnection): string {
  const u = new URL(conn.baseUrl + '/api/v1/stream');
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (conn.token) u.searchParams.set('token', conn.token);
  return u.href;
}
