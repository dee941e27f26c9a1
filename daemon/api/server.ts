// The daemon's API server (fastify 5): every /api/ route as documented in shared/api.ts; GET /login for the
// one-time code (POST /login with the token: routes/login.ts); the WebSocket stream; and the built renderer
// (dist/renderer) at / when present. Who may reach which route is decided per matched route (access.ts): every
// route needs the token unless it declares `config: { access: 'public' }` (login, the UI's static files).
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import fastifyStatic from '@fastify/static';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Core } from '../../core/core.ts';
import type { ApiAuth } from './auth.ts';
import type { BmcOpsPort, ServicesPort } from './ports.ts';
import { registerSystemRoutes } from './routes/system.ts';
import { registerNodeRoutes } from './routes/nodes.ts';
import { registerBmcRoutes } from './routes/bmc.ts';
import { registerStreamRoute } from './routes/stream.ts';
import { registerLoginRoutes } from './routes/login.ts';
import { registerImageRoutes } from './routes/images.ts';
import { registerHandoffRoutes } from './routes/handoff.ts';
import { registerDeployRoutes } from './routes/deploy.ts';
import { registerSeedRoutes } from './routes/seed.ts';
import { registerConsoleRoutes } from './routes/console.ts';
import type { ConsoleManager } from '../../core/console/manager.ts';
import { sendError } from './errors.ts';
import { installAccessControl, looksLikeApiPath, type RouteRecord } from './access.ts';

export interface ApiServerOptions {
  core: Core;
  auth: ApiAuth;
  services: ServicesPort;
  bmc: BmcOpsPort;
  logger: Logger;
  version: string;
  /** directory of the built renderer; served at / when it exists */
  uiDir: string | null;
  /** host names (no port) the Host header may carry; null = any (a unix-socket listener). See access.ts hostsForListen. */
  allowedHosts: () => ReadonlySet<string> | null;
  /** the nodes' serial consoles (core/console); absent: the console routes answer 503 */
  consoles?: ConsoleManager | null;
  /**
   * The daemon's console warm-up (daemon/console-warm-up.ts): while it runs, its one-time node ids map to its scratch
   * ConsoleManagers here, and the console route serves them like a node's console (no node looked up, nothing on the
   * event bus). Absent or empty: every id is a node's.
   */
  warmUpConsoles?: ReadonlyMap<string, ConsoleManager>;
  /** the daemon's local socket's path (local-socket.ts) for GET /api/v1/local-socket; absent or null: none */
  localSocket?: () => string | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** every route registered, with the access it declared (access.ts) */
    rackseedRoutes: RouteRecord[];
  }
}

/** Content-Security-Policy of every response (directives for @fastify/helmet). */
export const UI_CSP = {
  defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:'], connectSrc: ["'self'"],
  objectSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'self'"], frameAncestors: ["'none'"],
};

export async function buildApiServer(opts: ApiServerOptions): Promise<FastifyInstance> {
  // request logs (info) are left out; errors still reach the log
  const app: FastifyInstance = Fastify({ loggerInstance: opts.logger.child({ svc: 'api' }, { level: 'warn' }) as FastifyBaseLogger, bodyLimit: 1024 * 1024, trustProxy: false });
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });

  // Security headers on every response (the UI's own meta CSP stays as a second layer): no framing, no sniffing,
  // no referrer, scripts and styles only from this origin. The login page adds the hash of its one inline style.
  await app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: UI_CSP },
    strictTransportSecurity: false, // plain HTTP on loopback: HSTS would pin 127.0.0.1 to https in the browser
    // not "no-referrer": with it, browsers send `Origin: null` on the UI's own form posts (Fetch §3.2.5), which the
    // Origin check refuses; "same-origin" still sends nothing to other origins
    referrerPolicy: { policy: 'same-origin' },
  });
  // only the routes that say so (POST /login: guessing the token) are rate-limited
  await app.register(fastifyRateLimit, { global: false });

  const routes = installAccessControl(app, { auth: opts.auth, logger: opts.logger.child({ svc: 'api' }), allowedHosts: opts.allowedHosts });
  app.decorate('rackseedRoutes', routes);

  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));

  /** No route matched a path aimed at the API (any spelling): 401 without credentials (the API's shape is not told), else 404. */
  const apiNotFound = (req: FastifyRequest, reply: FastifyReply): FastifyReply => (opts.auth.isAuthorized(req)
    ? reply.code(404).send({ error: 'not found' })
    : reply.code(401).header('cache-control', 'no-store').send({ error: 'unauthorized: send Authorization: Bearer <token> or log in with the one-time URL' }));

  await registerLoginRoutes(app, opts.auth);

  registerSystemRoutes(app, opts);
  registerNodeRoutes(app, opts);
  registerBmcRoutes(app, opts);
  await registerImageRoutes(app, opts);
  registerStreamRoute(app, opts);
  registerHandoffRoutes(app, opts);
  registerDeployRoutes(app, opts);
  registerSeedRoutes(app, opts);
  registerConsoleRoutes(app, opts);

  if (opts.uiDir && existsSync(opts.uiDir)) {
    const uiDir = opts.uiDir;
    // the UI's files are public: the page itself holds no data, and it must load before the login
    await app.register(async (ui) => {
      ui.addHook('onRoute', (r) => { r.config = { ...r.config, access: 'public' }; });
      await ui.register(fastifyStatic, { root: uiDir, prefix: '/', wildcard: true });
      // client-side routes of the UI get index.html; anything aimed at the API (in any spelling) a plain 404
      ui.setNotFoundHandler((req, reply) => {
        if (looksLikeApiPath(req.url)) return apiNotFound(req, reply);
        if (req.method === 'GET' && existsSync(`${uiDir}/index.html`)) return reply.sendFile('index.html');
        return reply.code(404).send({ error: 'not found' });
      });
    });
  } else {
    app.setNotFoundHandler((req, reply) => (looksLikeApiPath(req.url) ? apiNotFound(req, reply) : reply.code(404).send({ error: 'not found' })));
    app.get('/', { config: { access: 'public' } }, async (_req, reply) => reply.type('text/plain').send('RackSeed daemon: the UI is not built (npm run build:ui); the API is at /api/v1/\n'));
  }
  return app;
}
