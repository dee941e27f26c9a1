// The core console manager over IPMI SOL to ipmi_sim (127.0.0.1, high ports: no root), the test serving the
// serial line ipmi_sim's SOL connects to: two viewers share ONE SOL session (ipmi_sim allows one, so a second
// activation would fail), one writer at a time (the other is refused with who types, until it takes over), the
// last viewer leaving deactivates SOL (ipmitool could take it), and the node's rolling log keeps the last
// 1 MiB across a manager restart (a new manager on the same folder), its file created 0600. Log file descriptors
// are held only by open consoles (300 logs read → none held); typing or a break on a console that is not open
// (the viewer left, or the BMC ended SOL) throws ConsoleClosedError saying why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { FakeSerial } from '../helpers/telnet-serial.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { ConsoleClosedError, ConsoleManager, ConsoleReadOnlyError, type Viewer } from '../../core/console/manager.ts';
import { ipmiConsoleOpener } from '../../core/console/ipmi-opener.ts';
import { ConsoleLog } from '../../core/console/console-log.ts';
import { SolInUseError } from '../../bmc/ipmi/session/errors.ts';
import { activateSol } from '../../bmc/ipmi/session/sol-session.ts';

const BASE = 24000 + (process.pid % 20000);
let sim: IpmiSim;
const serial = new FakeSerial();
let client: IpmiClient;
let dir: string;

async function until(what: string, fn: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) { if (Date.now() > end) throw new Error(`timed out waiting for ${what}`); await new Promise((r) => setTimeout(r, 10)); }
}

function viewer(who: string): Viewer & { text: () => string; writerSeen: (string | null)[]; closed: (string | null)[] } {
  const parts: Buffer[] = [];
  const writerSeen: (string | null)[] = [];
  const closed: (string | null)[] = [];
  return {
    who, writerSeen, closed,
    onData: (d) => parts.push(d),
    onClose: (r) => closed.push(r),
    onWriter: (w) => writerSeen.push(w),
    text: () => Buffer.concat(parts).toString('latin1'),
  };
}

before(async () => {
  await serial.listen(BASE + 1);
  sim = await startIpmiSim({ address: '127.0.0.1', port: BASE, user: 'admin', password: 'secret', guid: '00112233445566778899aabbccddeeff', sol: `telnet:127.0.0.1:${BASE + 1}` });
  await until('ipmi_sim to connect its serial line', () => serial.sock !== null);
  client = new IpmiClient({ timeoutMs: 500, retries: 3 });
  dir = mkdtempSync(join(tmpdir(), 'rs-console-'));
  chmodSync(dir, 0o700);
});

after(async () => {
  await client?.close();
  await sim?.stop();
  serial.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const bmcOf = () => ({ address: `127.0.0.1:${BASE}`, user: 'admin', password: 'secret' });

test('two viewers share one SOL console; one writer at a time; the last to leave deactivates SOL', async () => {
  const mgr = new ConsoleManager({ logDir: dir, open: ipmiConsoleOpener(client, bmcOf) });
  try {
    const va = viewer('alice');
    const vb = viewer('bob');
    const a = await mgr.attach('node-1', va);
    const b = await mgr.attach('node-1', vb); // would fail with "already active" if it opened a second SOL
    serial.write(Buffer.from('login: '));
    await until('both viewers see the host', () => va.text().includes('login: ') && vb.text().includes('login: '));

    serial.received = Buffer.alloc(0);
    a.write('root\r');
    await until('alice typed', () => serial.received.toString() === 'root\r');
    assert.deepEqual(mgr.viewers('node-1'), [{ who: 'alice', writer: true }, { who: 'bob', writer: false }]);
    assert.equal(vb.writerSeen.at(-1), 'alice');
    assert.throws(() => b.write('x'), (err: unknown) => err instanceof ConsoleReadOnlyError && /alice is typing/.test(err.message));
    b.takeOver();
    assert.throws(() => a.write('y'), ConsoleReadOnlyError);
    b.write('ls\r');
    await until('bob typed', () => serial.received.toString() === 'root\rls\r');

    // while the manager holds SOL, another console is refused and told who holds it
    const s2 = await client.session('127.0.0.1', { user: 'admin', password: 'secret', port: BASE });
    await assert.rejects(activateSol(s2), SolInUseError);

    await a.detach();
    await b.detach();
    // SOL is free again
    const c2 = await activateSol(s2);
    await c2.close();
    await s2.close();
  } finally { await mgr.close(); }
});

test('the rolling log keeps the last 1 MiB across a restart; the file is private', async () => {
  let mgr = new ConsoleManager({ logDir: dir, open: ipmiConsoleOpener(client, bmcOf) });
  const v = viewer('carol');
  const a = await mgr.attach('node-2', v);
  serial.write(Buffer.from('boot line 1\r\nboot line 2\r\n'));
  await until('boot lines', () => v.text().includes('boot line 2\r\n'));
  await a.detach();
  await mgr.close();
  const logPath = join(dir, 'node-2.log');
  assert.equal(statSync(logPath).mode & 0o777, 0o600);

  mgr = new ConsoleManager({ logDir: dir, open: ipmiConsoleOpener(client, bmcOf) });
  try {
    assert.deepEqual(mgr.lastLines('node-2', 2), ['boot line 1', 'boot line 2'], 'the log survived the restart');
    const v2 = viewer('dave');
    const a2 = await mgr.attach('node-2', v2);
    assert.match(a2.history().toString(), /boot line 2/);
    await a2.detach();
  } finally { await mgr.close(); }

  // trimming: 3 MiB through a log with the real limit leaves the last 1 MiB, also after reopening
  const log = new ConsoleLog(dir, 'node-3');
  let all = Buffer.alloc(0);
  for (let i = 0; i < 105; i++) { const c = Buffer.from(`${i}:`.padEnd(30_000, String.fromCharCode(0x61 + (i % 26)))); log.append(c); all = Buffer.concat([all, c]); }
  assert.ok(statSync(join(dir, 'node-3.log')).size <= 2 * 1024 * 1024);
  assert.ok(log.tail().equals(all.subarray(all.length - 1024 * 1024)));
  log.close();
  const again = new ConsoleLog(dir, 'node-3');
  assert.ok(again.tail().equals(all.subarray(all.length - 1024 * 1024)));
  again.close();
  assert.throws(() => new ConsoleLog(dir, '../etc/passwd'), /not a node id/);
});

/** Descriptors this process holds on files in the log folder. */
function logFds(): number {
  const real = realpathSync(dir) + '/';
  return readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`).startsWith(real); } catch { return false; } }).length;
}

test('log descriptors: reading the logs of a hall of nodes holds none; an open console holds one, let go when it closes', async () => {
  for (let i = 0; i < 300; i++) writeFileSync(join(dir, `hall-${i}.log`), `node ${i} booted\r\n`, { mode: 0o600 });
  const mgr = new ConsoleManager({ logDir: dir, open: ipmiConsoleOpener(client, bmcOf) });
  try {
    // what the boot timeline ("last lines") and `rackseed console --log` do for every node
    for (let i = 0; i < 300; i++) {
      assert.deepEqual(mgr.lastLines(`hall-${i}`, 1), [`node ${i} booted`]);
      assert.equal(mgr.tail(`hall-${i}`).toString(), `node ${i} booted\r\n`);
    }
    assert.equal(logFds(), 0, 'no log descriptor held after reading 300 logs');
    assert.deepEqual(mgr.lastLines('never-opened'), [], 'a node without a log reads as empty');
    assert.ok(!existsSync(join(dir, 'never-opened.log')), 'and reading does not create one');

    // consoles opened and closed one after another (ipmi_sim has one SOL)
    for (let i = 0; i < 3; i++) {
      const v = viewer(`viewer-${i}`);
      const a = await mgr.attach(`hall-${i}`, v);
      serial.write(Buffer.from(`live ${i}\r\n`));
      await until(`output of console ${i}`, () => v.text().includes(`live ${i}\r\n`));
      assert.equal(logFds(), 1, 'the open console holds its log');
      assert.match(mgr.tail(`hall-${i}`).toString(), new RegExp(`node ${i} booted\\r\\nlive ${i}\\r\\n$`));
      await a.detach();
      assert.equal(logFds(), 0, 'let go when the console closed');
    }
    assert.deepEqual(mgr.lastLines('hall-2', 2), ['node 2 booted', 'live 2'], 'the log kept what the console printed');
  } finally { await mgr.close(); }
  assert.equal(logFds(), 0);
});

test('typing or a break on a console that is not open says why instead of doing nothing', async () => {
  const mgr = new ConsoleManager({ logDir: dir, open: ipmiConsoleOpener(client, bmcOf) });
  try {
    const a = await mgr.attach('node-4', viewer('erin'));
    a.sendBreak(); // open: taken
    await a.detach();
    assert.throws(() => a.sendBreak(), (err: unknown) => err instanceof ConsoleClosedError
      && /^cannot send a break: the console of node-4 is not open \(this viewer left it\); open the console again$/.test(err.message));
    assert.throws(() => a.write('x'), (err: unknown) => err instanceof ConsoleClosedError && /cannot type into it/.test(err.message));

    // the BMC ends SOL (ipmitool sol deactivate from another session): the viewer is told, and a later break says why
    const v = viewer('frank');
    const b = await mgr.attach('node-4', v);
    const r = spawnSync('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(BASE), '-U', 'admin', '-P', 'secret', 'sol', 'deactivate'],
      { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `ipmitool sol deactivate: ${r.stdout}${r.stderr}`);
    await until('the console ended', () => v.closed.length > 0, 30_000);
    assert.ok(b.detached);
    assert.throws(() => b.sendBreak(), (err: unknown) => err instanceof ConsoleClosedError && /^cannot send a break: the console of node-4 is not open \(it ended: .+\)/.test(err.message));
  } finally { await mgr.close(); }
});
