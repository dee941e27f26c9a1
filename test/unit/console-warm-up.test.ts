// The console path's JIT warm-up (core/console/warm-up.ts, bmc/ipmi/session/scratch-sol.ts): synthetic keystrokes
// go through the real SOL/RMCP+ code and ConsoleManager and come back as echoes, while nothing reaches a UDP socket
// and nothing is left behind; the daemon runs it once after start and stops it on close without touching its own
// console logs or event bus.
import WebSocket, { WebSocketServer } from 'ws';
import { warmUpWebSocketFrames } from '../../daemon/api/ws-warm-up.ts';
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { scratchSol } from '../../bmc/ipmi/session/scratch-sol.ts';
import { warmUpConsolePath } from '../../core/console/warm-up.ts';
import { startDaemon } from '../../daemon/daemon.ts';

test('scratch SOL: keystrokes round-trip through encode/encrypt/HMAC and back, all in memory', async () => {
  for (const suite of [17, 3] as const) {
    const s = await scratchSol(suite);
    try {
      assert.equal(s.session.state, 'established');
      assert.equal(s.session.suite?.id, suite);
      const got: Buffer[] = [];
      s.console.on('data', (d: Buffer) => got.push(d));
      const drained = new Promise<void>((resolve) => s.console.once('drain', resolve));
      s.console.write('hello\r');
      await drained;
      while (Buffer.concat(got).length < 6) await new Promise((r) => setImmediate(r));
      assert.equal(Buffer.concat(got).toString(), 'hello\r', `suite ${suite}: the echo is what was typed`);
      assert.equal(s.stats.typed, 6);
      assert.equal(s.stats.refused, 0, 'the BMC side verified every auth code and decrypted every packet');
      assert.equal(s.console.stats.dropped, 0, 'the console verified every auth code of the BMC side');
      assert.ok(s.console.stats.sentPackets >= 2 && s.console.stats.receivedPackets >= 2);
      assert.equal(s.console.backlog, 0);
    } finally {
      await s.console.close();
      await s.session.close();
      await s.close();
    }
  }
});

test('warmUpConsolePath: every keystroke echoed through the ConsoleManager, no socket made, nothing left in the temp folder', async (t) => {
  const before = readdirSync(tmpdir());
  const sockets = mock.method(dgram, 'createSocket');
  try {
    const r = await warmUpConsolePath(300);
    t.diagnostic(`300 keystrokes: ${r.cpuMs.toFixed(0)} ms CPU, ${r.wallMs.toFixed(0)} ms wall; datagrams ${r.bmc.toBmc} → BMC, ${r.bmc.fromBmc} ← BMC`);
    assert.equal(r.stopped, null);
    assert.equal(r.keystrokes, 300);
    assert.ok(r.typedBytes > 300, 'some keystrokes were whole lines');
    assert.equal(r.echoedBytes, r.typedBytes, 'the viewer got every character back');
    assert.equal(r.bmc.typed, r.typedBytes, 'the BMC side decoded every character from SOL packets');
    assert.equal(r.bmc.refused, 0);
    assert.ok(r.bmc.toBmc >= 300 && r.bmc.fromBmc >= 300);
    assert.ok(r.cpuMs > 0 && r.wallMs > 0);
    assert.equal(sockets.mock.callCount(), 0, 'no UDP socket was created');
  } finally {
    sockets.mock.restore();
  }
  assert.deepEqual(readdirSync(tmpdir()).sort(), before.sort(), 'the scratch log folder is removed');
  const stopped = new AbortController();
  stopped.abort();
  const r2 = await warmUpConsolePath(50, stopped.signal);
  assert.equal(r2.keystrokes, 0);
  assert.match(r2.stopped ?? '', /closing/);
});

test('daemon: the warm-up runs once after start, off its console logs and event bus; close stops it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-console-warm-up-'));
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  let d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'debug' }, sink), token: 'console-warm-up-test-token-0123456789', uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {}, consoleWarmUpKeys: 200 });
  const seen: unknown[] = [];
  const unsubscribe = d.core.bus.subscribe((m) => seen.push(m));
  try {
    const deadline = Date.now() + 60_000;
    while (!lines.some((l) => l.includes('console warm-up done')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const done = lines.find((l) => l.includes('console warm-up done'));
    assert.ok(done, `the daemon logged the warm-up's end; log: ${lines.slice(-5).join('')}`);
    const f = JSON.parse(done) as { keystrokes: number; echoed: number; wsFrames: number };
    assert.equal(f.keystrokes, 200);
    assert.ok(f.echoed >= 200);
    assert.equal(f.wsFrames, 200, 'then as many WebSocket frames (daemon/api/ws-warm-up.ts)');
    const consoleDir = join(dir, 'data', 'console');
    assert.deepEqual(existsSync(consoleDir) ? readdirSync(consoleDir) : [], [], 'no console log in the data dir');
    assert.deepEqual(seen, [], 'nothing on the event bus');
    unsubscribe();
    await d.close();
    // closing right after start stops the warm-up between keystrokes and waits for it
    d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: 'console-warm-up-test-token-0123456789', uiDir: null,
      repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {}, consoleWarmUpKeys: 100_000 });
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    const t0 = Date.now();
    await d.close();
    assert.ok(Date.now() - t0 < 10_000, 'close does not wait for 100,000 keystrokes');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WebSocket frames: one-byte binary frames and drain/drained text frames echoed over loopback; a stranger is refused; the port is closed after', async () => {
  const servers = () => process.getActiveResourcesInfo().filter((x) => x === 'TCPServerWrap').length;
  const before = servers();
  let port = 0;
  const orig = WebSocketServer.prototype.address;
  // note the warm-up's port, to knock on it with a wrong path while it runs
  WebSocketServer.prototype.address = function (this: WebSocketServer) { const a = orig.call(this); port = (a as { port: number }).port; return a; };
  let stranger: Promise<number | string> | null = null;
  const poll = setInterval(() => {
    if (port && !stranger) {
      stranger = new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/warm-up/guess`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => { ws.close(); resolve('opened'); });
        ws.on('error', (e) => resolve(e.message));
      });
    }
  }, 1);
  try {
    const r = await warmUpWebSocketFrames(600);
    assert.equal(r.stopped, null);
    assert.equal(r.frames, 600);
    assert.ok(r.cpuMs > 0 && r.wallMs > 0);
  } finally { clearInterval(poll); WebSocketServer.prototype.address = orig; }
  assert.ok(stranger, 'a stranger knocked while it ran');
  assert.equal(await stranger, 401, 'a connection without the run\'s random path is refused before the upgrade');
  assert.equal(servers(), before, 'no listening socket left');
  const stopped = new AbortController();
  stopped.abort();
  const r2 = await warmUpWebSocketFrames(50, stopped.signal);
  assert.equal(r2.frames, 0);
  assert.match(r2.stopped ?? '', /closing/);
  assert.deepEqual(await warmUpWebSocketFrames(0), { frames: 0, wallMs: 0, cpuMs: 0, stopped: null, pausedMs: 0 });
});

test('pacing: both warm-ups wait while the daemon is busy and go on when it is not', async () => {
  let until = performance.now() + 400;
  let asked = 0;
  const busy = () => { asked++; return performance.now() < until; };
  const r = await warmUpConsolePath(60, undefined, { busy });
  assert.equal(r.stopped, null);
  assert.equal(r.keystrokes, 60);
  assert.ok(r.pausedMs >= 300, `paused ${r.pausedMs} ms`);
  assert.ok(asked >= 60, 'asked before every keystroke');
  until = performance.now() + 400;
  const w = await warmUpWebSocketFrames(60, undefined, { busy });
  assert.equal(w.frames, 60);
  assert.ok(w.pausedMs >= 300, `paused ${w.pausedMs} ms`);
  // a daemon closing during the pause stops it there
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 100);
  const s = await warmUpConsolePath(60, stop.signal, { busy: () => true });
  assert.equal(s.keystrokes, 0);
  assert.match(s.stopped ?? '', /closing/);
});
