// Issue 19 item 3, a hostile provisioning network, against the daemon's real HTTP boot server (boot routes, netboot
// sink, agent routes: what daemon/services.ts mounts) on 127.0.0.1, with each "machine" of the segment a loopback
// source address of its own: only a DHCP exchange makes a node or moves its address; a boot script asked from an
// address that does not hold the node's lease gets no token and leaves the node's token alone; a token is refused
// (401, a warning on its node, nothing else changed) from another address, for another purpose, or once expired.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { createNetbootSink } from '../../core/netboot-sink.ts';
import { hashToken } from '../../core/ids.ts';
import { TOKEN_IDLE_MS } from '../../core/agent/tokens.ts';
import { buildHttpBootServer } from '../../netboot/http/http-boot.ts';
import { registerAgentRoutes } from '../../daemon/agent-routes.ts';
import { dhcpExchange } from '../helpers/dhcp-exchange.ts';
import { httpFrom } from '../helpers/http-from.ts';
import { inventoryFor } from './core-inventory-fixture.ts';

const A = { mac: '52:54:00:19:03:01', ip: '127.0.0.11' };
const B = { mac: '52:54:00:19:03:02', ip: '127.0.0.12' };
const ATTACKER = '127.0.0.66';

let core: Core;
let app: FastifyInstance;
let base: string;

before(async () => {
  core = new Core({ dataDir: null, logger: pino({ level: 'silent' }) });
  core.bootSettings = { serverIp: '127.0.0.1', httpPort: 80, safeMode: false, admission: 'open', ramdisk: { kernelPath: '/k', initrdPath: '/i' } };
  app = await buildHttpBootServer({
    logger: pino({ level: 'silent' }), filesRoot: '/nonexistent', ipxeRoot: '/nonexistent', onEvent: createNetbootSink(core),
    scriptFor: (req) => core.policy.scriptFor({ mac: req.mac, ip: req.ip }),
    registerExtra: async (a) => { await registerAgentRoutes(a, core); },
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => { await app.close(); core.close(); });

const tokenIn = (script: string): string | null => /rackseed\.token=(\S+)/.exec(script)?.[1] ?? null;
const script = (from: string, mac: string) => httpFrom(from, 'GET', `${base}/boot.ipxe?mac=${mac}`);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
/** nodes, leases-as-addresses, jobs, tokens: what a refused request must not change (events may grow: the warnings) */
const state = () => JSON.stringify([core.nodes.list(), core.jobs.list(), core.db.prepare('SELECT * FROM agent_tokens ORDER BY hash').all(), core.addresses.size]);
const warnings = (nodeId: string, kind: string) => core.events.query({ nodeId, limit: 5000 }).filter((e) => e.kind === kind);

test('a bare GET /boot.ipxe?mac= makes no node and moves no address; only the lease holder gets a token', async () => {
  // an unknown MAC: a local-boot script, no node, no token
  const unknown = await script(ATTACKER, '52:54:00:19:03:99');
  assert.equal(unknown.status, 200);
  assert.equal(tokenIn(unknown.body), null);
  assert.match(unknown.body, /only a DHCP exchange makes a node/);
  assert.equal(core.nodes.getByMac('52:54:00:19:03:99'), null);

  // A's DHCP exchange: A is a node at its address; its boot script carries a token
  const aId = dhcpExchange(core, A.mac, A.ip)!;
  assert.equal(core.nodes.get(aId)!.ip, A.ip);
  const own = await script(A.ip, A.mac);
  const tA = tokenIn(own.body);
  assert.ok(tA, own.body);
  assert.equal(core.intake.tokens.grantOf(tA)!.ip, A.ip);
  assert.equal(core.intake.tokens.grantOf(tA)!.purpose, 'inventory');

  // the attacker asks for A's script: no token, A's address and A's token unchanged, a warning on A
  const before = state();
  const stolen = await script(ATTACKER, A.mac);
  assert.equal(stolen.status, 200);
  assert.equal(tokenIn(stolen.body), null, 'no token for another address');
  assert.match(stolen.body, /does not hold the DHCP lease/);
  assert.equal(state(), before, 'no node, lease, job or token changed');
  assert.equal(core.nodes.get(aId)!.ip, A.ip, 'address not re-pointed to the asker');
  assert.equal(core.addresses.get(ATTACKER), null);
  assert.equal(warnings(aId, 'script-refused').length, 1);
  // A's own token still works (the asker did not revoke it)
  const next = await httpFrom(A.ip, 'GET', `${base}/agent/v1/next`, bearer(tA));
  assert.equal(next.status, 200);
  // a flood of such requests writes one warning a minute, not one per request
  for (let i = 0; i < 20; i++) await script(ATTACKER, A.mac);
  assert.equal(warnings(aId, 'script-refused').length, 1);
});

test('a stolen or replayed token: 401 from another address, for another purpose, once expired; a warning on its node, nothing changed', async () => {
  const aId = core.nodes.idByMac(A.mac)!;
  const bId = dhcpExchange(core, B.mac, B.ip)!;
  const tA = tokenIn((await script(A.ip, A.mac)).body)!;
  const tB = tokenIn((await script(B.ip, B.mac)).body)!;
  const invA = JSON.stringify(inventoryFor(A.mac, aId, '0e3b8a52-5e0c-4d9f-9a0b-000000190301', 'SER-A'));
  const json = { 'content-type': 'application/json' };
  const before = state();

  // A's token, replayed from the attacker's address, on every agent route
  for (const [method, path, body] of [['POST', '/agent/v1/inventory', invA], ['GET', '/agent/v1/next', undefined],
    ['POST', '/agent/v1/deploy/progress', '{"attempt":0,"stage":"writing","bytes":1}'], ['POST', '/agent/v1/deploy/result', '{"attempt":0,"phase":"write","ok":true}'],
    ['GET', '/agent/v1/deploy/config-drive', undefined], ['GET', '/agent/v1/deploy/config-drive/0', undefined]] as const) {
    const r = await httpFrom(ATTACKER, method, `${base}${path}`, { ...bearer(tA), ...(body ? json : {}) }, body);
    assert.equal(r.status, 401, `${method} ${path}: ${r.body}`);
  }
  // B's token from B's address, posting A's inventory (cross-MAC): refused
  assert.equal((await httpFrom(B.ip, 'POST', `${base}/agent/v1/inventory`, { ...bearer(tB), ...json }, invA)).status, 403);
  // B's token from A's address: refused
  assert.equal((await httpFrom(A.ip, 'POST', `${base}/agent/v1/inventory`, { ...bearer(tB), ...json }, invA)).status, 401);
  // A's discovery token from A's own address, for the deploy routes (another purpose): refused
  assert.equal((await httpFrom(A.ip, 'GET', `${base}/agent/v1/deploy/config-drive`, bearer(tA))).status, 401);
  assert.equal((await httpFrom(A.ip, 'POST', `${base}/agent/v1/deploy/result`, { ...bearer(tA), ...json }, '{"attempt":0,"phase":"write","ok":true}')).status, 401);
  assert.equal(state(), before, 'no node, lease, job or token changed');
  assert.equal(core.nodes.get(aId)!.state, 'discovered');
  assert.equal(core.nodes.inventory(aId), null);
  const refusedA = warnings(aId, 'agent-refused');
  assert.ok(refusedA.some((e) => e.detail?.reason === 'wrong-address' && e.detail?.from === ATTACKER), JSON.stringify(refusedA));
  assert.ok(refusedA.some((e) => e.detail?.reason === 'wrong-purpose'));
  assert.ok(warnings(bId, 'agent-refused').some((e) => e.detail?.reason === 'wrong-address' && e.detail?.from === A.ip));
  assert.ok(refusedA.every((e) => e.level === 'warn'));
  assert.ok(!JSON.stringify(core.events.query({ limit: 5000 })).includes(tA), 'the token is never in an event');

  // expired: a token unused for TOKEN_IDLE_MS is refused from its own address
  core.db.prepare('UPDATE agent_tokens SET expires_at = ? WHERE hash = ?').run(Date.now() - 1, hashToken(tB));
  const expired = await httpFrom(B.ip, 'GET', `${base}/agent/v1/next`, bearer(tB));
  assert.equal(expired.status, 401);
  assert.match(expired.body, /expired/);
  assert.ok(warnings(bId, 'agent-refused').some((e) => e.detail?.reason === 'expired'));
  assert.equal(TOKEN_IDLE_MS, 15 * 60_000);

  // the genuine agent, from its own address: accepted
  const ok = await httpFrom(A.ip, 'POST', `${base}/agent/v1/inventory`, { ...bearer(tA), ...json }, invA);
  assert.equal(ok.status, 200, ok.body);
  assert.equal(core.nodes.get(aId)!.state, 'available');
  assert.equal(core.nodes.get(aId)!.ip, A.ip);
});

test('a token follows its node\'s lease: after a DHCP exchange moves the node, its new address may use it, the old one not', async () => {
  const mac = '52:54:00:19:03:03';
  const id = dhcpExchange(core, mac, '127.0.0.21')!;
  const t = tokenIn((await script('127.0.0.21', mac)).body)!;
  // the ramdisk's own DHCP got another address (proxy mode: the site's server chose it)
  createNetbootSink(core)({ source: 'dhcp', kind: 'ack', mac, ip: '127.0.0.22', message: 'DHCPACK' });
  assert.equal(core.nodes.get(id)!.ip, '127.0.0.22');
  assert.equal((await httpFrom('127.0.0.22', 'GET', `${base}/agent/v1/next`, bearer(t))).status, 200);
  assert.equal((await httpFrom('127.0.0.23', 'GET', `${base}/agent/v1/next`, bearer(t))).status, 401);
});

test('a deploy token: the config drive only to the node\'s own address; a clean token never gets one', async () => {
  const mac = '52:54:00:19:03:04';
  const id = dhcpExchange(core, mac, '127.0.0.31')!;
  const deployToken = core.intake.tokens.issue(id, 'deploy', '127.0.0.31');
  // no deploy is running: past the token check, the route answers 404 (nothing to serve) — from the node's own address only
  assert.equal((await httpFrom('127.0.0.31', 'GET', `${base}/agent/v1/deploy/config-drive`, bearer(deployToken))).status, 404);
  assert.equal((await httpFrom(ATTACKER, 'GET', `${base}/agent/v1/deploy/config-drive`, bearer(deployToken))).status, 401);
  assert.equal((await httpFrom(ATTACKER, 'GET', `${base}/agent/v1/deploy/config-drive/0`, bearer(deployToken))).status, 401);
  const cleanToken = core.intake.tokens.issue(id, 'clean', '127.0.0.31');
  assert.equal(core.intake.tokens.grantOf(deployToken), null, 'a new token revokes the node\'s earlier one');
  assert.equal((await httpFrom('127.0.0.31', 'GET', `${base}/agent/v1/deploy/config-drive`, bearer(cleanToken))).status, 401);
  assert.equal((await httpFrom('127.0.0.31', 'GET', `${base}/agent/v1/next`, bearer(cleanToken))).status, 200);
});
