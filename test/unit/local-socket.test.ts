// The daemon's local socket (daemon/api/local-socket.ts) and the CLI's use of it (daemon/cli/local-socket.ts):
// where it is and who may open it, the same API with the token still required and no Host check, sockets of killed
// daemons removed and nothing else, removed on close (a keep-alive connection and a WebSocket on it do not hold the
// stop); the CLI's checks before it sends the token there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { isLoopbackPeer } from '../../daemon/api/local-socket.ts';
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

test('serve on TCP with a data dir: the API also on <data>/run/api-<hex>.sock (0600 in a 0700 folder), token required, no Host check; removed on close', async () => {
  const dir = tmp();
  const d = await start(join(dir, 'data'));
  const keepAlive = new Agent({ keepAlive: true });
  let stream: WebSocket | null = null;
  try {
    const path = d.localSocket!;
    assert.match(path, new RegExp(`^${join(dir, 'data', 'run')}/api-[0-9a-f]{32}\\.sock$`), 'in the run folder, named per launch');
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
    // a WebSocket open through the socket when the daemon stops: closed by it, not waited for without end
    stream = new WebSocket(`ws+unix://${path}:/api/v1/stream`, { headers: { host: 'localhost', authorization: `Bearer ${TOKEN}` } });
    await new Promise((resolve, reject) => { stream!.once('open', resolve); stream!.once('error', reject); });
  } finally {
    const streamClosed = stream ? new Promise((r) => stream!.once('close', r)) : Promise.resolve();
    const t0 = Date.now();
    await d.close();
    assert.ok(Date.now() - t0 < 5000, `the daemon stopped in ${Date.now() - t0} ms with a keep-alive connection and a WebSocket on its local socket`);
    await streamClosed;
    assert.ok(!existsSync(d.localSocket!), 'the socket file is gone after close');
    keepAlive.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
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

/** A socket file as a daemon killed with SIGKILL leaves it: bound by a process that then died without closing it. */
function staleSocket(path: string): void {
  const code = 'require("net").createServer().listen(process.argv[1], () => process.kill(process.pid, "SIGKILL"))';
  spawnSync(process.execPath, ['-e', code, path], { timeout: 20_000 });
  assert.ok(lstatSync(path).isSocket(), `a stale socket at ${path}`);
}

const hexName = (): string => `api-${randomBytes(16).toString('hex')}.sock`;

test('sockets of killed daemons are removed at start; a live one, other files and other names are left alone', async () => {
  const dir = tmp();
  const data = join(dir, 'data');
  const run = join(data, 'run');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  chmodSync(data, 0o700);
  const stale = [join(run, hexName()), join(run, hexName())];
  for (const p of stale) staleSocket(p);
  const live = join(run, hexName());
  const other = createServer((s) => { s.on('error', () => undefined); s.end(); });
  await new Promise<void>((r) => other.listen({ path: live }, r));
  const notASocket = join(run, hexName());
  writeFileSync(notASocket, 'precious');
  const otherName = join(run, 'api.sock');
  staleSocket(otherName);
  let d = await start(data);
  try {
    assert.ok(d.localSocket && !stale.includes(d.localSocket) && d.localSocket !== live, 'a socket of its own');
    for (const p of stale) assert.ok(!existsSync(p), `${p} (nobody listening) removed`);
    assert.ok(lstatSync(live).isSocket(), 'the live one stays');
    assert.ok(lstatSync(notASocket).isFile(), 'a file that is not a socket stays');
    assert.ok(lstatSync(otherName).isSocket(), 'a socket of another name stays');
    assert.equal((await get({ socketPath: d.localSocket }, '/api/v1/health', { host: 'localhost', authorization: `Bearer ${TOKEN}` })).status, 200);
  } finally {
    await d.close();
    await new Promise<void>((r) => other.close(() => r()));
  }
  // asked not to
  d = await start(data, { localSocket: false });
  try {
    assert.equal(d.localSocket, null);
    assert.deepEqual(JSON.parse((await get({ url: d.url }, '/api/v1/local-socket', { authorization: `Bearer ${TOKEN}` })).body), { path: null });
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a data dir whose path a ws+unix URL cannot carry (a space): no local socket, TCP as before', async () => {
  const dir = tmp();
  const d = await start(join(dir, 'data dir'));
  try {
    assert.equal(d.localSocket, null);
    assert.equal((await get({ url: d.url }, '/api/v1/health', { authorization: `Bearer ${TOKEN}` })).status, 200);
  } finally {
    await d.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('only a peer on this host is told the path: loopback addresses, IPv4-mapped ones too', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.1']) assert.ok(isLoopbackPeer(a), a);
  for (const a of ['10.0.0.5', '::ffff:10.0.0.5', '192.168.1.127', '127.0.0.1.example', '::2', '', undefined]) assert.ok(!isLoopbackPeer(a), String(a));
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
  const sock = join(folder, hexName());
  staleSocket(sock);
  assert.equal(localSocketProblem(sock), null);
  assert.match(localSocketProblem(`relative/${hexName()}`) ?? '', /not an absolute path/);
  assert.match(localSocketProblem('/var/run/docker.sock') ?? '', /not named as a daemon's local socket/, 'only a daemon\'s socket gets the token');
  assert.match(localSocketProblem(join(folder, 'api.sock')) ?? '', /not named as a daemon's local socket/);
  assert.match(localSocketProblem(join(folder, hexName())) ?? '', /ENOENT/, 'a path another host\'s daemon named (a tunnel): absent here');
  assert.match(localSocketProblem(`/tmp/a b/${hexName()}`) ?? '', /characters outside/);
  const file = join(folder, hexName());
  writeFileSync(file, '');
  assert.match(localSocketProblem(file) ?? '', /is not a socket/);
  const link = join(folder, hexName());
  symlinkSync(sock, link);
  assert.match(localSocketProblem(link) ?? '', /is not a socket/, 'a symlink is not followed');
  chmodSync(folder, 0o770);
  assert.match(localSocketProblem(sock) ?? '', /writable by group or others/);
  chmodSync(folder, 0o700);
  const linkedDir = join(dir, 'linked');
  symlinkSync(folder, linkedDir);
  assert.match(localSocketProblem(join(linkedDir, basename(sock))) ?? '', /not a folder \(or is a symlink\)/);
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
