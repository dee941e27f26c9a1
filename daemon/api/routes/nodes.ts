// Nodes, their detail (inventory, events, jobs), actions, and the event log.
import type { FastifyInstance } from 'fastify';
import type { BootDevRequest, NodeDetail, PowerAction } from '../../../shared/api.ts';
import { normalizeMac } from '../../../core/ids.ts';
import type { ApiServerOptions } from '../server.ts';
import { HttpError } from '../ports.ts';
import { AllowBody, BootDevBody, EventsQuery, IdParams, MaintenanceBody, PowerBody } from '../schemas.ts';

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

  // Inspect through the BMC; body optional: `{ "leaveRunning": true }` keeps the node on in the discovery ramdisk after
  // its inventory (its root shell on the serial console) instead of powering it off. No schema: an empty body is valid.
  app.post('/api/v1/nodes/:id/inspect', { schema: { params: IdParams } }, async (req) => {
    const node = nodeOr404((req.params as { id: string }).id);
    const body = req.body as unknown;
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body)
      || Object.keys(body).some((k) => k !== 'leaveRunning') || !['boolean', 'undefined'].includes(typeof (body as { leaveRunning?: unknown }).leaveRunning))) {
      throw new HttpError(400, 'the body of an inspect request is empty or {"leaveRunning": true|false}');
    }
    return o.bmc.inspect(node.id, { leaveRunning: (body as { leaveRunning?: boolean } | null | undefined)?.leaveRunning === true });
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

  // Allowlist admission (proxy mode, safe mode): let a `seen` node boot (→ discovered). Already admitted: unchanged.
  app.post('/api/v1/nodes/:id/allow', { schema: { params: IdParams } }, async (req) => {
    const node = nodeOr404((req.params as { id: string }).id);
    return core.lifecycle.admit(node.id, 'allowed');
  });

  // The same by MAC; a MAC not seen yet becomes a `discovered` node, so it boots the first time it asks. All MACs are
  // checked before any is allowed.
  app.post('/api/v1/nodes/allow', { schema: { body: AllowBody } }, async (req) => {
    const raw = (req.body as { macs: string[] }).macs;
    const macs = raw.map((m) => normalizeMac(m.trim()));
    const bad = raw.filter((_, i) => macs[i] === null);
    if (bad.length) throw new HttpError(400, `not a MAC address: ${bad.slice(0, 5).join(', ')}`);
    return [...new Set(macs as string[])].map((m) => core.lifecycle.allowMac(m));
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
