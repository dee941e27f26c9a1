// Starting/attaching the daemon from Electron main (electron/daemon-process.ts), without Electron:
// the launch plan (pkexec on Linux, token never in argv), attach-by-env parsing, the sh wrapper's token
// handoff and parent heartbeat (real /bin/sh), and a real daemon started through the plan and polled ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  attachFromEnv, daemonLaunchPlan, freeLoopbackPort, newToken, spawnDaemon, waitUntilReady, WRAPPER_SCRIPT,
} from '../../electron/daemon-process.ts';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const base = { nodePath: '/usr/bin/node', daemonRoot: '/opt/RackSeed/resources/daemon', port: 43117, dataDir: '/var/lib/rackseed' };

test('Linux: pkexec runs the sh wrapper; the token is never in argv', () => {
  const p = daemonLaunchPlan({ ...base, platform: 'linux' });
  assert.equal(p.command, '/usr/bin/pkexec');
  assert.equal(p.elevated, true);
  assert.equal(p.tokenOnStdin, true);
  assert.deepEqual(p.args.slice(0, 5), ['/bin/sh', '-c', WRAPPER_SCRIPT, 'rackseed-daemon', base.daemonRoot]);
  assert.deepEqual(p.args.slice(5), ['/usr/bin/node', 'bin/rackseed.mjs', 'serve', '--listen', '127.0.0.1:43117', '--data', '/var/lib/rackseed']);
  assert.ok(!p.args.some((a) => /token/i.test(a) && a !== WRAPPER_SCRIPT));
  const dev = daemonLaunchPlan({ ...base, platform: 'linux', noElevate: true });
  assert.equal(dev.command, '/bin/sh');
  assert.equal(dev.elevated, false);
  const mac = daemonLaunchPlan({ ...base, platform: 'darwin' });
  assert.equal(mac.command, '/bin/sh');
  const win = daemonLaunchPlan({ ...base, platform: 'win32', nodePath: 'C:\\node\\node.exe' });
  assert.equal(win.command, 'C:\\node\\node.exe');
  assert.equal(win.tokenOnStdin, false);
  assert.throws(() => daemonLaunchPlan({ ...base, platform: 'linux', port: 0 }), RangeError);
  assert.throws(() => daemonLaunchPlan({ ...base, platform: 'linux', port: 70000 }), RangeError);
});

test('attachFromEnv: needs both variables and a plain http(s) origin', () => {
  assert.equal(attachFromEnv({}), null);
  assert.deepEqual(attachFromEnv({ RACKSEED_DAEMON_URL: 'http://127.0.0.1:18080/', RACKSEED_TOKEN: 't' }), { baseUrl: 'http://127.0.0.1:18080', token: 't' });
  assert.throws(() => attachFromEnv({ RACKSEED_DAEMON_URL: 'http://127.0.0.1:18080' }), /RACKSEED_TOKEN/);
  assert.throws(() => attachFromEnv({ RACKSEED_DAEMON_URL: 'file:///etc/passwd', RACKSEED_TOKEN: 't' }), /http/);
  assert.throws(() => attachFromEnv({ RACKSEED_DAEMON_URL: 'http://u:p@127.0.0.1:1/', RACKSEED_TOKEN: 't' }), /plain origin/);
  assert.throws(() => attachFromEnv({ RACKSEED_DAEMON_URL: 'nope', RACKSEED_TOKEN: 't' }), /not a URL/);
  assert.match(newToken(), /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(newToken(), newToken());
});

test('the sh wrapper hands the stdin token to the daemon and stops it when the pipe closes', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-ui-wrap-'));
  let child: ReturnType<typeof spawn> | null = null;
  try {
    const out = join(dir, 'env.txt');
    // stand-in daemon: a real node process that records its token and cwd, then runs until killed
    const script = `require('fs').writeFileSync(${JSON.stringify(out)}, process.env.RACKSEED_TOKEN + '|' + process.cwd()); setInterval(() => {}, 1000)`;
    child = spawn('/bin/sh', ['-c', WRAPPER_SCRIPT, 'rackseed-daemon', dir, process.execPath, '-e', script], { stdio: ['pipe', 'inherit', 'inherit'] });
    child.stdin!.write('s3cr3t-token\n');
    const deadline = Date.now() + 10_000;
    while (!existsSync(out) || !readFileSync(out, 'utf8')) {
      assert.ok(Date.now() < deadline, 'the wrapped process started');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(readFileSync(out, 'utf8'), `s3cr3t-token|${dir}`);
    // under the wrapper: the daemon and the `cat` that waits for EOF on the heartbeat pipe
    const kids = execFileSync('pgrep', ['-a', '-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    const grandchild = kids.filter((l) => l.includes(process.execPath)).map((l) => l.split(' ')[0]);
    assert.equal(grandchild.length, 1, `one daemon process under the wrapper: ${kids.join('; ')}`);
    const c = child;
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    c.stdin!.end(); // Electron went away
    const code = await exited;
    assert.equal(code, 143, 'the wrapper reports the daemon ended by SIGTERM');
    let alive = true;
    try { process.kill(Number(grandchild[0]), 0); } catch { alive = false; }
    assert.equal(alive, false, 'the daemon is gone');
  } finally {
    if (child && child.exitCode === null) { child.stdin?.destroy(); child.kill('SIGKILL'); }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real daemon started through the plan becomes ready with the token, and stops on stop()', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rs-ui-daemon-'));
  const port = await freeLoopbackPort();
  const token = newToken();
  const plan = daemonLaunchPlan({ platform: process.platform, nodePath: process.execPath, daemonRoot: REPO, port, dataDir, noElevate: true });
  const lines: string[] = [];
  const d = spawnDaemon(plan, REPO, port, token, (l) => lines.push(l));
  try {
    await waitUntilReady(d, 60_000, d.child);
    const health = await fetch(`${d.baseUrl}/api/v1/health`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(health.status, 200);
    const refused = await fetch(`${d.baseUrl}/api/v1/health`);
    assert.equal(refused.status, 401);
    await assert.rejects(waitUntilReady({ baseUrl: d.baseUrl, token: 'wrong' }, 5_000), /401/);
    assert.ok(!lines.join('\n').includes(token), 'the daemon never prints the token');
  } finally {
    await d.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  assert.notEqual(d.child.exitCode ?? d.child.signalCode, null, 'wrapper exited');
  await assert.rejects(fetch(`${d.baseUrl}/api/v1/health`), 'the daemon no longer listens');
});
