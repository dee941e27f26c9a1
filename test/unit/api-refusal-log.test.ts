// A refused API request is logged (daemon/api/access.ts, one rate-limited line per reason), but never with a secret
// its URL carries: the console and stream WebSockets take the token as `?token=` (also spelled `?%74oken=`, which the
// query parser decodes alike) and the one-time login URL carries `?code=`. A refusal with a *valid* token happens —
// a browser under another host name (421), a page on another origin (403) — and the daemon's log (stderr: the
// journal, the desktop app's log file) must not hand that token to whoever reads it. Before the fix the log line
// held `url: "/api/v1/nodes/x/console?token=<the token>"`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';

const TOKEN = 'refusal-log-test-token-0123456789abcdef';
const CODE = 'one-time-login-code-fedcba9876543210';
let d: RunningDaemon;
let dir: string;
let port: number;
const lines: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-refusal-log-'));
  const ui = join(dir, 'ui');
  mkdirSync(ui, { recursive: true });
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>RackSeed</title>');
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString('utf8')); cb(); } });
  d = await startDaemon({
    dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'info' }, sink), token: TOKEN, uiDir: ui, repoRoot: process.cwd(),
    network: null, httpPort: 80, safeMode: false, print: () => {},
  });
  port = Number(new URL(d.url).port);
});
after(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The status code of one raw HTTP/1.1 request (target sent as given). */
function status(target: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    const done = (): void => { sock.destroy(); resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(buf)?.[1] ?? 0)); };
    sock.setTimeout(5000, done);
    sock.on('data', (c) => { buf += c.toString('latin1'); if (buf.includes('\r\n\r\n')) done(); });
    sock.on('end', done);
    sock.on('error', reject);
    const h = { host: `127.0.0.1:${port}`, connection: 'close', ...headers };
    sock.write(`GET ${target} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  });
}

const upgrade = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };

test('refused requests are logged without the token or login code their URL carries', async () => {
  // another origin, a valid token in the query: refused (403) before the upgrade
  assert.equal(await status(`/api/v1/nodes/n1/console?client=ui&token=${TOKEN}`, { ...upgrade, origin: 'http://evil.example' }), 403);
  // a DNS-rebinding host name (421), the key percent-encoded
  assert.equal(await status(`/api/v1/stream?%74oken=${TOKEN}`, { ...upgrade, host: `rebind.example:${port}` }), 421);
  // the one-time login URL under a host name the daemon does not answer to
  assert.equal(await status(`/login?code=${CODE}`, { host: `other.example:${port}` }), 421);
  const refusals = lines.filter((l) => l.includes('API request refused'));
  assert.ok(refusals.length >= 2, `the refusals are logged (${refusals.length} lines)`);
  assert.ok(refusals.some((l) => l.includes('/api/v1/nodes/n1/console')), 'the refused path is still named');
  for (const l of lines) {
    assert.ok(!l.includes(TOKEN), `the token is not in the log: ${l}`);
    assert.ok(!l.includes(CODE), `the login code is not in the log: ${l}`);
  }
});
