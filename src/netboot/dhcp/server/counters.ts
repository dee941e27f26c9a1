// Per-server packet counters, readable at any time (API, benchmarks). Plain integers; no locking needed.

export const COUNTER_NAMES = ['received', 'discover', 'offer', 'request', 'ack', 'nak', 'release', 'decline', 'inform', 'expired', 'dropped', 'errors'] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Record<CounterName, number>;

export function newCounters(): Counters {
  return Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Counters;
}
