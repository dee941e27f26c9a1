// Fuzz the DHCP decoder with mutated and truncated real captures plus random option areas.
// Contract: decodePacket either returns a packet that round-trips, or throws DhcpDecodeError — nothing else.
// FUZZ_ITERATIONS overrides the count (default 100,000; `npm run bench:fuzz` uses 1,000,000).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePacket, describePacket, DhcpDecodeError } from '../../netboot/dhcp/index.ts';
import { clientArch, isNetbootClient } from '../../netboot/dhcp/netboot-client.ts';
import { assertPacketRoundTrip } from '../fixtures/dhcp/round-trip.ts';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 100_000);
const dir = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/dhcp');
const seeds = readdirSync(dir).filter((f) => f.endsWith('.bin')).map((f) => readFileSync(join(dir, f)));

/** Small deterministic PRNG (xorshift32) so a failure can be replayed from its iteration number. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
}

function mutate(next: () => number): Buffer {
  const base = seeds[next() % seeds.length];
  let b = Buffer.from(base);
  const rounds = 1 + (next() % 6);
  for (let r = 0; r < rounds; r++) {
    switch (next() % 7) {
      case 0: b[next() % b.length] ^= 1 << (next() % 8); break; // bit flip
      case 1: b[240 + (next() % Math.max(1, b.length - 240))] = next() & 255; break; // option byte
      case 2: b = b.subarray(0, next() % (b.length + 1)); break; // truncation
      case 3: { // random tail of TLVs
        const tail = Buffer.alloc(next() % 64);
        for (let i = 0; i < tail.length; i++) tail[i] = next() & 255;
        b = Buffer.concat([b.subarray(0, 240 + (next() % 40)), tail]);
        break;
      }
      case 4: if (b.length > 243) { b[240] = 52; b[241] = 1; b[242] = 1 + (next() % 3); } break; // overload into file/sname
      case 5: { // random bytes anywhere
        const n = 1 + (next() % 8);
        for (let i = 0; i < n && b.length; i++) b[next() % b.length] = next() & 255;
        break;
      }
      default: { // duplicate a slice (RFC 3396 repeated options)
        const at = 240 + (next() % Math.max(1, b.length - 240));
        b = Buffer.concat([b.subarray(0, at), b.subarray(240, 240 + (next() % 30)), b.subarray(at)]);
      }
    }
    if (b.length === 0) break;
  }
  return b;
}

test(`decoder survives ${ITERATIONS} mutated packets and throws only DhcpDecodeError`, () => {
  assert.ok(seeds.length >= 5, 'golden captures present');
  const next = rng(0xc0ffee);
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const input = mutate(next);
    let p;
    try {
      p = decodePacket(input);
    } catch (err) {
      if (!(err instanceof DhcpDecodeError)) assert.fail(`iteration ${i}: ${String(err)} for ${input.toString('hex')}`);
      assert.ok(err.offset >= 0 && err.offset <= input.length, `iteration ${i}: offset ${err.offset} within input`);
      rejected++;
      continue;
    }
    decoded++;
    // everything a server does with a decoded packet must work on it
    describePacket(p);
    isNetbootClient(p);
    clientArch(p);
    void p.options.pxeVendorOptions;
    void p.options.relayAgentInfo;
    if (i % 10 === 0) assertPacketRoundTrip(p);
  }
  assert.ok(decoded > ITERATIONS / 20, `a fair share decodes (${decoded})`);
  assert.ok(rejected > ITERATIONS / 20, `a fair share is rejected (${rejected})`);
});
