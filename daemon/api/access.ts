// Who may reach which route of the API server. Authorization is decided on the route fastify MATCHED (its
// `config.access`), never on the URL as written: `/%61pi/v1/config`, `//api/v1/nodes` or `/api%2Fv1/nodes` either
// match a route (and meet that route's check) or match none (404 from the not-found handler, which serves no data).
//
// Every route is `token` unless it declares otherwise in its options: `{ config: { access: 'public' } }`.
//   token   — the per-launch token (Bearer), a session cookie, or, where the route sets `tokenInQuery`, `?token=`
//   public  — anyone who passes the request checks below (the UI's static files, /login)
//
// Request checks, for every route (public ones too) — they hold when the token check alone would not
// (a page in the engineer's browser on another origin, a DNS-rebinding host name):
//   Host    — its host name must be one the daemon answers to (`allowedHosts`), else 421. Unix-socket listeners
//             skip it (only local processes that may open the socket reach them): `--listen unix:` and the
//             daemon's local socket beside TCP (local-socket.ts).
//   Origin  — when a browser sends one, it must be the daemon's own origin (`http://<Host header>`), else 403.
//             Checked on every state-changing request (not GET/HEAD/OPTIONS), on every /api request and on the
//             WebSocket upgrade. Clients that send no Origin (the CLI, curl, the agent) are not browsers.
//   Sec-Fetch-Site — `cross-site` or `same-site` on a token route is refused (403): the API is for the UI of this
//             origin and for non-browser clients only.
// A refusal has no side effect (it happens in onRequest, before the body is read) and logs one rate-limited line.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { ApiAuth } from './auth.ts';
import { cameThroughLocalSocket } from './local-socket.ts';

export type RouteAccess = 'token' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** who may call this route; default 'token' */
    access?: RouteAccess;
    /** the token may also come as `?token=` (the WebSocket, whose browser API cannot set headers) */
    tokenInQuery?: boolean;
  }
}

/** One registered route and the access it declared (for the route-enumeration test and `rackseed` docs). */
export interface RouteRecord {
  method: string;
  url: string;
  access: RouteAccess;
  websocket: boolean;
}

export interface AccessOptions {
  auth: ApiAuth;
  logger: Logger;
  /**
   * Host names (no port) the daemon answers to; null = do not check Host (unix socket). Built by
   * `hostsForListen()` from the listen address.
   */
  allowedHosts: () => ReadonlySet<string> | null;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Lower-cased host name of a Host header (`[::1]:8080` → `::1`, `Example.com.` → `example.com`), or null. */
export function hostName(host: string | undefined): string | null {
  if (!host) return null;
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return null;
    h = h.slice(1, end);
  } else {
    const i = h.lastIndexOf(':');
    if (i >= 0) h = h.slice(0, i);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.length > 0 ? h : null;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '::1'];

/**
 * The host names a listener on `host` answers to: loopback names for a loopback address; the address itself
 * otherwise; every local address (and loopback names) for a wildcard (0.0.0.0, ::). `extra`: names the user added
 * (`--allow-host`, e.g. a jump host's DNS name).
 */
export function hostsForListen(host: string, extra: readonly string[] = []): Set<string> {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  const out = new Set<string>(extra.map((e) => e.toLowerCase()));
  if (h === '0.0.0.0' || h === '::') {
    for (const n of LOOPBACK_NAMES) out.add(n);
    for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) out.add(a.address.toLowerCase());
  } else if (h.startsWith('127.') || h === '::1' || h === 'localhost') {
    for (const n of LOOPBACK_NAMES) out.add(n);
    out.add(h);
  } else {
    out.add(h);
  }
  return out;
}

/** At most one log line per reason every `everyMs`, saying how many were refused since the last one. */
class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly log: Logger, private readonly everyMs = 10_000) {}

  note(reason: string, req: FastifyRequest): void {
    const now = Date.now();
    const e = this.last.get(reason);
    if (e && now - e.at < this.everyMs) { e.suppressed++; return; }
    this.last.set(reason, { at: now, suppressed: 0 });
    this.log.warn({ reason, method: req.method, url: loggableUrl(req.url), from: req.ip, suppressedSinceLast: e?.suppressed ?? 0 }, `API request refused: ${reason}`);
  }
}

/**
 * The request target as a log line may show it: the path, and of the query only its parameter names. Query values
 * can be secrets — the token (`?token=`, also percent-encoded as `?%74oken=`) and the one-time login code
 * (`/login?code=`) — and a refused request can carry a valid one (another Host, another Origin).
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url.slice(0, 200);
  const names = url.slice(q + 1).split('&').map((kv) => kv.split('=')[0]!.slice(0, 20)).join('&');
  return `${url.slice(0, Math.min(q, 200))}?${names.slice(0, 100)} (values not logged)`;
}

function isWebSocketUpgrade(req: FastifyRequest): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/**
 * Install the access rules on `app` (before any route is registered) and return the live list of routes with the
 * access each declared.
 */
export function installAccessControl(app: FastifyInstance, o: AccessOptions): RouteRecord[] {
  const routes: RouteRecord[] = [];
  /** urls of the routes declared `websocket: true`: an upgrade to any other route is refused */
  const wsUrls = new Set<string>();
  const refusals = new RefusalLog(o.logger);

  app.addHook('onRoute', (r) => {
    // read when asked: an encapsulated plugin's own onRoute hook (which runs after this one) may still set `access`
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    if ((r as { websocket?: boolean }).websocket) wsUrls.add(r.url);
    for (const m of methods) {
      routes.push({ method: m, url: r.url, get access() { return r.config?.access ?? 'token'; }, websocket: Boolean((r as { websocket?: boolean }).websocket) });
    }
  });

  const refuse = (req: FastifyRequest, reply: FastifyReply, code: 400 | 401 | 403 | 421, reason: string, error: string): FastifyReply => {
    refusals.note(reason, req);
    return reply.code(code).header('cache-control', 'no-store').send({ error });
  };

  app.addHook('onRequest', async (req, reply) => {
    // Host: a DNS-rebinding page reaches 127.0.0.1 under its own host name
    const allowed = o.allowedHosts();
    if (allowed && !cameThroughLocalSocket(req.raw.socket)) {
      const name = hostName(req.headers.host);
      if (!name || !allowed.has(name)) {
        return refuse(req, reply, 421, 'host not allowed', `host ${JSON.stringify(req.headers.host ?? '')} is not an address of this daemon (start it with --allow-host NAME to add one)`);
      }
    }
    if (isWebSocketUpgrade(req) && (req.is404 || !wsUrls.has(req.routeOptions.url ?? ''))) {
      return refuse(req, reply, 400, 'upgrade to a route that is not a WebSocket', 'no WebSocket at this path');
    }
    const access: RouteAccess = req.is404 ? 'public' : (req.routeOptions.config?.access ?? 'token');
    const apiLike = access === 'token';
    // Origin: browsers send it on cross-origin requests, on every POST/PUT/DELETE and on WebSocket upgrades
    const origin = req.headers.origin;
    if (origin !== undefined && (apiLike || !SAFE_METHODS.has(req.method) || isWebSocketUpgrade(req))) {
      if (origin !== `http://${req.headers.host ?? ''}`) {
        return refuse(req, reply, 403, 'cross-origin request', `requests from origin ${origin} are refused; use the UI served by this daemon`);
      }
    }
    if (apiLike) {
      const site = req.headers['sec-fetch-site'];
      if (site === 'cross-site' || site === 'same-site') return refuse(req, reply, 403, 'cross-site request', 'cross-site requests to the API are refused');
      if (!o.auth.isAuthorized(req, req.routeOptions.config?.tokenInQuery === true)) {
        return refuse(req, reply, 401, 'no credentials', 'unauthorized: send Authorization: Bearer <token> or log in with the one-time URL');
      }
    }
  });
  return routes;
}

/**
 * Path as a router might read it, for deciding that an unmatched request was aimed at the API: percent-decoded
 * (repeatedly), lower-cased, duplicate slashes folded, dot segments resolved.
 */
export function looksLikeApiPath(url: string): boolean {
  let p = url.split('?')[0]!;
  for (let i = 0; i < 3; i++) {
    try { const d = decodeURIComponent(p); if (d === p) break; p = d; } catch { break; }
  }
  p = p.toLowerCase().replace(/\\/g, '/').replace(/\/+/g, '/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '..') out.pop();
    else if (seg !== '.' && seg !== '') out.push(seg.replace(/\.+$/, ''));
  }
  return out[0] === 'api';
}
