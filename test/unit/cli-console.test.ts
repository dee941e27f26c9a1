// `rackseed console` without a BMC (the live console against ipmi_sim is test/interop/api-console.test.ts): the
// escape reader (~. ~b ~t ~~ only at a line start), `--log` of a stored log (text and JSON), a hostile log's escape
// sequences shown visibly instead of driving the terminal (--raw passes them), and the exit codes of each refusal —
// no token 2, unreachable 3, wrong token 4, unknown node 5, no BMC matched 6, --json or --raw without --log 2; the
// console WebSocket's `ping` → `pong` (the CLI's idle warm-up) before and after `attached`; writeOut's order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { EXIT } from '../../daemon/cli/client.ts';
import { EscapeReader } from '../../daemon/cli/console.ts';
import { consoleWsUrl } from '../../daemon/api/console-ws-url.ts';
import WebSocket from 'ws';
import { scratchSol, type ScratchSol } from '../../bmc/ipmi/session/scratch-sol.ts';
import { solConsoleLink } from '../../core/console/ipmi-opener.ts';
import { ConsoleManager } from '../../core/console/manager.ts';
import { visibleControls } from '../../daemon/cli/visible-controls.ts';
import type { ConsoleLogTail } from '../../shared/console.ts';

const TOKEN = 'cli-console-test-token-0123456789abcdef';
let d: RunningDaemon;
let dir: string;
let logged: string;
let quiet: string;
let hostile: string;
/** what a hostile node printed: set the window title, clear the screen, a C1 CSI (U+009B), bell, NUL, DEL, bidi override */
const HOSTILE = 'login ok\x1b]0;pwned\x07\x1b[2J\x1b[H\tdone\r\n\u009b31mred \x00\x7f \u202Eevil\r\nlast ümlaut line\r\n';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-cli-console-'));
  d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  logged = d.core.lifecycle.ensureNode('52:54:00:c0:51:01', 'dhcp').node.id;
  quiet = d.core.lifecycle.ensureNode('52:54:00:c0:51:02', 'dhcp').node.id;
  hostile = d.core.lifecycle.ensureNode('52:54:00:c0:51:03', 'dhcp').node.id;
  // a log an earlier console left (the daemon reads <data>/console/<node>.log the first time it is asked)
  mkdirSync(join(dir, 'data', 'console'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'data', 'console', `${logged}.log`), 'rackseed-init: [4.1s] kernel 6.1\r\n~ # cat /proc/cmdline\r\nconsole=ttyS0\r\n~ # ', { mode: 0o600 });
  writeFileSync(join(dir, 'data', 'console', `${hostile}.log`), HOSTILE, { mode: 0o600 });
});
after(async () => { await d.close(); rmSync(dir, { recursive: true, force: true }); });

function cli(args: string[], env: Record<string, string | undefined> = { RACKSEED_URL: d.url, RACKSEED_TOKEN: TOKEN }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['bin/rackseed.mjs', ...args], { env: { ...process.env, RACKSEED_URL: undefined, RACKSEED_TOKEN: undefined, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    child.stdin!.end();
  });
}

test('escapes are read only at a line start; everything else goes to the node', () => {
  const r = new EscapeReader();
  assert.deepEqual(r.feed(Buffer.from('~b')), { data: Buffer.alloc(0), commands: ['break'] });
  assert.deepEqual(r.feed(Buffer.from('ls ~.')).data.toString(), 'ls ~.', 'not at a line start');
  const x = r.feed(Buffer.from('\r~~home\r~'));
  assert.equal(x.data.toString(), '\r~home\r');
  assert.deepEqual(r.feed(Buffer.from('t')).commands, ['take-over'], 'state kept across chunks');
  assert.deepEqual(r.feed(Buffer.from('\n~x~.')), { data: Buffer.from('\n~x~.'), commands: [] }, '~x is sent as typed; the next ~ is mid-line');
  assert.deepEqual(r.feed(Buffer.from('\r~.')).commands, ['leave']);
  // chunks without a ~ come back as they are, and still move the line-start state
  const plain = Buffer.from('uname -a\r');
  assert.equal(r.feed(plain).data, plain, 'the same buffer: no copy');
  assert.deepEqual(r.feed(Buffer.from('~.')).commands, ['leave'], 'after a line end');
  r.feed(Buffer.from('x'));
  assert.deepEqual(r.feed(Buffer.from('~.')), { data: Buffer.from('~.'), commands: [] }, 'mid-line');
  assert.deepEqual(r.feed(Buffer.alloc(0)), { data: Buffer.alloc(0), commands: [] });
  assert.equal(consoleWsUrl('http://127.0.0.1:8080', 'a b'), 'ws://127.0.0.1:8080/api/v1/nodes/a%20b/console?client=cli');
  assert.equal(consoleWsUrl('unix:/run/rs.sock', 'n1'), 'ws+unix:///run/rs.sock:/api/v1/nodes/n1/console?client=cli');
});

test('rackseed console --log: the stored log as text and JSON; an empty one says so', async () => {
  const text = await cli(['console', logged, '--log']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /~ # cat \/proc\/cmdline\nconsole=ttyS0\n~ # \n$/);
  const json = await cli(['console', '52-54-00-C0-51-01', '--log', '--json', '--lines', '2']);
  assert.equal(json.code, 0, json.stderr);
  const tail = JSON.parse(json.stdout) as ConsoleLogTail;
  assert.deepEqual(tail.lines, ['console=ttyS0', '~ # ']);
  assert.equal(tail.nodeId, logged);
  assert.deepEqual(tail.viewers, []);
  const empty = await cli(['console', quiet, '--log']);
  assert.equal(empty.code, 0);
  assert.match(empty.stdout, /is empty/);
  const bad = await cli(['console', logged, '--log', '--lines', '0']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /from 1 to 20000/);
});

test('visibleControls: line ends, tabs and printable text stay; every other control is shown, not sent', () => {
  assert.equal(visibleControls('a\tb\r\nc ümlaut 日本'), 'a\tb\r\nc ümlaut 日本');
  assert.equal(visibleControls('\x1b[2J\x1b]0;t\x07'), '^[[2J^[]0;t^G');
  assert.equal(visibleControls('\x00\x08\x7f\u009b\u0085\u202e'), '^@^H^?\\x9B\\x85\\u{202E}');
});

test('rackseed console --log: a hostile log cannot drive the terminal; --raw prints it as sent; JSON is escaped', async () => {
  const text = await cli(['console', hostile, '--log']);
  assert.equal(text.code, 0, text.stderr);
  assert.doesNotMatch(text.stdout, /[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u202e]/, 'no control character reaches the terminal');
  assert.equal(text.stdout, 'login ok^[]0;pwned^G^[[2J^[[H\tdone\n\\x9B31mred ^@^? \\u{202E}evil\nlast ümlaut line\n');

  const raw = await cli(['console', hostile, '--log', '--raw']);
  assert.equal(raw.code, 0, raw.stderr);
  assert.equal(raw.stdout, HOSTILE.replace(/\r\n/g, '\n'), 'the log as the node sent it (lines as the daemon splits them)');

  const json = await cli(['console', hostile, '--log', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.doesNotMatch(json.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/, 'JSON escapes every control character, C1 and bidi too');
  assert.deepEqual((JSON.parse(json.stdout) as ConsoleLogTail).lines, HOSTILE.split('\r\n').slice(0, -1), 'and still carries the text exactly');

  const misuse = await cli(['console', hostile, '--raw']);
  assert.equal(misuse.code, EXIT.USAGE);
  assert.match(misuse.stderr, /--raw goes with --log/);
});

test('rackseed console: exit codes say what failed', async () => {
  assert.equal((await cli(['console', logged], { RACKSEED_URL: d.url })).code, EXIT.USAGE, 'no token');
  assert.equal((await cli(['console', logged], { RACKSEED_URL: 'http://127.0.0.1:1', RACKSEED_TOKEN: TOKEN })).code, EXIT.UNREACHABLE);
  const wrong = await cli(['console', logged], { RACKSEED_URL: d.url, RACKSEED_TOKEN: 'wrong-token-wrong-token' });
  assert.equal(wrong.code, EXIT.UNAUTHORIZED);
  assert.match(wrong.stderr, /RACKSEED_TOKEN/);
  const missing = await cli(['console', 'no-such-node']);
  assert.equal(missing.code, EXIT.NOT_FOUND);
  assert.match(missing.stderr, /no node no-such-node/);
  const noBmc = await cli(['console', logged]);
  assert.equal(noBmc.code, EXIT.CONFLICT, noBmc.stderr);
  assert.match(noBmc.stderr, /has no BMC matched yet/);
  assert.equal((await cli(['console', logged, '--json'])).code, EXIT.USAGE);
});

test('console WebSocket: `ping` is answered `pong` before `attached` (while the BMC is still being asked) and after, with no BMC contact', async () => {
  // a console that opens only when the test says so: a scratch SOL console on loopback (bmc/ipmi/session/scratch-sol.ts),
  // served under a one-time id as the daemon's own warm-up is (ApiServerOptions.warmUpConsoles)
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let sol: ScratchSol | null = null;
  const logDir = mkdtempSync(join(tmpdir(), 'rs-cli-ping-'));
  const manager = new ConsoleManager({ logDir, open: async () => { await gate; sol = await scratchSol(3); return solConsoleLink(sol.console, sol.session); } });
  const id = `warm-up-${'ab'.repeat(16)}`;
  d.warmUpConsoleIds.set(id, manager);
  const ws = new WebSocket(consoleWsUrl(d.url, id), { headers: { authorization: `Bearer ${TOKEN}` } });
  const seen: string[] = [];
  const next = (pred: (m: string) => boolean): Promise<string> => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out; seen ${JSON.stringify(seen)}`)), 5000);
    const on = (data: Buffer, binary: boolean): void => {
      const m = binary ? `bin:${data.toString()}` : data.toString();
      if (pred(m)) { clearTimeout(t); ws.off('message', on); resolve(m); }
    };
    ws.on('message', on);
  });
  ws.on('message', (data: Buffer, binary: boolean) => seen.push(binary ? `bin:${data.toString()}` : data.toString()));
  try {
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    for (let i = 0; i < 3; i++) {
      const pong = next((m) => m.includes('"pong"'));
      ws.send(JSON.stringify({ type: 'ping' }));
      assert.deepEqual(JSON.parse(await pong), { type: 'pong' });
    }
    assert.ok(!seen.some((m) => m.includes('attached')), 'all three answered while the console was still opening');
    assert.equal(sol, null, 'no BMC side contacted yet');
    const attached = next((m) => m.includes('"attached"'));
    release();
    await attached;
    const echo = next((m) => m === 'bin:x');
    ws.send(Buffer.from('x'), { binary: true });
    await echo;
    const pong = next((m) => m.includes('"pong"'));
    const typedBefore = (sol as ScratchSol | null)!.stats.typed;
    ws.send(JSON.stringify({ type: 'ping' }));
    await pong;
    assert.equal((sol as ScratchSol | null)!.stats.typed, typedBefore, 'a ping types nothing');
    // a text frame that is JSON but not an object is refused, never typed
    const bad = next((m) => m.includes('"bad-message"'));
    ws.send('null');
    await bad;
    assert.equal((sol as ScratchSol | null)!.stats.typed, typedBefore);
  } finally {
    ws.close();
    release();
    await new Promise((r) => setTimeout(r, 50));
    await manager.close();
    d.warmUpConsoleIds.delete(id);
    const s = sol as ScratchSol | null;
    if (s) await s.close();
    rmSync(logDir, { recursive: true, force: true });
  }
});

test('writeOut: console output reaches standard output whole and in order, through a pipe that fills (EAGAIN: the stream takes the rest)', async () => {
  // a child writes 3 MiB of console output in 64 KiB chunks, mixed with process.stdout.write, to a pipe this test
  // reads only after a pause: the pipe fills, write(2) says EAGAIN, the stream keeps the order
  const script = [
    "const { writeOut } = await import('./daemon/cli/console.ts');",
    "writeOut(Buffer.alloc(0));",
    "for (let i = 0; i < 48; i++) { writeOut(Buffer.alloc(65536, 97 + (i % 26))); if (i % 7 === 0) process.stdout.write(`<${i}>`); }",
    "writeOut(Buffer.from('END'));",
  ].join('\n');
  const child = execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  child.stdout!.pause();
  await new Promise((r) => setTimeout(r, 300));
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  child.stdout!.resume();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  let want = '';
  for (let i = 0; i < 48; i++) { want += String.fromCharCode(97 + (i % 26)).repeat(65536); if (i % 7 === 0) want += `<${i}>`; }
  want += 'END';
  const got = Buffer.concat(chunks).toString('latin1');
  assert.equal(got.length, want.length);
  assert.ok(got === want, 'every byte, in order');
});
