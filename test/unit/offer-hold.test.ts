// OfferHold (netboot/dhcp/server/offer-hold.ts): held OFFER history entries are merged, or emitted on their own
// after the hold time, before a later entry of the same MAC, at stop, or when too many are held — never lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OfferHold, type HeldOffer } from '../../netboot/dhcp/server/offer-hold.ts';

const offer = (mac: string, xid: number) => ({ mac, xid, ip: '10.0.0.5', bootFile: null, ciaddr: null });

function setup(holdMs: number, limit?: number) {
  let now = 1_000_000;
  const emitted: HeldOffer[] = [];
  const hold = new OfferHold(holdMs, (o) => emitted.push(o), () => now, limit);
  return { hold, emitted, advance: (ms: number) => { now += ms; }, now: () => now };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('take returns the offer of the same exchange (stamped with the clock) and emits nothing', () => {
  const { hold, emitted, now } = setup(5000);
  hold.hold(offer('m1', 7));
  const o = hold.take('m1', 7);
  assert.equal(o?.xid, 7);
  assert.equal(o?.at, now());
  assert.equal(emitted.length, 0);
  assert.equal(hold.take('m1', 7), null, 'taken once');
  hold.releaseAll();
});

test('another exchange of the same MAC emits the held offer first; release and releaseAll emit, oldest first', () => {
  const { hold, emitted } = setup(5000);
  hold.hold(offer('m1', 1));
  assert.equal(hold.take('m1', 2), null);
  assert.deepEqual(emitted.map((o) => o.xid), [1]);
  hold.hold(offer('m1', 3));
  hold.hold(offer('m1', 4)); // a second DISCOVER of m1: the first offer is written
  assert.deepEqual(emitted.map((o) => o.xid), [1, 3]);
  hold.release('m1');
  assert.deepEqual(emitted.map((o) => o.xid), [1, 3, 4]);
  hold.hold(offer('a', 10));
  hold.hold(offer('b', 11));
  hold.releaseAll();
  assert.deepEqual(emitted.map((o) => o.xid), [1, 3, 4, 10, 11]);
  assert.equal(hold.size, 0);
});

test('an offer not taken within the hold time is emitted by the timer; newer ones wait for their own time', async () => {
  const { hold, emitted, advance } = setup(40);
  hold.hold(offer('old', 1));
  advance(30);
  hold.hold(offer('new', 2));
  advance(15); // old: 45 ms held, new: 15 ms
  await sleep(80);
  assert.deepEqual(emitted.map((o) => o.mac), ['old']);
  advance(40);
  await sleep(80);
  assert.deepEqual(emitted.map((o) => o.mac), ['old', 'new']);
  assert.equal(hold.size, 0);
});

test('past the limit the oldest held offer is emitted', () => {
  const { hold, emitted } = setup(5000, 2);
  hold.hold(offer('a', 1));
  hold.hold(offer('b', 2));
  hold.hold(offer('c', 3));
  assert.deepEqual(emitted.map((o) => o.mac), ['a']);
  assert.equal(hold.size, 2);
  hold.releaseAll();
});

test('a repeated OFFER of the same exchange (retransmitted DISCOVER, same xid) replaces the held one and is counted', () => {
  const { hold, emitted, advance, now } = setup(5000);
  const first = now();
  hold.hold(offer('m1', 9));
  advance(1000);
  hold.hold(offer('m1', 9));
  assert.equal(emitted.length, 0, 'no lone entry for the first OFFER');
  const o = hold.take('m1', 9);
  assert.equal(o?.offers, 2);
  assert.equal(o?.at, first, 'the exchange began with the first OFFER');
});

test('a repeated OFFER keeps its place in hold order, so the timer still emits it at its first time', async () => {
  const { hold, emitted, advance } = setup(40);
  hold.hold(offer('a', 1));
  advance(30);
  hold.hold(offer('b', 2));
  hold.hold(offer('a', 1)); // a's retransmitted DISCOVER: a is still the oldest
  advance(15); // a: 45 ms since its first OFFER, b: 15 ms
  await sleep(80);
  assert.deepEqual(emitted.map((o) => o.mac), ['a']);
  assert.equal(emitted[0]!.offers, 2);
  hold.releaseAll();
});
