// Fleet table filtering and sorting (renderer/lib/fleet-table.ts) and route parsing (lib/route.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeSummary } from '../../shared/node.ts';
import { formatBytes, formatDisk, formatMemory, matchesFilter, visibleNodes } from '../../renderer/lib/fleet-table.ts';
import { formatRoute, parseRoute } from '../../renderer/lib/route.ts';

const node = (i: number, over: Partial<NodeSummary> = {}): NodeSummary => ({
  id: `n${i}`, mac: `52:54:00:00:00:${String(i).padStart(2, '0')}`, ip: `10.0.0.${i}`, state: 'available', maintenance: false, lastError: null,
  firmware: 'bios', serial: `SER${i}`, uuid: null, bmc: null, power: 'off', poweredOnByRackSeed: false, cpu: 'QEMU Virtual CPU', memoryMiB: 512, diskGiB: 8,
  createdAt: 0, updatedAt: 0, ...over,
});

test('filter: every whitespace-separated term must match (case-insensitive) MAC, IP, serial, state, BMC …', () => {
  const n = node(3, { state: 'error', lastError: 'agent timeout', bmc: { address: '10.1.0.3', guid: null, vendor: 'OpenIPMI', matchedBy: 'guid' } });
  assert.equal(matchesFilter(n, ''), true);
  assert.equal(matchesFilter(n, '52:54:00:00:00:03'), true);
  assert.equal(matchesFilter(n, 'ERROR ser3'), true);
  assert.equal(matchesFilter(n, 'openipmi 10.1.0.3'), true);
  assert.equal(matchesFilter(n, 'timeout'), true);
  assert.equal(matchesFilter(n, 'error uefi'), false);
});

test('sort: IPs numerically, nulls last in both directions, ties by MAC', () => {
  const nodes = [node(10), node(9), node(2, { ip: null }), node(100), node(5, { memoryMiB: 2048 })];
  assert.deepEqual(visibleNodes(nodes, '', { key: 'ip', dir: 'asc' }).map((n) => n.ip), ['10.0.0.5', '10.0.0.9', '10.0.0.10', '10.0.0.100', null]);
  assert.deepEqual(visibleNodes(nodes, '', { key: 'ip', dir: 'desc' }).map((n) => n.ip), ['10.0.0.100', '10.0.0.10', '10.0.0.9', '10.0.0.5', null]);
  assert.deepEqual(visibleNodes(nodes, '', { key: 'memoryMiB', dir: 'desc' }).map((n) => n.id), ['n5', 'n2', 'n9', 'n10', 'n100']);
  assert.deepEqual(visibleNodes(nodes, '10.0.0.1', { key: 'mac', dir: 'asc' }).map((n) => n.id), ['n10', 'n100']);
  const input = nodes.map((n) => n.id);
  visibleNodes(nodes, '', { key: 'ip', dir: 'asc' });
  assert.deepEqual(nodes.map((n) => n.id), input, 'the input is not reordered');
});

test('units', () => {
  assert.equal(formatMemory(512), '512 MiB');
  assert.equal(formatMemory(2048), '2 GiB');
  assert.equal(formatMemory(1536), '1.5 GiB');
  assert.equal(formatMemory(null), '—');
  assert.equal(formatDisk(8), '8 GiB');
  assert.equal(formatDisk(2048), '2.0 TiB');
  assert.equal(formatBytes(536_870_912), '512 MiB');
  assert.equal(formatBytes(1_610_612_736), '1.5 GiB');
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(null), '—');
});

test('routes round-trip; unknown hashes land on the first wizard step', () => {
  for (const r of [{ page: 'wizard', step: 'bmc' }, { page: 'fleet', nodeId: null }, { page: 'fleet', nodeId: 'a b/c' }, { page: 'events' }] as const) {
    assert.deepEqual(parseRoute(formatRoute(r)), r);
  }
  assert.deepEqual(parseRoute(''), { page: 'wizard', step: 'network' });
  assert.deepEqual(parseRoute('#/nonsense'), { page: 'wizard', step: 'network' });
  assert.deepEqual(parseRoute('#/setup/evil'), { page: 'wizard', step: 'network' });
});
