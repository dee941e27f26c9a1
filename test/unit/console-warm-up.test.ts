// The console path's JIT warm-up (daemon/console-warm-up.ts, bmc/ipmi/session/scratch-sol.ts): the daemon opens
// consoles on itself through its own listener and console route, on a scratch SOL console over a loopback UDP pair;
// every keystroke comes back as an echo, nothing is left behind (sockets, temp folder, one-time ids), the daemon's
// console logs and event bus are not touched, a stranger's datagram is dropped, and close stops it.
import WebSocket from 'ws';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { scratchSol } from '../../bmc/ipmi/session/scratch-sol.ts';
import { warmUpConsoles } from '../../daemon/console-warm-up.ts';
import { startDaemon } from '../../daemon/daemon.ts';
import type { ConsoleManager } from '../../core/console/manager.ts';

/** handles of a kind still open; a handle closed a moment ago is listed until its close completes, hence the wait */
async function handles(kind: 'UDPWrap'): Promise<number> {
  await new Promise((r) => setTimeout(r, 20));
  return process.getActiveResourcesInfo().filter((x) => x === kind).length;
}
const udpSockets = (): Promise<number> => handles('UDPWrap');
const TOKEN = 'console-warm-up-test-token-0123456789';

test('scratch SOL: keystrokes round-trip through encode/encrypt/HMAC over a loopback UDP pair; a stranger is dropped; both sockets closed after', async () => {
  const before = await udpSockets();
  for (const suite of [17, 3] as const) {
    const s = await scratchSol(suite);
    try {
      assert.equal(s.session.state, 'established');
      assert.equal(s.session.suite?.id, suite);
      assert.equal(s.bmc.host, '127.0.0.1');
      const got: Buffer[] = [];
      s.console.on('data', (d: Buffer) => got.push(d));
      const drained = new Promise<void>((resolve) => s.console.once('drain', resolve));
      s.console.write('hello\r');
      await drained;
      for (let i = 0; i < 500 && Buffer.concat(got).length < 6; i++) await new Promise((r) => setTimeout(r, 2));
      assert.equal(Buffer.concat(got).toString(), 'hello\r', `suite ${suite}: the echo is what was typed`);
      assert.equal(s.stats.typed, 6);
      assert.equal(s.stats.refused, 0, 'the BMC side verified every auth code and decrypted every packet');
      assert.equal(s.console.stats.dropped, 0, 'the console verified every auth code of the BMC side');
      assert.ok(s.console.stats.sentPackets >= 2 && s.console.stats.receivedPackets >= 2);
      assert.equal(s.console.backlog, 0);
      // a datagram from another port of this host: counted and dropped, no answer
      const stranger = dgram.createSocket('udp4');
      const answers: Buffer[] = [];
      stranger.on('message', (m) => answers.push(m));
      await new Promise<void>((resolve) => stranger.send(Buffer.from([0x06, 0x00, 0xff, 0x07, 0x06, 0x01]), s.bmc.port, '127.0.0.1', () => resolve()));
      for (let i = 0; i < 200 && s.stats.strangers === 0; i++) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(s.stats.strangers, 1);
      assert.deepEqual(answers, []);
      await new Promise<void>((resolve) => stranger.close(() => resolve()));
    } finally {
      await s.console.close();
      await s.session.close();
      await s.close();
    }
  }
  assert.equal(await udpSockets(), before, 'no UDP socket left');
});

test('daemon: the warm-up runs once after start through its own console route, off its console logs and event bus; close stops it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-console-warm-up-'));
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  const tmpBefore = readdirSync(tmpdir()).filter((f) => f.startsWith('rackseed-console-warm-up-'));
  const udpBefore = await udpSockets();
  let d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'debug' }, sink), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {}, consoleWarmUpKeys: 200 });
  const seen: unknown[] = [];
  const unsubscribe = d.core.bus.subscribe((m) => seen.push(m));
  try {
    const deadline = Date.now() + 60_000;
    while (!lines.some((l) => l.includes('console warm-up')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const done = lines.find((l) => l.includes('console warm-up'));
    assert.ok(done, `the daemon logged the warm-up's end; log: ${lines.slice(-5).join('')}`);
    const f = JSON.parse(done) as { msg: string; level: number; keystrokes: number; echoed: number; drains: number; datagrams: number; strangers: number };
    assert.equal(f.msg, 'console warm-up done', done);
    assert.equal(f.level, 30, 'logged at info: one line a start');
    assert.equal(f.keystrokes, 200);
    assert.ok(f.echoed > 200, 'every keystroke came back over the WebSocket, a few of them whole lines');
    assert.equal(f.drains, 2, 'every 64th exchange a drain → drained (100 keystrokes on each of the two consoles)');
    assert.ok(f.datagrams >= 400, `SOL datagrams both ways over loopback UDP (${f.datagrams})`);
    assert.equal(f.strangers, 0);
    const consoleDir = join(dir, 'data', 'console');
    assert.deepEqual(existsSync(consoleDir) ? readdirSync(consoleDir) : [], [], 'no console log in the data dir');
    assert.deepEqual(seen, [], 'nothing on the event bus');
    assert.equal(await udpSockets(), udpBefore, 'its UDP sockets are closed');
    assert.deepEqual(readdirSync(tmpdir()).filter((f2) => f2.startsWith('rackseed-console-warm-up-')), tmpBefore, 'its temp folder is removed');
    // its ids are gone with it: the same form of id is now an unknown node
    const id = `warm-up-${'0'.repeat(32)}`;
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${d.url.replace('http', 'ws')}/api/v1/nodes/${id}/console`, { headers: { authorization: `Bearer ${TOKEN}` } });
      ws.on('message', (m: Buffer) => { const x = JSON.parse(m.toString()) as { type: string; code?: string }; if (x.type === 'error') resolve(x.code ?? ''); });
      ws.on('close', () => resolve('closed'));
      ws.on('error', (e) => resolve(e.message));
    });
    assert.equal(refused, 'not-found', 'a finished warm-up id is refused like any unknown node');
    unsubscribe();
    await d.close();
    // closing right after start stops the warm-up between keystrokes and waits for it
    d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
      repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {}, consoleWarmUpKeys: 100_000 });
    // while it runs: one one-time id, served through the daemon's own WebSocket server (its console route)
    const wss = (d.api as unknown as { websocketServer: { clients: Set<unknown> } }).websocketServer;
    let during = { ids: 0, clients: 0 };
    for (let i = 0; i < 100 && during.clients === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      during = { ids: d.warmUpConsoleIds.size, clients: wss.clients.size };
    }
    assert.deepEqual(during, { ids: 1, clients: 1 }, 'the warm-up is a client of the daemon\'s own console route');
  } finally {
    const t0 = Date.now();
    await d.close();
    assert.ok(Date.now() - t0 < 10_000, 'close does not wait for 100,000 keystrokes');
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(await udpSockets(), udpBefore, 'no UDP socket left after a warm-up stopped by close');
});

test('warmUpConsoles: without the daemon\'s token the route refuses it before the upgrade; it reports that and leaves nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-console-warm-up-'));
  const d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {}, consoleWarmUpKeys: 0 });
  try {
    const consoles = new Map<string, ConsoleManager>();
    const r = await warmUpConsoles({ url: d.url, token: 'not-the-token-0123456789abcdef', consoles }, 50);
    assert.equal(r.keystrokes, 0);
    assert.match(r.stopped ?? '', /did not open: WebSocket: Unexpected server response: 401/);
    assert.equal(consoles.size, 0, 'its one-time id removed');
    // with the token (and another target map than the daemon's own), the route does not know the id: refused, 404
    const r2 = await warmUpConsoles({ url: d.url, token: TOKEN, consoles }, 50);
    assert.match(r2.stopped ?? '', /did not open: error: no node warm-up-/);
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pacing: the warm-up waits while the daemon is busy and go on when it is not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-console-warm-up-'));
  const d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {}, consoleWarmUpKeys: 0 });
  try {
    const own = d.warmUpConsoleIds;
    const until = performance.now() + 400;
    let asked = 0;
    const busy = () => { asked++; return performance.now() < until; };
    const r = await warmUpConsoles({ url: d.url, token: TOKEN, consoles: own }, 60, undefined, { busy });
    assert.equal(r.stopped, null);
    assert.equal(r.keystrokes, 60);
    assert.ok(r.pausedMs >= 300, `paused ${r.pausedMs} ms`);
    assert.ok(asked >= 60, 'asked before every keystroke');
    // a daemon closing during the pause stops it there
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    const s = await warmUpConsoles({ url: d.url, token: TOKEN, consoles: own }, 60, stop.signal, { busy: () => true });
    assert.equal(s.keystrokes, 0);
    assert.match(s.stopped ?? '', /closing/);
    assert.equal(own.size, 0);
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
