// Live updates batched (issue 19 item 2): the bridge gathers every stream message of an animation frame and applies
// them together — runs of node/node-state messages as one store change, runs of events as one addEvents — keeping
// stream order; a hall of 1,000 nodes reporting at once is one store notification (one fleet-table render) per frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStreamBatcher } from '../../renderer/api/bridge.ts';
import { createAppStore } from '../../renderer/store/store.ts';
import type { StreamMessage } from '../../shared/api.ts';
import type { NodeEvent, NodeSummary } from '../../shared/node.ts';

const node = (i: number, over: Partial<NodeSummary> = {}): NodeSummary => ({
  id: `n${i}`, mac: `52:54:00:00:${String(Math.floor(i / 100)).padStart(2, '0')}:${String(i % 100).padStart(2, '0')}`, ip: `10.0.${Math.floor(i / 250)}.${i % 250}`,
  state: 'discovered', maintenance: false, lastError: null, firmware: 'bios', serial: `SER${i}`, uuid: null, bmc: null, power: null,
  poweredOnByRackSeed: false, cpu: null, memoryMiB: null, diskGiB: null, createdAt: 0, updatedAt: 0, ...over,
});
const event = (id: number, nodeId: string): NodeEvent => ({ id, at: id, source: 'agent', kind: 'inventory', mac: null, nodeId, message: `inventory ${id}` });

/** a schedule the test runs by hand: the "animation frame" */
function manualFrames() {
  const due: Array<() => void> = [];
  return { schedule: (fn: () => void) => { due.push(fn); }, frame: () => { for (const fn of due.splice(0)) fn(); }, get waiting() { return due.length; } };
}

test('1,000 nodes, their state changes and events in one frame: one store change each kind, nothing before the frame', () => {
  const store = createAppStore();
  const frames = manualFrames();
  const b = createStreamBatcher(store, frames.schedule);
  let notified = 0;
  store.subscribe(() => { notified++; });
  for (let i = 0; i < 1000; i++) b.push({ type: 'node', payload: node(i) } as StreamMessage);
  for (let i = 0; i < 1000; i++) b.push({ type: 'node-state', payload: { id: `n${i}`, state: 'inspecting' } } as StreamMessage);
  for (let i = 0; i < 1000; i++) b.push({ type: 'event', payload: event(i + 1, `n${i}`) } as StreamMessage);
  assert.equal(frames.waiting, 1, 'one frame scheduled for all 3,000 messages');
  assert.equal(b.pending, 3000);
  assert.equal(notified, 0, 'nothing reaches the store before the frame');
  assert.equal(Object.keys(store.getState().nodes).length, 0);
  frames.frame();
  assert.equal(notified, 2, 'one change for the node run, one for the event run');
  const s = store.getState();
  assert.equal(Object.keys(s.nodes).length, 1000);
  assert.ok(Object.values(s.nodes).every((n) => n.state === 'inspecting'), 'node-state applied after its node, in stream order');
  assert.equal(s.events.length > 0, true);
  assert.equal(s.events.at(-1)!.id, 1000);
  assert.equal(b.pending, 0);
});

test('stream order is kept across kinds: a node after its state change wins, other messages apply between runs', () => {
  const store = createAppStore();
  const frames = manualFrames();
  const b = createStreamBatcher(store, frames.schedule);
  b.push({ type: 'node', payload: node(1, { state: 'discovered' }) } as StreamMessage);
  b.push({ type: 'node-state', payload: { id: 'n1', state: 'inspecting' } } as StreamMessage);
  b.push({ type: 'services', payload: { dhcp: null } } as unknown as StreamMessage);
  b.push({ type: 'node', payload: node(1, { state: 'available', serial: 'LATEST' }) } as StreamMessage);
  b.push({ type: 'node-state', payload: { id: 'missing', state: 'error' } } as StreamMessage);
  frames.frame();
  const n = store.getState().nodes.n1!;
  assert.equal(n.state, 'available');
  assert.equal(n.serial, 'LATEST');
  assert.equal(store.getState().nodes.missing, undefined, 'a state change for an unknown node adds nothing');
  // a second frame only when something new arrives
  assert.equal(frames.waiting, 0);
  b.push({ type: 'node-state', payload: { id: 'n1', state: 'error' } } as StreamMessage);
  assert.equal(frames.waiting, 1);
  b.flush();
  assert.equal(store.getState().nodes.n1!.state, 'error', 'flush() applies at once');
});

test('an open node detail follows its node inside a batch', () => {
  const store = createAppStore();
  const frames = manualFrames();
  store.getState().setDetail({ node: node(7), inventory: null, events: [], jobs: [] } as never);
  const b = createStreamBatcher(store, frames.schedule);
  b.push({ type: 'node', payload: node(7, { state: 'available', ip: '10.9.9.9' }) } as StreamMessage);
  frames.frame();
  assert.equal(store.getState().details.n7!.node.ip, '10.9.9.9');
  assert.equal(store.getState().nodes.n7!.state, 'available');
});
