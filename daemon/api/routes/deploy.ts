// Deploy and release (issue 15 item 8; shapes and routes: shared/deploy.ts). Every check runs before anything
// starts: a refused batch starts nothing and names each refused node ({error, nodes: [{node, error}]}). User data and
// SSH keys are never logged or echoed back.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ApiServerOptions } from '../server.ts';
import { HttpError } from '../ports.ts';
import { BatchRefusedError } from '../../../core/deploy/service.ts';
import { DONE_WHEN, READ_BACK_CHECKS, type BatchDeployRequest, type DeployRequest, type DeploySettings } from '../../../shared/deploy.ts';
import { IdParams, optionalBody } from '../schemas.ts';

const strict = { additionalProperties: false } as const;
const NodeRefs = Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 10_000 });

const RootDevice = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  serial: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  wwn: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  size: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  minSizeGiB: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
}, strict);

const deployFields = {
  image: Type.String({ minLength: 1, maxLength: 128 }),
  sshKeys: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 16 * 1024 }), { maxItems: 64 })),
  // the 64 KiB limit is checked by the config drive (with its own message); this bound only keeps bodies sane
  userData: Type.Optional(Type.String({ maxLength: 512 * 1024 })),
  rootDevice: Type.Optional(RootDevice),
  doneWhen: Type.Optional(Type.Union(DONE_WHEN.map((d) => Type.Literal(d)))),
  bootTimeoutSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  powerOnSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
};

export const DeployBody = Type.Object({ ...deployFields, hostname: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })) }, strict);
export const BatchDeployBody = Type.Object({ ...deployFields, nodes: NodeRefs, hostname: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })) }, strict);
export const ReleaseBody = Type.Object({ erase: Type.Optional(Type.Boolean()) }, strict);
export const BatchReleaseBody = Type.Object({ nodes: NodeRefs, erase: Type.Optional(Type.Boolean()) }, strict);
export const DeploySettingsBody = Type.Object({
  maxWriters: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  readBackCheck: Type.Optional(Type.Union(READ_BACK_CHECKS.map((c) => Type.Literal(c)))),
}, { ...strict, minProperties: 1 });

/** A batch refusal keeps its per-node reasons in the answer. */
async function batch<T>(reply: FastifyReply, fn: () => T): Promise<T | FastifyReply> {
  try {
    return reply.code(202).send(fn());
  } catch (err) {
    if (err instanceof BatchRefusedError) return reply.code(err.statusCode).send({ error: err.message, nodes: err.nodes });
    throw err;
  }
}

export function registerDeployRoutes(app: FastifyInstance, o: ApiServerOptions): void {
  const { core } = o;
  // body bigger than the API's default 1 MiB is refused by fastify; user data is at most 64 KiB anyway
  app.post('/api/v1/nodes/:id/deploy', { schema: { params: IdParams, body: DeployBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    return reply.code(202).send(core.deploys.deploy(id, req.body as DeployRequest));
  });

  app.post('/api/v1/deploy', { schema: { body: BatchDeployBody } }, async (req, reply) => batch(reply, () => core.deploys.deployMany(req.body as BatchDeployRequest)));

  app.post('/api/v1/nodes/:id/release', { schema: { params: IdParams } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const body = optionalBody(ReleaseBody, req.body);
    return reply.code(202).send(core.deploys.release(id, body.erase ?? false));
  });

  app.post('/api/v1/release', { schema: { body: BatchReleaseBody } }, async (req, reply) => {
    const body = req.body as { nodes: string[]; erase?: boolean };
    return batch(reply, () => core.deploys.releaseMany(body.nodes, body.erase ?? false));
  });

  app.get('/api/v1/deployments', async () => core.deploys.list());

  app.get('/api/v1/nodes/:id/deployment', { schema: { params: IdParams } }, async (req) => {
    const node = core.deploys.resolveNode((req.params as { id: string }).id);
    const d = core.deploys.get(node.id);
    if (!d) throw new HttpError(404, `node ${node.id} was never deployed or released`);
    return d;
  });

  app.get('/api/v1/deploy/settings', async (): Promise<DeploySettings> => core.deploys.settings());
  app.put('/api/v1/deploy/settings', { schema: { body: DeploySettingsBody } }, async (req) => core.deploys.setSettings(req.body as DeploySettings));
}
