// The daemon's local socket (daemon/api/local-socket.ts) and the CLI's use of it (daemon/cli/local-socket.ts):
// where it is and who may open it, the same API with the token still required and no Host check, told only to a
// client on this host, a stale socket replaced, a live one or a non-socket left alone, removed on close; the CLI's
// checks before it sends the token there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { DaemonClient } from '../../daemon/cli/client.ts';
import { isLoopbackUrl, localDaemonUrl, localSocketProblem } from '../../daemon/cli/local-socket.ts';

const TOKEN = 'local-socket-test-token-0123456789abcdef';
const isRoot = process.geteuid?.() === 0;

function start(dataDir: string, o: { localSocket?: boolean } = {}): Promise<RunningDaemon> {
  return startDaemon({ dataDir, listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null, repoRoot: process.cwd(),
    network: null, httpPort: 80, safeMode: false, print: () => {}, consoleWarmUpKeys: 0, ...o });
}

/** One HTTP request over the unix socket at `path` or to `url`; status and body. */
function get(target: { socketPath: string } | { url: string }, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const where = 'socketPath' in target
    ? { socketPath: target.socketPath }
    : (() => { const u = new URL(target.url); return { host: u.hostname, port: Number(u.port) }; })();
  return new Promise((resolve, reject) => {
    const req = request({ ...where, path, method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'rs-local-sock-'));
}

test('serve on TCP with a data dir: the API also on <data>/run/api.sock (0600 in a 0700 folder), token required, no Host check; removed on close', async () => {
  const dir = tmp();
  const d = await start(join(dir, 'data'));
  const keepAlive = new Agent({ keepAlive: true });
  try {
    const path = join(dir, 'data', 'run', 'api.sock');
    assert.equal(d.localSocket, path);
    const st = lstatSync(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'data', 'run')).mode & 0o777, 0o700);
    // told over loopback TCP, with the token only
    const told = await get({ url: d.url }, '/api/v1/local-socket', { authorization: `Bearer ${TOKEN}` });
    assert.equal(told.status, 200);
    assert.deepEqual(JSON.parse(told.body), { path });
    assert.equal((await get({ url: d.url }, '/api/v1/local-socket', {})).status, 401);
    // through the socket: any Host (no browser reaches a unix socket), but the token as on TCP
    const viaSocket = await get({ socketPath: path }, '/api/v1/health', { host: 'rebound.example', authorization: `Bearer ${TOKEN}` });
    assert.equal(viaSocket.status, 200, viaSocket.body);
    assert.equal(JSON.parse(viaSocket.body).version, '0.1.0');
    assert.equal((await get({ socketPath: path }, '/api/v1/health', { host: 'localhost' })).status, 401, 'no token, no answer');
    assert.equal((await get({ socketPath: path }, '/api/v1/health', { host: 'localhost', authorization: 'Bearer wrong' })).status, 401);
    assert.deepEqual(JSON.parse((await get({ socketPath: path }, '/api/v1/local-socket', { host: 'x', authorization: `Bearer ${TOKEN}` })).body), { path });
    // the Host check still holds on TCP
    assert.equal((await get({ url: d.url }, '/api/v1/health', { host: 'rebound.example', authorization: `Bearer ${TOKEN}` })).status, 421);
    // a keep-alive connection left open on the socket does not hold the daemon's stop (fastify keeps them 72 s)
    await new Promise<void>((resolve, reject) => request({ socketPath: path, path: '/api/v1/health', agent: keepAlive, headers: { host: 'localhost', authorization: `Bearer ${TOKEN}` } },
      (res) => { res.resume(); res.on('end', () => resolve()); }).on('error', reject).end());
  } finally {
    const t0 = Date.now();
    await d.close();
    assert.ok(Date.now() - t0 < 5000, `the daemon stopped in ${Date.now() - t0} ms with a keep-alive connection on its local socket`);
    keepAlive.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!existsSync(join(dir, 'data', 'run', 'api.sock')), 'the socket file is gone after close');
});

test('another user cannot open the local socket (the run folder is the daemon user\'s only)', { skip: !isRoot && 'needs root to run a client as another uid' }, async () => {
  const dir = tmp();
  chmodSync(dir, 0o755);
  const d = await start(join(dir, 'data'));
  try {
    const code = 'require("net").connect({ path: process.argv[1] }).on("connect", () => { console.log("connected"); process.exit(0); }).on("error", (e) => { console.log(e.code); process.exit(0); })';
    const r = spawnSync(process.execPath, ['-e', code, d.localSocket!], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.stdout.trim(), 'EACCES', `uid 65534: ${r.stdout} ${r.stderr}`);
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stale socket (its daemon killed) is replaced; a live one and a non-socket are left alone and TCP serves alone', async () => {
  const dir = tmp();
  const data = join(dir, 'data');
  const run = join(data, 'run');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  chmodSync(data, 0o700);
  const path = join(run, 'api.sock');
  // stale: bound by a process that ended without removing it
  execFileSync('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', path]);
  assert.ok(lstatSync(path).isSocket());
  let d = await start(data);
  try {
    assert.equal(d.localSocket, path);
    assert.equal((await get({ socketPath: path }, '/api/v1/health', { host: 'localhost', authorization: `Bearer ${TOKEN}` })).status, 200);
  } finally {
    await d.close();
  }
  // live: somebody answers there
  const other = createServer((s) => { s.on('error', () => undefined); s.end('other\n'); });
  await new Promise<void>((r) => other.listen({ path }, r));
  try {
    d = await start(data);
    try {
      assert.equal(d.localSocket, null);
      const told = await get({ url: d.url }, '/api/v1/local-socket', { authorization: `Bearer ${TOKEN}` });
      assert.deepEqual(JSON.parse(told.body), { path: null });
      assert.ok(lstatSync(path).isSocket(), 'the other daemon keeps its socket');
    } finally {
      await d.close();
    }
    assert.ok(existsSync(path), 'closing this daemon did not remove the other one\'s socket');
  } finally {
    await new Promise<void>((r) => other.close(() => r()));
  }
  // not a socket: never deleted
  writeFileSync(path, 'precious');
  d = await start(data);
  try {
    assert.equal(d.localSocket, null);
  } finally {
    await d.close();
  }
  assert.ok(lstatSync(path).isFile(), 'the file is still there');
  // asked not to
  rmSync(path);
  d = await start(data, { localSocket: false });
  try {
    assert.equal(d.localSocket, null);
    assert.ok(!existsSync(path));
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: uses the local socket of a daemon on loopback, checked first; RACKSEED_LOCAL_SOCKET=0 keeps TCP', async () => {
  assert.ok(isLoopbackUrl('http://127.0.0.1:8443'));
  assert.ok(isLoopbackUrl('http://127.9.8.7:1'));
  assert.ok(isLoopbackUrl('http://[::1]:8443'));
  assert.ok(isLoopbackUrl('http://localhost:8080'));
  assert.ok(!isLoopbackUrl('http://10.0.0.5:8443'), 'another host: its socket path means nothing here');
  assert.ok(!isLoopbackUrl('http://127.0.0.1.example.com:80'));
  assert.ok(!isLoopbackUrl('unix:/run/x.sock'), 'already a unix socket');
  assert.ok(!isLoopbackUrl('not a url'));

  const dir = tmp();
  const d = await start(join(dir, 'data'));
  try {
    const client = new DaemonClient({ url: d.url, token: TOKEN });
    assert.equal(await localDaemonUrl(client, {}), `unix:${d.localSocket}`);
    assert.equal(await localDaemonUrl(client, { RACKSEED_LOCAL_SOCKET: '0' }), null);
    assert.equal(await localDaemonUrl(new DaemonClient({ url: d.url, token: 'wrong' }), {}), null, 'a refused token: TCP (which then says why)');
    assert.equal(await localDaemonUrl(new DaemonClient({ url: 'http://127.0.0.1:1', token: TOKEN }), {}), null, 'no daemon: null, no throw');
    assert.equal(localSocketProblem(d.localSocket!), null);
  } finally {
    await d.close();
  }
  // the checks before the token goes to a socket
  const folder = join(dir, 'sockets');
  mkdirSync(folder, { mode: 0o700 });
  const sock = join(folder, 's.sock');
  execFileSync('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', sock]);
  assert.equal(localSocketProblem(sock), null);
  assert.match(localSocketProblem('relative/s.sock') ?? '', /not an absolute path/);
  assert.match(localSocketProblem(join(folder, 'absent.sock')) ?? '', /ENOENT/);
  writeFileSync(join(folder, 'file'), '');
  assert.match(localSocketProblem(join(folder, 'file')) ?? '', /is not a socket/);
  symlinkSync(sock, join(folder, 'link.sock'));
  assert.match(localSocketProblem(join(folder, 'link.sock')) ?? '', /is not a socket/, 'a symlink is not followed');
  chmodSync(folder, 0o770);
  assert.match(localSocketProblem(sock) ?? '', /writable by group or others/);
  chmodSync(folder, 0o700);
  const linkedDir = join(dir, 'linked');
  symlinkSync(folder, linkedDir);
  assert.match(localSocketProblem(join(linkedDir, 's.sock')) ?? '', /not a folder \(or is a symlink\)/);
  if (isRoot) {
    chownSync(sock, 65534, 65534);
    assert.match(localSocketProblem(sock) ?? '', /belongs to uid 65534/);
    chownSync(sock, 0, 0);
    chownSync(folder, 65534, 65534);
    assert.match(localSocketProblem(sock) ?? '', /belongs to uid 65534/);
    assert.equal(localSocketProblem(sock, 65534), null, 'a folder of this user (65534) holding root\'s socket');
  }
  rmSync(dir, { recursive: true, force: true });
});
