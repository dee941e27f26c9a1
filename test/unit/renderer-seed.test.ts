// The renderer's Seed step (issue 17 item 4) without a browser: lib/seed.ts (the timeline and its durations, the
// control-node candidates with the RAM check, the network form's checks and what it sends, the address suggestion),
// the seed slice (an older update never wins), the bridge turning 'seed' stream messages into the store, the actions
// against a scripted daemon (a refusal returned to the step, resume, rollback, credentials only when asked), and the
// step's parts' markup for a running, a failed and a finished seed (server-rendered React: the timeline's labels,
// Resume / Roll back, the report with the Ironic URL, no password before it is asked for, "the laptop can be unplugged",
// the RAM check of each candidate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { createAppStore } from '../../renderer/store/store.ts';
import { applyStreamMessage, parseStreamFrame } from '../../renderer/api/bridge.ts';
import { ApiClient } from '../../renderer/api/client.ts';
import { initActions, resumeSeed, rollbackSeed, seedCredentials, startSeed } from '../../renderer/actions.ts';
import {
  checkSeedForm, controlCandidates, failedStage, ipToInt, netmaskPrefix, planActionText, seedElapsedMs, seedTimeline, suggestSeedForm, type SeedForm,
} from '../../renderer/lib/seed.ts';
import { parseRoute, formatRoute } from '../../renderer/lib/route.ts';
import { ControlPicker, PlanTable, SeedFailure, SeedReportView, SeedTimeline } from '../../renderer/components/SeedStep.tsx';
import { SEED_STAGES, type SeedPlan, type SeedRecord, type SeedReport, type SeedStage } from '../../shared/seed.ts';
import type { NodeSummary } from '../../shared/node.ts';

const node = (over: Partial<NodeSummary> = {}): NodeSummary => ({
  id: 'n1', mac: '52:54:00:00:00:01', ip: null, state: 'available', maintenance: false, lastError: null, firmware: 'bios', serial: 'SN-1',
  uuid: null, bmc: { address: '10.1.0.11', matchedBy: 'guid', vendor: null } as NodeSummary['bmc'], power: 'off', poweredOnByRackSeed: false,
  cpu: 'QEMU ×1', memoryMiB: 2048, diskGiB: 8, createdAt: 1, updatedAt: 1, ...over,
});

function stages(done: number, failedAt?: number, t0 = 1_000_000): SeedStage[] {
  return SEED_STAGES.map((name, i) => ({
    name,
    status: i < done ? 'done' : i === failedAt ? 'failed' : i === done && failedAt === undefined ? 'running' : 'pending',
    startedAt: i <= done ? t0 + i * 10_000 : null,
    finishedAt: i < done || i === failedAt ? t0 + i * 10_000 + 9_000 : null,
    detail: i === done && failedAt === undefined ? '1/2 handed over, 1 running' : null,
    error: i === failedAt ? 'the control node\'s Ironic did not answer at http://10.0.0.250:6385 within 5 s (last: ECONNREFUSED)' : null,
  }));
}

const REPORT: SeedReport = {
  controlNode: { id: 'n1', mac: '52:54:00:00:00:01', hostname: 'rackseed-control', address: '10.0.0.250' },
  ironicUrl: 'http://10.0.0.250:6385', ironicUser: 'rackseed', httpUrl: 'http://10.0.0.250:8080',
  nodes: [
    { id: 'n1', mac: '52:54:00:00:00:01', serial: 'SN-1', owner: 'control-node', ironicNode: null, provisionState: null, powerState: null, verified: true, error: null },
    { id: 'n2', mac: '52:54:00:00:00:02', serial: 'SN-2', owner: 'ironic', ironicNode: 'u-2', provisionState: 'available', powerState: 'power off', verified: true, error: null },
  ],
  verified: ['control node n1 deployed with lab-control and booted'], unplugReady: true, finishedAt: 1_000_000 + 95_000,
};

function seed(over: Partial<SeedRecord> = {}): SeedRecord {
  return {
    id: 's1', controlNode: 'n1', image: 'lab-control', status: 'running', stage: 'handoff', stages: stages(2), nodes: ['n2'],
    network: { provisioningCidr: '10.0.0.250/24', bmcNic: null, dhcpRange: { start: '10.0.0.200', end: '10.0.0.249', netmask: '255.255.255.0' } },
    ironicUrl: 'http://10.0.0.250:6385', error: null, report: null, startedAt: 1_000_000, updatedAt: 1_020_000, ...over,
  };
}

const PLAN: SeedPlan = {
  control: 'n1', problem: null, minMemoryMiB: 1536,
  nodes: [
    { id: 'n1', mac: '52:54:00:00:00:01', serial: 'SN-1', memoryMiB: 2048, diskGiB: 8, action: 'control', reason: null },
    { id: 'n2', mac: '52:54:00:00:00:02', serial: 'SN-2', memoryMiB: 1024, diskGiB: 16, action: 'handoff', reason: null },
    { id: 'n3', mac: '52:54:00:00:00:03', serial: 'SN-3', memoryMiB: 4096, diskGiB: 16, action: 'skip', reason: 'active: only available nodes are handed over' },
    { id: 'n4', mac: '52:54:00:00:00:04', serial: null, memoryMiB: null, diskGiB: null, action: 'skip', reason: 'no inventory yet' },
  ],
};

const FORM: SeedForm = { provisioningCidr: '10.0.0.250/24', dhcpStart: '10.0.0.200', dhcpEnd: '10.0.0.249', netmask: '255.255.255.0', bmcMac: '', bmcCidr: '', ironicTimeoutSec: '' };

test('timeline: five stages in order, durations (the running one up to now), detail and error; elapsed time', () => {
  const tl = seedTimeline(seed(), 1_025_000);
  assert.deepEqual(tl.map((s) => s.name), ['deploy-control', 'wait-ironic', 'handoff', 'pivot', 'report']);
  assert.deepEqual(tl.map((s) => s.status), ['done', 'done', 'running', 'pending', 'pending']);
  assert.deepEqual(tl.map((s) => s.durationMs), [9_000, 9_000, 5_000, null, null]);
  assert.equal(tl[2]!.detail, '1/2 handed over, 1 running');
  assert.equal(tl[0]!.text, 'Deploy the control node');
  assert.equal(seedElapsedMs(seed(), 1_025_000), 25_000);
  const failed = seed({ status: 'failed', stage: 'wait-ironic', stages: stages(1, 1), updatedAt: 1_019_000 });
  assert.equal(failedStage(failed), 'wait-ironic');
  assert.equal(failedStage(seed()), null);
  assert.match(seedTimeline(failed, 2_000_000)[1]!.error!, /did not answer/);
  assert.equal(seedElapsedMs(failed, 9_999_999), 19_000, 'a stopped seed does not keep counting');
  assert.equal(seedElapsedMs(seed({ status: 'done', stages: stages(5), report: REPORT }), 9_999_999), 95_000, 'seed → unplug');
});

test('control candidates: only available nodes with enough RAM; the RAM check shown for each; those that can first', () => {
  const nodes = { n1: node(), n2: node({ id: 'n2', mac: '52:54:00:00:00:02', memoryMiB: 1024 }), n3: node({ id: 'n3', mac: '52:54:00:00:00:03', state: 'active' }), n4: node({ id: 'n4', mac: '52:54:00:00:00:04', memoryMiB: null }) };
  const c = controlCandidates(PLAN, nodes);
  assert.deepEqual(c.map((x) => [x.id, x.ram, x.problem]), [
    ['n1', 'ok', null],
    ['n3', 'ok', 'active: the control node must be available'],
    ['n2', 'too-small', 'too small: 1024 MiB of RAM, the control image needs 1536 MiB'],
    ['n4', 'unknown', 'no inventory yet: inspect it first'],
  ]);
  assert.equal(planActionText(PLAN.nodes[0]!), 'becomes the control node');
  assert.equal(planActionText(PLAN.nodes[1]!), 'handed over to the control node\'s Ironic');
  assert.equal(planActionText(PLAN.nodes[3]!), 'stays RackSeed\'s (no inventory yet)');
});

test('network form: a good form builds the request; each problem is named on its field', () => {
  assert.deepEqual(checkSeedForm(FORM), { ok: true, network: { provisioningCidr: '10.0.0.250/24', bmcNic: null, dhcpRange: { start: '10.0.0.200', end: '10.0.0.249', netmask: '255.255.255.0' } } });
  const withBmc = checkSeedForm({ ...FORM, bmcMac: '52:54:00:AA:01:01', bmcCidr: '10.0.1.250/24', ironicTimeoutSec: '30' });
  assert.ok(withBmc.ok);
  assert.deepEqual(withBmc.network.bmcNic, { mac: '52:54:00:aa:01:01', cidr: '10.0.1.250/24' });
  assert.equal(withBmc.ironicTimeoutSec, 30);
  const bad = (f: Partial<SeedForm>) => { const r = checkSeedForm({ ...FORM, ...f }); assert.ok(!r.ok); return r.errors; };
  assert.match(bad({ provisioningCidr: '10.0.0.250' }).provisioningCidr!, /with a prefix/);
  assert.match(bad({ provisioningCidr: '10.0.0.210/24' }).provisioningCidr!, /inside its DHCP range/);
  assert.match(bad({ dhcpStart: '10.0.1.200', dhcpEnd: '10.0.1.249' }).dhcpStart!, /in the control node's network \(10\.0\.0\.0\/24\)/);
  assert.match(bad({ dhcpEnd: '10.0.0.100' }).dhcpEnd!, /ends before it starts/);
  assert.match(bad({ netmask: '255.255.0.0' }).netmask!, /the netmask is 255\.255\.255\.0/);
  assert.match(bad({ netmask: '255.0.255.0' }).netmask!, /a netmask such as/);
  assert.match(bad({ bmcMac: 'zz' , bmcCidr: '10.0.1.2/24' }).bmcMac!, /a MAC such as/);
  assert.match(bad({ bmcMac: '52:54:00:aa:01:01' }).bmcCidr!, /leave both BMC fields empty/);
  assert.match(bad({ ironicTimeoutSec: '0' }).ironicTimeoutSec!, /1 to 86400/);
  assert.equal(ipToInt('10.0.0.256'), null);
  assert.equal(netmaskPrefix('255.255.255.192'), 26);
});

test('address suggestion: .250 and .200–.249 of the appliance\'s /24, else .10 and .20–.69 clear of the pool; none for a small network', () => {
  assert.deepEqual(suggestSeedForm('10.230.0.1/24', { first: '10.230.0.100', last: '10.230.0.199' }), { provisioningCidr: '10.230.0.250/24', dhcpStart: '10.230.0.200', dhcpEnd: '10.230.0.249', netmask: '255.255.255.0' });
  assert.deepEqual(suggestSeedForm('10.230.0.1/24', { first: '10.230.0.100', last: '10.230.0.254' }), { provisioningCidr: '10.230.0.10/24', dhcpStart: '10.230.0.20', dhcpEnd: '10.230.0.69', netmask: '255.255.255.0' });
  assert.deepEqual(suggestSeedForm('172.16.4.9/16', null), { provisioningCidr: '172.16.4.250/16', dhcpStart: '172.16.4.200', dhcpEnd: '172.16.4.249', netmask: '255.255.0.0' });
  assert.equal(suggestSeedForm('10.0.0.1/28', null), null);
  assert.equal(suggestSeedForm(null, null), null);
  for (const s of [suggestSeedForm('10.230.0.1/24', null)!]) assert.ok(checkSeedForm({ ...FORM, ...s }).ok, 'the suggestion passes the form\'s own checks');
});

test('seed slice and bridge: \'seed\' stream messages reach the store; an older update of the same seed never wins', () => {
  const store = createAppStore();
  const frame = parseStreamFrame(JSON.stringify([{ type: 'seed', payload: seed() }, { type: 'seed', payload: null }]));
  assert.deepEqual(frame && { n: frame.messages.length, dropped: frame.dropped }, { n: 1, dropped: 1 }, 'a seed message without a record is dropped');
  applyStreamMessage(store, frame!.messages[0]!);
  assert.equal(store.getState().seed?.stage, 'handoff');
  applyStreamMessage(store, { type: 'seed', payload: seed({ stage: 'wait-ironic', updatedAt: 1_010_000 }) });
  assert.equal(store.getState().seed?.stage, 'handoff', 'the stale update is ignored');
  applyStreamMessage(store, { type: 'seed', payload: seed({ stage: 'pivot', updatedAt: 1_030_000 }) });
  assert.equal(store.getState().seed?.stage, 'pivot');
  store.getState().setSeed(seed({ id: 'old', startedAt: 5 }));
  assert.equal(store.getState().seed?.id, 's1', 'an older seed does not replace the latest');
  assert.deepEqual(parseRoute('#/setup/seed'), { page: 'wizard', step: 'seed' });
  assert.equal(formatRoute({ page: 'wizard', step: 'seed' }), '#/setup/seed');
});

/** A scripted daemon: answers by "METHOD path", records every call. */
function scripted(answers: Record<string, (body: unknown) => { status?: number; body?: unknown; text?: string; headers?: Record<string, string> }>) {
  const calls: { key: string; body: unknown }[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    const u = new URL(url);
    const key = `${init.method} ${u.pathname}${u.search}`;
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ key, body });
    const h = answers[key];
    if (!h) return new Response(JSON.stringify({ error: `no route ${key}` }), { status: 404 });
    const a = h(body);
    return new Response(a.text ?? JSON.stringify(a.body ?? null), { status: a.status ?? 200, headers: a.headers });
  }) as unknown as typeof fetch;
  return { client: new ApiClient({ baseUrl: 'http://127.0.0.1:9', token: 't' }, fetchImpl), calls };
}

test('actions: a refused seed comes back to the step; resume and rollback write the record; credentials only when asked', async () => {
  const store = createAppStore();
  const { client, calls } = scripted({
    'POST /api/v1/seed': () => ({ status: 409, body: { error: 'node n2 is too small for the control node: 1024 MiB of RAM, the control image (Debian + Ironic, dnsmasq, nginx) needs 1536 MiB' } }),
    'POST /api/v1/seed/resume': () => ({ status: 202, body: seed({ stage: 'wait-ironic', updatedAt: 2_000_000 }) }),
    'POST /api/v1/seed/rollback': () => ({ body: seed({ status: 'rolled-back', updatedAt: 3_000_000 }) }),
    'GET /api/v1/handoff': () => ({ body: [] }),
    'GET /api/v1/engines': () => ({ body: [] }),
    'GET /api/v1/jobs': () => ({ body: [] }),
    'GET /api/v1/seed/credentials': () => ({ text: 'OS_ENDPOINT=http://10.0.0.250:6385\nOS_PASSWORD=abc\n', headers: { 'content-type': 'text/plain; charset=utf-8', 'content-disposition': 'attachment; filename="rackseed-site-credentials.env"' } }),
  });
  initActions(client, store);
  const req = { control: 'n2', network: checkSeedForm(FORM).ok ? (checkSeedForm(FORM) as { network: SeedRecord['network'] }).network : FORM as never };
  const r = await startSeed(req);
  assert.deepEqual(r, { ok: false, status: 409, message: '409 node n2 is too small for the control node: 1024 MiB of RAM, the control image (Debian + Ironic, dnsmasq, nginx) needs 1536 MiB' });
  assert.deepEqual(calls[0]!.body, req);
  assert.equal(store.getState().seed, null);
  assert.deepEqual(store.getState().notices, [], 'a refusal is the step\'s to show');
  assert.equal(calls.some((c) => c.key.includes('credentials')), false, 'nothing asks for the credentials unless the engineer does');

  const res = await resumeSeed();
  assert.ok(res.ok);
  assert.equal(store.getState().seed?.stage, 'wait-ironic');
  const back = await rollbackSeed();
  assert.ok(back.ok);
  assert.equal(store.getState().seed?.status, 'rolled-back');
  assert.match(store.getState().notices.at(-1)!.text, /rolled back/);

  const c = await seedCredentials();
  assert.ok(c.ok);
  assert.equal(c.file.fileName, 'rackseed-site-credentials.env');
  assert.match(c.file.text, /^OS_PASSWORD=abc$/m);
});

test('the step\'s markup: running timeline; a failure with Resume and Roll back; the report with the Ironic URL, no password, "unplugged"; the RAM check', () => {
  const html = (el: Parameters<typeof renderToStaticMarkup>[0]) => renderToStaticMarkup(el);
  let out = html(createElement(SeedTimeline, { seed: seed(), controlMac: '52:54:00:00:00:01', deployment: undefined }));
  assert.match(out, /Seed of 52:54:00:00:00:01/);
  assert.match(out, /aria-label="Deploy the control node: done, 9\.0 s"/);
  assert.match(out, /aria-label="Hand the nodes over: in progress"/);
  assert.match(out, /aria-label="Pivot: RackSeed stops answering them: not reached"/);
  assert.match(out, /1\/2 handed over, 1 running/);

  const failed = seed({ status: 'failed', stage: 'wait-ironic', stages: stages(1, 1), error: 'wait-ironic: the control node\'s Ironic did not answer', updatedAt: 1_100_000 });
  out = html(createElement(SeedTimeline, { seed: failed, controlMac: null, deployment: undefined }));
  assert.match(out, /aria-label="Wait for its Ironic: failed, 9\.0 s"[^]*role="alert">the control node&#x27;s Ironic did not answer at http:\/\/10\.0\.0\.250:6385 within 5 s/);
  out = html(createElement(SeedFailure, { seed: failed }));
  assert.match(out, /The seed stopped at “Wait for its Ironic”/);
  assert.match(out, /Resume from “Wait for its Ironic”/);
  assert.match(out, /Roll back \(take every node back\)/);
  assert.match(out, /Every node not yet handed over is still RackSeed&#x27;s/);
  assert.equal(html(createElement(SeedFailure, { seed: seed() })), '', 'nothing to resume while it runs');

  const done = seed({ status: 'done', stage: 'report', stages: stages(5), report: REPORT, updatedAt: 1_200_000 });
  out = html(createElement(SeedReportView, { seed: done, report: REPORT }));
  assert.match(out, /The laptop can be unplugged\./);
  assert.match(out, /Seed to unplug: 1 min 35 s/);
  assert.match(out, /aria-label="Ironic URL">http:\/\/10\.0\.0\.250:6385</);
  assert.match(out, /Reveal credentials/);
  assert.match(out, /Download site credentials/);
  assert.doesNotMatch(out, /OS_PASSWORD/, 'the credentials are not on the page until asked for');
  assert.match(out, /aria-label="Owner of 52:54:00:00:00:02"[^]*the control node&#x27;s Ironic[^]*available[^]*power off/);

  const nodes = { n1: node(), n2: node({ id: 'n2', mac: '52:54:00:00:00:02', memoryMiB: 1024 }) };
  out = html(createElement(ControlPicker, { plan: PLAN, nodes, chosen: 'n1', setChosen: () => {} }));
  assert.match(out, /RAM ≥ 1536 MiB/);
  assert.match(out, /aria-label="RAM check of 52:54:00:00:00:01"><span class="badge tone-ok">✓ enough/);
  assert.match(out, /aria-label="RAM check of 52:54:00:00:00:02"><span class="badge tone-bad">✗ too small[^]*too small: 1024 MiB of RAM, the control image needs 1536 MiB/);
  assert.match(out, /disabled="" aria-label="Control node 52:54:00:00:00:02"/, 'a too-small node cannot be chosen');
  out = html(createElement(PlanTable, { plan: PLAN }));
  assert.match(out, /1 control node, 1 node to hand over to its Ironic, 2 staying RackSeed&#x27;s/);
});
