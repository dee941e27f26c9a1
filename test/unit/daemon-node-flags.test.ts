// bin/rackseed.mjs applies the daemon's Node flags (bin/daemon-node-flags.mjs) by re-executing itself: `rackseed
// serve` started as plain `node bin/rackseed.mjs serve` runs with DAEMON_NODE_FLAGS in the same process (same
// PID, stdin/stdout kept, environment kept) and serves its API; a caller's own flag wins; other subcommands are
// left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS, daemonReexecArgv, profilerFlag } from '../../bin/daemon-node-flags.mjs';
import { waitExit } from '../helpers/netns.ts';

const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const BIN = join(REPO, 'bin', 'rackseed.mjs');

test('daemonReexecArgv: serve on Linux gets the flags before the caller\'s own node flags; not twice, not for other commands or platforms', () => {
  const base = { execPath: '/usr/bin/node', execArgv: ['--inspect=0'], argv: ['/usr/bin/node', BIN, 'serve', '--listen', '127.0.0.1:1'], platform: 'linux' };
  assert.deepEqual(DAEMON_NODE_FLAGS, ['--max-semi-space-size=2', '--heap-growing-percent=20']);
  assert.deepEqual(daemonReexecArgv(base), ['/usr/bin/node', '--max-semi-space-size=2', '--heap-growing-percent=20', '--inspect=0', BIN, 'serve', '--listen', '127.0.0.1:1']);
  assert.equal(daemonReexecArgv({ ...base, execArgv: ['--max-semi-space-size=2'] }), null, 'the re-executed process (or a caller that gave the flag)');
  assert.equal(daemonReexecArgv({ ...base, execArgv: ['--max-semi-space-size=16'] }), null, 'a caller\'s own size wins');
  assert.equal(daemonReexecArgv({ ...base, nodeOptions: '--no-warnings --max-semi-space-size=8' }), null, 'NODE_OPTIONS counts too');
  assert.equal(daemonReexecArgv({ ...base, argv: ['/usr/bin/node', BIN, 'nodes', 'list'] }), null, 'short-lived subcommands run as started');
  assert.equal(daemonReexecArgv({ ...base, platform: 'win32' }), null);
  // a CPU profiler's ITIMER_PROF outlives execve and its SIGPROF would kill the new image
  assert.equal(daemonReexecArgv({ ...base, execArgv: ['--cpu-prof', '--cpu-prof-dir=/tmp/p'] }), null, '--cpu-prof: not re-executed');
  assert.equal(daemonReexecArgv({ ...base, nodeOptions: '--prof' }), null, '--prof in NODE_OPTIONS');
  assert.equal(profilerFlag({ execArgv: ['--cpu-prof-dir=/tmp/p'] }), null, 'a profile folder alone starts no profiler');
  assert.equal(profilerFlag({ execArgv: [], nodeOptions: '--no-warnings --cpu-prof' }), '--cpu-prof');
});

interface Started { child: ChildProcess; out: () => string; err: () => string; url: Promise<string>; dir: string }

function startServe(nodeArgs: string[]): Started {
  const dir = mkdtempSync(join(tmpdir(), 'rs-node-flags-'));
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data')], {
    cwd: REPO, env: { ...process.env, RACKSEED_TOKEN: 'node-flags-test-token-0123456789', RACKSEED_LOG_JSON: '1', NODE_OPTIONS: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 90 s: ${err}`)), 90_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /RackSeed is listening on (http:\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited (${code}): ${err}`)); });
  });
  return { child, out: () => out, err: () => err, url, dir };
}

async function stop(s: Started): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    s.child.kill('SIGTERM');
    if (!(await waitExit(s.child, 10_000))) s.child.kill('SIGKILL');
  }
  rmSync(s.dir, { recursive: true, force: true });
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

test('node bin/rackseed.mjs serve runs as the same process with the daemon\'s flags (--max-semi-space-size=2 --heap-growing-percent=20), keeps stdin/stdout and its environment, and serves', { timeout: 120_000 }, async () => {
  const s = startServe([]);
  try {
    const url = await s.url; // printed on stdout after the re-exec: stdout survived it
    const pid = s.child.pid!;
    assert.deepEqual(cmdline(pid).slice(0, 4), [process.execPath, '--max-semi-space-size=2', '--heap-growing-percent=20', BIN], 'the spawned PID itself runs with the flags');
    // Node spawn's 'pipe' is a socketpair; Node marks fds 0-2 close-on-exec, which would leave /dev/null here
    assert.match(readlinkSync(`/proc/${pid}/fd/0`), /^(pipe|socket):/, 'stdin (the desktop wrapper\'s heartbeat) is still the parent\'s pipe');
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    assert.ok(env.includes('RACKSEED_LOG_JSON=1'), 'environment kept');
    const res = await fetch(`${url}/api/v1/health`, { headers: { authorization: 'Bearer node-flags-test-token-0123456789' } });
    assert.equal(res.status, 200, await res.text());
  } finally {
    await stop(s);
  }
});

test('a caller\'s own --max-semi-space-size is kept: no re-exec', { timeout: 120_000 }, async () => {
  const s = startServe(['--max-semi-space-size=8']);
  try {
    await s.url;
    const args = cmdline(s.child.pid!);
    assert.deepEqual(args.slice(0, 3), [process.execPath, '--max-semi-space-size=8', BIN]);
    assert.ok(!args.includes('--max-semi-space-size=2') && !args.includes('--heap-growing-percent=20'));
  } finally {
    await stop(s);
  }
});

test('a profiled serve (node --cpu-prof) is not re-executed: it serves, says why on stderr, and writes its profile at exit', { timeout: 120_000 }, async () => {
  const profDir = mkdtempSync(join(tmpdir(), 'rs-node-flags-prof-'));
  const s = startServe(['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
  try {
    const url = await s.url; // before the fix: killed by SIGPROF ("Profiling timer expired") right after the re-exec
    const res = await fetch(`${url}/api/v1/health`);
    assert.ok(res.status < 500, `the API answers (${res.status})`);
    assert.deepEqual(cmdline(s.child.pid!).slice(0, 3), [process.execPath, '--cpu-prof', `--cpu-prof-dir=${profDir}`]);
    assert.match(s.err(), /--cpu-prof: not re-executing/);
    s.child.kill('SIGTERM');
    assert.ok(await waitExit(s.child, 20_000), 'stops on SIGTERM');
    assert.equal(s.child.signalCode, null, `ended by itself, not by a signal (${s.child.signalCode})`);
    assert.ok(readdirSync(profDir).some((f) => f.endsWith('.cpuprofile')), 'the profile was written');
  } finally {
    await stop(s);
    rmSync(profDir, { recursive: true, force: true });
  }
});
