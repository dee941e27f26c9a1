// Nodes, their detail (inventory, events, jobs), actions, and the event log.
import type { FastifyInstance } from 'fastify';
import type { BootDevRequest, NodeDetail, PowerAction } from '../../../shared/api.ts';
import { normalizeMac } from '../../../core/ids.ts';
import type { ApiServerOptions } from '../server.ts';
import { HttpError } from '../ports.ts';
import { BootDevBody, EventsQuery, IdParams, MaintenanceBody, PowerBody } from '../schemas.ts';

export function registerNodeRoutes(app: FastifyInstance, o: ApiServerOptions): void {
  const { core } = o;
  const nodeOr404 = (id: string) => {
    const n = core.nodes.get(id);
    if (!n) throw new HttpError(404, `no node ${id}`);
    return n;
  };

  app.get('/api/v1/nodes', async () => core.nodes.list());

  app.get('/api/v1/nodes/:id', { schema: { params: IdParams } }, async (req): Promise<NodeDetail> => {
    const node = nodeOr404((req.params as { id: string }).id);
    return {
      node,
      inventory: core.nodes.inventory(node.id),
      events: core.events.query({ mac: node.mac, nodeId: node.id, limit: 1000 }),
      jobs: core.jobs.listForNode(node.id),
    };
  });

  app.post('/api/v1/nodes/:id/inspect', { schema: { params: IdParams } }, async (req) => {
    const node = nodeOr404((req.params as { id: string }).id);
    return o.bmc.inspect(node.id);
  });

  app.post('/api/v1/nodes/:id/power', { schema: { params: IdParams, body: PowerBody } }, async (req) => {
    const node = nodeOr404((req.params as { id: string }).id);
    return o.bmc.power(node.id, (req.body as { action: PowerAction }).action);
  });

  app.post('/api/v1/nodes/:id/bootdev', { schema: { params: IdParams, body: BootDevBody } }, async (req) => {
    const node = nodeOr404((req.params as { id: string }).id);
    await o.bmc.bootdev(node.id, req.body as BootDevRequest);
    return { ok: true };
  });

  // Maintenance: RackSeed leaves the node alone (local-disk iPXE script, no inspection) until it is cleared.
  app.put('/api/v1/nodes/:id/maintenance', { schema: { params: IdParams, body: MaintenanceBody } }, async (req) => {
    const node = nodeOr404((req.params as { id: string }).id);
    const body = req.body as { maintenance: boolean; reason?: string };
    return core.lifecycle.setMaintenance(node.id, body.maintenance, body.reason?.trim() || null);
  });

  app.get('/api/v1/events', { schema: { querystring: EventsQuery } }, async (req) => {
    const q = req.query as { mac?: string; since?: number; limit?: number };
    let mac: string | undefined;
    let nodeId: string | undefined;
    if (q.mac) {
      const m = normalizeMac(q.mac);
      if (!m) throw new HttpError(400, `not a MAC address: ${q.mac}`);
      mac = m;
      nodeId = core.nodes.getByMac(m)?.id;
    }
    return core.events.query({ mac, nodeId, since: q.since, limit: q.limit });
  });
}
