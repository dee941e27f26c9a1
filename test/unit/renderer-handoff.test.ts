// The renderer's hand-off parts without a browser: the hand-off and selection slices, the pure texts and checks of
// lib/handoff.ts (owner labels, progress over the job's steps, one-line status, which nodes can be handed over, the
// form's checks and what it sends), the bridge turning 'job' messages into hand-off progress, and the actions against a
// scripted fetch (following running hand-offs until they end, a job message from elsewhere triggering a read, refusals
// returned to the dialog, exports' file name and secrets header, the import's size and empty-file checks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAppStore, resetAppStore } from '../../renderer/store/store.ts';
import { applyStreamMessage } from '../../renderer/api/bridge.ts';
import { ApiClient } from '../../renderer/api/client.ts';
import { exportNodes, followHandoffs, importCsvFile, initActions, startHandoff } from '../../renderer/actions.ts';
import {
  attachmentName, checkHandoffForm, engineHost, failedStep, handoffBlocker, handoffProgress, handoffSummary, normalizeEngineUrl, ownerLabel,
  storedPassword, verificationText, type HandoffForm,
} from '../../renderer/lib/handoff.ts';
import { visibleNodes } from '../../renderer/lib/fleet-table.ts';
import type { Job, JobStep } from '../../shared/api.ts';
import type { EngineInfo, HandoffRecord } from '../../shared/handoff.ts';
import type { NodeSummary } from '../../shared/node.ts';

const STEPS = ['read-bmc', 'engine', 'node', 'ports', 'manage', 'provide', 'verify', 'pivot'];
const ENGINE = { kind: 'ironic' as const, url: 'http://10.0.0.5:6385' };

function job(over: Partial<Job> & { done?: number; failedAt?: number } = {}): Job {
  const { done = 0, failedAt, ...rest } = over;
  const steps: JobStep[] = STEPS.map((name, i) => ({
    name, status: i < done ? 'done' : i === failedAt ? 'failed' : i === done && failedAt === undefined ? 'running' : 'pending',
    startedAt: null, endedAt: null, error: i === failedAt ? 'boom' : null,
  }));
  return { id: 'j1', nodeId: 'n1', bmcAddress: '10.1.0.11', kind: 'handoff', status: failedAt !== undefined ? 'failed' : done === STEPS.length ? 'done' : 'running', steps, error: null, createdAt: 1, updatedAt: 1, ...rest };
}

function rec(over: Partial<HandoffRecord> = {}): HandoffRecord {
  return {
    nodeId: 'n1', owner: 'rackseed', status: null, engine: null, engineNode: null, jobId: null, existing: null, result: null, error: null,
    leftBehind: null, startedAt: null, updatedAt: null, ...over,
  };
}

const node = (over: Partial<NodeSummary> = {}): NodeSummary => ({
  id: 'n1', mac: '52:54:00:00:00:01', ip: null, state: 'available', maintenance: false, lastError: null, firmware: 'uefi', serial: 'SN-1',
  uuid: null, bmc: { address: '10.1.0.11', matchedBy: 'guid', vendor: null } as NodeSummary['bmc'], power: 'off', poweredOnByRackSeed: false,
  cpu: 'QEMU ×1', memoryMiB: 512, diskGiB: 8, createdAt: 1, updatedAt: 1, ...over,
});

const owned = (engineNode = 'u-1'): HandoffRecord['owner'] => ({ ...ENGINE, engineNode, since: 5 });

test('hand-off slice: records replaced and merged; a job only moves forward; a newer job replaces an older one', () => {
  const store = createAppStore();
  const s = () => store.getState();
  s().setHandoffs([rec({ nodeId: 'a' }), rec({ nodeId: 'b' })]);
  assert.deepEqual(Object.keys(s().handoffs).sort(), ['a', 'b']);
  s().upsertHandoffs([rec({ nodeId: 'b', status: 'running' }), rec({ nodeId: 'c' })]);
  assert.equal(s().handoffs.b!.status, 'running');
  assert.deepEqual(Object.keys(s().handoffs).sort(), ['a', 'b', 'c']);
  const before = s().handoffs;
  s().upsertHandoffs([]);
  assert.equal(s().handoffs, before, 'an empty merge changes nothing (no re-render)');
  s().setHandoffs([]);
  assert.deepEqual(s().handoffs, {});

  s().setHandoffJob(job({ done: 2, updatedAt: 20 }));
  s().setHandoffJob(job({ done: 1, updatedAt: 10 })); // late, older frame of the same job
  assert.equal(handoffProgress(s().handoffJobs.n1)!.done, 2);
  s().setHandoffJob(job({ id: 'j0', done: 8, createdAt: 0, updatedAt: 30 })); // an older job of the node
  assert.equal(s().handoffJobs.n1!.id, 'j1');
  s().setHandoffJob(job({ id: 'j2', done: 0, createdAt: 2, updatedAt: 2 })); // a new attempt
  assert.equal(s().handoffJobs.n1!.id, 'j2');
  s().setHandoffJob(job({ nodeId: null }));
  assert.deepEqual(Object.keys(s().handoffJobs), ['n1'], 'a job without a node is not a node\'s hand-off');
  s().setEngines([{ id: 'ironic:x', ...ENGINE, auth: 'none', user: null, passwordSet: false }]);
  assert.equal(s().engines.length, 1);
  resetAppStore(store);
  assert.deepEqual([s().handoffs, s().handoffJobs, s().engines, s().selection], [{}, {}, [], []]);
});

test('selection slice: toggle, explicit on/off, set without duplicates, clear', () => {
  const store = createAppStore();
  const s = () => store.getState();
  s().toggleSelected('a');
  s().toggleSelected('b');
  s().toggleSelected('a');
  assert.deepEqual(s().selection, ['b']);
  const same = s().selection;
  s().toggleSelected('b', true);
  assert.equal(s().selection, same, 'ticking a ticked node changes nothing');
  s().toggleSelected('c', true);
  s().toggleSelected('b', false);
  assert.deepEqual(s().selection, ['c']);
  s().setSelection(['x', 'y', 'x']);
  assert.deepEqual(s().selection, ['x', 'y']);
  s().clearSelection();
  assert.deepEqual(s().selection, []);
});

test('the bridge turns hand-off job messages into progress and still updates an open node detail', () => {
  const store = createAppStore();
  store.getState().setDetail({ node: node(), inventory: null, events: [], jobs: [] });
  applyStreamMessage(store, { type: 'job', payload: job({ done: 3 }) });
  assert.equal(handoffProgress(store.getState().handoffJobs.n1)!.current, 'ports');
  assert.equal(store.getState().details.n1!.jobs.length, 1);
  applyStreamMessage(store, { type: 'job', payload: { ...job(), id: 'i1', kind: 'inspect', nodeId: 'n2' } });
  assert.equal(store.getState().handoffJobs.n2, undefined, 'an inspect job is not a hand-off');
});

test('owner labels, progress, one-line status and the verification text', () => {
  assert.equal(ownerLabel('rackseed'), 'RackSeed');
  assert.equal(ownerLabel(undefined), 'RackSeed');
  assert.equal(ownerLabel(owned()), 'Ironic 10.0.0.5:6385');
  assert.equal(engineHost('https://ironic.example:6385/baremetal'), 'ironic.example:6385/baremetal');
  assert.equal(engineHost('not a url'), 'not a url');

  assert.equal(handoffProgress(undefined), null);
  assert.deepEqual(handoffProgress(job({ done: 4 })), { done: 4, total: 8, current: 'manage', text: 'manage: Ironic reads the BMC' });
  assert.deepEqual(handoffProgress(job({ done: 8 })), { done: 8, total: 8, current: null, text: 'finished' });
  assert.equal(handoffProgress(job({ done: 2, failedAt: 2 }))!.current, 'node');
  assert.equal(failedStep(job({ done: 2, failedAt: 2 })), 'creating the Ironic node');
  assert.equal(failedStep(job({ done: 3 })), null);

  assert.equal(handoffSummary(rec()), null);
  assert.equal(handoffSummary(undefined), null);
  assert.deepEqual(handoffSummary(rec({ status: 'running' }), job({ done: 1 })), { label: 'handing over', tone: 'busy', detail: 'checking the engine (2/8)' });
  assert.deepEqual(handoffSummary(rec({ status: 'running' })), { label: 'handing over', tone: 'busy', detail: 'started' });
  assert.deepEqual(handoffSummary(rec({ status: 'failed', error: 'Ironic said no' })), { label: 'hand-off failed', tone: 'bad', detail: 'Ironic said no' });
  assert.deepEqual(handoffSummary(rec({ status: 'taken-back', engine: ENGINE })), { label: 'taken back', tone: 'info', detail: 'from 10.0.0.5:6385' });
  const verified = rec({
    status: 'done', owner: owned(), engine: ENGINE, engineNode: 'u-1',
    result: { provisionState: 'available', enginePower: 'power on', bmcPower: 'on', powerMatches: true, ports: [{ address: 'a', pxeEnabled: true }, { address: 'b', pxeEnabled: false }], portsMatch: true, microversion: '1.82' },
  });
  assert.deepEqual(handoffSummary(verified), { label: 'handed over', tone: 'ok', detail: 'available · power on = BMC ✓ · 2 ports ✓' });
  assert.equal(verificationText({ ...verified, result: { ...verified.result!, powerMatches: false, bmcPower: 'off', portsMatch: false, ports: [{ address: 'a', pxeEnabled: true }] } }),
    'available · power on ≠ BMC off ✗ · 1 port ✗');
  assert.equal(verificationText(rec({ engineNode: 'u-9' })), 'node u-9');
});

test('which nodes can be handed over, and why not', () => {
  assert.equal(handoffBlocker(node(), undefined), null);
  assert.equal(handoffBlocker(node(), rec({ status: 'failed' })), null, 'a failed attempt may be retried');
  assert.match(handoffBlocker(node(), rec({ owner: owned() }))!, /^owned by Ironic 10\.0\.0\.5:6385 already: take it back first$/);
  assert.equal(handoffBlocker(node(), rec({ status: 'running' })), 'a hand-off is running');
  assert.equal(handoffBlocker(node({ bmc: null }), undefined), 'no BMC: Ironic could not drive it');
  assert.equal(handoffBlocker(node({ cpu: null, memoryMiB: null, diskGiB: null }), undefined), 'no inventory yet: inspect it first');
  assert.equal(handoffBlocker(node({ state: 'inspecting' }), undefined), 'inspecting: wait for it to finish');
});

test('the hand-off form: each field checked with its own message; the request carries the password only when typed', () => {
  const f: HandoffForm = { url: 'http://10.0.0.5:6385', auth: 'none', user: '', password: '' };
  assert.deepEqual(checkHandoffForm(f, ['n1'], []), { ok: true, request: { nodes: ['n1'], engine: { kind: 'ironic', url: 'http://10.0.0.5:6385', auth: 'none' } } });
  const errs = (form: Partial<HandoffForm>, nodes = ['n1'], engines: EngineInfo[] = []) => {
    const r = checkHandoffForm({ ...f, ...form }, nodes, engines);
    return r.ok ? {} : r.errors;
  };
  assert.deepEqual(errs({ url: '' }), { url: 'give the Ironic API URL, e.g. http://10.0.0.5:6385' });
  assert.deepEqual(errs({ url: '10.0.0.5:6385' }), { url: 'start the URL with http:// or https:// (e.g. http://10.0.0.5:6385)' });
  assert.deepEqual(errs({ url: 'ironic.example:6385' }), { url: 'start the URL with http:// or https:// (e.g. http://ironic.example:6385)' });
  assert.deepEqual(errs({ url: 'ftp://ironic' }), { url: 'the Ironic URL must start with http:// or https:// (got ftp:)' });
  assert.deepEqual(errs({ url: 'http://' }), { url: 'not a URL: http:// (e.g. http://10.0.0.5:6385)' });
  assert.deepEqual(errs({ url: 'http://u:p@h:6385' }), { url: 'give the user and password in their own fields, not in the URL' });
  assert.deepEqual(errs({}, []), { nodes: 'no node can be handed over' });
  assert.deepEqual(errs({ auth: 'basic' }), { user: 'HTTP basic auth needs a user', password: 'give the password (none is stored for this engine and user)' });
  const stored: EngineInfo = { id: 'ironic:http://10.0.0.5:6385', ...ENGINE, auth: 'basic', user: 'metal3', passwordSet: true };
  // the daemon keeps a password per engine and user: leaving it empty reuses it (the URL in any spelling the daemon normalises)
  const reuse = checkHandoffForm({ url: 'http://10.0.0.5:6385/v1/', auth: 'basic', user: 'metal3', password: '' }, ['n1'], [stored]);
  assert.deepEqual(reuse, { ok: true, request: { nodes: ['n1'], engine: { kind: 'ironic', url: 'http://10.0.0.5:6385/v1/', auth: 'basic', user: 'metal3' } } });
  assert.deepEqual(errs({ auth: 'basic', user: 'other' }, ['n1'], [stored]), { password: 'give the password (none is stored for this engine and user)' });
  const typed = checkHandoffForm({ ...f, auth: 'basic', user: ' metal3 ', password: 'pw' }, ['n1'], []);
  assert.deepEqual(typed.ok && typed.request.engine, { kind: 'ironic', url: 'http://10.0.0.5:6385', auth: 'basic', user: 'metal3', password: 'pw' });
  assert.equal(storedPassword({ url: 'http://10.0.0.5:6385/', user: 'metal3' }, [stored]), true);
  assert.equal(storedPassword({ url: 'http://10.0.0.5:6385', user: 'x' }, [stored]), false);
  assert.equal(normalizeEngineUrl('https://h:1/baremetal/v1/'), 'https://h:1/baremetal');
  assert.equal(normalizeEngineUrl('ftp://h'), null);
  assert.equal(attachmentName('attachment; filename="rackseed-metal3.yaml"', 'x'), 'rackseed-metal3.yaml');
  assert.equal(attachmentName('attachment; filename="../etc/passwd"', 'x'), 'x', 'no path in a suggested name');
  assert.equal(attachmentName(null, 'fallback.csv'), 'fallback.csv');
});

test('the fleet filter also matches what the fleet view knows beside the node (its owner)', () => {
  const nodes = [node(), node({ id: 'n2', mac: '52:54:00:00:00:02' })];
  const extra = (n: NodeSummary) => (n.id === 'n2' ? 'Ironic 10.0.0.5:6385' : 'RackSeed');
  assert.deepEqual(visibleNodes(nodes, 'ironic', { key: 'mac', dir: 'asc' }, extra).map((n) => n.id), ['n2']);
  assert.deepEqual(visibleNodes(nodes, 'ironic', { key: 'mac', dir: 'asc' }).map((n) => n.id), [], 'without it, only the node\'s own fields');
});

/** A scripted daemon: answers by "METHOD path?query", records every call. */
function scripted(answers: Record<string, (body: unknown, n: number) => { status?: number; body?: unknown; text?: string; headers?: Record<string, string> }>) {
  const calls: { key: string; body: unknown }[] = [];
  const count = new Map<string, number>();
  const fetchImpl = (async (url: string, init: RequestInit) => {
    const u = new URL(url);
    const key = `${init.method} ${u.pathname}${u.search}`;
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ key, body });
    const n = (count.get(key) ?? 0) + 1;
    count.set(key, n);
    const h = answers[key] ?? Object.entries(answers).find(([k]) => k.endsWith('*') && key.startsWith(k.slice(0, -1)))?.[1];
    if (!h) return new Response(JSON.stringify({ error: `no route ${key}` }), { status: 404 });
    const a = h(body, n);
    return new Response(a.text ?? JSON.stringify(a.body ?? null), { status: a.status ?? 200, headers: a.headers });
  }) as unknown as typeof fetch;
  return { client: new ApiClient({ baseUrl: 'http://127.0.0.1:9', token: 't' }, fetchImpl), calls };
}

test('actions: a running hand-off is followed until it ends; a job message from elsewhere makes the UI read that node', async () => {
  const store = createAppStore();
  const { client, calls } = scripted({
    'GET /api/v1/handoff?nodes=n1': (_b, n) => ({ body: [rec({ status: n < 3 ? 'running' : 'done', owner: n < 3 ? 'rackseed' : owned() })] }),
    'GET /api/v1/handoff?nodes=n2': () => ({ body: [rec({ nodeId: 'n2', status: 'failed', error: 'x' })] }),
  });
  initActions(client, store);
  store.getState().setHandoffs([rec({ status: 'running' })]);
  await followHandoffs([], 5);
  assert.equal(calls.filter((c) => c.key === 'GET /api/v1/handoff?nodes=n1').length, 3, 'polled until it was no longer running');
  assert.equal(store.getState().handoffs.n1!.status, 'done');
  assert.notEqual(store.getState().handoffs.n1!.owner, 'rackseed');

  // the CLI started a hand-off of n2: its job arrives on the stream, the UI reads its record at once
  store.getState().setHandoffJob(job({ nodeId: 'n2', id: 'j9', failedAt: 0 }));
  for (let i = 0; !store.getState().handoffs.n2 && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(store.getState().handoffs.n2?.status, 'failed');
});

test('actions: a refused hand-off comes back to the dialog with status and message; exports carry file name and secrets header', async () => {
  const store = createAppStore();
  const { client, calls } = scripted({
    'POST /api/v1/handoff': () => ({ status: 502, body: { error: 'Ironic at http://10.0.0.5:6385 is unreachable (ECONNREFUSED)' } }),
    'GET /api/v1/export*': () => ({ text: '# no secrets: …\nid,name\n', headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="rackseed-nodes.csv"', 'x-rackseed-secrets': 'omitted' } }),
  });
  initActions(client, store);
  const r = await startHandoff({ nodes: ['n1'], engine: { kind: 'ironic', url: 'http://10.0.0.5:6385', auth: 'basic', user: 'u', password: 'pw' } });
  assert.deepEqual(r, { ok: false, status: 502, message: '502 Ironic at http://10.0.0.5:6385 is unreachable (ECONNREFUSED)' });
  assert.deepEqual(calls[0]!.body, { nodes: ['n1'], engine: { kind: 'ironic', url: 'http://10.0.0.5:6385', auth: 'basic', user: 'u', password: 'pw' } });
  assert.deepEqual(store.getState().notices, [], 'a refusal is the dialog\'s to show, not a notice');

  const e = await exportNodes('csv', ['n1', 'n2'], false);
  assert.ok(e.ok);
  assert.deepEqual({ name: e.file.fileName, secrets: e.file.secrets, type: e.file.contentType }, { name: 'rackseed-nodes.csv', secrets: 'omitted', type: 'text/csv; charset=utf-8' });
  assert.equal(calls.at(-1)!.key, 'GET /api/v1/export?format=csv&nodes=n1%2Cn2');
  await exportNodes('metal3', [], true);
  assert.equal(calls.at(-1)!.key, 'GET /api/v1/export?format=metal3&secrets=1', 'no node list = every exportable node');
});

test('actions: an import refuses an empty or too large file before sending, and returns the daemon\'s line/field error', async () => {
  const store = createAppStore();
  const { client, calls } = scripted({
    'POST /api/v1/import': () => ({ status: 400, body: { error: 'line 3, field bmc_address: \'x\' is not an IPv4 address or host name; nothing was imported' } }),
  });
  initActions(client, store);
  assert.deepEqual(await importCsvFile(new Blob(['  \n'])), { ok: false, message: 'the file is empty' });
  const big = await importCsvFile(new Blob(['x'.repeat(901 * 1024)]));
  assert.ok(!big.ok && /901 KiB; RackSeed imports at most 900 KiB/.test(big.message));
  assert.equal(calls.length, 0);
  assert.deepEqual(await importCsvFile(new Blob(['position,serial,bmc_address\n'])), { ok: false, message: '400 line 3, field bmc_address: \'x\' is not an IPv4 address or host name; nothing was imported' });
});
