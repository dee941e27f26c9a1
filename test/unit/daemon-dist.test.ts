// The precompiled daemon (bin/daemon-dist.mjs, dist/daemon) and how bin/rackseed.mjs picks it (issue 19, item 2):
// - a stand-in package: bin/rackseed.mjs runs the sources through tsx until dist/daemon is built, then the compiled
//   files; every kind of edit (content, same size, an older mtime, a new file, a removed file, tsconfig.json) sends
//   it back to tsx with the reason on stderr exactly once (also across `serve`'s re-exec), never stale code;
// - the real daemon compiled from a copy of the sources, in a package whose node_modules has no tsx at all: the CLI,
//   `rackseed serve` (with its event-log worker) and the TFTP transfer, HTTP sendfile, extent-map and image-hash
//   worker threads all run from dist/daemon (any of them reaching for tsx would fail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SOURCE_DIRS } from '../../bin/daemon-dist.mjs';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const BIN_FILES = ['rackseed.mjs', 'daemon-node-flags.mjs', 'daemon-dist.mjs'];

function run(pkg: string, args: string[], env: Record<string, string> = {}) {
  const e: NodeJS.ProcessEnv = { ...process.env };
  delete e.NODE_OPTIONS;
  delete e.RACKSEED_FROM_SOURCE;
  Object.assign(e, env);
  const r = spawnSync(process.execPath, args, { cwd: pkg, env: e, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FALLBACK = /rackseed: running the TypeScript sources through tsx: /g;

/** A package with bin/, a two-file daemon/ + core/ and the repo's node_modules (tsx, esbuild, koffi). */
function standIn(): string {
  const pkg = mkdtempSync(join(tmpdir(), 'rs-dist-'));
  mkdirSync(join(pkg, 'bin'));
  for (const f of BIN_FILES) cpSync(join(REPO, 'bin', f), join(pkg, 'bin', f));
  cpSync(join(REPO, 'tsconfig.json'), join(pkg, 'tsconfig.json'));
  writeFileSync(join(pkg, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'));
  mkdirSync(join(pkg, 'daemon', 'cli'), { recursive: true });
  mkdirSync(join(pkg, 'core'));
  writeFileSync(join(pkg, 'daemon', 'cli', 'main.ts'), [
    "import { extname } from 'node:path';",
    "import { fileURLToPath } from 'node:url';",
    "import { value } from '../../core/value.ts';",
    'const v: string = value;',
    'console.log(JSON.stringify({ value: v, ext: extname(fileURLToPath(import.meta.url)), args: process.argv.slice(2), flags: process.execArgv }));',
  ].join('\n'));
  writeFileSync(join(pkg, 'core', 'value.ts'), "export const value: string = 'one';\n");
  return pkg;
}

interface Ran { value: string; ext: string; args: string[]; flags: string[] }
function ranWhat(r: { status: number | null; stdout: string; stderr: string }): Ran {
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Ran;
}

/** Runs `hello` and `serve` (re-exec with the daemon's flags): the compiled files, and not a word on stderr. */
function assertCompiled(pkg: string, value: string): void {
  for (const args of [['hello'], ['serve']]) {
    const r = run(pkg, ['bin/rackseed.mjs', ...args]);
    const got = ranWhat(r);
    assert.deepEqual([got.value, got.ext, got.args], [value, '.js', args], `${args[0]}: the compiled daemon ran`);
    assert.equal(r.stderr, '', 'nothing said about tsx');
    if (args[0] === 'serve') assert.ok(got.flags.includes('--max-semi-space-size=2'), 're-executed with the daemon flags');
  }
}

/** Runs `hello` and `serve`: the sources through tsx, with `why` said once on stderr (once across serve's re-exec). */
function assertFromSource(pkg: string, value: string, why: RegExp): void {
  for (const args of [['hello'], ['serve']]) {
    const r = run(pkg, ['bin/rackseed.mjs', ...args]);
    const got = ranWhat(r);
    assert.deepEqual([got.value, got.ext], [value, '.ts'], `${args[0]}: the sources ran`);
    assert.equal(r.stderr.match(FALLBACK)?.length, 1, `said once: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /`npm run build:daemon` compiles dist\/daemon/);
  }
}

function build(pkg: string): void {
  const b = run(pkg, ['bin/daemon-dist.mjs', 'build']);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /compiled the daemon \(\d+ files\) into dist\/daemon/);
}

function check(pkg: string): number | null {
  return run(pkg, ['bin/daemon-dist.mjs', 'check']).status;
}

test('bin/rackseed.mjs runs dist/daemon only while it matches the sources, else tsx and says why once', { timeout: 240_000 }, () => {
  const pkg = standIn();
  const value = join(pkg, 'core', 'value.ts');
  try {
    assertFromSource(pkg, 'one', /dist\/daemon is not built/);
    assert.equal(check(pkg), 1);
    build(pkg);
    assert.equal(check(pkg), 0);
    assert.equal(readFileSync(join(pkg, 'dist', 'daemon', 'daemon', 'cli', 'main.js'), 'utf8').includes('"../../core/value.js"'), true, 'imports point at the compiled files');
    assertCompiled(pkg, 'one');
    assert.deepEqual(readdirSync(join(pkg, 'dist')), ['daemon'], 'no build leftovers beside dist/daemon');
    for (const d of ['daemon', 'daemon/cli', 'core']) assert.equal(statSync(join(pkg, 'dist', 'daemon', d)).mode & 0o7777, 0o755, d);
    assert.equal(statSync(join(pkg, 'dist', 'daemon', 'core', 'value.js')).mode & 0o7777, 0o644);

    // an edit
    writeFileSync(value, "export const value: string = 'two';\n");
    assertFromSource(pkg, 'two', /dist\/daemon is older than the sources \(core\/value\.ts changed\)/);
    build(pkg);
    assertCompiled(pkg, 'two');

    // same size, later mtime
    writeFileSync(value, "export const value: string = 'owt';\n");
    const later = new Date(statSync(value).mtimeMs + 5000);
    utimesSync(value, later, later);
    assertFromSource(pkg, 'owt', /core\/value\.ts changed/);
    build(pkg);
    assertCompiled(pkg, 'owt');

    // the same content with an older mtime (a restored copy): stale too — it errs on the side of tsx
    const earlier = new Date(statSync(value).mtimeMs - 3_600_000);
    utimesSync(value, earlier, earlier);
    assertFromSource(pkg, 'owt', /core\/value\.ts changed/);
    build(pkg);

    // a new file, then a removed one, then tsconfig.json
    writeFileSync(join(pkg, 'core', 'extra.ts'), 'export const extra = 1;\n');
    assertFromSource(pkg, 'owt', /core\/extra\.ts is new/);
    build(pkg);
    assert.ok(existsSync(join(pkg, 'dist', 'daemon', 'core', 'extra.js')));
    unlinkSync(join(pkg, 'core', 'extra.ts'));
    assertFromSource(pkg, 'owt', /core\/extra\.ts is gone/);
    build(pkg);
    assert.equal(existsSync(join(pkg, 'dist', 'daemon', 'core', 'extra.js')), false, 'a rebuild replaces dist/daemon whole');
    assertCompiled(pkg, 'owt');
    const ts = join(pkg, 'tsconfig.json');
    const t2 = new Date(statSync(ts).mtimeMs + 5000);
    utimesSync(ts, t2, t2);
    assertFromSource(pkg, 'owt', /tsconfig\.json changed/);
    build(pkg);

    // asked for the sources; a damaged stamp
    const asked = run(pkg, ['bin/rackseed.mjs', 'hello'], { RACKSEED_FROM_SOURCE: '1' });
    assert.equal(ranWhat(asked).ext, '.ts');
    assert.match(asked.stderr, /through tsx: RACKSEED_FROM_SOURCE=1/);
    writeFileSync(join(pkg, 'dist', 'daemon', 'build-stamp.json'), '{');
    assertFromSource(pkg, 'owt', /dist\/daemon has no readable build-stamp\.json/);

    // a source that does not compile: the build fails, names the file, and leaves the last build in place
    build(pkg);
    writeFileSync(value, 'export const value: string = ;\n');
    const bad = run(pkg, ['bin/daemon-dist.mjs', 'build']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /could not compile the daemon into dist\/daemon:\n.*core\/value\.ts:1: /);
    assert.deepEqual(readdirSync(join(pkg, 'dist')), ['daemon']);
    assert.equal(check(pkg), 1);
  } finally {
    rmSync(pkg, { recursive: true, force: true });
  }
});

test('the real daemon runs compiled, worker threads included, from a package with no tsx', { timeout: 300_000 }, async () => {
  const pkg = mkdtempSync(join(tmpdir(), 'rs-dist-real-'));
  let child: ReturnType<typeof spawn> | null = null;
  try {
    mkdirSync(join(pkg, 'bin'));
    for (const f of BIN_FILES) cpSync(join(REPO, 'bin', f), join(pkg, 'bin', f));
    for (const f of ['tsconfig.json', 'package.json']) cpSync(join(REPO, f), join(pkg, f));
    for (const d of SOURCE_DIRS) cpSync(join(REPO, d), join(pkg, d), { recursive: true, filter: (s) => statSync(s).isDirectory() || s.endsWith('.ts') });
    // node_modules: every package of the repo's but tsx
    mkdirSync(join(pkg, 'node_modules'));
    for (const m of readdirSync(join(REPO, 'node_modules'))) if (m !== 'tsx' && m !== '.bin') symlinkSync(join(REPO, 'node_modules', m), join(pkg, 'node_modules', m));
    const b = run(pkg, ['bin/daemon-dist.mjs', 'build']);
    assert.equal(b.status, 0, b.stderr);

    const fromSource = run(pkg, ['bin/rackseed.mjs', '--version'], { RACKSEED_FROM_SOURCE: '1' });
    assert.notEqual(fromSource.status, 0, 'the sources cannot run here: there is no tsx');
    const v = run(pkg, ['bin/rackseed.mjs', '--version']);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), '0.1.0');
    assert.equal(v.stderr, '');

    // the worker threads, each started from the compiled module that owns it
    const file = join(pkg, 'blob.bin');
    writeFileSync(file, Buffer.concat([Buffer.alloc(1 << 20, 7), Buffer.alloc(1 << 20)]));
    const probe = join(pkg, 'probe.mjs');
    writeFileSync(probe, `
      import { createHash } from 'node:crypto';
      import { openSync, readFileSync } from 'node:fs';
      import { createServer, connect } from 'node:net';
      const dist = new URL('./dist/daemon/', import.meta.url);
      const out = {};
      const { TransferPool } = await import(new URL('netboot/tftp/server/transfer-pool.js', dist));
      const tftp = new TransferPool(1);
      await tftp.warm();
      out.tftpLoaded = tftp.state().loaded;
      await tftp.close();
      const file = ${JSON.stringify(file)};
      const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
      const { mapImage } = await import(new URL('core/images/extent-map.js', dist));
      out.mapSize = (await mapImage(file, sha)).size;
      const { hashFile } = await import(new URL('core/images/raw-writer.js', dist));
      out.hash = (await hashFile(file, () => {})).sha256 === sha;
      const { FileSendPool } = await import(new URL('netboot/http/sendfile/send-pool.js', dist));
      const pool = new FileSendPool(1);
      const server = createServer((s) => {
        pool.send({ socketFd: s._handle.fd, fileFd: openSync(file, 'r'), start: 0, length: 4096 }).done.then((o) => { out.sent = o.ok && o.bytes; s.end(); });
      });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      out.received = await new Promise((resolve) => {
        let n = 0;
        const c = connect(server.address().port, '127.0.0.1').on('data', (d) => { n += d.length; }).on('end', () => { resolve(n); c.destroy(); });
      });
      server.close();
      console.log(JSON.stringify(out));
      process.exit(0); // FileSendPool.close() waits on unref'd timers: nothing else keeps this script alive
    `);
    const p = run(pkg, [probe]);
    assert.equal(p.status, 0, p.stderr);
    assert.deepEqual(JSON.parse(p.stdout.trim().split('\n').at(-1)!), { tftpLoaded: 1, mapSize: 2 << 20, hash: true, sent: 4096, received: 4096 });

    // rackseed serve: the API and the event-log worker (started with the daemon; a failure is logged and the writes
    // go to the main thread), no child process (tsx would start esbuild's)
    const data = join(pkg, 'data');
    const env: NodeJS.ProcessEnv = { ...process.env, RACKSEED_LOG_JSON: '1', RACKSEED_TOKEN: 'dist-test-token-0123456789abcdef' };
    delete env.NODE_OPTIONS;
    child = spawn(process.execPath, ['bin/rackseed.mjs', 'serve', '--listen', '127.0.0.1:0', '--data', data], { cwd: pkg, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    const t0 = Date.now();
    let url = '';
    while (!url) {
      url = /RackSeed is listening on (http:\/\/\S+)/.exec(out)?.[1] ?? '';
      assert.ok(Date.now() - t0 < 60_000 && child.exitCode === null, `serve did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await fetch(`${url}/api/v1/nodes`, { headers: { authorization: 'Bearer dist-test-token-0123456789abcdef' } });
    assert.equal(res.status, 200);
    await new Promise((r) => setTimeout(r, 2000));
    assert.doesNotMatch(out, /event log worker|tsx/, 'the event-log worker runs, and nothing mentions tsx');
    const children = readdirSync(`/proc/${child.pid}/task`).map((t) => readFileSync(`/proc/${child!.pid}/task/${t}/children`, 'utf8').trim()).filter(Boolean);
    assert.deepEqual(children, [], 'no child process (no esbuild service)');
  } finally {
    if (child && child.exitCode === null) { child.kill('SIGTERM'); await new Promise((r) => child!.once('exit', r)); }
    rmSync(pkg, { recursive: true, force: true });
  }
});
