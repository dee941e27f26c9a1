// Per-server packet counters, readable at any time (API, benchmarks). Plain integers; no locking needed.
// `declineRefused`: DECLINEs from a client that does not hold the address (authoritative-handler.ts); each is also
// counted in `decline` (received) and `dropped` (not acted on).

export const COUNTER_NAMES = ['received', 'discover', 'offer', 'request', 'ack', 'nak', 'release', 'decline', 'declineRefused', 'inform', 'expired', 'dropped', 'errors'] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Record<CounterName, number>;

export function newCounters(): Counters {
  return Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Counters;
}
