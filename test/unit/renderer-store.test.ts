// The renderer's store, stream bridge and API client against a real daemon (API only, loopback): the typed
// client reads real interfaces and maps a 401 to ApiError; the bridge opens the real WebSocket stream with the
// token and turns the daemon's messages into store state; stream messages update slices; backoff is bounded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startDaemon, type RunningDaemon } from '../helpers/ui/daemon.ts';
import { ApiClient, ApiError } from '../../renderer/api/client.ts';
import { streamUrl } from '../../renderer/api/connection.ts';
import { MAX_EVENTS } from '../../renderer/store/slices.ts';
import { applyStreamMessage, backoffMs, connectStream, createEventBatcher, parseStreamFrame } from '../../renderer/api/bridge.ts';
import { createAppStore, resetAppStore } from '../../renderer/store/store.ts';
import type { NodeSummary } from '../../shared/node.ts';

// Node 20 has no global WebSocket; `ws` (a dependency of @fastify/websocket) implements the same browser API
const WS = createRequire(import.meta.url)('ws') as typeof WebSocket;

let daemon: RunningDaemon;
before(async () => { daemon = await startDaemon(); }, { timeout: 90_000 });
after(async () => { await daemon?.stop(); });

const node = (over: Partial<NodeSummary> = {}): NodeSummary => ({
  id: 'n1', mac: '52:54:00:00:00:01', ip: null, state: 'discovered', maintenance: false, lastError: null, firmware: null, serial: null,
  uuid: null, bmc: null, power: null, poweredOnByRackSeed: false, cpu: null, memoryMiB: null, diskGiB: null, createdAt: 1, updatedAt: 1, ...over,
});

test('the typed client talks to the real daemon; refusals are ApiError with the status', async () => {
  const c = new ApiClient({ baseUrl: daemon.baseUrl, token: daemon.token });
  const ifs = await c.interfaces();
  assert.ok(ifs.some((i) => i.name === 'lo' && i.addresses.includes('127.0.0.1/8')));
  assert.equal((await c.health()).configured, false);
  assert.deepEqual(await c.nodes(), []);
  const creds = await c.setBmcCredentials('admin', 'pw-123');
  assert.deepEqual(creds, { user: 'admin', passwordSet: true });
  assert.deepEqual(await c.bmcCredentials(), { user: 'admin', passwordSet: true });

  const anon = new ApiClient({ baseUrl: daemon.baseUrl, token: null });
  await assert.rejects(anon.interfaces(), (e: unknown) => e instanceof ApiError && e.status === 401);
  await assert.rejects(c.setBmcCredentials('', ''), (e: unknown) => e instanceof ApiError && e.status === 400);
  await assert.rejects(c.node('no-such-node'), (e: unknown) => e instanceof ApiError && e.status === 404);
});

test('the bridge opens the real stream with the token and feeds daemon events into the store', { timeout: 30_000 }, async () => {
  const store = createAppStore();
  const conn = { baseUrl: daemon.baseUrl, token: daemon.token };
  const h = connectStream({ url: streamUrl(conn), store, WebSocketImpl: WS });
  try {
    for (let i = 0; store.getState().streamStatus !== 'open'; i++) {
      assert.ok(i < 200, `stream opened (status ${store.getState().streamStatus})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // something the daemon records as an event and broadcasts
    await new ApiClient(conn).setBmcCredentials('streamer', 'pw-456');
    for (let i = 0; !store.getState().events.some((e) => e.kind === 'bmc-credentials' && e.message.includes('streamer')); i++) {
      assert.ok(i < 200, 'event arrived over the stream');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(!JSON.stringify(store.getState().events).includes('pw-456'), 'no secret in events');
  } finally {
    h.close();
  }
});

test('a stream without the token is refused and the store says so', { timeout: 30_000 }, async () => {
  const store = createAppStore();
  const h = connectStream({ url: streamUrl({ baseUrl: daemon.baseUrl, token: null }), store, WebSocketImpl: WS });
  try {
    for (let i = 0; !['unauthorized', 'closed'].includes(store.getState().streamStatus); i++) {
      assert.ok(i < 200, 'refused');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.notEqual(store.getState().streamStatus, 'open');
  } finally {
    h.close();
  }
});

test('stream messages update the slices; malformed frames are dropped', () => {
  const store = createAppStore();
  applyStreamMessage(store, { type: 'node', payload: node() });
  applyStreamMessage(store, { type: 'node-state', payload: { id: 'n1', state: 'inspecting' } });
  applyStreamMessage(store, { type: 'node-state', payload: { id: 'unknown', state: 'error' } });
  assert.equal(store.getState().nodes.n1.state, 'inspecting');
  assert.equal(Object.keys(store.getState().nodes).length, 1);
  const status = { id: 's1', cidr: '10.1.0.0/30', total: 4, done: 2, found: 1, finished: false, error: null };
  const bmc = { address: '10.1.0.2', ipmiVersion: '2.0', authTypes: [], vendor: null, guid: null, nodeId: null, power: 'off' as const, error: null, seenAt: 1,
    protocol: 'ipmi' as const, protocols: ['ipmi' as const], protocolChosen: false, macs: [], redfishVersion: null, tlsFingerprint: null, firmware: null };
  applyStreamMessage(store, { type: 'sweep', payload: { status, found: bmc } });
  applyStreamMessage(store, { type: 'sweep', payload: { status: { ...status, done: 4, finished: true }, found: { ...bmc, power: 'on' } } });
  assert.equal(store.getState().bmcs.length, 1, 'upsert by address');
  assert.equal(store.getState().bmcs[0].power, 'on');
  assert.equal(store.getState().sweep?.finished, true);
  const e = { id: 7, at: 1, source: 'dhcp' as const, kind: 'ack', mac: '52:54:00:00:00:01', nodeId: 'n1', message: 'ack' };
  store.getState().setDetail({ node: store.getState().nodes.n1, inventory: null, events: [], jobs: [] });
  applyStreamMessage(store, { type: 'event', payload: e });
  applyStreamMessage(store, { type: 'event', payload: e });
  assert.equal(store.getState().events.length, 1, 'de-duplicated by id');
  assert.equal(store.getState().details.n1.events.length, 1, 'the open node detail gets its events live');

  assert.equal(parseStreamFrame('not json'), null);
  assert.deepEqual(parseStreamFrame(JSON.stringify({ type: 'exec', payload: {} })), { messages: [], dropped: 1 });
  assert.deepEqual(parseStreamFrame(JSON.stringify({ type: 'node' })), { messages: [], dropped: 1 });
  assert.equal(parseStreamFrame(new Uint8Array(3)), null);
  assert.deepEqual(parseStreamFrame(JSON.stringify({ type: 'event', payload: e })), { messages: [{ type: 'event', payload: e }], dropped: 0 });

  resetAppStore(store);
  assert.deepEqual(store.getState().nodes, {});
  assert.equal(store.getState().events.length, 0);
});

test('ui slice: sort toggles, notices are capped; backoff doubles to a 10 s cap', () => {
  const store = createAppStore();
  store.getState().sortBy('ip');
  assert.deepEqual(store.getState().sort, { key: 'ip', dir: 'asc' });
  store.getState().sortBy('ip');
  assert.deepEqual(store.getState().sort, { key: 'ip', dir: 'desc' });
  store.getState().sortBy('mac');
  assert.deepEqual(store.getState().sort, { key: 'mac', dir: 'asc' });
  for (let i = 0; i < 9; i++) store.getState().notify('error', `e${i}`);
  assert.equal(store.getState().notices.length, 5);
  assert.equal(backoffMs(0, () => 0.5), 500);
  assert.equal(backoffMs(1, () => 0.5), 1000);
  assert.equal(backoffMs(30, () => 0.5), 10_000);
  assert.ok(backoffMs(30, () => 1) <= 12_000 && backoffMs(30, () => 0) >= 8_000);
});

test('stream events reach the store in batches: one state change per batch, capped, de-duplicated, in order', () => {
  const store = createAppStore();
  applyStreamMessage(store, { type: 'node', payload: node() });
  store.getState().setDetail({ node: store.getState().nodes.n1, inventory: null, events: [], jobs: [] });
  let changes = 0;
  const unsubscribe = store.subscribe(() => { changes++; });
  const scheduled: Array<() => void> = [];
  const batcher = createEventBatcher(store, (fn) => scheduled.push(fn));
  const ev = (id: number, nodeId: string | null = null) => ({ id, at: id, source: 'dhcp' as const, kind: 'offer', mac: '52:54:00:00:00:02', nodeId, message: `e${id}` });
  for (let i = 1; i <= 5000; i++) batcher.push(ev(i, i % 1000 === 0 ? 'n1' : null));
  assert.equal(scheduled.length, 1, 'one flush scheduled for the whole burst');
  assert.equal(changes, 0, 'nothing applied before the flush');
  scheduled[0]!();
  assert.equal(changes, 1, 'one state change for 5,000 events');
  const events = store.getState().events;
  assert.equal(events.length, MAX_EVENTS);
  assert.equal(events[0]!.id, 5000 - MAX_EVENTS + 1, 'the newest are kept');
  assert.equal(events.at(-1)!.id, 5000);
  assert.deepEqual(store.getState().details.n1.events.map((e) => e.id), [1000, 2000, 3000, 4000, 5000], 'the open node detail got its own');
  batcher.push(ev(5000, 'n1'));
  batcher.push(ev(5001));
  scheduled[1]!();
  assert.equal(store.getState().events.at(-1)!.id, 5001);
  assert.equal(store.getState().events.filter((e) => e.id === 5000).length, 1, 'an id already shown is not added again');
  assert.equal(store.getState().details.n1.events.length, 5);
  unsubscribe();
});

test('stream frames: one message or an array of them; malformed entries are counted and skipped', () => {
  const e = { id: 1, at: 1, source: 'dhcp' as const, kind: 'ack', mac: null, nodeId: null, message: 'm' };
  assert.deepEqual(parseStreamFrame(JSON.stringify({ type: 'event', payload: e })), { messages: [{ type: 'event', payload: e }], dropped: 0 });
  const frame = parseStreamFrame(JSON.stringify([{ type: 'event', payload: e }, { type: 'exec', payload: {} }, 7, { type: 'node-state', payload: { id: 'n', state: 'error' } }]));
  assert.deepEqual(frame?.messages.map((m) => m.type), ['event', 'node-state'], 'in order');
  assert.equal(frame?.dropped, 2);
  assert.equal(parseStreamFrame('[not json'), null);
  assert.equal(parseStreamFrame(new Uint8Array(2)), null);
});
