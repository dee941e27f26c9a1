// Fuzz: every agent endpoint (daemon/agent-routes.ts, deploy-agent-routes.ts: inventory, next, deploy progress,
// result, config drive plan and pieces, the deployed OS's booted callback) with mutated and random bodies, content
// types, tokens and paths, through the daemon's real routes (fastify inject, from the node's own address with a
// deploy token, so bodies get past the token check to the parsers). Contract: every answer is a 2xx/4xx with a body,
// never a 5xx, never a hang; a forged token changes nothing; afterwards a genuine agent request still works.
// Bodies: FUZZ_AGENT_BODIES, else FUZZ_ITERATIONS/5 (`npm run bench:fuzz`: 1,000,000/5 = 200,000), else 10,000 (CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { registerAgentRoutes } from '../../daemon/agent-routes.ts';
import { dhcpExchange } from '../helpers/dhcp-exchange.ts';
import { inventoryFor } from '../unit/core-inventory-fixture.ts';

const BODIES = Number(process.env.FUZZ_AGENT_BODIES ?? (process.env.FUZZ_ITERATIONS ? Math.floor(Number(process.env.FUZZ_ITERATIONS) / 5) : 10_000));
let seed = Number(process.env.FUZZ_SEED ?? Date.now() % 0x7fffffff) >>> 0;
const SEED0 = seed;
/** xorshift32: reproducible with FUZZ_SEED */
function rnd(): number { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 0x100000000; }
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
const int = (n: number) => Math.floor(rnd() * n);

const ENDPOINTS = [
  ['POST', '/agent/v1/inventory'], ['GET', '/agent/v1/next'], ['POST', '/agent/v1/deploy/progress'], ['POST', '/agent/v1/deploy/result'],
  ['GET', '/agent/v1/deploy/config-drive'], ['GET', '/agent/v1/deploy/config-drive/0'], ['POST', '/agent/v1/booted'], ['GET', '/agent/v1/booted'],
] as const;
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', '', 'application/json; charset=latin1', 'multipart/form-data; boundary=x'];
const WEIRD: unknown[] = [null, true, 0, -1, 1e308, -0, '', 'x'.repeat(5000), [], {}, [[[[[]]]]], { __proto__: { a: 1 } }, { constructor: { prototype: {} } }, Number.MAX_SAFE_INTEGER + 2, '\u0000', '\ud800'];

function mutateJson(v: unknown, depth = 0): unknown {
  if (depth > 6 || rnd() < 0.15) return pick(WEIRD);
  if (Array.isArray(v)) {
    const a = v.map((x) => (rnd() < 0.3 ? mutateJson(x, depth + 1) : x));
    if (rnd() < 0.2) a.push(pick(WEIRD));
    if (rnd() < 0.2) a.splice(int(a.length + 1), 1);
    return a;
  }
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    for (const k of keys) if (rnd() < 0.25) o[k] = mutateJson(o[k], depth + 1);
    if (keys.length && rnd() < 0.2) delete o[pick(keys)];
    if (rnd() < 0.1) o[pick(['extra', '__proto__', 'constructor', 'attempt', 'ok', ''])] = pick(WEIRD);
    return o;
  }
  return rnd() < 0.5 ? pick(WEIRD) : v;
}

function mutateBytes(s: string): Buffer {
  const b = Buffer.from(s);
  const n = 1 + int(8);
  for (let i = 0; i < n && b.length; i++) {
    const at = int(b.length);
    const op = int(4);
    if (op === 0) b[at] = int(256);
    else if (op === 1) b[at] = b[at]! ^ (1 << int(8));
    else if (op === 2) return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(16))]);
    else return Buffer.concat([b.subarray(0, at), Buffer.from(pick(['{', '}', '"', '\\', ',', ':', '[', ']', '\u00ff', '\ufffd', '1e999', 'null'])), b.subarray(at)]);
  }
  return b;
}

test(`agent endpoints: ${BODIES} fuzzed requests, never a 5xx, forged tokens change nothing, the agent still works (seed ${SEED0})`, async () => {
  const core = new Core({ dataDir: null, logger: pino({ level: 'silent' }) });
  core.bootSettings = { serverIp: '127.0.0.1', httpPort: 80, safeMode: false, admission: 'open', ramdisk: { kernelPath: '/k', initrdPath: '/i' } };
  const app = Fastify({ logger: false });
  await registerAgentRoutes(app, core);
  await app.ready();
  const mac = '52:54:00:19:0f:01';
  const id = dhcpExchange(core, mac, '127.0.0.1')!;
  const token = core.intake.tokens.issue(id, 'deploy', '127.0.0.1');
  const seeds = [
    JSON.stringify(inventoryFor(mac, id, '0e3b8a52-5e0c-4d9f-9a0b-0000001f0f01', 'FUZZ')),
    JSON.stringify({ attempt: 1, stage: 'writing', bytes: 4096 }),
    JSON.stringify({ attempt: 1, phase: 'write', ok: false, error: 'x', bytes: 1, sha256: '0'.repeat(64), disk: '/dev/sda', detail: 'd' }),
    'instance_id=abc&hostname=n1',
  ];
  const statuses = new Map<number, number>();
  const forgedBefore = () => JSON.stringify([core.nodes.list(), core.jobs.list(), core.db.prepare('SELECT hash, node_id, purpose, ip FROM agent_tokens').all()]);
  for (let i = 0; i < BODIES; i++) {
    const [method, path0] = pick(ENDPOINTS);
    const kind = int(10);
    let payload: string | Buffer | undefined;
    if (method === 'POST') {
      const s = pick(seeds);
      payload = kind < 4 ? mutateBytes(s) : kind < 8 ? JSON.stringify(mutateJson(s.startsWith('{') ? JSON.parse(s) : s)) : Buffer.from(Array.from({ length: int(300) }, () => int(256)));
    }
    const forged = kind === 9;
    const auth = forged ? pick([`Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, 'Bearer', `Basic ${token}`, `Bearer ${'x'.repeat(int(200))}`, '']) : `Bearer ${token}`;
    const path = path0 === '/agent/v1/booted' ? `${path0}?token=${encodeURIComponent(rnd() < 0.5 ? 'x'.repeat(int(100)) : String.fromCharCode(...Array.from({ length: 10 }, () => int(0xd7ff))))}`
      : path0.endsWith('/0') ? `/agent/v1/deploy/config-drive/${pick(['0', '-1', '1e9', 'NaN', '%00', '00', '9'.repeat(30), '..%2f..'])}` : path0;
    const before = forged ? forgedBefore() : '';
    const r = await app.inject({
      method, url: path, payload, remoteAddress: forged && rnd() < 0.5 ? '127.0.0.9' : '127.0.0.1',
      headers: { authorization: auth, ...(payload !== undefined ? { 'content-type': pick(CONTENT_TYPES) } : {}) },
    });
    statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
    assert.ok(r.statusCode < 500, `${method} ${path} → ${r.statusCode} ${r.body.slice(0, 300)} (seed ${SEED0}, request ${i})`);
    if (forged && !path.startsWith('/agent/v1/booted')) {
      assert.equal(r.statusCode, 401, `forged token on ${path}: ${r.statusCode}`);
      assert.equal(forgedBefore(), before, 'a forged token changed nothing');
    }
  }
  // the genuine agent still gets its answers
  const next = await app.inject({ method: 'GET', url: '/agent/v1/next', headers: { authorization: `Bearer ${token}` } });
  assert.equal(next.statusCode, 200);
  assert.ok([...statuses.keys()].some((s) => s === 400), `bodies reached the parsers: ${JSON.stringify([...statuses])}`);
  await app.close();
  core.close();
});
