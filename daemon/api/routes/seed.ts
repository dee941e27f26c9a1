// The seed (issue 17; shapes and routes in shared/seed.ts). Every route is token-authorized (the default of access.ts).
// The site's credentials are only in GET /api/v1/seed/credentials (no-store, an event records that they were handed out).
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiServerOptions } from '../server.ts';
import type { SeedRequest } from '../../../shared/seed.ts';

const Cidr = Type.String({ minLength: 9, maxLength: 18, pattern: '^[0-9.]+/[0-9]{1,2}$' });
const Ip = Type.String({ minLength: 7, maxLength: 15, pattern: '^[0-9.]+$' });
const SeedBody = Type.Object({
  control: Type.String({ minLength: 1, maxLength: 128 }),
  image: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  network: Type.Object({
    provisioningCidr: Cidr,
    bmcNic: Type.Optional(Type.Union([Type.Null(), Type.Object({ mac: Type.String({ minLength: 11, maxLength: 17 }), cidr: Cidr }, { additionalProperties: false })])),
    dhcpRange: Type.Object({ start: Ip, end: Ip, netmask: Ip }, { additionalProperties: false }),
  }, { additionalProperties: false }),
  ironicTimeoutSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  sshKeys: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 16_384 }), { maxItems: 64 })),
}, { additionalProperties: false });
const PlanQuery = Type.Object({ control: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }, { additionalProperties: false });

export function registerSeedRoutes(app: FastifyInstance, o: ApiServerOptions): void {
  const { core } = o;
  app.get('/api/v1/seed/plan', { schema: { querystring: PlanQuery } }, async (req) => core.seed.plan((req.query as Static<typeof PlanQuery>).control));
  app.get('/api/v1/seed', async () => core.seed.get());
  app.post('/api/v1/seed', { schema: { body: SeedBody } }, async (req, reply) => reply.code(202).send(core.seed.start(req.body as SeedRequest)));
  app.post('/api/v1/seed/resume', async (_req, reply) => reply.code(202).send(core.seed.resume()));
  app.post('/api/v1/seed/rollback', async () => core.seed.rollback());
  app.get('/api/v1/seed/credentials', async (_req, reply) => {
    const text = core.seed.credentials();
    core.bus.record({ source: 'api', kind: 'seed-credentials', mac: null, nodeId: null, level: 'warn', message: 'the site\'s control-node credentials were handed out' });
    return reply.header('content-type', 'text/plain; charset=utf-8').header('content-disposition', 'attachment; filename="rackseed-site-credentials.env"')
      .header('cache-control', 'no-store').send(text);
  });
}
