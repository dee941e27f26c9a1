// electron-builder.yml: the targets per OS, and every resource it lists is one the build really produces —
// the Electron bundles (vite, built here), the staged daemon (staged here into a temp dir and started from
// there against its own renderer bundle), the iPXE bundle (scripts/build.sh's bundleIpxeResources, run here
// into a temp dir) and the discovery ramdisk (its manifest's file names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_BUNDLE_DIR, DAEMON_SOURCES, RENDERER_DIST, stageDaemon } from '../../electron/stage-daemon.ts';
import { bundleIpxeResources, defaultIpxeResourceDir, IPXE_BINARIES } from '../../netboot/http/resources.ts';
import { loadRamdiskManifest, ramdiskDir } from '../../agent/build/manifest.ts';
import { freeLoopbackPort, newToken, waitUntilReady } from '../../electron/daemon-process.ts';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
// js-yaml comes with eslint (no types shipped): typed here to what the test uses
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

interface Resource { from: string; to: string; filter?: string[] }
interface BuilderConfig {
  appId: string; productName: string; extraMetadata: { main: string }; files: string[]; asar: boolean;
  extraResources: Resource[];
  linux: { target: string[] }; mac: { target: string[] }; win: { target: string[] };
}

const config = yaml.load(readFileSync(join(REPO, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const resource = (to: string): Resource => {
  const r = config.extraResources.find((x) => x.to === to);
  assert.ok(r, `extraResources has an entry for ${to}`);
  return r;
};
/** electron-builder filter globs: only `*` is used here */
const globMatch = (glob: string, name: string) => new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(name);

test('targets: AppImage + deb on Linux, dmg on macOS, nsis on Windows', () => {
  assert.equal(typeof config.appId, 'string');
  assert.equal(config.productName, 'RackSeed');
  assert.deepEqual(config.linux.target.slice().sort(), ['AppImage', 'deb']);
  assert.deepEqual(config.mac.target, ['dmg']);
  assert.deepEqual(config.win.target, ['nsis']);
  assert.equal(config.asar, true);
  assert.deepEqual(config.extraResources.map((r) => r.to).sort(), ['daemon', 'daemon/.cache/ramdisk', 'daemon/.cache/resources/ipxe']);
});

test('the app files are the Electron bundles vite builds: main.cjs and a self-contained preload.cjs', { timeout: 120_000 }, () => {
  const vite = join(REPO, 'node_modules', 'vite', 'bin', 'vite.js');
  for (const mode of ['main', 'preload']) {
    execFileSync(process.execPath, [vite, 'build', '--config', 'electron/vite.config.ts', '--mode', mode, '--logLevel', 'warn'], { cwd: REPO, stdio: 'inherit' });
  }
  assert.equal(config.extraMetadata.main, 'dist/electron/main.cjs');
  assert.ok(existsSync(join(REPO, config.extraMetadata.main)));
  assert.ok(config.files.includes('dist/electron/**'));
  assert.deepEqual(readdirSync(join(REPO, 'dist/electron')).sort(), ['main.cjs', 'preload.cjs']);
  const preload = readFileSync(join(REPO, 'dist/electron/preload.cjs'), 'utf8');
  const requires = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  assert.deepEqual(requires, ['electron'], 'a sandboxed preload may require only electron');
  assert.match(preload, /exposeInMainWorld\("rackseed"/);
  const main = readFileSync(join(REPO, 'dist/electron/main.cjs'), 'utf8');
  for (const flag of ['sandbox: true', 'contextIsolation: true', 'nodeIntegration: false']) assert.ok(main.includes(flag), flag);
});

test('iPXE resources: the folder scripts/build.sh fills, with every required binary', async () => {
  const r = resource('daemon/.cache/resources/ipxe');
  assert.equal(r.from, relative(REPO, defaultIpxeResourceDir(REPO)));
  const dest = mkdtempSync(join(tmpdir(), 'rs-ui-ipxe-'));
  try {
    const m = await bundleIpxeResources(dest);
    const names = m.files.map((f) => f.name);
    for (const b of IPXE_BINARIES.filter((x) => x.required)) assert.ok(names.includes(b.name), b.name);
    for (const n of names) assert.ok(existsSync(join(dest, n)));
    assert.ok(existsSync(join(dest, 'manifest.json')));
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});

test('ramdisk resources: the build folder, filtered to the manifest, kernel and initrd', () => {
  const r = resource('daemon/.cache/ramdisk');
  assert.equal(resolve(REPO, r.from), ramdiskDir());
  assert.ok(r.filter?.includes('manifest.json'));
  const m = loadRamdiskManifest();
  // the ramdisk build is cached under .cache/ramdisk by `npm run build:ramdisk` (setup runs it)
  assert.ok(m, 'a ramdisk build exists (npm run build:ramdisk)');
  for (const f of [m.kernel.path, m.initrd.path]) {
    const name = relative(ramdiskDir(), f);
    assert.ok(r.filter!.some((g) => globMatch(g, name)), `${name} is packaged`);
  }
  for (const other of readdirSync(ramdiskDir()).filter((n) => ![relative(ramdiskDir(), m.kernel.path), relative(ramdiskDir(), m.initrd.path), 'manifest.json'].includes(n))) {
    assert.ok(!r.filter!.some((g) => globMatch(g, other)), `${other} (build cache) is not packaged`);
  }
});

test('daemon resources: the staged bundle runs the daemon and serves the UI by itself', { timeout: 240_000 }, async () => {
  const r = resource('daemon');
  assert.equal(r.from, DAEMON_BUNDLE_DIR);
  if (!existsSync(join(REPO, RENDERER_DIST, 'index.html'))) {
    execFileSync(process.execPath, [join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'], { cwd: REPO, stdio: 'inherit' });
  }
  const out = mkdtempSync(join(tmpdir(), 'rs-ui-stage-'));
  const data = mkdtempSync(join(tmpdir(), 'rs-ui-stage-data-'));
  let child: ReturnType<typeof spawn> | null = null;
  try {
    const staged = stageDaemon(out);
    assert.ok(staged.modules > 10);
    for (const d of DAEMON_SOURCES) assert.ok(existsSync(join(out, d)), d);
    assert.ok(!existsSync(join(out, 'node_modules', 'electron')), 'dev dependencies are not staged');
    assert.ok(!existsSync(join(out, 'node_modules', 'vite')), 'dev dependencies are not staged');
    assert.ok(existsSync(join(out, 'node_modules', 'better-sqlite3')));
    // the precompiled daemon, built from the staged sources: bin/rackseed.mjs in the bundle runs it (not tsx)
    assert.match(execFileSync(process.execPath, ['bin/daemon-dist.mjs', 'check'], { cwd: out, encoding: 'utf8' }), /dist\/daemon is up to date/);
    const port = await freeLoopbackPort();
    const token = newToken();
    child = spawn(process.execPath, ['--import', 'tsx', 'daemon/cli/main.ts', 'serve', '--listen', `127.0.0.1:${port}`, '--data', data],
      { cwd: out, env: { ...process.env, RACKSEED_TOKEN: token, NODE_PATH: '' }, stdio: 'ignore' });
    const ep = { baseUrl: `http://127.0.0.1:${port}`, token };
    await waitUntilReady(ep, 90_000, child);
    const ui = await fetch(`${ep.baseUrl}/`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /<div id="root">/);
  } finally {
    if (child && child.exitCode === null) {
      const c = child;
      const gone = new Promise((res) => c.once('exit', res));
      c.kill('SIGTERM');
      await gone;
    }
    rmSync(out, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  }
});
