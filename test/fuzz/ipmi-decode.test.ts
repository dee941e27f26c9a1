// Fuzz: mutated BMC replies (FUZZ_ITERATIONS per decoder, default 100 000) through every IPMI decoder.
// Contracts: a decoder returns or throws IpmiDecodeError — nothing else; an authenticated RMCP+ packet whose
// bytes changed is never accepted (bad HMAC); and a live session to ipmi_sim (127.0.0.1, high port: no root)
// keeps answering correctly while garbage and forged replies are injected into its socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram, { type Socket } from 'node:dgram';
import { IpmiDecodeError } from '../../bmc/ipmi/errors.ts';
import { decodeAsfPong, decodeRmcpHeader } from '../../bmc/ipmi/rmcp.ts';
import { decodeIpmi15, encodeSessionless15 } from '../../bmc/ipmi/ipmi15-session.ts';
import { decodeIpmiResponse, ipmiChecksum } from '../../bmc/ipmi/ipmi-message.ts';
import { decodeRmcpPlus, encodeRmcpPlus, PayloadType } from '../../bmc/ipmi/rmcpplus.ts';
import { decodeOpenSessionResponse, decodeRakp2, decodeRakp4 } from '../../bmc/ipmi/open-session.ts';
import {
  decodeChannelAuthCapabilities, decodeChannelCipherSuitesBlock, decodeDeviceId, decodeSystemGuid, parseCipherSuiteRecords,
} from '../../bmc/ipmi/app-commands.ts';
import { decodeBootFlags, decodeChassisStatus } from '../../bmc/ipmi/chassis-commands.ts';
import { decodeLanConfig } from '../../bmc/ipmi/lan-config.ts';
import { CIPHER_SUITES } from '../../bmc/ipmi/cipher-suites.ts';
import { aesDecrypt } from '../../bmc/ipmi/crypto.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';

const ITER = Number(process.env.FUZZ_ITERATIONS ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 0x7fffffff);

/** xorshift32: reproducible with FUZZ_SEED (printed on failure). */
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
      default: if (b.length) b[r(b.length)] = [0, 0xff, 0x7f, 0x80][r(4)]; break;
    }
  }
  return b;
}

function response(cmd: number, netFn: number, data: number[]): Buffer {
  const b = Buffer.from([0x81, (netFn + 1) << 2, 0, 0x20, 4, cmd, 0, ...data, 0]);
  b[2] = ipmiChecksum(b, 0, 2);
  b[b.length - 1] = ipmiChecksum(b, 3, b.length - 1);
  return b;
}

const suite3 = CIPHER_SUITES[3];
const sec = { suite: suite3, k1: Buffer.alloc(20, 0x11), aesKey: Buffer.alloc(16, 0x22) };
const ipmiReply = response(0x01, 0x00, [0x41, 0x10, 0x40, 0x70]);
const authed = encodeRmcpPlus({ payloadType: PayloadType.Ipmi, sessionId: 0xa1b2c3d4, sequence: 7, payload: ipmiReply }, sec, Buffer.alloc(16, 5));

const DECODERS: { name: string; seed: Buffer; decode: (b: Buffer) => unknown }[] = [
  { name: 'RMCP header', seed: Buffer.from('0600ff07', 'hex'), decode: decodeRmcpHeader },
  { name: 'ASF pong', seed: Buffer.from('0600ff06000011be40070010000011be00000000810000000000000000', 'hex'), decode: decodeAsfPong },
  { name: 'IPMI 1.5 session', seed: encodeSessionless15(response(0x38, 0x06, [1, 0x97, 4, 3, 0, 0, 0, 0])), decode: decodeIpmi15 },
  { name: 'IPMI response', seed: response(0x38, 0x06, [1, 0x97, 4, 3, 0, 0, 0, 0]), decode: decodeIpmiResponse },
  { name: 'RMCP+ setup packet', seed: encodeRmcpPlus({ payloadType: PayloadType.Rakp2, sessionId: 0, sequence: 0, payload: Buffer.alloc(60, 3) }, null), decode: (b) => decodeRmcpPlus(b, null) },
  { name: 'RMCP+ authenticated packet', seed: authed, decode: (b) => decodeRmcpPlus(b, sec) },
  { name: 'Open Session Response', seed: Buffer.from('010004000d0c0b0a44332211000000080100000001000008010000000200000801000000', 'hex'), decode: decodeOpenSessionResponse },
  { name: 'RAKP 2', seed: Buffer.concat([Buffer.from('0200000d0c0b0a', 'hex'), Buffer.alloc(53, 9)]), decode: decodeRakp2 },
  { name: 'RAKP 4', seed: Buffer.concat([Buffer.from('03000000 0d0c0b0a'.replace(' ', ''), 'hex'), Buffer.alloc(12, 7)]), decode: decodeRakp4 },
  { name: 'Get Device ID', seed: Buffer.from('00230908029f911200020f00000000', 'hex'), decode: decodeDeviceId },
  { name: 'Get System GUID', seed: Buffer.alloc(16, 0xab), decode: decodeSystemGuid },
  { name: 'Channel Auth Capabilities', seed: Buffer.from([1, 0x97, 4, 3, 0, 0, 0, 0]), decode: decodeChannelAuthCapabilities },
  { name: 'Channel Cipher Suites block', seed: Buffer.from([1, 0xc0, 3, 1, 0x41, 0x81, 0xc0, 17, 3, 0x44, 0x81]), decode: (b) => parseCipherSuiteRecords(decodeChannelCipherSuitesBlock(b).records) },
  { name: 'Chassis Status', seed: Buffer.from([0x41, 0, 0, 0]), decode: decodeChassisStatus },
  { name: 'Boot Options (param 5)', seed: Buffer.from([1, 5, 0xe0, 0x04, 0, 0, 0]), decode: decodeBootFlags },
  { name: 'LAN config (MAC)', seed: Buffer.from([0x11, 0x52, 0x54, 0, 1, 2, 3]), decode: (b) => decodeLanConfig(b, 5) },
  { name: 'AES-CBC payload', seed: authed.subarray(16, 16 + authed.readUInt16LE(14)), decode: (b) => aesDecrypt(sec.aesKey, b) },
];

for (const d of DECODERS) {
  test(`${d.name}: ${ITER} mutated replies only ever throw IpmiDecodeError (seed ${SEED})`, () => {
    assert.doesNotThrow(() => d.decode(d.seed), 'the seed itself decodes');
    const r = rng(SEED ^ d.name.length * 7919);
    let rejected = 0;
    for (let i = 0; i < ITER; i++) {
      const m = mutate(d.seed, r);
      try {
        d.decode(m);
      } catch (err) {
        if (!(err instanceof IpmiDecodeError)) assert.fail(`${d.name}: ${(err as Error).name}: ${(err as Error).message} for ${m.toString('hex')} (FUZZ_SEED=${SEED})`);
        assert.ok(err.offset >= 0 && err.offset <= m.length, `offset ${err.offset} within the input`);
        rejected++;
      }
    }
    assert.ok(rejected > 0);
  });
}

test(`authenticated RMCP+: no mutated packet is accepted unless its authenticated bytes are unchanged (seed ${SEED})`, () => {
  const r = rng(SEED ^ 0x5eed);
  let accepted = 0;
  for (let i = 0; i < ITER; i++) {
    const m = mutate(authed, r);
    let ok = false;
    try { decodeRmcpPlus(m, sec); ok = true; } catch (err) { assert.ok(err instanceof IpmiDecodeError); }
    if (ok) {
      accepted++;
      // only the RMCP header (not covered by the HMAC) may differ
      assert.deepEqual(m.subarray(4), authed.subarray(4), `forged packet accepted: ${m.toString('hex')} (FUZZ_SEED=${SEED})`);
    }
  }
  assert.ok(accepted < ITER / 10);
});

// ---- a live session to ipmi_sim on 127.0.0.1 while garbage arrives on the client's socket
const PORT = 40000 + (process.pid % 20000);
let sim: IpmiSim;
let client: IpmiClient;
let sock: Socket;

before(async () => {
  sim = await startIpmiSim({ address: '127.0.0.1', port: PORT, user: 'admin', password: 'secret', guid: '00112233445566778899aabbccddeeff', powerOn: true });
  client = new IpmiClient({
    // generous timeouts: on a loaded 2-core CI machine the flood below competes with the replies for the event loop
    timeoutMs: 2000, retries: 4,
    socketFactory: () => new Promise((resolve) => { const s = dgram.createSocket('udp4'); s.bind(0, '127.0.0.1', () => { sock = s; resolve(s); }); }),
  });
});

after(async () => {
  await client?.close();
  await sim?.stop();
});

test('a live ipmi_sim session keeps working while garbage and forged replies are injected', async () => {
  const s = await client.session('127.0.0.1', { user: 'admin', password: 'secret', port: PORT });
  const captured: Buffer[] = [];
  sock.on('message', (m, rinfo) => { if (rinfo.port === PORT && captured.length < 50) captured.push(Buffer.from(m)); });
  assert.equal(await s.powerStatus(), 'on');
  const guid = await s.systemGuid();
  assert.ok(captured.length >= 2);
  const r = rng(SEED ^ 0x11fe);
  const garbage = dgram.createSocket('udp4');
  await new Promise<void>((res) => garbage.bind(0, '127.0.0.1', () => res()));
  const port = sock.address().port;
  let injecting = true;
  let injected = 0;
  // forged replies "from the BMC" (the socket's own message event with the BMC's address) and real datagrams
  // from another port, while commands run; paced (10 + 10 per 2 ms) so that the flood does not simply overflow
  // the socket's receive buffer or starve the event loop, which would test the kernel and the scheduler rather
  // than the client; the command loop runs until at least 2,000 datagrams were injected
  const pump = (async () => {
    while (injecting) {
      for (let k = 0; k < 10; k++) {
        const m = mutate(captured[r(captured.length)], r);
        sock.emit('message', m, { address: '127.0.0.1', port: PORT, family: 'IPv4', size: m.length });
        garbage.send(mutate(captured[r(captured.length)], r), port, '127.0.0.1');
        injected += 2;
      }
      await new Promise((res) => setTimeout(res, 2));
    }
  })();
  try {
    for (let i = 0; i < 500 && (i < 30 || injected < 2000); i++) {
      assert.equal(await s.powerStatus(), 'on');
      assert.equal(await s.systemGuid(), guid);
    }
  } finally {
    injecting = false;
    await pump;
    garbage.close();
  }
  assert.ok(injected > 1000, `injected ${injected}`);
  // and the session still works afterwards; a second session opens too
  assert.equal((await s.deviceId()).manufacturerId, 4753);
  await s.close();
  await client.withSession('127.0.0.1', { user: 'admin', password: 'secret', port: PORT }, async (s2) => {
    assert.equal(await s2.powerStatus(), 'on');
  });
});
