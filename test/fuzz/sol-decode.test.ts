// Fuzz: Serial-over-LAN. FUZZ_ITERATIONS (default 100 000) mutated SOL payloads and payload-command replies
// through every SOL decoder (only IpmiDecodeError may come out); the same number of mutated SOL payloads fed
// to a console's receive path as if they had passed the session's HMAC (the ack/sequence state machine never
// throws, never re-delivers, and keeps working); and a live SOL console to ipmi_sim (127.0.0.1, high ports,
// no root) that keeps carrying characters both ways while mutated, forged and replayed SOL datagrams are
// injected into its socket "from the BMC".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram, { type Socket } from 'node:dgram';
import { IpmiDecodeError } from '../../bmc/ipmi/errors.ts';
import {
  decodeActivatePayload, decodePayloadActivationStatus, decodePayloadInstanceInfo, decodeSessionInfo, decodeSolPacket,
  decodeUserName, encodeSolPacket,
} from '../../bmc/ipmi/sol.ts';
import { PayloadType } from '../../bmc/ipmi/rmcpplus.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { activateSol, SolConsole } from '../../bmc/ipmi/session/sol-session.ts';
import type { BmcSession } from '../../bmc/ipmi/session/bmc-session.ts';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { FakeSerial } from '../helpers/telnet-serial.ts';

const ITER = Number(process.env.FUZZ_ITERATIONS ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 0x7fffffff);

function rng(seed: number) {
  let x = seed || 1;
  return (n: number) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
}

function mutate(seed: Buffer, r: (n: number) => number): Buffer {
  let b = Buffer.from(seed);
  const ops = 1 + r(4);
  for (let k = 0; k < ops; k++) {
    switch (r(7)) {
      case 0: if (b.length) b[r(b.length)] ^= 1 << r(8); break;
      case 1: if (b.length) b[r(b.length)] = r(256); break;
      case 2: b = b.subarray(0, r(b.length + 1)); break;
      case 3: b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + r(40) }, () => r(256)))]); break;
      case 4: { const at = r(b.length + 1); b = Buffer.concat([b.subarray(0, at), Buffer.from([r(256)]), b.subarray(at)]); break; }
      case 5: if (b.length) { const at = r(b.length); b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]); } break;
      default: if (b.length) b[r(b.length)] = [0, 0xff, 0x7f, 0x80, 0x0f, 0x10][r(6)]; break;
    }
  }
  return b;
}

const solData = Buffer.from([3, 2, 5, 0x40, ...Buffer.from('login: ')]);
const DECODERS: { name: string; seed: Buffer; decode: (b: Buffer) => unknown }[] = [
  { name: 'SOL packet', seed: solData, decode: decodeSolPacket },
  { name: 'SOL ack', seed: Buffer.from([0, 7, 32, 0x08]), decode: decodeSolPacket },
  { name: 'Activate Payload', seed: Buffer.from('000000002000004000006f02ffff', 'hex'), decode: decodeActivatePayload },
  { name: 'Payload Activation Status', seed: Buffer.from([1, 1, 0]), decode: decodePayloadActivationStatus },
  { name: 'Payload Instance Info', seed: Buffer.from('0200000001000000000000000000', 'hex'), decode: decodePayloadInstanceInfo },
  { name: 'Session Info', seed: Buffer.from('01040102041100007f000001525400010203026f', 'hex'), decode: decodeSessionInfo },
  { name: 'User Name', seed: Buffer.concat([Buffer.from('admin'), Buffer.alloc(11)]), decode: decodeUserName },
];

for (const d of DECODERS) {
  test(`${d.name}: ${ITER} mutated payloads only ever throw IpmiDecodeError (seed ${SEED})`, () => {
    assert.doesNotThrow(() => d.decode(d.seed));
    const r = rng(SEED ^ d.name.length * 7919);
    for (let i = 0; i < ITER; i++) {
      const m = mutate(d.seed, r);
      try { d.decode(m); } catch (err) {
        if (!(err instanceof IpmiDecodeError)) assert.fail(`${d.name}: ${(err as Error).name}: ${(err as Error).message} for ${m.toString('hex')} (FUZZ_SEED=${SEED})`);
        assert.ok(err.offset >= 0 && err.offset <= m.length);
      }
    }
  });
}

test(`SOL console state machine: ${ITER} mutated authenticated SOL payloads, then it still delivers, acks and sends (seed ${SEED})`, async () => {
  // the session side is a harness: it hands payloads straight to the console (as if they had passed the HMAC)
  // and records what the console sends
  let deliver: (p: Buffer) => void = () => undefined;
  const sent: Buffer[] = [];
  const harness = {
    host: 'fuzz', port: 623,
    onPayload: (_t: PayloadType, _p: number, h: (p: Buffer) => void) => { deliver = h; return () => undefined; },
    sendPayload: (_t: PayloadType, p: Buffer) => { if (sent.length > 1000) sent.splice(0, 900); sent.push(p); return Promise.resolve(); },
    command: () => Promise.resolve(Buffer.alloc(0)),
  } as unknown as BmcSession;
  const c = new SolConsole(harness, { inboundSize: 32, outboundSize: 255, port: 623, vlan: 0xffff }, { retryMs: 60_000 });
  const got: Buffer[] = [];
  c.on('data', (d: Buffer) => got.push(d));
  let closedWith: string | null | undefined;
  c.on('close', (why: string | null) => { closedWith = why; });
  c.write('typed while garbage arrives');
  try {
  const r = rng(SEED ^ 0x501);
  const seeds = [solData, Buffer.from([0, 1, 27, 0]), Buffer.from([9, 1, 10, 0x44, 0x41]), Buffer.from([4, 0, 0, 0x08, 0x0a])];
  for (let i = 0; i < ITER; i++) {
    const m = mutate(seeds[r(seeds.length)], r);
    if (m.length >= 4 && m[3] & 0x10) m[3] &= ~0x10; // "deactivating" would end the console; tested below
    deliver(m);
  }
  assert.equal(closedWith, undefined, 'no mutated packet closed the console');
  // a well-formed packet with a fresh sequence number is delivered and acknowledged with its length
  const last = sent.length;
  const before = got.length;
  const seqNow = [1, 2, 3].find((s) => s !== (c as unknown as { lastInSeq: number }).lastInSeq)!;
  deliver(encodeSolPacketFromBmc(seqNow, 'ok\r\n'));
  assert.equal(Buffer.concat(got.slice(before)).toString(), 'ok\r\n');
  assert.ok(sent.slice(last).some((p) => p[1] === seqNow && p[2] === 4), 'acknowledged with the full length');
  // the same packet again is a retransmission: acked, not delivered twice
  deliver(encodeSolPacketFromBmc(seqNow, 'ok\r\n'));
  assert.equal(Buffer.concat(got.slice(before)).toString(), 'ok\r\n');
  // deactivating ends it with the reason
  deliver(Buffer.from([0, 0, 0, 0x10]));
  assert.match(String(closedWith), /deactivated/);
  } finally { await c.close(); }
});

function encodeSolPacketFromBmc(seq: number, text: string): Buffer {
  const b = encodeSolPacket({ seq, ackSeq: 0, accepted: 0, data: Buffer.from(text) });
  return b;
}

// ---- live: ipmi_sim with SOL on 127.0.0.1
const BASE = 30000 + (process.pid % 20000);
let sim: IpmiSim;
const serial = new FakeSerial();
let client: IpmiClient;
let sock: Socket;

before(async () => {
  await serial.listen(BASE + 1);
  sim = await startIpmiSim({ address: '127.0.0.1', port: BASE, user: 'admin', password: 'secret', guid: '00112233445566778899aabbccddeeff', sol: `telnet:127.0.0.1:${BASE + 1}` });
  client = new IpmiClient({
    timeoutMs: 2000, retries: 4,
    socketFactory: () => new Promise((resolve) => { const s = dgram.createSocket('udp4'); s.bind(0, '127.0.0.1', () => { sock = s; resolve(s); }); }),
  });
  const end = Date.now() + 15_000;
  while (!serial.sock) { if (Date.now() > end) throw new Error('ipmi_sim did not connect its SOL line'); await new Promise((r) => setTimeout(r, 20)); }
});

after(async () => {
  await client?.close();
  await sim?.stop();
  serial.close();
});

async function until(what: string, fn: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) { if (Date.now() > end) throw new Error(`timed out waiting for ${what}`); await new Promise((r) => setTimeout(r, 5)); }
}

test(`a live SOL console to ipmi_sim keeps working while ${ITER} mutated, forged and replayed SOL datagrams arrive (seed ${SEED})`, async () => {
  const s = await client.session('127.0.0.1', { user: 'admin', password: 'secret', port: BASE, cipher: 3 });
  const c = await activateSol(s, { retryMs: 300 });
  const captured: Buffer[] = [];
  sock.on('message', (m, rinfo) => { if (rinfo.port === BASE && m.length > 5 && (m[5] & 0x3f) === PayloadType.Sol && captured.length < 40) captured.push(Buffer.from(m)); });
  const out: Buffer[] = [];
  c.on('data', (d: Buffer) => out.push(d));
  let closed: string | null | undefined;
  c.on('close', (why: string | null) => { closed = why; });
  try {
    serial.write(Buffer.from('seed output\r\n'));
    c.write('seed input\r');
    await until('first exchange', () => Buffer.concat(out).toString().includes('seed output') && serial.received.toString().includes('seed input'));
    assert.ok(captured.length >= 1, 'captured real SOL datagrams');
    const r = rng(SEED ^ 0x50f);
    let injected = 0;
    let solTyped = 0;
    let round = 0;
    serial.received = Buffer.alloc(0);
    out.length = 0;
    let typed = '';
    let hostSaid = '';
    while (injected < ITER) {
      for (let k = 0; k < 500 && injected < ITER; k++, injected++) {
        const base = captured[r(captured.length)];
        // mostly mutated, some exact replays (the session window refuses them)
        const m = r(10) === 0 ? base : mutate(base, r);
        if (m.length >= 6 && m[0] === 6 && (m[3] & 0x1f) === 7 && m[4] === 6 && (m[5] & 0x3f) === PayloadType.Sol) solTyped++;
        sock.emit('message', m, { address: '127.0.0.1', port: BASE, family: 'IPv4', size: m.length });
      }
      // characters keep flowing both ways meanwhile
      if (round % 20 === 0) {
        const t = `k${round};`; typed += t; c.write(t);
        const h = `h${round};`; hostSaid += h; serial.write(Buffer.from(h));
      }
      round++;
      await new Promise((res) => setImmediate(res));
    }
    await until('typed characters on the serial line', () => serial.received.toString() === typed);
    await until('host output at the console', () => Buffer.concat(out).toString() === hostSaid);
    assert.equal(closed, undefined, 'the console stayed up');
    // every injected datagram that still looks like an RMCP+ SOL packet was refused (bad HMAC, or an exact
    // replay of a session sequence number already seen); the rest never reach the SOL path
    assert.ok(solTyped > ITER / 10 && c.stats.dropped >= solTyped, `dropped ${c.stats.dropped} of ${solTyped} SOL-typed (${ITER} injected)`);
    // and afterwards: both ways, plus an ordinary command on the same session
    serial.write(Buffer.from('after\r\n'));
    c.write('after\r');
    await until('exchange after the flood', () => Buffer.concat(out).toString().endsWith('after\r\n') && serial.received.toString().endsWith('after\r'));
    assert.equal((await s.chassisStatus()).powerOn, false);
  } finally {
    await c.close();
    await s.close();
  }
});
