// The daemon's API server (fastify 5): every /api/ route as documented in src/shared/api.ts, behind ApiAuth;
// GET /login for the one-time code (POST /login with the token: routes/login.ts); the WebSocket stream; and the built renderer (dist/renderer) at / when present.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import fastifyStatic from '@fastify/static';
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
import { sendError } from './errors.ts';

export interface ApiServerOptions {
  core: Core;
  auth: ApiAuth;
  services: ServicesPort;
  bmc: BmcOpsPort;
  logger: Logger;
  version: string;
  /** directory of the built renderer; served at / when it exists */
  uiDir: string | null;
}

export async function buildApiServer(opts: ApiServerOptions): Promise<FastifyInstance> {
  // request logs (info) are left out; errors still reach the log
  const app: FastifyInstance = Fastify({ loggerInstance: opts.logger.child({ svc: 'api' }, { level: 'warn' }) as FastifyBaseLogger, bodyLimit: 1024 * 1024, trustProxy: false });
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (!path.startsWith('/api/')) return;
    if (!opts.auth.isAuthorized(req, path === '/api/v1/stream')) {
      return reply.code(401).header('cache-control', 'no-store').send({ error: 'unauthorized: send Authorization: Bearer <token> or log in with the one-time URL' });
    }
  });

  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));

  registerLoginRoutes(app, opts.auth);

  registerSystemRoutes(app, opts);
  registerNodeRoutes(app, opts);
  registerBmcRoutes(app, opts);
  registerStreamRoute(app, opts);

  if (opts.uiDir && existsSync(opts.uiDir)) {
    await app.register(fastifyStatic, { root: opts.uiDir, prefix: '/', wildcard: true });
    app.setNotFoundHandler((req, reply) => {
      if (req.method === 'GET' && !req.url.startsWith('/api/') && existsSync(`${opts.uiDir}/index.html`)) return reply.sendFile('index.html');
      return reply.code(404).send({ error: 'not found' });
    });
  } else {
    app.get('/', async (_req, reply) => reply.type('text/plain').send('RackSeed daemon: the UI is not built (npm run build:ui); the API is at /api/v1/\n'));
  }
  return app;
}
