// Boot timeline (renderer/lib/timeline.ts): stages of the latest attempt with durations, skipped TFTP
// when the NIC's own iPXE boots straight over HTTP, the failing step highlighted, attempts split at DHCP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeEvent } from '../../shared/node.ts';
import { bootTimeline, formatDuration, splitAttempts } from '../../renderer/lib/timeline.ts';

let id = 0;
const ev = (at: number, source: NodeEvent['source'], kind: string, level?: NodeEvent['level']): NodeEvent =>
  ({ id: ++id, at, source, kind, mac: '52:54:00:00:00:01', nodeId: 'n1', message: `${source} ${kind}`, ...(level ? { level } : {}) });

test('one real boot (as the lab records it): firmware DHCP, TFTP, iPXE DHCP, HTTP, ramdisk DHCP, agent', () => {
  const t0 = 1_000_000;
  const one = [
    ev(t0, 'dhcp', 'discover'), ev(t0 + 2300, 'dhcp', 'ack'),
    ev(t0 + 2400, 'tftp', 'rrq'), ev(t0 + 2410, 'tftp', 'rrq-error', 'error'), // firmware's size probe, then retry
    ev(t0 + 2500, 'tftp', 'rrq'), ev(t0 + 5500, 'tftp', 'rrq-done'),
    ev(t0 + 6000, 'dhcp', 'discover'), ev(t0 + 9000, 'dhcp', 'ack'), // iPXE
    ev(t0 + 11_300, 'http', 'script'), ev(t0 + 12_000, 'http', 'download'),
    ev(t0 + 20_000, 'dhcp', 'discover'), ev(t0 + 21_000, 'dhcp', 'ack'), // the ramdisk's DHCP client
    ev(t0 + 26_700, 'agent', 'inventory'), ev(t0 + 27_000, 'lifecycle', 'state'),
  ];
  assert.equal(splitAttempts(one).length, 1, 'DHCP inside one boot does not start an attempt');
  const tl = bootTimeline(one, t0 + 60_000);
  assert.equal(tl.attempts, 1);
  assert.deepEqual(tl.stages.map((s) => [s.stage, s.status, s.durationMs]), [
    ['dhcp', 'done', 2400], ['tftp', 'done', 8900], ['http', 'done', 15_400], ['agent', 'done', null],
  ]);
  assert.equal(tl.stages[1].error, null, 'a TFTP error followed by a successful retry is not a failure');
  assert.equal(tl.totalMs, 26_700, 'lifecycle events are not boot stages');
});

test('ROM iPXE skips TFTP: skipped, not pending; a stage still running counts up to now', () => {
  const t0 = 5_000;
  const tl = bootTimeline([ev(t0, 'dhcp', 'discover'), ev(t0 + 2000, 'dhcp', 'ack'), ev(t0 + 5500, 'http', 'script')], t0 + 9000);
  assert.deepEqual(tl.stages.map((s) => s.status), ['done', 'skipped', 'running', 'pending']);
  assert.equal(tl.stages[2].durationMs, 3500);
  assert.equal(tl.stages[1].durationMs, null);
});

test('the failing step is marked failed with its message; later stages stay pending', () => {
  const t0 = 0;
  const tl = bootTimeline([ev(t0, 'dhcp', 'discover'), ev(t0 + 100, 'dhcp', 'ack'), ev(t0 + 200, 'tftp', 'rrq'),
    { ...ev(t0 + 300, 'tftp', 'rrq-error', 'error'), message: 'File not found: snponly.efi' }], 10_000);
  assert.deepEqual(tl.stages.map((s) => s.status), ['done', 'failed', 'pending', 'pending']);
  assert.equal(tl.stages[1].error, 'File not found: snponly.efi');
  assert.equal(tl.stages[1].durationMs, 100, 'a failed last stage ends at its last event, not now');
});

test('a second boot (going back to an earlier stage) starts a new attempt with its DHCP; only the latest is shown', () => {
  const first = [ev(0, 'dhcp', 'discover'), ev(50, 'http', 'script'), ev(9000, 'agent', 'inventory')];
  const second = [ev(50_000, 'dhcp', 'discover'), ev(50_100, 'dhcp', 'ack'), ev(50_500, 'http', 'script'), ev(60_000, 'agent', 'inventory')];
  const split = splitAttempts([...second, ...first]); // order of arrival does not matter
  assert.deepEqual(split.map((a) => a.length), [3, 4]);
  const tl = bootTimeline([...second, ...first], 70_000);
  assert.equal(tl.attempts, 2);
  assert.equal(tl.stages[0].startedAt, 50_000);
  assert.deepEqual(tl.stages.map((s) => s.status), ['done', 'skipped', 'done', 'done']);
  // a failed first attempt, then a good one
  const failed = [ev(0, 'dhcp', 'discover'), ev(10, 'tftp', 'rrq'), ev(20, 'http', 'script'), { ...ev(30, 'http', 'download', 'error'), message: 'boom' }];
  const retry = [ev(1000, 'dhcp', 'discover'), ev(1010, 'tftp', 'rrq'), ev(1020, 'tftp', 'rrq-done')];
  assert.equal(bootTimeline([...failed, ...retry], 2000).attempts, 2);
  assert.deepEqual(bootTimeline(failed, 2000).stages.map((s) => s.status), ['done', 'done', 'failed', 'pending']);
  assert.equal(bootTimeline([], 0).attempts, 0);
  assert.deepEqual(bootTimeline([], 0).stages.map((s) => s.status), ['pending', 'pending', 'pending', 'pending']);
});

test('formatDuration', () => {
  assert.equal(formatDuration(null), '—');
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(4200), '4.2 s');
  assert.equal(formatDuration(125_000), '2 min 05 s');
});

test("a DORA's one DHCP entry (stamped at its ACK) starts the DHCP stage at its OFFER (detail.offeredAt)", () => {
  const t0 = 50_000;
  const dora: NodeEvent = { ...ev(t0 + 3000, 'dhcp', 'ack'), detail: { offered: '10.0.0.5', offeredAt: t0 } };
  const tl = bootTimeline([dora, ev(t0 + 3400, 'tftp', 'rrq'), ev(t0 + 6000, 'tftp', 'rrq-done'), ev(t0 + 6500, 'http', 'script'), ev(t0 + 9000, 'agent', 'inventory')], t0 + 20_000);
  assert.equal(tl.stages[0].startedAt, t0);
  assert.equal(tl.stages[0].durationMs, 3400);
  assert.equal(tl.totalMs, 9000);
});
