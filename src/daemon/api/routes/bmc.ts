// BMC credentials (password write-only), sweep, BMC list, jobs and discovery.
import type { FastifyInstance } from 'fastify';
import type { ApiServerOptions } from '../server.ts';
import { CredentialsBody, DiscoveryBody, SweepBody, optionalBody } from '../schemas.ts';

export function registerBmcRoutes(app: FastifyInstance, o: ApiServerOptions): void {
  const { core } = o;
  app.get('/api/v1/bmc/credentials', async () => core.config.bmcCredentialsPublic());
  app.put('/api/v1/bmc/credentials', { schema: { body: CredentialsBody } }, async (req) => {
    const body = req.body as { user: string; password: string };
    core.config.setBmcCredentials(body);
    core.bus.record({ source: 'api', kind: 'bmc-credentials', mac: null, nodeId: null, message: `BMC credentials set for user ${body.user}` });
    return { user: body.user, passwordSet: true as const };
  });
  app.post('/api/v1/bmc/sweep', { schema: { body: SweepBody } }, async (req) => o.bmc.sweep((req.body as { cidr: string }).cidr));
  app.get('/api/v1/bmcs', async () => core.bmcs.list());
  app.get('/api/v1/jobs', async () => core.jobs.list());
  app.post('/api/v1/discovery', async (req) => {
    const body = optionalBody(DiscoveryBody, req.body);
    return o.bmc.discovery(body.bmcs);
  });
}
