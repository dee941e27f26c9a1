// The deploy agent's routes (shared/deploy.ts; agent/ramdisk/deploy.sh), on the HTTP boot server beside
// /agent/v1/inventory and /next, inside their scope: the per-node bearer token is checked before anything is read.
//   POST /agent/v1/deploy/progress         AgentProgress → 200 | 409 (another attempt) | 400
//   POST /agent/v1/deploy/result           AgentResult   → 200 | 409 (another attempt) | 400
//   GET  /agent/v1/deploy/config-drive     → text/plain plan, one `OFFSET SIZE SHA256 URL` line per write | 404
//   GET  /agent/v1/deploy/config-drive/:n  → the bytes of write n | 404
// Only the token's own node gets its config drive (it holds the node's SSH keys and user data), and only with a
// deploy token, from the address holding that node's lease (agent-routes.ts, core/agent/tokens.ts).
// And, outside the bearer scope, the deployed OS's callback (the token is in the URL the config drive names):
//   GET|POST /agent/v1/booted?token=…      → 200 | 404 (unknown token); any body (cloud-init phone_home posts a form)
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Core } from '../core/core.ts';
import type { NodeSummary } from '../shared/node.ts';
import type { AgentProgress, AgentResult } from '../shared/deploy.ts';

const strict = { additionalProperties: false } as const;
const Attempt = Type.Integer({ minimum: 0, maximum: 1_000_000 });
const Bytes = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const AgentProgressSchema = Type.Object({
  attempt: Attempt,
  stage: Type.Union([Type.Literal('writing'), Type.Literal('verifying'), Type.Literal('wiping')]),
  bytes: Bytes,
}, strict);

export const AgentResultSchema = Type.Object({
  attempt: Attempt,
  phase: Type.Union([Type.Literal('write'), Type.Literal('verify'), Type.Literal('configdrive'), Type.Literal('clean')]),
  ok: Type.Boolean(),
  error: Type.Optional(Type.String({ maxLength: 2000 })),
  bytes: Type.Optional(Bytes),
  sha256: Type.Optional(Type.String({ pattern: '^([0-9a-f]{64})?$' })),
  fletcher4: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  disk: Type.Optional(Type.String({ maxLength: 64 })),
  detail: Type.Optional(Type.String({ maxLength: 4000 })),
}, strict);

function check<T>(schema: Parameters<typeof Value.Check>[0], body: unknown): { ok: true; value: T } | { ok: false; error: string } {
  if (Value.Check(schema, body)) return { ok: true, value: body as T };
  const e = Value.Errors(schema, body).First();
  return { ok: false, error: `body${e?.path ?? ''} ${e?.message ?? 'is invalid'}` };
}

/** Register the bearer-token routes in the agent scope; `nodeOf` gives the authenticated node of a request. */
export function registerDeployAgentRoutes(scope: FastifyInstance, core: Core, nodeOf: (req: FastifyRequest) => NodeSummary): void {
  scope.post('/agent/v1/deploy/progress', { bodyLimit: 4096 }, async (req, reply) => {
    const c = check<AgentProgress>(AgentProgressSchema, req.body);
    if (!c.ok) return reply.code(400).send({ error: c.error });
    const r = core.deploys.progress(nodeOf(req), c.value);
    return reply.code(r.status).send(r.body);
  });

  scope.post('/agent/v1/deploy/result', { bodyLimit: 16 * 1024 }, async (req, reply) => {
    const c = check<AgentResult>(AgentResultSchema, req.body);
    if (!c.ok) return reply.code(400).send({ error: c.error });
    const r = core.deploys.result(nodeOf(req), c.value);
    return reply.code(r.status).send(r.body);
  });

  scope.get('/agent/v1/deploy/config-drive', async (req, reply) => {
    const plan = core.deploys.configDrivePlan(nodeOf(req));
    if (plan === null) return reply.code(404).send({ error: 'no config drive is being written to this node' });
    return reply.type('text/plain; charset=utf-8').send(plan);
  });

  scope.get('/agent/v1/deploy/config-drive/:n', async (req, reply) => {
    const n = Number((req.params as { n: string }).n);
    const piece = Number.isInteger(n) && n >= 0 ? core.deploys.configDrivePiece(nodeOf(req), n) : null;
    if (piece === null) return reply.code(404).send({ error: 'no such piece of this node\'s config drive' });
    return reply.type('application/octet-stream').header('content-length', piece.length).send(piece);
  });
}

/** GET|POST /agent/v1/booted?token=… in a scope of its own: any content type, small bodies, no bearer token. */
export async function registerBootedRoute(app: FastifyInstance, core: Core): Promise<void> {
  await app.register(async (scope) => {
    // cloud-init's phone_home posts application/x-www-form-urlencoded; the body is not needed, only the token
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 16 * 1024 }, (_req, _body, done) => done(null, null));
    scope.route({
      method: ['GET', 'POST'], url: '/agent/v1/booted',
      handler: async (req, reply) => {
        const token = (req.query as { token?: unknown }).token;
        if (typeof token !== 'string' || !core.deploys.booted(token, req.ip)) {
          req.log.warn({ ip: req.ip }, 'boot callback refused: unknown token');
          return reply.code(404).send({ error: 'unknown token' });
        }
        return { ok: true };
      },
    });
  });
}
