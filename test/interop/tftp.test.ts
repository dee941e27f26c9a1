// TFTP interop in network namespaces: RackSeed's TFTP server on 10.232.0.1:69 in one namespace, the Debian
// clients (tftp-hpa, curl, atftp) in another, joined by a veth pair. A 40 MB random file must arrive intact
// with each client (tftp-hpa has no blksize option: 512-byte blocks, so block numbers roll over past 65535);
// traversal attempts and a symlink out of the root get ERROR 2, a missing file ERROR 1, and the server keeps serving.
// A second server with transfer worker threads (the daemon's default on ≥ 2 cores) serves the same file to curl and
// to 4 concurrent atftp clients with windowsize 16.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NetnsSandbox, canUseNetns, waitExit } from '../helpers/netns.ts';

const REPO = resolve(import.meta.dirname, '../..');
const SERVER = '10.232.0.1';
/** a second server in the same namespace with `--workers 2`: transfers run on worker threads (the daemon's default on ≥ 2 cores) */
const SERVER_W = '10.232.0.3';
const sandbox = new NetnsSandbox();
let dir: string;
let root: string;
let nsServer: string;
let nsClient: string;
let main: RunningServer;
let pooled: RunningServer;
let bigSha: string;

function sha256(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash('sha256');
    createReadStream(path).on('error', fail).on('data', (c) => h.update(c)).on('end', () => ok(h.digest('hex')));
  });
}

/** Run a client inside the client namespace; never throws, returns status and combined output. */
function client(cmd: string, args: string[], timeoutMs = 180_000): { status: number | null; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', nsClient, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, cwd: dir });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

before(async () => {
  assert.ok(canUseNetns(), 'interop tests need root and iproute2 (network namespaces)');
  dir = await mkdtemp(join(tmpdir(), 'rs-tftp-interop-'));
  root = join(dir, 'root');
  spawnSync('mkdir', ['-p', root]);
  // 40 MB of random data, written in 1 MB pieces
  const fh = await open(join(root, 'big.bin'), 'w');
  const { randomBytes } = await import('node:crypto');
  for (let i = 0; i < 40; i++) await fh.write(randomBytes(1024 * 1024));
  await fh.close();
  bigSha = await sha256(join(root, 'big.bin'));
  await writeFile(join(root, 'small.bin'), 'small file\n');
  await writeFile(join(dir, 'outside.txt'), 'TOP-SECRET-CONTENT\n');
  await symlink(join(dir, 'outside.txt'), join(root, 'escape.txt'));
  await symlink('/etc/passwd', join(root, 'passwd'));

  nsServer = sandbox.addNamespace('tftp-srv');
  nsClient = sandbox.addNamespace('tftp-cli');
  sandbox.addVeth({ ns: nsServer, name: 'prov0', cidr: `${SERVER}/24` }, { ns: nsClient, name: 'eth0', cidr: '10.232.0.2/24' });
  sandbox.exec(nsServer, 'ip', ['addr', 'add', `${SERVER_W}/24`, 'dev', 'prov0']);
  main = await startServer(SERVER, []);
  pooled = await startServer(SERVER_W, ['--workers', '2']);
});

interface RunningServer { proc: ChildProcess; out: () => string }

/** The daemon's TFTP server (standalone.ts) on `address`:69 in the server namespace; resolves once it is listening. */
async function startServer(address: string, extra: string[]): Promise<RunningServer> {
  const proc = sandbox.spawn(nsServer, process.execPath, ['--import', 'tsx', 'netboot/tftp/server/standalone.ts', '--root', root, '--address', address, '--port', '69', '--log-level', 'warn', ...extra], { cwd: REPO });
  let out = '';
  proc.stderr!.on('data', (d) => process.stderr.write(`[tftp server ${address}] ${d}`));
  await new Promise<void>((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`server ${address} not ready: ${out}`)), 20_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready ')) { clearTimeout(t); ok(); }
    });
    proc.once('exit', (code) => fail(new Error(`server ${address} exited ${code}: ${out}`)));
  });
  return { proc, out: () => out };
}

/** Stop a server with SIGTERM; its last stdout line is its counters. */
async function stopAndCount(s: RunningServer): Promise<Record<string, number>> {
  s.proc.kill('SIGTERM');
  assert.ok(await waitExit(s.proc, 5000));
  return JSON.parse(s.out().trim().split('\n').at(-1)!) as Record<string, number>;
}

after(async () => {
  await sandbox.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('tftp-hpa (-m binary, 512-byte blocks, block numbers roll over) gets 40 MB intact', async () => {
  const out = join(dir, 'hpa.bin');
  const r = client('tftp', ['-m', 'binary', '-v', SERVER, '-c', 'get', 'big.bin', out]);
  assert.equal(r.status, 0, r.out);
  assert.equal(await sha256(out), bigSha);
});

test('curl --tftp-blksize 1468 gets 40 MB intact', async () => {
  const out = join(dir, 'curl.bin');
  const r = client('curl', ['-sS', '--max-time', '170', '--tftp-blksize', '1468', '-o', out, `tftp://${SERVER}/big.bin`]);
  assert.equal(r.status, 0, r.out);
  assert.equal(await sha256(out), bigSha);
});

test('atftp with windowsize 16 and blksize 1468 (RFC 7440) gets 40 MB intact', async () => {
  const out = join(dir, 'atftp.bin');
  const r = client('atftp', ['--option', 'windowsize 16', '--option', 'blksize 1468', '--option', 'tsize 0', '--verbose', '-g', '-r', 'big.bin', '-l', out, SERVER]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /windowsize = 16/);
  assert.equal(await sha256(out), bigSha);
});

test('traversal (../etc/passwd, /etc/passwd, symlinks out of the root) gets ERROR 2; nothing leaks', async () => {
  for (const name of ['../etc/passwd', '../../../../etc/passwd', '/etc/passwd', 'escape.txt', 'passwd']) {
    const out = join(dir, `trav-${name.replace(/\W/g, '_')}`);
    const r = client('atftp', ['-g', '-r', name, '-l', out, SERVER], 30_000);
    assert.notEqual(r.status, 0, `${name}: ${r.out}`);
    assert.match(r.out, /error received from server <Access violation/, name);
    const leaked = spawnSync('cat', [out], { encoding: 'utf8' }).stdout ?? '';
    assert.doesNotMatch(leaked, /TOP-SECRET|root:/, name);
  }
  const hpa = client('tftp', ['-m', 'binary', SERVER, '-c', 'get', 'escape.txt', join(dir, 'hpa-escape')], 30_000);
  assert.match(hpa.out, /Error code 2: Access violation/);
});

test('missing file → ERROR 1 (File not found) and the server keeps serving', async () => {
  const r = client('tftp', ['-m', 'binary', SERVER, '-c', 'get', 'pxelinux.cfg/01-52-54-00-00-00-01', join(dir, 'missing')], 30_000);
  assert.match(r.out, /Error code 1: File not found/);
  const c = client('curl', ['-sS', '--max-time', '20', '-o', '-', `tftp://${SERVER}/missing.efi`], 30_000);
  assert.equal(c.status, 68, `curl exit 68 is CURLE_TFTP_NOTFOUND: ${c.out}`);
  const ok = client('curl', ['-sS', '--max-time', '20', '-o', '-', `tftp://${SERVER}/small.bin`], 30_000);
  assert.equal(ok.status, 0, ok.out);
  assert.equal(ok.out, 'small file\n');
});

test('transfer workers: curl, atftp windowsize 16 and 4 concurrent atftp downloads each get 40 MB intact', async () => {
  const c = client('curl', ['-sS', '--max-time', '170', '--tftp-blksize', '1468', '-o', join(dir, 'w-curl.bin'), `tftp://${SERVER_W}/big.bin`]);
  assert.equal(c.status, 0, c.out);
  assert.equal(await sha256(join(dir, 'w-curl.bin')), bigSha);
  const outs = [0, 1, 2, 3].map((i) => join(dir, `w-atftp-${i}.bin`));
  const runs = await Promise.all(outs.map((out) => new Promise<{ status: number | null; out: string }>((ok) => {
    const p = spawn('ip', ['netns', 'exec', nsClient, 'atftp', '--option', 'windowsize 16', '--option', 'blksize 1468', '--verbose', '-g', '-r', 'big.bin', '-l', out, SERVER_W], { cwd: dir });
    let text = '';
    p.stdout.on('data', (d) => (text += d));
    p.stderr.on('data', (d) => (text += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 180_000);
    p.on('exit', (status) => { clearTimeout(t); ok({ status, out: text }); });
  })));
  for (const [i, r] of runs.entries()) {
    assert.equal(r.status, 0, `client ${i}: ${r.out}`);
    assert.match(r.out, /windowsize = 16/);
    assert.equal(await sha256(outs[i]!), bigSha, `client ${i}`);
  }
  const missing = client('curl', ['-sS', '--max-time', '20', '-o', '-', `tftp://${SERVER_W}/missing.efi`], 30_000);
  assert.equal(missing.status, 68, missing.out);
});

test('counters at shutdown: every download done, every refusal counted', async () => {
  const counters = await stopAndCount(main);
  assert.equal(counters.done, 4);
  assert.equal(counters.bytes, 3 * 40 * 1024 * 1024 + 'small file\n'.length);
  assert.ok(counters.errors >= 8, JSON.stringify(counters));
  assert.equal(counters.active, 0);
  const w = await stopAndCount(pooled);
  assert.equal(w.done, 5, JSON.stringify(w));
  assert.equal(w.bytes, 5 * 40 * 1024 * 1024, JSON.stringify(w));
  assert.equal(w.active, 0);
});
