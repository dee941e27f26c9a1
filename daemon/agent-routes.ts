// Agent routes (shared/inventory.ts protocol), mounted on the HTTP boot server — not the API listener, which
// stays on loopback. The per-node bearer token is checked in onRequest, before the body is read or parsed, so a
// request without a valid token changes nothing and costs nothing. Bodies are limited to INVENTORY_MAX_BYTES.
// A token (core/agent/tokens.ts) is good only from the address holding its node's lease, for the routes of its
// purpose (CAPABILITY below), until it expires; any other use is a 401 and a warning on the node.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { INVENTORY_MAX_BYTES } from '../shared/inventory.ts';
import type { NodeSummary } from '../shared/node.ts';
import type { Core } from '../core/core.ts';
import type { AgentCapability } from '../core/agent/tokens.ts';
import { registerBootedRoute, registerDeployAgentRoutes } from './deploy-agent-routes.ts';

const nodeOf = new WeakMap<FastifyRequest, NodeSummary>();

/** What each agent route needs of a token (by the matched route's URL); a route not listed needs a deploy token. */
const CAPABILITY: Record<string, AgentCapability> = {
  '/agent/v1/inventory': 'report',
  '/agent/v1/next': 'report',
  '/agent/v1/deploy/progress': 'deploy-report',
  '/agent/v1/deploy/result': 'deploy-report',
  '/agent/v1/deploy/config-drive': 'config-drive',
  '/agent/v1/deploy/config-drive/:n': 'config-drive',
};

/**
 * Register POST /agent/v1/inventory and GET /agent/v1/next on `app` (an encapsulated scope), the deploy agent's
 * routes beside them (deploy-agent-routes.ts), and the deployed OS's token-in-URL callback.
 */
export async function registerAgentRoutes(app: FastifyInstance, core: Core): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => {
      const auth = core.intake.authenticate(req.headers.authorization, req.ip, CAPABILITY[req.routeOptions.url ?? ''] ?? 'config-drive');
      if (!auth.ok) {
        req.log.warn({ ip: req.ip, url: req.url.split('?')[0] }, `agent request refused: ${auth.error}`);
        return reply.code(auth.status).header('connection', 'close').send({ error: auth.error });
      }
      nodeOf.set(req, auth.node);
    });

    scope.post('/agent/v1/inventory', { bodyLimit: INVENTORY_MAX_BYTES }, async (req, reply) => {
      const node = nodeOf.get(req)!;
      const r = core.intake.acceptInventory(node, req.body, req.ip);
      return reply.code(r.status).send(r.body);
    });

    scope.get('/agent/v1/next', async (req) => {
      const node = core.nodes.get(nodeOf.get(req)!.id)!;
      // a node being deployed or cleaned gets its commands from the deploy service (which records them itself)
      const deploy = core.deploys.command(node);
      if (deploy) return deploy;
      const cmd = core.intake.next(node);
      if (cmd.action !== 'wait') {
        core.bus.record({ source: 'agent', kind: 'command', mac: node.mac, nodeId: node.id, message: `agent told to ${cmd.action}` });
      }
      return cmd;
    });

    registerDeployAgentRoutes(scope, core, (req) => core.nodes.get(nodeOf.get(req)!.id)!);
  });
  await registerBootedRoute(app, core);
}
