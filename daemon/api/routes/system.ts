// Health, interfaces, services, survey and config reads.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Health, LocalSocketInfo, NetworkConfig } from '../../../shared/api.ts';
import { cameThroughLocalSocket, isLoopbackPeer } from '../local-socket.ts';
import { listInterfaces } from '../../interfaces.ts';
import type { ApiServerOptions } from '../server.ts';
import { NetworkConfigBody, SurveyBody, optionalBody } from '../schemas.ts';

const started = Date.now();

/** A peer on this host: a loopback TCP address (127/8, ::1, ::ffff:127/104) or the daemon's local socket. */
function onThisHost(req: FastifyRequest): boolean {
  return cameThroughLocalSocket(req.raw.socket) || isLoopbackPeer(req.raw.socket.remoteAddress);
}

export function registerSystemRoutes(app: FastifyInstance, o: ApiServerOptions): void {
  app.get('/api/v1/health', async (): Promise<Health> => ({
    version: o.version, uptimeSec: Math.round((Date.now() - started) / 1000), configured: o.core.config.network() !== null,
  }));
  // where `rackseed` on this host reaches the daemon with a cheaper round trip (the console's keystrokes): told only to
  // a client on this host; a remote one could not use the path anyway
  app.get('/api/v1/local-socket', async (req): Promise<LocalSocketInfo> => ({ path: onThisHost(req) ? o.localSocket?.() ?? null : null }));
  app.get('/api/v1/interfaces', async () => listInterfaces());
  app.get('/api/v1/services', async () => o.services.status());
  app.get('/api/v1/config', async () => o.core.config.network());
  // starting services is the user's explicit action that ends a "hand over and stop" (core/handoff)
  app.put('/api/v1/config/network', { schema: { body: NetworkConfigBody } }, async (req) => {
    const status = await o.services.configure(req.body as NetworkConfig);
    o.core.handoff.resumeServices();
    return status;
  });
  app.get('/api/v1/survey', async () => o.services.lastSurvey());
  app.post('/api/v1/survey', async (req) => o.services.survey(optionalBody(SurveyBody, req.body).interface));
}
