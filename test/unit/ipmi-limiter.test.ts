// The limiter behind "one exchange in flight per BMC" and the global pool: never more than `limit` at once, FIFO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Limiter } from '../../bmc/ipmi/session/limiter.ts';

test('never more than limit in flight; every task runs once, in order of arrival', async () => {
  for (const limit of [1, 3]) {
    const l = new Limiter(limit);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => l.run(async () => {
      started.push(i);
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 1 + (i % 3)));
      active--;
    })));
    assert.equal(peak, limit);
    assert.deepEqual(started, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(l.inFlight, 0);
  }
});

test('a failing task frees its slot', async () => {
  const l = new Limiter(1);
  await assert.rejects(l.run(async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await l.run(async () => 42), 42);
  assert.throws(() => new Limiter(0));
});
