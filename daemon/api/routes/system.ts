// Health, interfaces, services, survey and config reads.
import type { FastifyInstance } from 'fastify';
import type { Health, NetworkConfig } from '../../../shared/api.ts';
import { listInterfaces } from '../../interfaces.ts';
import type { ApiServerOptions } from '../server.ts';
import { NetworkConfigBody, SurveyBody, optionalBody } from '../schemas.ts';

const started = Date.now();

export function registerSystemRoutes(app: FastifyInstance, o: ApiServerOptions): void {
  app.get('/api/v1/health', async (): Promise<Health> => ({
    version: o.version, uptimeSec: Math.round((Date.now() - started) / 1000), configured: o.core.config.network() !== null,
  }));
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
