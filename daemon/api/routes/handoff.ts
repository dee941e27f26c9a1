// Hand-off, take-back, engines, exports and imports (routes and shapes: shared/handoff.ts). Passwords are
// write-only: the engine's goes to the secret store, and none is ever in a response except an export asked for with
// `secrets=1` (whose header says so). Bodies are never logged.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiServerOptions } from '../server.ts';
import type { ServicesPort } from '../ports.ts';
import { HttpError } from '../ports.ts';
import { EXPORT_FORMATS, type ExportFormat, type HandoffRequest } from '../../../shared/handoff.ts';
import { normalizeMac } from '../../../core/ids.ts';
import type { Core } from '../../../core/core.ts';
import { exportFile, exportNodes } from '../../../core/export/formats.ts';
import { applyImport, parseImportCsv } from '../../../core/export/import.ts';
import { gatherNode } from '../../../core/handoff/model.ts';
import { redfishEndpoint } from '../../../core/bmc/redfish-connector.ts';
import type { Inventory } from '../../../shared/inventory.ts';

const NodeRefs = Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 10_000 });

const EngineBody = Type.Object({
    kind: Type.Literal('ironic'),
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    auth: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('basic')])),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
  }, { additionalProperties: false });

const HandoffBody = Type.Object({
  nodes: NodeRefs,
  engine: Type.Object({
    kind: Type.Literal('ironic'),
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    auth: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('basic')])),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

const TakebackBody = Type.Object({ nodes: NodeRefs }, { additionalProperties: false });
const ImportBody = Type.Object({ csv: Type.String({ maxLength: 900 * 1024 }) }, { additionalProperties: false });
const ExportQuery = Type.Object({
  format: Type.Union(EXPORT_FORMATS.map((f) => Type.Literal(f))),
  nodes: Type.Optional(Type.String({ maxLength: 100_000 })),
  secrets: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('0'), Type.Literal('true'), Type.Literal('false')])),
}, { additionalProperties: false });
const NodesQuery = Type.Object({ nodes: Type.Optional(Type.String({ maxLength: 100_000 })) }, { additionalProperties: false });

/** A node by id, boot MAC (any notation) or serial; 404 / 400 (ambiguous) as HttpError. */
export function resolveNodeRef(core: Core, ref: string): string {
  if (core.nodes.get(ref)) return ref;
  const mac = normalizeMac(ref);
  if (mac) { const n = core.nodes.getByMac(mac); if (n) return n.id; }
  const bySerial = core.nodes.list().filter((n) => n.serial === ref);
  if (bySerial.length === 1) return bySerial[0]!.id;
  if (bySerial.length > 1) throw new HttpError(400, `${ref} is the serial of ${bySerial.length} nodes: give the id`);
  throw new HttpError(404, `no node ${ref}`);
}

function refsOf(core: Core, list: string | undefined): string[] | undefined {
  if (list === undefined || list.trim() === '') return undefined;
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((r) => resolveNodeRef(core, r));
}

/** The export of `nodeIds` (default: every node with an inventory or a BMC). */
export function exportFleet(core: Core, format: ExportFormat, nodeIds: string[] | undefined, secrets: boolean, generatedAt = new Date().toISOString()): string {
  const ids = nodeIds ?? core.nodes.list().filter((n) => n.bmc || core.nodes.inventory(n.id)).map((n) => n.id);
  const creds = core.config.bmcCredentials();
  const nodes = ids.map((id) => {
    const node = core.nodes.get(id)!;
    const tlsSha256 = node.bmc?.protocol === 'redfish' ? core.tlsPins.get(redfishEndpoint(node.bmc.address)) : null;
    return gatherNode({ node, inventory: core.nodes.inventory(id) as Inventory | null, credentials: creds ? (secrets ? creds : { user: creds.user }) : null, tlsSha256 });
  });
  return exportNodes(format, nodes, { secrets, generatedAt });
}

export function registerHandoffRoutes(app: FastifyInstance, o: ApiServerOptions): void {
  const { core } = o;

  app.post('/api/v1/handoff', { schema: { body: HandoffBody } }, async (req, reply) => {
    const body = req.body as Static<typeof HandoffBody>;
    const ids = body.nodes.map((r) => resolveNodeRef(core, r));
    const records = await core.handoff.start(ids, body.engine as HandoffRequest['engine']);
    return reply.code(202).send(records);
  });

  app.get('/api/v1/handoff', { schema: { querystring: NodesQuery } }, async (req) => core.handoff.records(refsOf(core, (req.query as Static<typeof NodesQuery>).nodes)));

  app.post('/api/v1/takeback', { schema: { body: TakebackBody } }, async (req) => {
    const ids = (req.body as Static<typeof TakebackBody>).nodes.map((r) => resolveNodeRef(core, r));
    return core.handoff.takeBack(ids);
  });

  // Hand over and stop: every netboot service stops, so nothing of RackSeed answers on the provisioning NIC — and stays
  // stopped across daemon restarts (persisted first) until the user starts services again (PUT /api/v1/config/network).
  app.post('/api/v1/handoff/stop', async () => {
    const services = o.services as ServicesPort & { stop?: () => Promise<void> };
    if (!services.stop) throw new HttpError(503, 'this daemon cannot stop its services');
    const { at, owned } = core.handoff.markStopped();
    await services.stop();
    return { services: services.status(), owned, stoppedAt: at };
  });

  app.get('/api/v1/handoff/stop', async () => ({ stoppedAt: core.handoff.handoverStopped()?.at ?? null, owned: core.handoff.handoverStopped()?.owned ?? null }));

  // register an engine as a hand-off target (checked first: 502 when it does not answer or refuses the credentials;
  // the password sealed in the secret store); the UI's hand-off dialog offers the known ones
  app.put('/api/v1/engines', { schema: { body: EngineBody } }, async (req) => core.handoff.saveEngine(req.body as HandoffRequest['engine']));

  app.get('/api/v1/engines', async () => core.handoff.store.engines((id) => core.config.hasSecret(`engine.${id}`)));

  app.get('/api/v1/export', { schema: { querystring: ExportQuery } }, async (req, reply) => {
    const q = req.query as Static<typeof ExportQuery>;
    const secrets = q.secrets === '1' || q.secrets === 'true';
    const ids = refsOf(core, q.nodes);
    const text = exportFleet(core, q.format, ids, secrets);
    if (secrets) core.bus.record({ source: 'api', kind: 'export-secrets', mac: null, nodeId: null, level: 'warn', message: `${q.format} export WITH BMC passwords handed out (${ids ? ids.length : 'all'} node(s))` });
    const f = exportFile(q.format);
    return reply.header('content-type', f.contentType).header('content-disposition', `attachment; filename="${f.fileName}"`)
      .header('x-rackseed-secrets', secrets ? 'included' : 'omitted').header('cache-control', 'no-store').send(text);
  });

  app.post('/api/v1/import', { schema: { body: ImportBody } }, async (req) => applyImport(core, parseImportCsv((req.body as Static<typeof ImportBody>).csv)));
}
