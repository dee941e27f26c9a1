// The root entry point (bin/rackseed.mjs) loads no code from a place another user can write (issue 20, item 2):
// - tsx's compile cache ($TMPDIR/tsx-<euid>, /tmp/tsx-0 for root) is planted — every cached module is rewritten to
//   write a marker — and the plain `node --import tsx` way is shown to run the plant; bin/rackseed.mjs with the same
//   TMPDIR runs none of it, and leaves the cache folder (and TMPDIR) exactly as they were;
// - a tsconfig.json in the working directory cannot redirect its imports (tsx `paths`);
// - as root it refuses a package whose folders another user owns or can write (the compiled daemon's, dist/daemon
//   and every folder in it, too), with the reason and the fix;
// - `rackseed serve` with an unsafe data dir prints the reason and exits 2 (no stack trace).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const ROOT = process.geteuid?.() === 0;
const NOBODY = 65534;

function run(args: string[], env: Record<string, string>, cwd = REPO) {
  const e: NodeJS.ProcessEnv = { ...process.env };
  delete e.TSX_DISABLE_CACHE; // the caller's environment must not be what protects us
  delete e.TSX_TSCONFIG_PATH;
  delete e.NODE_OPTIONS;
  Object.assign(e, env);
  const r = spawnSync(process.execPath, args, { cwd, env: e, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** name → size, mtime and content of every file in `dir` (recursively), to show nothing was added, changed or rewritten. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    const st = statSync(p);
    out.set(p, e.isFile() ? `${st.size}:${st.mtimeMs}:${readFileSync(p, 'utf8')}` : `${e.isDirectory() ? 'dir' : 'other'}:${st.mtimeMs}`);
  }
  return out;
}

test('a planted tsx cache runs under `node --import tsx`, never under bin/rackseed.mjs', { timeout: 60_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-tsx-cache-'));
  try {
    const cacheDir = join(tmp, `tsx-${process.geteuid?.() ?? 'user'}`);
    const markers = join(tmp, 'markers');
    // 1. the cached way, once: tsx writes its compiled modules into $TMPDIR/tsx-<euid>
    const first = run(['--import', 'tsx', 'daemon/cli/main.ts', '--version'], { TMPDIR: tmp });
    assert.equal(first.status, 0, first.stderr);
    assert.ok(existsSync(cacheDir), 'tsx made its cache folder in TMPDIR');
    const files = readdirSync(cacheDir);
    assert.ok(files.length > 10, `tsx cached the modules it compiled (${files.length})`);
    assert.ok(files.every((f) => /^\d+-[0-9a-f]{40}$/.test(f)), 'cache entries are <day>-<sha1>: predictable names');

    // 2. plant: every cached module first writes a marker named after its cache file (process.getBuiltinModule works
    //    in ESM and CJS alike), then runs as before
    let mainEntry = '';
    for (const f of files) {
      const p = join(cacheDir, f);
      const j = JSON.parse(readFileSync(p, 'utf8')) as { code: string };
      if (j.code.includes('Command("rackseed")')) mainEntry = f;
      j.code = `process.getBuiltinModule("node:fs").mkdirSync(${JSON.stringify(markers)},{recursive:true});`
        + `process.getBuiltinModule("node:fs").writeFileSync(${JSON.stringify(join(markers, f))},"planted");\n${j.code}`;
      writeFileSync(p, JSON.stringify(j));
    }
    assert.ok(mainEntry, 'daemon/cli/main.ts is in the cache');

    // 3. the plant works: the cached way runs it (as root, this is another user's code running as root)
    const planted = run(['--import', 'tsx', 'daemon/cli/main.ts', '--version'], { TMPDIR: tmp });
    assert.equal(planted.status, 0, planted.stderr);
    assert.ok(existsSync(join(markers, mainEntry)), 'the planted main.ts ran under node --import tsx');
    assert.ok(readdirSync(markers).length > 10, 'planted modules ran');
    rmSync(markers, { recursive: true });

    // 4. bin/rackseed.mjs with the same TMPDIR: no planted code runs, and the cache is neither written nor rewritten
    const before = snapshot(tmp);
    const bin = run(['bin/rackseed.mjs', '--version'], { TMPDIR: tmp });
    assert.equal(bin.status, 0, bin.stderr);
    assert.equal(bin.stdout.trim(), '0.1.0');
    assert.equal(existsSync(markers), false, 'no planted module ran under bin/rackseed.mjs');
    assert.deepEqual(snapshot(tmp), before, 'TMPDIR and the cache folder are unchanged');

    // 5. and it makes no cache where there is none
    rmSync(cacheDir, { recursive: true });
    const clean = run(['bin/rackseed.mjs', 'serve', '--help'], { TMPDIR: tmp });
    assert.equal(clean.status, 0, clean.stderr);
    assert.deepEqual(readdirSync(tmp), [], 'bin/rackseed.mjs made nothing in TMPDIR');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a tsconfig.json in the working directory redirects imports under plain tsx, never under bin/rackseed.mjs', { timeout: 30_000 }, () => {
  // tsx looks for tsconfig.json from the working directory up; its `paths` can send `commander` to any file.
  // A root daemon started in a folder another user writes (/tmp, their home) would run their code.
  const cwd = mkdtempSync(join(tmpdir(), 'rs-tsconfig-'));
  try {
    const marker = join(cwd, 'marker');
    writeFileSync(join(cwd, 'evil.mjs'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\n`
      + 'export class Command {} export class Option {} export class InvalidArgumentError {} export class Argument {}\n');
    writeFileSync(join(cwd, 'tsconfig.json'), JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { commander: ['./evil.mjs'] } } }));
    const loader = join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs');
    run(['--import', loader, join(REPO, 'daemon', 'cli', 'main.ts'), '--version'], { TMPDIR: cwd, TSX_DISABLE_CACHE: '1' }, cwd);
    assert.ok(existsSync(marker), 'plain tsx took the working directory\'s tsconfig paths');
    rmSync(marker);
    const bin = run([join(REPO, 'bin', 'rackseed.mjs'), '--version'], { TMPDIR: cwd }, cwd);
    assert.equal(bin.status, 0, bin.stderr);
    assert.equal(bin.stdout.trim(), '0.1.0');
    assert.equal(existsSync(marker), false, 'bin/rackseed.mjs uses the package\'s own tsconfig.json');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('as root, bin/rackseed.mjs refuses a package another user owns or can write', { skip: !ROOT && 'needs root', timeout: 30_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-root-entry-'));
  try {
    // a stand-in package: its own bin/rackseed.mjs, core/ and node_modules/ (the checks run before tsx is imported)
    const pkg = (name: string) => {
      const p = join(tmp, name);
      mkdirSync(join(p, 'bin'), { recursive: true });
      mkdirSync(join(p, 'core'));
      mkdirSync(join(p, 'node_modules'));
      copyFileSync(join(REPO, 'bin', 'rackseed.mjs'), join(p, 'bin', 'rackseed.mjs'));
      // bin/rackseed.mjs's own helper, planted: it must not be loaded before the checks refuse
      writeFileSync(join(p, 'bin', 'daemon-node-flags.mjs'), `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(join(tmp, 'helper-ran'))}, 'x');\nexport async function reexecWithDaemonFlags() {}\n`);
      return p;
    };
    const refuse = (p: string, why: RegExp) => {
      const r = run([join(p, 'bin', 'rackseed.mjs'), '--version'], {}, tmp);
      assert.equal(r.status, 2, `${p}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^rackseed: refusing to run as root from .*another user could change the code root would run\./);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /Fix: install RackSeed where only root can write .*\n.*sudo chown -R root:root .* && sudo chmod -R go-w /);
    };
    const worldWritable = pkg('world-writable');
    chmodSync(join(worldWritable, 'core'), 0o777);
    refuse(worldWritable, /- .*\/world-writable\/core is writable by group or others \(mode 0777\)/);

    const groupWritable = pkg('group-writable');
    chmodSync(join(groupWritable, 'node_modules'), 0o775);
    refuse(groupWritable, /- .*\/group-writable\/node_modules is writable by group or others \(mode 0775\)/);

    const foreign = pkg('foreign');
    chownSync(join(foreign, 'bin'), NOBODY, NOBODY);
    refuse(foreign, /- .*\/foreign\/bin is owned by uid 65534, not root/);

    // the compiled daemon (bin/daemon-dist.mjs): dist/, dist/daemon/ and every folder in it
    const distOpen = pkg('dist-open');
    mkdirSync(join(distOpen, 'dist', 'daemon', 'core', 'store'), { recursive: true });
    writeFileSync(join(distOpen, 'dist', 'daemon', 'core', 'store', 'planted.js'), `require('node:fs').writeFileSync(${JSON.stringify(join(tmp, 'helper-ran'))}, 'x');\n`);
    chmodSync(join(distOpen, 'dist', 'daemon', 'core', 'store'), 0o777);
    refuse(distOpen, /- .*\/dist-open\/dist\/daemon\/core\/store is writable by group or others \(mode 0777\)/);
    const distForeign = pkg('dist-foreign');
    mkdirSync(join(distForeign, 'dist', 'daemon'), { recursive: true });
    chownSync(join(distForeign, 'dist'), NOBODY, NOBODY);
    refuse(distForeign, /- .*\/dist-foreign\/dist is owned by uid 65534, not root/);
    const distLink = pkg('dist-link');
    mkdirSync(join(distLink, 'dist', 'daemon'), { recursive: true });
    mkdirSync(join(tmp, 'elsewhere-dist'));
    symlinkSync(join(tmp, 'elsewhere-dist'), join(distLink, 'dist', 'daemon', 'core'));
    lchownSync(join(distLink, 'dist', 'daemon', 'core'), NOBODY, NOBODY);
    refuse(distLink, /- .*\/dist-link\/dist\/daemon\/core is a symlink owned by uid 65534/);

    const foreignTop = pkg('foreign-top');
    chownSync(foreignTop, NOBODY, NOBODY);
    refuse(foreignTop, /- .*\/foreign-top is owned by uid 65534, not root/);

    // node_modules/tsx a symlink another user owns (it could be pointed anywhere)
    const link = pkg('foreign-link');
    mkdirSync(join(tmp, 'elsewhere'));
    symlinkSync(join(tmp, 'elsewhere'), join(link, 'node_modules', 'tsx'));
    lchownSync(join(link, 'node_modules', 'tsx'), NOBODY, NOBODY);
    refuse(link, /- .*\/foreign-link\/node_modules\/tsx is a symlink owned by uid 65534/);

    // a folder above the package that others can write without the sticky bit
    const open = join(tmp, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const under = join(open, 'pkg');
    mkdirSync(under);
    for (const d of ['bin', 'core', 'node_modules']) mkdirSync(join(under, d));
    copyFileSync(join(REPO, 'bin', 'rackseed.mjs'), join(under, 'bin', 'rackseed.mjs'));
    refuse(under, /- .*\/open \(above the package\) is writable by group or others without the sticky bit \(mode 0777\)/);
    assert.equal(existsSync(join(tmp, 'helper-ran')), false, 'bin/daemon-node-flags.mjs of a refused package was never loaded');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('rackseed serve with an unsafe data dir prints the reason and the fix and exits 2', { timeout: 30_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rs-serve-data-'));
  try {
    mkdirSync(join(tmp, 'real'), { mode: 0o700 });
    symlinkSync(join(tmp, 'real'), join(tmp, 'data'));
    const r = run(['bin/rackseed.mjs', 'serve', '--listen', '127.0.0.1:0', '--data', join(tmp, 'data')], { RACKSEED_LOG_JSON: '1' });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`rackseed: refusing to start: data dir ${join(tmp, 'data')} is a symlink; remove it, or pass --data`));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'a message, not a stack trace');
    assert.deepEqual(readdirSync(join(tmp, 'real')), [], 'nothing was written through the symlink');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
