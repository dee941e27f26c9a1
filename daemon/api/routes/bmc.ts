// BMC credentials (password write-only), sweep, BMC list (protocol per BMC, its choice, the pinned certificate), jobs
// and discovery.
import type { FastifyInstance } from 'fastify';
import type { ApiServerOptions } from '../server.ts';
import type { BmcProtocol } from '../../../shared/api.ts';
import { redfishEndpoint } from '../../../core/bmc/redfish-connector.ts';
import { BmcProtocolBody, CredentialsBody, DiscoveryBody, SweepBody, optionalBody } from '../schemas.ts';

export function registerBmcRoutes(app: FastifyInstance, o: ApiServerOptions): void {
  const { core } = o;
  app.get('/api/v1/bmc/credentials', async () => core.config.bmcCredentialsPublic());
  app.put('/api/v1/bmc/credentials', { schema: { body: CredentialsBody } }, async (req) => {
    const body = req.body as { user: string; password: string };
    core.config.setBmcCredentials(body);
    core.bus.record({ source: 'api', kind: 'bmc-credentials', mac: null, nodeId: null, message: `BMC credentials set for user ${body.user}` });
    return { user: body.user, passwordSet: true as const };
  });
  app.post('/api/v1/bmc/sweep', { schema: { body: SweepBody } }, async (req) => {
    const body = req.body as { cidr: string; prefer?: BmcProtocol };
    return o.bmc.sweep(body.cidr, body.prefer);
  });
  app.get('/api/v1/bmcs', async () => core.bmcs.list());
  // the engineer's choice of protocol for one BMC (kept by later sweeps); any protocol this daemon has a client for
  app.put('/api/v1/bmcs/:address/protocol', { schema: { body: BmcProtocolBody } }, async (req, reply) => {
    const { address } = req.params as { address: string };
    const { protocol } = req.body as { protocol: BmcProtocol };
    const b = core.bmcs.get(address);
    if (!b) return reply.code(404).send({ error: `unknown BMC ${address}` });
    if (protocol === 'redfish' && !core.redfish) return reply.code(409).send({ error: 'this daemon was started without Redfish' });
    const next = core.bmcs.upsert(address, { protocol, protocolChosen: true, seenAt: b.seenAt });
    core.bus.record({ source: 'api', kind: 'bmc-protocol', mac: null, nodeId: b.nodeId, message: `BMC ${address} will be driven over ${protocol === 'redfish' ? 'Redfish' : 'IPMI'} (chosen)` });
    return next;
  });
  // forget a pinned Redfish certificate (after the BMC's certificate was replaced on purpose): the next connection pins anew
  app.delete('/api/v1/bmcs/:address/tls-pin', async (req, reply) => {
    const { address } = req.params as { address: string };
    const b = core.bmcs.get(address);
    if (!b) return reply.code(404).send({ error: `unknown BMC ${address}` });
    let endpoint: string;
    try { endpoint = redfishEndpoint(address); } catch (err) { return reply.code(400).send({ error: (err as Error).message }); }
    const had = core.tlsPins.forget(endpoint);
    if (!had) return reply.code(404).send({ error: `no certificate is pinned for ${endpoint}` });
    core.bus.record({ source: 'api', kind: 'bmc-tls-forgotten', mac: null, nodeId: b.nodeId, level: 'warn', message: `BMC ${address}: pinned certificate ${b.tlsFingerprint ?? ''} forgotten; the next connection pins the certificate it sees` });
    return core.bmcs.upsert(address, { tlsFingerprint: null, seenAt: b.seenAt });
  });
  app.get('/api/v1/jobs', async () => core.jobs.list());
  app.post('/api/v1/discovery', async (req) => {
    const body = optionalBody(DiscoveryBody, req.body);
    return o.bmc.discovery(body.bmcs);
  });
}
