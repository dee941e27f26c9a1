// Inspect and leave running (a field engineer's "ramdisk shell": the node stays on in the discovery ramdisk after its
// inventory, its root shell on the serial console), over an in-memory core with a scripted BMC:
// - the job's steps are set-boot-pxe, power-on, wait-inventory, leave-running: the BMC gets PXE-once and power-on,
//   never power-off; the node ends `available`, power on, no longer poweredOnByRackSeed (handed to the engineer), and a
//   job `left-running` event names `rackseed console NODE`;
// - the agent is told to wait while the job runs and to idle (wait 60 s) afterwards, never to power off;
// - a plain inspect still powers off (unchanged);
// - the API: POST /api/v1/nodes/:id/inspect with no body, {}, {"leaveRunning": true}; 400 for any other body;
//   and the CLI `rackseed inspect NODE --leave-running --json` passes the choice on (exit codes of client.ts);
// - the UI action behind the node page's "Ramdisk shell" button posts {"leaveRunning": true}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import { startDaemon } from '../../daemon/daemon.ts';
import type { BmcConnector, BmcPowerAction } from '../../core/bmc-port.ts';
import type { Job, NetworkConfig } from '../../shared/api.ts';
import { dhcpExchange } from '../helpers/dhcp-exchange.ts';
import { inventoryFor } from './core-inventory-fixture.ts';
import { ApiClient } from '../../renderer/api/client.ts';
import { initActions, inspect } from '../../renderer/actions.ts';
import { createAppStore } from '../../renderer/store/store.ts';

const log = pino({ level: 'silent' });
const RAMDISK = { kernelPath: '/files/vmlinuz', initrdPath: '/files/initrd.img' };
const AUTHORITATIVE: NetworkConfig = { interface: 'br0', mode: 'authoritative', pool: { first: '10.230.0.100', last: '10.230.0.199' } };

/** A scripted BMC: power state per address, every command recorded. */
function scriptedBmcs(addresses: string[]) {
  const power = new Map<string, 'on' | 'off'>(addresses.map((a) => [a, 'off']));
  const calls: string[] = [];
  const connector: BmcConnector = async (address) => ({
    powerStatus: async () => power.get(address) ?? 'off',
    power: async (a: BmcPowerAction) => { calls.push(`${address} ${a}`); power.set(address, a === 'off' || a === 'soft' ? 'off' : 'on'); },
    setBootDevice: async (d) => { calls.push(`${address} bootdev ${d}`); },
    systemGuid: async () => null,
    close: async () => {},
  });
  return { connector, power, calls };
}

async function until<T>(what: string, probe: () => T | null | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An in-memory core with one `available` node matched to BMC `bmc`, and the BMC credentials set. */
function coreWithNode(bmc: string, mac: string) {
  const bmcs = scriptedBmcs([bmc]);
  const core = new Core({ dataDir: null, logger: log, bmcConnector: bmcs.connector, jobs: { inventoryTimeoutMs: 5000 } });
  core.config.setNetwork(AUTHORITATIVE);
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, ramdisk: RAMDISK };
  core.config.setBmcCredentials({ user: 'admin', password: 'pw' });
  const node = core.lifecycle.ensureNode(mac, 'dhcp').node;
  core.lifecycle.transition(node.id, 'available', 'inventory');
  core.bmcs.upsert(bmc, { nodeId: node.id });
  core.nodes.update(node.id, { bmcAddress: bmc, bmcMatchedBy: 'manual' });
  return { core, bmcs, node };
}

/** The node PXE-boots (DHCP, its iPXE script with an agent token) and its agent posts the inventory. */
function agentReports(core: Core, mac: string, nodeId: string, ip: string) {
  dhcpExchange(core, mac, ip);
  const script = core.policy.scriptFor({ mac, ip });
  assert.match(script, /rackseed\.token=/, 'the node being inspected is served the discovery ramdisk');
  const token = /rackseed\.token=(\S+)/.exec(script)![1]!;
  const auth = core.intake.authenticate(`Bearer ${token}`, ip, 'report');
  assert.ok(auth.ok);
  assert.equal(core.intake.acceptInventory(auth.node, inventoryFor(mac, nodeId, '6b6b6b6b-0000-4000-8000-0000000000aa'), null).status, 200);
  return auth.node;
}

test('inspect --leave-running: the node stays on in the ramdisk, handed to the engineer; the agent idles, nothing powers it off', async () => {
  const { core, bmcs, node } = coreWithNode('10.231.0.51', '52:54:00:dd:10:01');
  try {
    const job = core.runner.inspectNode(node.id, { leaveRunning: true });
    assert.deepEqual(job.steps.map((s) => s.name), ['set-boot-pxe', 'power-on', 'wait-inventory', 'leave-running']);
    assert.equal(core.nodes.get(node.id)!.state, 'inspecting');
    await until('power-on done', () => core.jobs.get(job.id)!.steps[1]!.status === 'done');
    assert.equal(core.nodes.get(node.id)!.poweredOnByRackSeed, true, 'while the job runs, RackSeed started it');
    const running = core.nodes.get(node.id)!;
    assert.deepEqual(core.intake.next(running), { action: 'wait', seconds: 5 }, 'the job still drives it');
    agentReports(core, node.mac, node.id, '10.230.0.91');
    assert.notEqual(core.intake.next(core.nodes.get(node.id)!).action, 'poweroff', 'the agent asks at once after its inventory: not told to power off');
    await until('job done', () => core.jobs.get(job.id)!.status === 'done');
    const n = core.nodes.get(node.id)!;
    assert.equal(n.state, 'available');
    assert.equal(n.power, 'on');
    assert.equal(n.poweredOnByRackSeed, false, 'handed to the engineer');
    assert.deepEqual(bmcs.calls, ['10.231.0.51 bootdev pxe', '10.231.0.51 on'], 'never powered off');
    assert.equal(bmcs.power.get('10.231.0.51'), 'on');
    assert.deepEqual(core.intake.next(n), { action: 'wait', seconds: 60 }, 'the agent idles in the ramdisk');
    const left = core.events.query({ nodeId: node.id }).find((e) => e.kind === 'left-running' && e.source === 'job');
    assert.ok(left, 'a left-running event');
    assert.match(left.message, new RegExp(`rackseed console ${node.id}`));
    // and a later plain inspection powers it off again as usual
    const again = core.runner.inspectNode(node.id);
    assert.equal(again.steps.at(-1)!.name, 'power-off');
    await until('power-on of the second job done', () => core.jobs.get(again.id)!.steps[1]!.status === 'done');
    agentReports(core, node.mac, node.id, '10.230.0.91');
    await until('second job done', () => core.jobs.get(again.id)!.status === 'done');
    assert.equal(bmcs.calls.at(-1), '10.231.0.51 off');
    assert.equal(core.nodes.get(node.id)!.power, 'off');
  } finally {
    core.close();
  }
});

test('inspect --leave-running that gets no inventory fails and powers the node off like any inspection', async () => {
  const bmcs = scriptedBmcs(['10.231.0.52']);
  const core = new Core({ dataDir: null, logger: log, bmcConnector: bmcs.connector, jobs: { inventoryTimeoutMs: 200 } });
  try {
    core.config.setNetwork(AUTHORITATIVE);
    core.config.setBmcCredentials({ user: 'admin', password: 'pw' });
    const node = core.lifecycle.ensureNode('52:54:00:dd:10:02', 'dhcp').node;
    core.lifecycle.transition(node.id, 'available', 'inventory');
    core.bmcs.upsert('10.231.0.52', { nodeId: node.id });
    core.nodes.update(node.id, { bmcAddress: '10.231.0.52', bmcMatchedBy: 'manual' });
    const job = core.runner.inspectNode(node.id, { leaveRunning: true });
    await until('job failed', () => core.jobs.get(job.id)!.status === 'failed');
    assert.match(core.jobs.get(job.id)!.error ?? '', /no inventory/);
    assert.equal(bmcs.calls.at(-1), '10.231.0.52 off', 'the safe state after a failure');
    assert.equal(core.nodes.get(node.id)!.state, 'error');
  } finally {
    core.close();
  }
});

test('API and CLI: POST /api/v1/nodes/:id/inspect takes no body, {} or {"leaveRunning": bool}; rackseed inspect --leave-running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-inspect-lr-'));
  const token = 'inspect-lr-token-0123456789abcdef01234';
  const d = await startDaemon({ dataDir: dir, listen: '127.0.0.1:0', logger: log, token, uiDir: null, repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  try {
    const node = d.core.lifecycle.ensureNode('52:54:00:dd:10:03', 'dhcp').node;
    d.core.lifecycle.transition(node.id, 'available', 'inventory');
    // the real runner answers (this node has no BMC: 409); what the route passed on is recorded on the way
    const asked: unknown[] = [];
    const real = d.core.runner.inspectNode.bind(d.core.runner);
    d.core.runner.inspectNode = (id: string, o?: { leaveRunning?: boolean }): Job => { asked.push(o); return real(id, o); };
    const post = async (body: string | undefined) => {
      const r = await fetch(`${d.url}/api/v1/nodes/${node.id}/inspect`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body,
      });
      return { status: r.status, body: (await r.json()) as { error?: string } };
    };
    for (const bad of ['{"leaveRunning":"yes"}', '{"leave":true}', '[]', '"x"', '{"leaveRunning":1}']) {
      const r = await post(bad);
      assert.equal(r.status, 400, bad);
      assert.match(r.body.error ?? '', /leaveRunning/, bad);
    }
    assert.deepEqual(asked, [], 'refused before the runner');
    for (const [body, want] of [[undefined, false], ['{}', false], ['{"leaveRunning":false}', false], ['{"leaveRunning":true}', true]] as const) {
      const r = await post(body);
      assert.equal(r.status, 409, String(body));
      assert.match(r.body.error ?? '', /no BMC yet/);
      assert.deepEqual(asked.pop(), { leaveRunning: want }, String(body));
    }
    const cli = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, ['bin/rackseed.mjs', 'inspect', node.mac, '--leave-running', '--json'],
        { env: { ...process.env, RACKSEED_URL: d.url, RACKSEED_TOKEN: token }, timeout: 120_000 },
        (err, stdout) => resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stdout }));
    });
    assert.equal(cli.code, 6, `CONFLICT (no BMC): ${cli.stdout}`);
    assert.match(JSON.parse(cli.stdout).error, /no BMC yet/);
    assert.deepEqual(asked.pop(), { leaveRunning: true }, 'the CLI asked for leave-running');
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UI action: "Ramdisk shell" posts {"leaveRunning": true}, "Re-inspect" an empty object', async () => {
  const seen: string[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    seen.push(`${init.method} ${new URL(url).pathname} ${String(init.body)}`);
    return new Response(JSON.stringify({ id: 'j1', nodeId: 'n1', bmcAddress: null, kind: 'inspect', status: 'pending', steps: [], error: null, createdAt: 0, updatedAt: 0 }), { status: 200 });
  }) as unknown as typeof fetch;
  const store = createAppStore();
  initActions(new ApiClient({ baseUrl: 'http://127.0.0.1:9', token: 't' }, fetchImpl), store);
  await inspect('n1', true);
  await inspect('n1');
  assert.deepEqual(seen, ['POST /api/v1/nodes/n1/inspect {"leaveRunning":true}', 'POST /api/v1/nodes/n1/inspect {}']);
});
