// The node console through the daemon's API and `rackseed console`, against OpenIPMI's ipmi_sim (127.0.0.1, high
// ports: no root) whose SOL connects to a serial line this test plays (test/helpers/telnet-serial.ts; the lab puts
// QEMU's serial chardev there). One in-process daemon with a data dir and a node matched to that BMC:
//   - two WebSocket viewers share one SOL session: host output reaches both, the second gets the log's tail first,
//     the first to type is the writer, the other is read-only until it takes over; typing past what may wait for
//     the BMC (64 KiB) is refused whole with an `input-dropped` error, the console stays open;
//   - meanwhile `ipmitool sol activate` on the same BMC is refused ("SOL payload already active");
//   - `rackseed console NODE` with piped input types and prints the echo; `--log --json` reads the stored log;
//   - SOL held by another session: the WebSocket says sol-in-use naming the holder, the CLI exits 20;
//   - a node without a BMC: no-bmc, CLI exit 6; an unknown node: not-found;
//   - the log survives a daemon restart on the same data dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { FakeSerial } from '../helpers/telnet-serial.ts';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { activateSol } from '../../bmc/ipmi/session/sol-session.ts';
import type { ConsoleLogTail, ConsoleServerMessage } from '../../shared/console.ts';

const TOKEN = 'api-console-test-token-0123456789abcdef';
const BASE = 26000 + (process.pid % 15000);
const BMC_PORT = BASE;
const SERIAL_PORT = BASE + 1;
let sim: IpmiSim;
const serial = new FakeSerial();
let dir: string;
let d: RunningDaemon;
let nodeId: string;
let bareId: string;

async function until(what: string, fn: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) { if (Date.now() > end) throw new Error(`timed out waiting for ${what}`); await new Promise((r) => setTimeout(r, 20)); }
}

async function startD(): Promise<RunningDaemon> {
  return startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
}

before(async () => {
  await serial.listen(SERIAL_PORT);
  sim = await startIpmiSim({ address: '127.0.0.1', port: BMC_PORT, user: 'admin', password: 'secret', guid: '00112233445566778899aabbccddeeff', sol: `telnet:127.0.0.1:${SERIAL_PORT}` });
  await until('ipmi_sim to connect its serial line', () => serial.sock !== null);
  dir = mkdtempSync(join(tmpdir(), 'rs-api-console-'));
  d = await startD();
  d.core.config.setBmcCredentials({ user: 'admin', password: 'secret' });
  nodeId = d.core.lifecycle.ensureNode('52:54:00:c0:50:01', 'dhcp').node.id;
  d.core.nodes.update(nodeId, { bmcAddress: `127.0.0.1:${BMC_PORT}`, bmcMatchedBy: 'guid', serial: 'SN-CONSOLE' });
  bareId = d.core.lifecycle.ensureNode('52:54:00:c0:50:02', 'dhcp').node.id;
});

after(async () => {
  await d?.close();
  await sim?.stop();
  serial.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Viewer { ws: WebSocket; msgs: ConsoleServerMessage[]; text: () => string; closed: Promise<number> }

function open(id: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }, query = 'client=ui'): Promise<Viewer> {
  const ws = new WebSocket(`${d.url.replace('http:', 'ws:')}/api/v1/nodes/${id}/console?${query}`, { headers });
  const msgs: ConsoleServerMessage[] = [];
  const parts: Buffer[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => { if (isBinary) parts.push(Buffer.from(data)); else msgs.push(JSON.parse(data.toString()) as ConsoleServerMessage); });
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, msgs, text: () => Buffer.concat(parts).toString('latin1'), closed }));
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function cli(args: string[], input: string | Buffer = '', timeout = 60_000, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['bin/rackseed.mjs', ...args], { env: { ...process.env, RACKSEED_URL: d.url, RACKSEED_TOKEN: TOKEN, ...env }, timeout, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    child.stdin!.end(input);
  });
}

const attached = (v: Viewer) => v.msgs.some((m) => m.type === 'attached');

test('two viewers share one SOL console; writer rules; ipmitool refused meanwhile; the CLI types and reads the echo', { timeout: 120_000 }, async () => {
  const a = await open(nodeId);
  await until('A attached', () => attached(a) || a.msgs.some((m) => m.type === 'error'));
  assert.ok(attached(a), JSON.stringify(a.msgs));
  const att = a.msgs.find((m) => m.type === 'attached') as Extract<ConsoleServerMessage, { type: 'attached' }>;
  assert.equal(att.bmc, `127.0.0.1:${BMC_PORT}`);
  assert.match(att.you, /^UI \d+ at 127\.0\.0\.1$/);
  serial.write(Buffer.from('rescue login: '));
  await until('A sees the host', () => a.text().includes('rescue login: '));

  const b = await open(nodeId);
  await until('B attached with the backlog', () => attached(b) && b.text().includes('rescue login: '));

  serial.received = Buffer.alloc(0);
  a.ws.send(Buffer.from('root\r'), { binary: true });
  await until('A typed on the serial line', () => serial.received.toString() === 'root\r');
  await until('B told A is the writer', () => b.msgs.some((m) => m.type === 'writer' && m.writer === att.you && !m.you));
  b.ws.send(Buffer.from('x'), { binary: true });
  await until('B refused: read-only', () => b.msgs.some((m) => m.type === 'error' && m.code === 'read-only' && !m.fatal && m.message.includes(att.you)));
  b.ws.send(JSON.stringify({ type: 'take-over' }));
  await until('B has the keyboard', () => b.msgs.some((m) => m.type === 'writer' && m.you));
  b.ws.send(Buffer.from('ls\r'), { binary: true });
  await until('B typed', () => serial.received.toString() === 'root\rls\r');
  // a 48 KiB paste, then 32 KiB more right away (frames are at most 64 KiB): the BMC (32-byte buffer) cannot have
  // taken 16 KiB in between, so the second is refused whole; the first arrives, then what is typed next
  b.ws.send(Buffer.alloc(48 * 1024, 0x61), { binary: true });
  b.ws.send(Buffer.alloc(32 * 1024, 0x62), { binary: true });
  await until('B told the paste was dropped', () => b.msgs.some((m) => m.type === 'error' && m.code === 'input-dropped' && !m.fatal
    && /typed input dropped \(32768 bytes\).*at most 65536 may wait/.test(m.message)));
  b.ws.send(Buffer.from('pwd\r'), { binary: true });
  const pasted = 'root\rls\r' + 'a'.repeat(48 * 1024) + 'pwd\r';
  await until('the first paste and then pwd on the serial line', () => serial.received.length >= pasted.length, 60_000);
  assert.equal(serial.received.toString(), pasted, 'nothing of the refused paste was sent');

  const r = spawnSync('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(BMC_PORT), '-U', 'admin', '-P', 'secret', 'sol', 'activate'],
    { input: '', encoding: 'utf8', timeout: 20_000 });
  assert.notEqual(r.status, 0);
  assert.match(`${r.stdout}\n${r.stderr}`, /SOL payload already active on another session/);

  const log = await (await fetch(`${d.url}/api/v1/nodes/${nodeId}/console/log?lines=5`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as ConsoleLogTail;
  assert.deepEqual(log.lines, ['rescue login: ']);
  assert.equal(log.viewers.length, 2);

  a.ws.close(); b.ws.close();
  await Promise.all([a.closed, b.closed]);
  for (let i = 0; ; i++) { // the last viewer gone: the console (and SOL on the BMC) closes
    const now = await (await fetch(`${d.url}/api/v1/nodes/${nodeId}/console/log?lines=1`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as ConsoleLogTail;
    if (now.viewers.length === 0) break;
    assert.ok(i < 100, 'viewers still attached 10 s after both left');
    await new Promise((res) => setTimeout(res, 100));
  }

  serial.echo = true;
  serial.received = Buffer.alloc(0);
  // the CLI on this host comes through the daemon's local socket (daemon/api/local-socket.ts); the console's open is
  // on the event bus with the viewer's name, which says where it came from
  const opened: string[] = [];
  const unsubscribe = d.core.bus.subscribe((m) => { if (m.type === 'event' && m.payload.kind === 'console-open') opened.push(m.payload.message); });
  const c = await cli(['console', 'SN-CONSOLE', '--linger', '3'], 'echo cli-typed\r');
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /console of SN-CONSOLE through BMC 127\.0\.0\.1:\d+/);
  assert.match(c.stdout, /rescue login: [\s\S]*echo cli-typed/, 'the backlog, then the echo of what was typed');
  assert.equal(serial.received.toString(), 'echo cli-typed\r');
  assert.ok(d.localSocket, 'the daemon has a local socket');
  assert.match(opened.join('|'), /opened by CLI \d+ at this host \(unix socket\)/, `through the local socket: ${opened.join('|')}`);
  // RACKSEED_LOCAL_SOCKET=0: the same console over TCP
  serial.received = Buffer.alloc(0);
  for (let i = 0; ; i++) { // the CLI gone: its console closes before the next opens
    const now = await (await fetch(`${d.url}/api/v1/nodes/${nodeId}/console/log?lines=1`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as ConsoleLogTail;
    if (now.viewers.length === 0) break;
    assert.ok(i < 100, 'the CLI still attached 10 s after it left');
    await new Promise((res) => setTimeout(res, 100));
  }
  const t = await cli(['console', 'SN-CONSOLE', '--linger', '2'], 'echo tcp-typed\r', 60_000, { RACKSEED_LOCAL_SOCKET: '0' });
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /echo tcp-typed/);
  assert.equal(serial.received.toString(), 'echo tcp-typed\r');
  assert.match(opened.at(-1) ?? '', /opened by CLI \d+ at 127\.0\.0\.1/, `over TCP: ${opened.join('|')}`);
  // a socket at the advertised path that refuses the console (here: answers 401 to everything): the CLI goes by TCP,
  // saying nothing about it
  for (let i = 0; ; i++) {
    const now = await (await fetch(`${d.url}/api/v1/nodes/${nodeId}/console/log?lines=1`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as ConsoleLogTail;
    if (now.viewers.length === 0) break;
    assert.ok(i < 100, 'the CLI still attached 10 s after it left');
    await new Promise((res) => setTimeout(res, 100));
  }
  const path = d.localSocket!;
  unlinkSync(path);
  let asked = 0;
  const refusing = createServer((_q, r) => { asked++; r.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"not this daemon"}'); });
  refusing.on('upgrade', (_q, sock) => { asked++; sock.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 27\r\n\r\n{"error":"not this daemon"}'); });
  await new Promise<void>((r) => refusing.listen(path, r));
  try {
    serial.received = Buffer.alloc(0);
    const f = await cli(['console', 'SN-CONSOLE', '--linger', '2'], 'echo fallback\r');
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /echo fallback/);
    assert.equal(serial.received.toString(), 'echo fallback\r');
    assert.doesNotMatch(f.stderr, /refused|401/, 'nothing said about the local socket');
    assert.ok(asked >= 1, 'the CLI tried the socket first');
    assert.match(opened.at(-1) ?? '', /opened by CLI \d+ at 127\.0\.0\.1/, `over TCP after the local socket refused: ${opened.join('|')}`);
  } finally {
    await new Promise<void>((r) => refusing.close(() => r()));
  }
  unsubscribe();
  serial.echo = false;

  const l = await cli(['console', nodeId, '--log', '--json']);
  assert.equal(l.code, 0, l.stderr);
  const tail = JSON.parse(l.stdout) as ConsoleLogTail;
  assert.ok(tail.lines.some((x) => x.includes('echo cli-typed')), tail.lines.join('|'));
  assert.deepEqual(tail.viewers, [], 'nobody left on the console');
});

test('refusals: SOL held by another session (named), no BMC matched, unknown node; CLI exit codes', { timeout: 120_000 }, async () => {
  const other = new IpmiClient({ timeoutMs: 500, retries: 3 });
  const s = await other.session('127.0.0.1', { user: 'admin', password: 'secret', port: BMC_PORT });
  const held = await activateSol(s);
  try {
    const v = await open(nodeId);
    const code = await v.closed;
    assert.equal(code, 4000);
    const err = v.msgs.find((m) => m.type === 'error');
    assert.ok(err && err.type === 'error' && err.code === 'sol-in-use' && err.fatal, JSON.stringify(v.msgs));
    assert.match(err.message, /already active on this BMC, held by BMC session 0x[0-9a-f]{8} \(user "admin"/);
    const c = await cli(['console', nodeId]);
    assert.equal(c.code, 20, c.stderr);
    assert.match(c.stderr, /held by BMC session/);
  } finally {
    await held.close();
    await s.close();
    await other.close();
  }

  const bare = await open(bareId);
  assert.equal(await bare.closed, 4000);
  assert.ok(bare.msgs.some((m) => m.type === 'error' && m.code === 'no-bmc' && /no BMC matched/.test(m.message)), JSON.stringify(bare.msgs));
  const c6 = await cli(['console', '52:54:00:c0:50:02']);
  assert.equal(c6.code, 6, c6.stderr);
  assert.match(c6.stderr, /no BMC matched yet/);

  const unknown = await open('no-such-node');
  assert.equal(await unknown.closed, 4000);
  assert.ok(unknown.msgs.some((m) => m.type === 'error' && m.code === 'not-found'));
  assert.equal((await cli(['console', 'no-such-node'])).code, 5);
  assert.equal((await cli(['console', nodeId, '--json'])).code, 2, '--json only with --log');
});

/** Waits until the daemon lists nobody on the node's console (it closed: SOL deactivated on the BMC). */
async function consoleIdle(id: string): Promise<void> {
  for (let i = 0; ; i++) {
    const now = await (await fetch(`${d.url}/api/v1/nodes/${id}/console/log?lines=1`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as ConsoleLogTail;
    if (now.viewers.length === 0) return;
    assert.ok(i < 150, 'viewers still attached 15 s on');
    await new Promise((res) => setTimeout(res, 100));
  }
}

test('a piped file larger than the 64 KiB the daemon lets wait reaches the node whole: the CLI paces its input', { timeout: 300_000 }, async () => {
  await consoleIdle(nodeId);
  // 160 KiB of numbered lines (no "~" at a line start: that would be an escape); the BMC (ipmi_sim, 32-byte buffer)
  // takes far less than this per round trip, so an unpaced client passes 64 KiB waiting and loses what follows
  const lines: string[] = [];
  for (let i = 0; lines.join('').length < 160 * 1024; i++) lines.push(`line ${String(i).padStart(6, '0')} ${'x'.repeat(60)}\r`);
  const input = lines.join('');
  serial.echo = false;
  serial.received = Buffer.alloc(0);
  const c = await cli(['console', 'SN-CONSOLE', '--linger', '1'], input, 240_000);
  assert.equal(c.code, 0, c.stderr);
  assert.doesNotMatch(c.stderr, /dropped/, 'no part of the input was refused');
  await until('the whole file on the serial line', () => serial.received.length >= input.length, 30_000);
  assert.equal(serial.received.length, input.length);
  assert.ok(serial.received.equals(Buffer.from(input)), 'the file arrived in order, byte for byte');
});

test('a node handed to an engine: its open console ends with the reason, new viewers are refused "owned by <engine>"', { timeout: 180_000 }, async () => {
  await consoleIdle(nodeId);
  const engine = { kind: 'ironic' as const, url: 'http://192.0.2.10:6385' };
  const a = await open(nodeId);
  await until('A attached', () => attached(a) || a.msgs.some((m) => m.type === 'error'));
  assert.ok(attached(a), JSON.stringify(a.msgs));
  // the pivot (core/handoff/service.ts step `pivot`, the seed's pivot): the engine owns the node, then the node is
  // announced. Between the two, a new viewer is refused although the console is open
  d.core.handoff.store.upsertEngine(engine, 'none', null);
  d.core.handoff.store.setOwner(nodeId, engine, '6f1c1a52-0000-4000-8000-000000000001', ['52:54:00:c0:50:01']);
  const b = await open(nodeId);
  await until('B answered', () => b.msgs.some((m) => m.type === 'error' || m.type === 'attached'), 30_000);
  assert.ok(!attached(b), `B must not join the open console of a node an engine owns: ${JSON.stringify(b.msgs)}`);
  assert.equal(await b.closed, 4000);
  const refused = b.msgs.find((m) => m.type === 'error');
  assert.ok(refused && refused.type === 'error' && refused.fatal && refused.code === 'no-bmc', JSON.stringify(b.msgs));
  assert.match(refused.message, /owned by ironic \(http:\/\/192\.0\.2\.10:6385\)/);
  d.core.lifecycle.announce(nodeId);
  assert.equal(await a.closed, 4001, 'the open console was closed by the daemon');
  const closed = a.msgs.find((m) => m.type === 'closed');
  assert.ok(closed && closed.type === 'closed', JSON.stringify(a.msgs));
  assert.match(closed.reason ?? '', /handed over: it is owned by ironic \(http:\/\/192\.0\.2\.10:6385\) now/);
  await consoleIdle(nodeId);
  // SOL released on the BMC: another session can activate it now (the engine's ipmitool would)
  const other = new IpmiClient({ timeoutMs: 500, retries: 3 });
  const s = await other.session('127.0.0.1', { user: 'admin', password: 'secret', port: BMC_PORT });
  try {
    const sol = await activateSol(s);
    await sol.close();
  } finally {
    await s.close();
    await other.close();
  }
  const c = await cli(['console', nodeId]);
  assert.equal(c.code, 6, c.stderr);
  assert.match(c.stderr, /owned by ironic \(http:\/\/192\.0\.2\.10:6385\)/);

  d.core.handoff.takeBack([nodeId]);
  const again = await open(nodeId);
  await until('attached again after the take-back', () => attached(again) || again.msgs.some((m) => m.type === 'error'), 30_000);
  assert.ok(attached(again), JSON.stringify(again.msgs));
  again.ws.close();
  await again.closed;
});

test('the console log survives a daemon restart', { timeout: 60_000 }, async () => {
  await d.close();
  d = await startD();
  const res = await fetch(`${d.url}/api/v1/nodes/${nodeId}/console/log`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  const tail = await res.json() as ConsoleLogTail;
  assert.ok(tail.lines.some((l) => l.includes('rescue login: ')) && tail.lines.some((l) => l.includes('echo cli-typed')), tail.lines.join('|'));
  assert.equal((await fetch(`${d.url}/api/v1/nodes/${nodeId}/console/log`)).status, 401, 'the log needs the token');
});
