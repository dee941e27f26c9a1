// RackSeed's IPMI client against a second, independent BMC implementation: Debian's python3-pyghmi server
// (test/helpers/pyghmi-bmc.py), with cipher suite policies ipmi_sim cannot have — a cipher-0-only BMC, and a BMC
// that speaks suite 17 (HMAC-SHA256). Each reading is checked against ipmitool and pyghmi's own client on the
// same BMC. Loopback only (127.0.0.1, free UDP ports): IPMI is unicast, nothing leaves the machine, no root.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import {
  BmcUnreachableError, InsecureCipherSuiteError, NoCommonCipherSuiteError, UnknownUserError, WrongPasswordError,
} from '../../bmc/ipmi/session/errors.ts';
import { pyghmiRead, startPyghmiBmc, type PyghmiBmc } from '../helpers/pyghmi-bmc.ts';

const HOST = '127.0.0.1';
const USER = 'admin';
const PASSWORD = 'secret';
const GUID = '01020304-0506-0708-090a-0b0c0d0e0f10';

let bmc0: PyghmiBmc; // cipher-0-only
let bmc17: PyghmiBmc; // suites 17 and 3
let bmc3: PyghmiBmc; // suite 3 only
let client: IpmiClient;
const logLines: string[] = [];

// asynchronous, so that the peers' event lines (read from their stdout) keep arriving meanwhile
function ipmitool(port: number, suite: number, args: string[], password = PASSWORD): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('ipmitool', ['-I', 'lanplus', '-C', String(suite), '-H', HOST, '-p', String(port), '-U', USER, '-P', password, ...args],
      { encoding: 'utf8', timeout: 30_000 }, (err, out, errOut) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out, err: errOut });
      });
  });
}

// daemon/cli/bmc.ts is runnable on its own (as in ipmi-cli.test.ts); each start costs a tsx compile.
function rackseed(args: string[], password = PASSWORD) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'daemon/cli/bmc.ts', ...args], {
    encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', RACKSEED_BMC_PASSWORD: password },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(async () => {
  [bmc0, bmc17, bmc3] = await Promise.all([
    startPyghmiBmc({ suites: [0], user: USER, password: PASSWORD }),
    startPyghmiBmc({ suites: [17, 3], user: USER, password: PASSWORD, guid: GUID }),
    startPyghmiBmc({ suites: [3], user: USER, password: PASSWORD }),
  ]);
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { logLines.push(...chunk.toString().trim().split('\n')); cb(); } });
  client = new IpmiClient({ logger: pino({ level: 'info' }, sink), timeoutMs: 1000, retries: 2, keepaliveMs: 0 });
});

after(async () => {
  await client?.close();
  await Promise.all([bmc0?.stop(), bmc17?.stop(), bmc3?.stop()]);
});

test('the pyghmi peers are real IPMI 2.0 BMCs: ipmitool -C 17 / -C 3 / -C 0 get the answers their policy says', async () => {
  // suites 17 + 3
  for (const suite of [17, 3]) {
    const r = await ipmitool(bmc17.port, suite, ['power', 'status']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'Chassis Power is off\n');
  }
  let r = await ipmitool(bmc17.port, 0, ['power', 'status']);
  assert.equal(r.code, 1);
  assert.match(r.err, /Error in open session response message : no matching cipher suite/);
  r = await ipmitool(bmc17.port, 17, ['channel', 'getciphers', 'ipmi']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^17\s+N\/A\s+hmac_sha256\s+sha256_128\s+aes_cbc_128\s*$/m);
  assert.match(r.out, /^3\s+N\/A\s+hmac_sha1\s+hmac_sha1_96\s+aes_cbc_128\s*$/m);
  assert.doesNotMatch(r.out, /^0\s/m);

  // cipher-0-only: suite 0 works — with any password, since suite 0 authenticates nothing
  r = await ipmitool(bmc0.port, 0, ['power', 'status'], 'not-the-password');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'Chassis Power is off\n');
  for (const [suite, algorithms] of [[3, '(1, 1, 1)'], [17, '(3, 4, 1)']] as const) {
    const n = bmc0.events.length;
    r = await ipmitool(bmc0.port, suite, ['power', 'status']);
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, /no matching cipher suite/);
    assert.deepEqual(await bmc0.waitForEvents(n, 1), [`refused open session ${algorithms}`]);
  }
  const n = bmc0.events.length;
  r = await ipmitool(bmc0.port, 0, ['channel', 'getciphers', 'ipmi']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)), [['0', 'N/A', 'none', 'none', 'none']]);
  assert.deepEqual(await bmc0.waitForEvents(n, 1), ['session suite 0']);
});

test('cipher-0-only BMC: our client tries 17, then 3, and fails with NoCommonCipherSuiteError (13)', async () => {
  const before = bmc0.events.length;
  assert.equal(bmc0.events.at(-1), 'session suite 0', 'the previous test\'s events have all arrived');
  await assert.rejects(client.session(HOST, { user: USER, password: PASSWORD, port: bmc0.port }), (err: unknown) => {
    assert.ok(err instanceof NoCommonCipherSuiteError, String(err));
    assert.equal(err.code, 'no-common-cipher-suite');
    assert.equal(err.exitCode, 13);
    assert.equal(err.message, `${HOST}: no common cipher suite (tried 17, 3): Open Session status NoCipherSuiteMatch`);
    return true;
  });
  // the BMC saw exactly the two proposals, 17 (3, 4, 1) then 3 (1, 1, 1), and nothing after
  assert.deepEqual(await bmc0.waitForEvents(before, 2), ['refused open session (3, 4, 1)', 'refused open session (1, 1, 1)']);
  assert.ok(logLines.some((l) => /"refused":17,"next":3,"reason":"Open Session status NoCipherSuiteMatch"/.test(l)), logLines.join('\n'));

  // asking for suite 0 without the opt-in is refused before anything is sent
  const n = bmc0.events.length;
  await assert.rejects(client.session(HOST, { user: USER, password: PASSWORD, port: bmc0.port, cipher: 0 }), (err: unknown) => {
    assert.ok(err instanceof InsecureCipherSuiteError, String(err));
    assert.equal(err.exitCode, 14);
    assert.match(err.message, /refusing cipher suite 0: cipher suite 0 has no authentication/);
    return true;
  });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(bmc0.events.length, n, 'nothing reached the BMC');
});

test('cipher-0-only BMC with the explicit opt-in (cipher 0 + allowInsecure): a suite-0 session drives power', async () => {
  // a wrong password is accepted too: that is what "no authentication" means
  const s = await client.session(HOST, { user: USER, password: 'not-the-password', port: bmc0.port, cipher: 0, allowInsecure: true });
  try {
    assert.equal(s.suite?.id, 0);
    await bmc0.waitForEvent(/^session suite 0$/);
    assert.equal(await s.powerStatus(), 'off');
    await s.power('on');
    await bmc0.waitForEvent(/^power on$/);
    assert.equal(await s.powerStatus(), 'on');
    const r = await ipmitool(bmc0.port, 0, ['power', 'status']);
    assert.equal(r.out, 'Chassis Power is on\n', r.err);
    await s.power('off');
    await bmc0.waitForEvent(/^power off$/);
  } finally {
    await s.close();
  }
});

test('rackseed bmc CLI: exit 13 with the reason against the cipher-0-only BMC; --cipher 0 --allow-insecure works', () => {
  let r = rackseed(['--host', HOST, '--port', String(bmc0.port), '--user', USER, '--timeout', '1000', '--json', 'power', 'status']);
  assert.equal(r.code, 13, r.err);
  assert.equal(r.err, `rackseed bmc: ${HOST}: no common cipher suite (tried 17, 3): Open Session status NoCipherSuiteMatch\n`);
  assert.deepEqual(JSON.parse(r.out), { error: 'no-common-cipher-suite', message: `${HOST}: no common cipher suite (tried 17, 3): Open Session status NoCipherSuiteMatch` });
  r = rackseed(['--host', HOST, '--port', String(bmc0.port), '--user', USER, '--timeout', '1000', '--cipher', '0', '--allow-insecure', 'power', 'status']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'Chassis Power is off\n');
  // and a live suite-17 session through the CLI
  r = rackseed(['--host', HOST, '--port', String(bmc17.port), '--user', USER, '--timeout', '1000', '--json', 'info']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.cipherSuite, 17);
  assert.equal(j.guid, '04030201-0605-0807-090a-0b0c0d0e0f10');
});

test('live suite 17: our client negotiates HMAC-SHA256 and reads what ipmitool -C 17 and pyghmi\'s client read', async () => {
  const n = bmc17.events.length;
  const s = await client.session(HOST, { user: USER, password: PASSWORD, port: bmc17.port });
  try {
    assert.equal(s.suite?.id, 17);
    assert.deepEqual(await bmc17.waitForEvents(n, 1), ['session suite 17'], 'suite 17 at the first try');

    const id = await s.deviceId();
    const mc = await ipmitool(bmc17.port, 17, ['mc', 'info']);
    assert.equal(mc.code, 0, mc.err);
    const field = (name: string) => new RegExp(`^${name}\\s*: (.*)$`, 'm').exec(mc.out)?.[1].trim();
    assert.equal(String(id.deviceId), field('Device ID'));
    assert.equal(String(id.deviceRevision), field('Device Revision'));
    assert.equal(id.firmwareRevision, field('Firmware Revision'));
    assert.equal(id.ipmiVersion, field('IPMI Version'));
    assert.equal(String(id.manufacturerId), field('Manufacturer ID'));
    assert.equal(`${id.productId} (0x${id.productId.toString(16)})`, field('Product ID'));
    const ref = pyghmiRead(bmc17.port, USER, PASSWORD);
    assert.equal(ref.hash, 'sha256', 'pyghmi\'s client used suite 17 as well');
    const raw = Buffer.from(ref.deviceIdHex, 'hex');
    assert.equal(id.deviceId, raw[0]);
    assert.equal(id.manufacturerId, raw.readUIntLE(6, 3));
    assert.equal(id.productId, raw.readUInt16LE(9));

    const guid = await ipmitool(bmc17.port, 17, ['mc', 'guid', 'smbios']);
    assert.equal(await s.systemGuid(), /System GUID\s*: (\S+)/.exec(guid.out)?.[1]);

    assert.equal((await s.chassisStatus()).powerOn, false);
    assert.equal(ref.power, 'off');
    await s.power('on');
    await bmc17.waitForEvent(/^power on$/);
    assert.equal(await s.powerStatus(), 'on');
    assert.equal((await ipmitool(bmc17.port, 17, ['power', 'status'])).out, 'Chassis Power is on\n');
    assert.equal(pyghmiRead(bmc17.port, USER, PASSWORD).power, 'on');

    // pyghmi's client turns it off; ours sees it in the same (still open) session
    assert.equal(pyghmiRead(bmc17.port, USER, PASSWORD, 'off').power, 'off');
    assert.equal(await s.powerStatus(), 'off');
    assert.equal((await ipmitool(bmc17.port, 17, ['power', 'status'])).out, 'Chassis Power is off\n');
  } finally {
    await s.close();
  }
});

test('suite-3-only BMC: 17 is refused, our client falls back to 3 (logged); pinning 17 gives NoCommonCipherSuiteError', async () => {
  const s = await client.session(HOST, { user: USER, password: PASSWORD, port: bmc3.port });
  try {
    assert.equal(s.suite?.id, 3);
    assert.equal(await s.powerStatus(), 'off');
  } finally {
    await s.close();
  }
  assert.deepEqual(await bmc3.waitForEvents(0, 2), ['refused open session (3, 4, 1)', 'session suite 3']);
  await assert.rejects(client.session(HOST, { user: USER, password: PASSWORD, port: bmc3.port, cipher: 17 }), (err: unknown) => {
    assert.ok(err instanceof NoCommonCipherSuiteError, String(err));
    assert.equal(err.message, `${HOST}: no common cipher suite (tried 17): Open Session status NoCipherSuiteMatch`);
    return true;
  });
});

test('wrong password, unknown user, unreachable and no common suite are four distinct errors (suite 17 BMC)', async () => {
  const codes: number[] = [];
  await assert.rejects(client.session(HOST, { user: USER, password: 'wrong', port: bmc17.port }), (err: unknown) => {
    assert.ok(err instanceof WrongPasswordError, String(err));
    codes.push(err.exitCode);
    assert.ok(!err.message.includes('wrong"'), 'the password is not in the message');
    return true;
  });
  await assert.rejects(client.session(HOST, { user: 'nobody', password: PASSWORD, port: bmc17.port }), (err: unknown) => {
    assert.ok(err instanceof UnknownUserError, String(err));
    codes.push(err.exitCode);
    return true;
  });
  await bmc17.waitForEvent(/^unknown user nobody$/);
  // a UDP socket that never answers
  const silent: Socket = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, HOST, () => r()));
  const quick = new IpmiClient({ timeoutMs: 150, retries: 1, keepaliveMs: 0 });
  try {
    await assert.rejects(quick.session(HOST, { user: USER, password: PASSWORD, port: silent.address().port }), (err: unknown) => {
      assert.ok(err instanceof BmcUnreachableError, String(err));
      codes.push(err.exitCode);
      return true;
    });
  } finally {
    await quick.close();
    silent.close();
  }
  await assert.rejects(client.session(HOST, { user: USER, password: PASSWORD, port: bmc0.port }), (err: unknown) => {
    assert.ok(err instanceof NoCommonCipherSuiteError, String(err));
    codes.push(err.exitCode);
    return true;
  });
  assert.deepEqual(codes, [10, 11, 15, 13]);
});

test('stock pyghmi server (answers every proposal with suite 3): our client notices the swap and uses 3; ipmitool -C 17 refuses', async () => {
  const stock = await startPyghmiBmc({ suites: 'stock', user: USER, password: PASSWORD });
  const c = new IpmiClient({ timeoutMs: 1000, retries: 2, keepaliveMs: 0 });
  try {
    const s = await c.session(HOST, { user: USER, password: PASSWORD, port: stock.port });
    assert.equal(s.suite?.id, 3);
    assert.equal(await s.powerStatus(), 'off');
    await s.close();
    const r = await ipmitool(stock.port, 17, ['power', 'status']);
    assert.equal(r.code, 1);
    assert.match(r.err, /Authentication algorithm 0x01 is not what we requested 0x03/);
    assert.equal((await ipmitool(stock.port, 3, ['power', 'status'])).out, 'Chassis Power is off\n');
  } finally {
    await c.close();
    await stock.stop();
  }
});
