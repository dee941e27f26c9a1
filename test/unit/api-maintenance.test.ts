// PUT /api/v1/nodes/:id/maintenance on the real daemon: validated body, 404 for an unknown node, the flag set and
// cleared with a history event each time, a node in maintenance gets the local-disk iPXE script and no inspection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import type { NodeDetail } from '../../shared/api.ts';
import { dhcpExchange } from '../helpers/dhcp-exchange.ts';
import type { NodeSummary } from '../../shared/node.ts';

const TOKEN = 'maintenance-test-token-0123456789abcdef';
let d: RunningDaemon;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-api-maint-'));
  d = await startDaemon({
    dataDir: dir, listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null, repoRoot: process.cwd(),
    network: null, httpPort: 80, safeMode: false, print: () => {},
  });
});
after(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await fetch(d.url + path, {
    method, headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: (await r.json()) as T };
}

test('maintenance: validated, recorded, honoured by the boot script and by inspection', async () => {
  d.core.bootSettings = { serverIp: '127.0.0.1', httpPort: 80, safeMode: false, admission: 'open', ramdisk: { kernelPath: '/k', initrdPath: '/i' } };
  const mac = '52:54:00:0a:0b:0c';
  dhcpExchange(d.core, mac, '10.230.0.60');
  assert.match(d.core.policy.scriptFor({ mac, ip: '10.230.0.60' }), /^kernel /m, 'a PXE client after its DHCP exchange gets the discovery ramdisk');
  const node = d.core.nodes.getByMac(mac)!;

  assert.equal((await call('PUT', '/api/v1/nodes/nope/maintenance', { maintenance: true })).status, 404);
  for (const bad of [{}, { maintenance: 'yes' }, { maintenance: true, reason: 'x'.repeat(201) }]) {
    assert.equal((await call('PUT', `/api/v1/nodes/${node.id}/maintenance`, bad)).status, 400, JSON.stringify(bad));
  }
  assert.equal(d.core.nodes.get(node.id)!.maintenance, false, 'bad requests changed nothing');

  const on = await call<NodeSummary>('PUT', `/api/v1/nodes/${node.id}/maintenance`, { maintenance: true, reason: 'swapping a DIMM' });
  assert.equal(on.status, 200);
  assert.equal(on.body.maintenance, true);
  const script = d.core.policy.scriptFor({ mac, ip: '10.230.0.60' });
  assert.doesNotMatch(script, /^kernel /m, 'no ramdisk for a node in maintenance');
  assert.match(script, /maintenance/);
  const inspect = await call<{ error: string }>('POST', `/api/v1/nodes/${node.id}/inspect`, {});
  assert.equal(inspect.status, 409);
  assert.match(inspect.body.error, /maintenance/);

  const off = await call<NodeSummary>('PUT', `/api/v1/nodes/${node.id}/maintenance`, { maintenance: false });
  assert.equal(off.body.maintenance, false);
  assert.match(d.core.policy.scriptFor({ mac, ip: '10.230.0.60' }), /^kernel /m, 'back to the discovery ramdisk');

  const detail = await call<NodeDetail>('GET', `/api/v1/nodes/${node.id}`);
  const history = detail.body.events.filter((e) => e.kind === 'maintenance').map((e) => e.message);
  assert.deepEqual(history, ['maintenance on: swapping a DIMM', 'maintenance off']);
});
