#!/usr/bin/env node
// Entry point for `npx rackseed …` and `rackseed serve` (npm run serve, the desktop app, the lab): runs the
// precompiled CLI, dist/daemon (bin/daemon-dist.mjs: built by scripts/setup.sh and `npm run build:daemon`), when
// it is up to date with the TypeScript sources, and otherwise the sources through tsx, saying so once on stderr (an
// edited .ts file is never run from a stale build). The daemon runs as root on a laptop that browses the web, so
// nothing it loads may come from a place another user can write:
//
// - tsx's compile cache is off. tsx 4 keeps compiled modules in `$TMPDIR/tsx-<euid>` (/tmp/tsx-0 for root; named
//   in node_modules/tsx/dist/temporary-directory-*.mjs), made with mkdirSync({recursive}) and no owner check, each
//   file `<day>-<sha1 of the source and the transform options>` (predictable: anyone can read our sources) holding
//   JSON `{code, map}` that is run as is when the same source is loaded again. A user who makes /tmp/tsx-0 first can plant "compiled" code root then runs. The cache is
//   chosen when tsx's shared module is evaluated — node_modules/tsx/dist/index-*.mjs (register-*.cjs for CJS):
//   `process.env.TSX_DISABLE_CACHE ? new Map : new FileCache` — so TSX_DISABLE_CACHE is set below before tsx is
//   imported (a dynamic import: a static one is evaluated before this file's body). On Node 20 register() starts
//   a loader thread that evaluates tsx again with a copy of this environment; on Nodes with module.registerHooks
//   (22.22.3+, 24.11.1+: tsx's register-*.mjs picks them) the hooks run in this thread with the cache object made
//   at import — too late if the variable were set after a static import. test/unit/root-entry.test.ts plants a
//   cache entry that the plain `node --import tsx` way runs and shows that this entry point does not.
// - tsconfig.json is this package's own. tsx otherwise looks for one from the working directory up, and its
//   `paths` can send an import anywhere (a root daemon started in /tmp would read /tmp/tsconfig.json).
// - As root it refuses to start (exit 2, with the fix) when this package's folder, bin/, the source layers (core/, daemon/, netboot/, bmc/, shared/), agent/ (the daemon
//   imports agent/build/manifest.ts), dist/, dist/daemon/ and every folder in it (the compiled daemon),
//   node_modules/ or tsx's folder is not root's or is writable by group or others (lstat; a symlink must be root's
//   too and lead to such a folder), or when a folder above the package is not root's or lets others replace it
//   (writable without the sticky bit). Only these folders are checked, not every file in them.
// - A data dir, secret key or database file that is unsafe (core/safe-path.ts UnsafePathError) ends the
//   command with its message and exit 2, not a stack trace.
// - `rackseed serve` re-executes itself (execve: same PID, descriptors, environment) with the daemon's Node flags
//   (bin/daemon-node-flags.mjs: a 2 MB V8 semi-space, for the daemon's RSS) unless the caller gave its own or runs
//   a CPU profiler (`node --cpu-prof`/`--prof`: its SIGPROF timer outlives execve and would kill the new image).
// NODE_OPTIONS/NODE_PATH are the caller's: whoever sets root's environment already runs code as root (pkexec
// clears it; the desktop app's wrapper starts this file directly).
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = dirname(here);
// false: no tsconfig at all (tsx would otherwise search from the working directory)
const tsconfig = existsSync(join(pkg, 'tsconfig.json')) ? join(pkg, 'tsconfig.json') : false;
process.env.TSX_DISABLE_CACHE = '1';
if (tsconfig) process.env.TSX_TSCONFIG_PATH = tsconfig;

const mode = (st) => (st.mode & 0o7777).toString(8).padStart(4, '0');

/** Why `dir` (a folder root loads code from) is unsafe: [] when root owns it and only root can write it. */
function folderProblems(dir) {
  let st;
  try { st = lstatSync(dir); } catch { return []; } // absent (e.g. node_modules hoisted above): nothing is loaded from it
  const out = [];
  if (st.isSymbolicLink()) {
    if (st.uid !== 0) out.push(`${dir} is a symlink owned by uid ${st.uid}`);
    try { st = statSync(dir); } catch { return [...out, `${dir} is a dangling symlink`]; }
  }
  if (st.uid !== 0) out.push(`${dir} is owned by uid ${st.uid}, not root`);
  if ((st.mode & 0o022) !== 0) out.push(`${dir} is writable by group or others (mode ${mode(st)})`);
  return out;
}

/** Why a folder above the package is unsafe: its owner, or group/others without the sticky bit, can rename the package. */
function ancestorProblems(start) {
  const out = [];
  for (let d = dirname(start); ; d = dirname(d)) {
    const st = statSync(d);
    if (st.uid !== 0) out.push(`${d} (above the package) is owned by uid ${st.uid}, not root`);
    else if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) out.push(`${d} (above the package) is writable by group or others without the sticky bit (mode ${mode(st)})`);
    if (dirname(d) === d) return out;
  }
}

/** The top-level source folders the daemon imports (the shells, electron/ and renderer/, are not loaded by it). */
const SOURCE_LAYERS = ['daemon', 'core', 'netboot', 'bmc', 'shared'];

/** dist/daemon and every folder (or symlink) in it: the compiled daemon's code (bin/daemon-dist.mjs). */
function compiledFolders(root) {
  const top = join(root, 'dist', 'daemon');
  const out = [join(root, 'dist'), top];
  const walk = (dir) => {
    let entries;
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; } // absent, or a symlink: folderProblems says
    for (const e of entries) {
      if (e.isSymbolicLink()) out.push(join(dir, e.name));
      else if (e.isDirectory()) { out.push(join(dir, e.name)); walk(join(dir, e.name)); }
    }
  };
  if (existsSync(top) && !lstatSync(top).isSymbolicLink()) walk(top);
  return out;
}

/** Every problem with the folders a root daemon would load code from (checked only when running as root). */
function installProblems(root = pkg) {
  let tsxDir = null;
  try { tsxDir = dirname(createRequire(join(root, 'package.json')).resolve('tsx/package.json')); } catch { /* reported by the import below */ }
  const dirs = [root, join(root, 'bin'), ...SOURCE_LAYERS.map((d) => join(root, d)), join(root, 'agent'), ...compiledFolders(root),
    join(root, 'node_modules'), join(root, 'node_modules', 'tsx')];
  if (tsxDir && !dirs.includes(tsxDir)) dirs.push(dirname(tsxDir), tsxDir);
  return [...new Set([...dirs.flatMap(folderProblems), ...ancestorProblems(root)])];
}

if (process.geteuid?.() === 0) {
  const problems = installProblems();
  if (problems.length > 0) {
    process.stderr.write(`rackseed: refusing to run as root from ${pkg}: another user could change the code root would run.\n`
      + problems.map((p) => `  - ${p}\n`).join('')
      + `  Fix: install RackSeed where only root can write (e.g. the packaged app, or a copy owned by root:root\n`
      + `  with no group/other write: sudo chown -R root:root ${pkg} && sudo chmod -R go-w ${pkg}),\n`
      + `  or run it without root.\n`);
    process.exit(2);
  }
}

// `serve`: the same process image again with the daemon's Node flags (a small V8 young generation;
// bin/daemon-node-flags.mjs). Imported dynamically, after the checks above (a static import would be evaluated
// before them), so it and koffi are only loaded from folders they passed.
const { reexecWithDaemonFlags } = await import('./daemon-node-flags.mjs');
await reexecWithDaemonFlags();

// The compiled daemon when it is up to date (no tsx at all: no loader thread, no esbuild process), else the sources
// through tsx. RACKSEED_FROM_SOURCE=1 asks for the sources. Checked after the re-exec, so said once.
const { compiledDaemon, DIST_DIR } = await import('./daemon-dist.mjs');
const compiled = process.env.RACKSEED_FROM_SOURCE === '1' ? { reason: 'RACKSEED_FROM_SOURCE=1' } : compiledDaemon(pkg);
let main;
if ('entry' in compiled) {
  main = compiled.entry;
} else {
  process.stderr.write(`rackseed: running the TypeScript sources through tsx: ${compiled.reason}`
    + ` (\`npm run build:daemon\` compiles ${DIST_DIR}: less memory, faster start)\n`);
  const { register } = await import('tsx/esm/api');
  register({ tsconfig });
  main = join(pkg, 'daemon', 'cli', 'main.ts');
}
try {
  await import(pathToFileURL(main).href);
} catch (err) {
  if (err instanceof Error && err.name === 'UnsafePathError') {
    process.stderr.write(`rackseed: refusing to start: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
