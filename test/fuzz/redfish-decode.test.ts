// Fuzz: mutated Redfish bodies through every decoder (fast-check; FUZZ_ITERATIONS, default 100 000, byte-level
// mutations of real-shaped bodies, plus half as many structural ones where a random part of a body is replaced by an
// arbitrary JSON value). Contract: parseJsonBounded + a decoder return a value or throw RedfishDecodeError — never
// anything else, never hang. Then the client is fed mutated bodies by the lab BMC (in-process, 127.0.0.1) and only
// typed BmcErrors come out, and a live session on the same client still works afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseJsonBounded } from '../../bmc/redfish/json.ts';
import { RedfishDecodeError } from '../../bmc/redfish/errors.ts';
import {
  decodeActionInfo, decodeCollection, decodeComputerSystem, decodeErrorBody, decodeEthernetInterface, decodeManager, decodeServiceRoot, decodeTask,
} from '../../bmc/redfish/resources.ts';
import { RedfishClient } from '../../bmc/redfish/session/client.ts';
import { BmcError } from '../../bmc/redfish/session/errors.ts';
import { makeSelfSignedCert } from '../../lab/bmc/redfish/cert.ts';
import { FakePower } from '../../lab/bmc/redfish/power.ts';
import { LabRedfishBmc } from '../../lab/bmc/redfish/server.ts';
import { ACTION_INFO, COLLECTION, ERROR, ETHERNET, MANAGER, ROOT, SYSTEM, TASK } from '../fixtures/redfish/bodies.ts';

const ITER = Number(process.env.FUZZ_ITERATIONS ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 0x7fffffff);

const DECODERS: [string, (v: unknown) => unknown][] = [
  ['service root', decodeServiceRoot], ['collection', (v) => decodeCollection(v)], ['ComputerSystem', decodeComputerSystem],
  ['EthernetInterface', decodeEthernetInterface], ['Manager', decodeManager], ['Task', decodeTask], ['ActionInfo', decodeActionInfo],
  ['error', decodeErrorBody],
];
const SEEDS = [ROOT, SYSTEM, ETHERNET, MANAGER, COLLECTION, TASK, ACTION_INFO, ERROR].map((b) => JSON.stringify(b));

/** Every decoder over one body: only RedfishDecodeError may escape. */
function decodeAll(body: string | Buffer): void {
  let value: unknown;
  try {
    value = parseJsonBounded(body, 'fuzz', { maxBytes: 64 * 1024 });
  } catch (err) {
    if (!(err instanceof RedfishDecodeError)) throw err;
    return;
  }
  for (const [, decode] of DECODERS) {
    try { decode(value); } catch (err) { if (!(err instanceof RedfishDecodeError)) throw err; }
  }
}

const byteMutation = fc.record({
  seed: fc.nat({ max: SEEDS.length - 1 }),
  ops: fc.array(fc.record({ kind: fc.nat({ max: 5 }), at: fc.nat(), byte: fc.nat({ max: 255 }), len: fc.nat({ max: 64 }) }), { minLength: 1, maxLength: 4 }),
});

function applyBytes(m: { seed: number; ops: { kind: number; at: number; byte: number; len: number }[] }): Buffer {
  let b = Buffer.from(SEEDS[m.seed]!);
  for (const op of m.ops) {
    const at = b.length ? op.at % b.length : 0;
    switch (op.kind) {
      case 0: if (b.length) b[at] = op.byte; break;                                            // overwrite a byte
      case 1: if (b.length) b[at] ^= 1 << (op.byte % 8); break;                               // flip a bit
      case 2: b = b.subarray(0, at); break;                                                    // truncate
      case 3: b = Buffer.concat([b.subarray(0, at), Buffer.alloc(op.len, op.byte), b.subarray(at)]); break; // insert a run
      case 4: b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + op.len))]); break;   // delete a run
      default: b = Buffer.concat([b.subarray(0, at), Buffer.from(SEEDS[op.byte % SEEDS.length]!), b.subarray(at)]); // splice another body in
    }
  }
  return b;
}

/** Replace the value at a random path of a seed with an arbitrary JSON value (types, nesting, odd strings). */
function replaceAt(root: unknown, pathSeed: number[], value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(root)) as unknown;
  let cur: unknown = copy;
  for (let i = 0; i < pathSeed.length; i++) {
    if (cur === null || typeof cur !== 'object') break;
    const keys = Object.keys(cur as object);
    if (keys.length === 0) break;
    const k = keys[pathSeed[i]! % keys.length]!;
    if (i === pathSeed.length - 1) { (cur as Record<string, unknown>)[k] = value; break; }
    cur = (cur as Record<string, unknown>)[k];
  }
  return copy;
}

test(`decoders: ${ITER} byte-mutated bodies (seed ${SEED}) return or throw RedfishDecodeError`, { timeout: 600_000 }, () => {
  const t0 = Date.now();
  fc.assert(fc.property(byteMutation, (m) => { decodeAll(applyBytes(m)); }), { numRuns: ITER, seed: SEED });
  process.stderr.write(`redfish fuzz: ${ITER} byte mutations in ${Date.now() - t0} ms\n`);
});

test(`decoders: ${Math.ceil(ITER / 2)} structurally mutated bodies (seed ${SEED}) return or throw RedfishDecodeError`, { timeout: 600_000 }, () => {
  const t0 = Date.now();
  const seeds = SEEDS.map((s) => JSON.parse(s) as unknown);
  fc.assert(fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.jsonValue({ maxDepth: 4 }), (i, path, value) => {
    decodeAll(JSON.stringify(replaceAt(seeds[i], path, value)));
  }), { numRuns: Math.ceil(ITER / 2), seed: SEED + 1 });
  process.stderr.write(`redfish fuzz: ${Math.ceil(ITER / 2)} structural mutations in ${Date.now() - t0} ms\n`);
});

test('the client under mutated answers: only typed errors, and a live session works afterwards', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-redfish-fuzz-'));
  const power = new FakePower();
  let mutate: ((path: string) => Buffer | null) | null = null;
  const bmc = new LabRedfishBmc({
    user: 'admin', password: 'pw', identity: { uuid: '11111111-2222-4333-8444-555555555555', serial: 'FUZZ1', macs: ['52:54:00:00:00:01'] }, power,
    intercept: (req, res) => {
      const body = mutate?.(req.url ?? '');
      if (!body) return false;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) }).end(body);
      return true;
    },
  });
  try {
    const port = await bmc.listen('127.0.0.1', 0, makeSelfSignedCert(dir, '127.0.0.1'));
    const client = new RedfishClient({ timeoutMs: 2000, retries: 0 });
    const live = await client.session('127.0.0.1', { user: 'admin', password: 'pw', port });
    const rounds = Math.max(200, Math.min(2000, Math.floor(ITER / 50)));
    const r = fc.sample(byteMutation, { numRuns: rounds, seed: SEED + 2 });
    let typed = 0;
    for (let i = 0; i < rounds; i++) {
      const body = applyBytes(r[i]!);
      mutate = (path) => (path.startsWith('/redfish/v1/Systems/1') ? body : null);
      try { await live.identity(); } catch (err) {
        assert.ok(err instanceof BmcError, `untyped error from the client: ${(err as Error).stack}`);
        typed++;
      }
    }
    mutate = null;
    assert.ok(typed > rounds / 2, `most mutated bodies are refused (${typed}/${rounds})`);
    assert.equal((await live.identity()).serial, 'FUZZ1', 'the same session still answers correctly');
    await live.power('on');
    assert.equal(await live.powerStatus(), 'on');
    await client.close();
  } finally {
    await bmc.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
