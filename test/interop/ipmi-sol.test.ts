// Serial-over-LAN against OpenIPMI's ipmi_sim (127.0.0.1, high ports: no root). ipmi_sim's `sol
// "telnet:HOST:PORT"` connects to a TCP port as a telnet client; this test serves that port and plays the
// host's serial line (the lab puts QEMU's serial chardev there): what RackSeed types arrives there, what the
// "host" writes comes back, a break arrives as telnet IAC BREAK. ipmitool is the second console: refused while
// RackSeed holds SOL. A BMC without SOL gives its own error. Typing while the BMC does not acknowledge (ipmi_sim
// stopped with SIGSTOP) is bounded: past maxPendingBytes a write is refused whole with SolInputOverflowError.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { FakeSerial } from '../helpers/telnet-serial.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { activateSol, SOL_MAX_PENDING_BYTES, type SolConsole } from '../../bmc/ipmi/session/sol-session.ts';
import { SolConsoleClosedError, SolInUseError, SolInputOverflowError, SolUnavailableError } from '../../bmc/ipmi/session/errors.ts';

const GUID = '00112233445566778899aabbccddeeff';
const creds = { user: 'admin', password: 'secret', cipher: 3 };
const BASE = 20000 + (process.pid % 20000);
const SOL_PORT = BASE;       // ipmi_sim with SOL
const BARE_PORT = BASE + 1;  // ipmi_sim without SOL
const TELNET_PORT = BASE + 2;

async function until(what: string, fn: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let sim: IpmiSim;
let bare: IpmiSim;
const serial = new FakeSerial();
let client: IpmiClient;

before(async () => {
  await serial.listen(TELNET_PORT);
  sim = await startIpmiSim({ address: '127.0.0.1', port: SOL_PORT, user: 'admin', password: 'secret', guid: GUID, sol: `telnet:127.0.0.1:${TELNET_PORT}` });
  bare = await startIpmiSim({ address: '127.0.0.1', port: BARE_PORT, user: 'admin', password: 'secret', guid: GUID });
  await until('ipmi_sim to connect to the serial line', () => serial.sock !== null);
  client = new IpmiClient({ timeoutMs: 500, retries: 3 });
});

after(async () => {
  await client?.close();
  await sim?.stop();
  await bare?.stop();
  serial.close();
});

function collect(c: SolConsole): { text: () => string; buf: () => Buffer } {
  const parts: Buffer[] = [];
  c.on('data', (d: Buffer) => parts.push(d));
  return { text: () => Buffer.concat(parts).toString('latin1'), buf: () => Buffer.concat(parts) };
}

test('SOL both ways through ipmi_sim: keystrokes reach the serial line, host output comes back, break, deactivate', async () => {
  const s = await client.session('127.0.0.1', { ...creds, port: SOL_PORT });
  const c = await activateSol(s, { retryMs: 300 });
  try {
    const out = collect(c);
    serial.received = Buffer.alloc(0);
    c.write('echo hello\r');
    await until('keystrokes on the serial line', () => serial.received.toString().includes('echo hello\r'));

    serial.write(Buffer.from('hello\r\n# '));
    await until('host output at the console', () => out.text().includes('hello\r\n# '));

    // more than the BMC's 32-byte inbound buffer: partial accepts / NACKs, resent in order, nothing lost
    const long = Buffer.from(Array.from({ length: 3000 }, (_, i) => 0x20 + (i % 90)));
    serial.received = Buffer.alloc(0);
    c.write(long);
    await until('3000 characters on the serial line', () => serial.received.length >= long.length, 30_000);
    assert.ok(serial.received.equals(long), 'typed characters arrive complete and in order');

    // a burst of host output (including 0xFF, telnet-escaped on the line) arrives complete and in order
    const burst = Buffer.from(Array.from({ length: 40_000 }, (_, i) => (i * 7) & 0xff));
    const before = out.buf().length;
    serial.write(burst);
    await until('40000 characters at the console', () => out.buf().length - before >= burst.length, 60_000);
    assert.ok(out.buf().subarray(before).equals(burst), 'host output arrives complete and in order');

    const b0 = serial.breaks;
    c.sendBreak();
    // ipmi_sim queues the telnet IAC BREAK but only flushes its line buffer when characters follow
    c.write('\r');
    await until('break on the serial line', () => serial.breaks > b0);
    assert.equal(c.backlog, 0);
    assert.ok(!c.closed);
  } finally {
    await c.close();
    await s.close();
  }
  // deactivated: another console may take it
  const s2 = await client.session('127.0.0.1', { ...creds, port: SOL_PORT });
  const c2 = await activateSol(s2);
  await c2.close();
  await s2.close();
});

test('SOL already active: ipmitool sol activate is refused while RackSeed holds it, and a second RackSeed console is told who holds it', async () => {
  const s = await client.session('127.0.0.1', { ...creds, port: SOL_PORT });
  const c = await activateSol(s);
  try {
    const r = spawnSync('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(SOL_PORT), '-U', 'admin', '-P', 'secret', 'sol', 'activate'],
      { input: '', encoding: 'utf8', timeout: 20_000 });
    const said = `${r.stdout}\n${r.stderr}`;
    assert.notEqual(r.status, 0, `ipmitool should fail: ${said}`);
    assert.match(said, /SOL payload already active on another session/);

    const other = new IpmiClient({ timeoutMs: 500, retries: 3 });
    try {
      const s2 = await other.session('127.0.0.1', { ...creds, port: SOL_PORT });
      try {
        await assert.rejects(activateSol(s2), (err: unknown) => {
          assert.ok(err instanceof SolInUseError, String(err));
          assert.equal(err.code, 'sol-in-use');
          const sid = s.bmcSessionId.toString(16).padStart(8, '0');
          assert.match(err.message, new RegExp(`already active.*held by BMC session 0x${sid} \\(user "admin"`));
          return true;
        });
      } finally { await s2.close(); }
    } finally { await other.close(); }
    // ours still works after the refusals
    serial.received = Buffer.alloc(0);
    c.write('still here\r');
    await until('keystrokes after the refusals', () => serial.received.toString().includes('still here\r'));
  } finally {
    await c.close();
    await s.close();
  }
});

test('a BMC without SOL gives its own error', async () => {
  const s = await client.session('127.0.0.1', { ...creds, port: BARE_PORT });
  try {
    await assert.rejects(activateSol(s), (err: unknown) => {
      assert.ok(err instanceof SolUnavailableError, String(err));
      assert.equal(err.code, 'sol-unavailable');
      assert.match(err.message, /no Serial-over-LAN console/);
      return true;
    });
    assert.equal((await s.chassisStatus()).powerOn, false, 'the session still works');
  } finally { await s.close(); }
});

test('typing while the BMC does not acknowledge is bounded: past the limit a write is refused whole with the reason, counted, never sent; what was taken arrives in order', async () => {
  const s = await client.session('127.0.0.1', { ...creds, port: SOL_PORT });
  // the BMC is stopped for a while below: enough retries that the console outlives that
  const c = await activateSol(s, { retryMs: 300, retries: 60, maxPendingBytes: 4096 });
  let stopped = false;
  try {
    assert.equal(c.maxPendingBytes, 4096);
    serial.received = Buffer.alloc(0);
    process.kill(sim.pid!, 'SIGSTOP');
    stopped = true;
    const taken: Buffer[] = [];
    const refusals: SolInputOverflowError[] = [];
    for (let i = 0; i < 12; i++) {
      const chunk = Buffer.alloc(1024, 0x61 + i); // 'a'.. per write, to see which ones arrive
      try { c.write(chunk); taken.push(chunk); } catch (err) {
        assert.ok(err instanceof SolInputOverflowError, String(err));
        refusals.push(err);
      }
      assert.ok(c.backlog <= 4096, `backlog ${c.backlog} within the limit`);
      await new Promise((r) => setTimeout(r, 50)); // time passes; the stopped BMC acknowledges nothing
    }
    assert.equal(taken.length, 4, 'the first 4 KiB are queued');
    assert.equal(refusals.length, 8, 'everything past the limit is refused');
    assert.equal(c.stats.inputRefused, 8);
    assert.equal(c.stats.inputDropped, 8 * 1024);
    assert.equal(refusals[0]!.code, 'sol-input-overflow');
    assert.match(refusals[0]!.message, /typed input dropped \(1024 bytes\): the BMC has not taken the 4096 bytes typed before yet \(at most 4096 may wait\)/);
    assert.ok(c.stats.resent > 0, 'the console kept resending meanwhile');
    assert.ok(!c.closed, 'a refusal does not end the console');
    c.sendBreak();
    c.sendBreak();
    assert.equal(c.stats.breaksMerged, 1, 'a second break while one is queued is the same break');

    process.kill(sim.pid!, 'SIGCONT');
    stopped = false;
    const want = Buffer.concat(taken);
    await until('the 4 KiB taken on the serial line', () => serial.received.length >= want.length, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(serial.received.equals(want), `what was taken arrives complete and in order, nothing refused (got ${serial.received.length} bytes)`);
    await until('the backlog drained', () => c.backlog === 0, 10_000);
    c.write('after\r');
    await until('typing works again', () => serial.received.toString('latin1').endsWith('after\r'));
  } finally {
    if (stopped) process.kill(sim.pid!, 'SIGCONT');
    await c.close();
    await s.close();
  }
  // an ended console says so instead of dropping keystrokes or a break silently
  assert.throws(() => c.write('x'), (err: unknown) => err instanceof SolConsoleClosedError && /cannot type into the console: this Serial-over-LAN console has ended/.test(err.message));
  assert.throws(() => c.sendBreak(), (err: unknown) => err instanceof SolConsoleClosedError && /cannot send a break/.test(err.message));
});

test('the default bound is 64 KiB of typed input waiting for the BMC', async () => {
  const s = await client.session('127.0.0.1', { ...creds, port: SOL_PORT });
  const c = await activateSol(s, { retryMs: 300 });
  try {
    assert.equal(SOL_MAX_PENDING_BYTES, 64 * 1024);
    assert.equal(c.maxPendingBytes, SOL_MAX_PENDING_BYTES);
    // all at once, before the BMC can take any: 64 KiB fit, one more byte does not
    for (let i = 0; i < 64; i++) c.write(Buffer.alloc(1024, 0x20));
    assert.equal(c.backlog, 64 * 1024);
    assert.throws(() => c.write('x'), SolInputOverflowError);
    assert.throws(() => c.write(Buffer.alloc(128 * 1024)), SolInputOverflowError, 'a paste larger than the bound is refused whole');
    assert.equal(c.backlog, 64 * 1024, 'refused writes queue nothing');
    assert.equal(c.stats.inputDropped, 1 + 128 * 1024);
  } finally {
    await c.close();
    await s.close();
  }
  assert.equal(c.backlog, 0, 'closing lets the queue go');
});
