// Agent routes (as mounted on the HTTP boot server): forged inventory POSTs — no token, a wrong token, another
// node's token, oversized and malformed bodies — are refused and change nothing; a genuine one is stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { registerAgentRoutes } from '../../daemon/agent-routes.ts';
import { INVENTORY_MAX_BYTES } from '../../shared/inventory.ts';
import { inventoryFor } from './core-inventory-fixture.ts';
import { dhcpExchange } from '../helpers/dhcp-exchange.ts';
import { httpFrom } from '../helpers/http-from.ts';

let core: Core;
let app: FastifyInstance;
let base: string;

before(async () => {
  core = new Core({ dataDir: null, logger: pino({ level: 'silent' }) });
  core.bootSettings = { serverIp: '127.0.0.1', httpPort: 80, safeMode: false, admission: 'open', ramdisk: { kernelPath: '/k', initrdPath: '/i' } };
  app = Fastify();
  await registerAgentRoutes(app, core);
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => { await app.close(); core.close(); });

const tokenOf = (script: string) => /rackseed\.token=(\S+)/.exec(script)![1]!;
const snapshot = () => JSON.stringify([core.nodes.list(), core.events.query({ limit: 5000 }), core.db.prepare('SELECT id, inventory FROM nodes').all()]);

/** POST an inventory from `from` (each node's agent sends from the address holding its lease) */
function post(body: string | Uint8Array, headers: Record<string, string>, from = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return httpFrom(from, 'POST', `${base}/agent/v1/inventory`, { 'content-type': 'application/json', ...headers }, body);
}

test('forged inventory POSTs are refused and change nothing', async () => {
  dhcpExchange(core, '52:54:00:00:01:01', '127.0.0.1');
  dhcpExchange(core, '52:54:00:00:01:02', '127.0.0.2');
  const tA = tokenOf(core.policy.scriptFor({ mac: '52:54:00:00:01:01', ip: '127.0.0.1' }));
  const tB = tokenOf(core.policy.scriptFor({ mac: '52:54:00:00:01:02', ip: '127.0.0.2' }));
  const a = core.nodes.getByMac('52:54:00:00:01:01')!;
  const b = core.nodes.getByMac('52:54:00:00:01:02')!;
  const genuineB = JSON.stringify(inventoryFor(b.mac, b.id, '0e3b8a52-5e0c-4d9f-9a0b-000000000002'));
  const before = snapshot();

  const cases: [string, Promise<{ status: number }>, number[]][] = [
    ['no token', post(genuineB, {}), [401]],
    ['not bearer', post(genuineB, { authorization: `Basic ${tB}` }), [401]],
    ['made-up token', post(genuineB, { authorization: `Bearer ${'A'.repeat(43)}` }), [401]],
    ['another node\'s token (A posting B\'s inventory)', post(genuineB, { authorization: `Bearer ${tA}` }), [403]],
    ['oversized', post(Buffer.alloc(INVENTORY_MAX_BYTES + 1024, 0x20), { authorization: `Bearer ${tB}` }, '127.0.0.2'), [413]],
    ['malformed JSON', post('{"schemaVersion":1,', { authorization: `Bearer ${tB}` }, '127.0.0.2'), [400]],
    ['schema violation', post(JSON.stringify({ ...JSON.parse(genuineB), cpu: 'lots' }), { authorization: `Bearer ${tB}` }, '127.0.0.2'), [400]],
    ['oversized with no token', post(Buffer.alloc(INVENTORY_MAX_BYTES * 4, 0x20), {}), [401]],
  ];
  for (const [name, p, codes] of cases) {
    const r = await p;
    assert.ok(codes.includes(r.status), `${name}: got ${r.status}`);
  }
  const next = await fetch(`${base}/agent/v1/next`, { headers: { authorization: 'Bearer nope-nope-nope-nope' } });
  assert.equal(next.status, 401);
  assert.equal(snapshot(), before, 'store unchanged');
  assert.equal(core.nodes.get(a.id)!.state, 'discovered');
  assert.equal(core.nodes.get(b.id)!.state, 'discovered');
});

test('a genuine inventory is stored; the agent is then left running, or told to power off when RackSeed powered the machine on', async () => {
  dhcpExchange(core, '52:54:00:00:01:03', '127.0.0.3');
  const t = tokenOf(core.policy.scriptFor({ mac: '52:54:00:00:01:03', ip: '127.0.0.3' }));
  const n = core.nodes.getByMac('52:54:00:00:01:03')!;
  const r = await post(JSON.stringify(inventoryFor(n.mac, n.id, '0e3b8a52-5e0c-4d9f-9a0b-000000000003', 'SER-103')), { authorization: `Bearer ${t}` }, '127.0.0.3');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), { ok: true, nodeId: n.id, state: 'available' });
  const got = core.nodes.get(n.id)!;
  assert.equal(got.serial, 'SER-103');
  assert.equal(got.uuid, '0e3b8a52-5e0c-4d9f-9a0b-000000000003');
  // nobody's job powered this machine on: RackSeed never powers it off, the agent idles
  const idle = await httpFrom('127.0.0.3', 'GET', `${base}/agent/v1/next`, { authorization: `Bearer ${t}` });
  assert.deepEqual(JSON.parse(idle.body), { action: 'wait', seconds: 60 });
  assert.ok(!core.events.query({ nodeId: n.id }).some((e) => e.kind === 'command'));
  // as if a job's power-on step had started it (and its power-off step had failed): then the agent powers it off
  core.nodes.update(n.id, { poweredOnByRackSeed: true });
  const next = await httpFrom('127.0.0.3', 'GET', `${base}/agent/v1/next`, { authorization: `Bearer ${t}` });
  assert.deepEqual(JSON.parse(next.body), { action: 'poweroff' });
  assert.ok(core.events.query({ nodeId: n.id }).some((e) => e.kind === 'command'));
});
