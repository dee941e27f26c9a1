// Where a node's console WebSocket is on a daemon (daemon/api/routes/console.ts), for the clients in this repo that
// open it: the `rackseed console` CLI and the daemon's own console warm-up (daemon/console-warm-up.ts).

/**
 * ws:// (wss://) URL of the console of `nodeId` on the daemon at `base` (`http(s)://host:port`), or ws+unix:// for a
 * daemon on a unix socket (`unix:/path`; the `ws` library's form, the path then the request path after a colon).
 */
export function consoleWsUrl(base: string, nodeId: string, client: 'cli' | 'ui' = 'cli'): string {
  const path = `/api/v1/nodes/${encodeURIComponent(nodeId)}/console?client=${client}`;
  if (base.startsWith('unix:')) return `ws+unix://${base.slice(5)}:${path}`;
  const u = new URL(base + path);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}
