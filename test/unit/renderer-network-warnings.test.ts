// The Services panel's hostile-network warnings (renderer/lib/network-warnings.ts) from stream events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkWarnings, WARNING_FRESH_MS } from '../../renderer/lib/network-warnings.ts';
import type { NodeEvent } from '../../shared/node.ts';

const ev = (id: number, at: number, kind: string, source: NodeEvent['source'], nodeId: string | null = null): NodeEvent =>
  ({ id, at, kind, source, mac: null, nodeId, message: `${kind} ${id}`, level: 'warn' });

test('pool pressure and refused agent calls show while current, the latest report first', () => {
  const now = 10_000_000;
  const events = [
    ev(1, now - WARNING_FRESH_MS - 1, 'pool-pressure', 'dhcp'),
    ev(2, now - 60_000, 'pool-pressure', 'dhcp'),
    ev(3, now - 50_000, 'ack', 'dhcp'),
    ev(4, now - 40_000, 'agent-refused', 'agent', 'n1'),
    ev(5, now - 30_000, 'script-refused', 'http', 'n2'),
    ev(6, now - 20_000, 'agent-refused', 'agent', 'n1'),
    ev(7, now - 10_000, 'pool-pressure', 'dhcp'),
  ];
  const w = networkWarnings(events, now);
  assert.equal(w.pool?.id, 7);
  assert.deepEqual(w.refused && { count: w.refused.count, nodes: w.refused.nodes, last: w.refused.last.id }, { count: 3, nodes: 2, last: 6 });
  assert.deepEqual(networkWarnings(events, now + WARNING_FRESH_MS + 1), { pool: null, refused: null }, 'gone when the reports stop');
  assert.deepEqual(networkWarnings([ev(1, now, 'pool-pressure', 'http')], now), { pool: null, refused: null }, 'only the DHCP server reports it');
});
