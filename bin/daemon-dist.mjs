// The precompiled daemon: dist/daemon holds every TypeScript file of the layers the daemon loads, compiled one to
// one by esbuild (same folder layout, `.ts` imports rewritten to `.js`; npm packages, better-sqlite3 and koffi
// included, stay imports of node_modules), plus build-stamp.json. bin/rackseed.mjs runs dist/daemon when it is up to
// date with the sources and otherwise the TypeScript through tsx (saying so on stderr): no tsx loader thread (a V8
// isolate, ~20-30 MB of RSS), no esbuild service process, no inline source maps in the heap.
//
// Up to date means: the stamp's fingerprint equals the fingerprint of the sources now. The fingerprint is a SHA-256
// over the path, size and mtime of every .ts file under SOURCE_DIRS, of tsconfig.json, and over BUILD_FORMAT — taken
// before the build reads anything, so an edit during a build leaves the build stale. Any edit, added, removed or
// renamed file, or a copy that did not keep mtimes, makes it stale (a `touch` too: it errs on the side of tsx). It
// costs one readdir per folder and one stat per file (a few ms), so every start checks it.
//
//   node bin/daemon-dist.mjs build            compile into dist/daemon (replaces it whole, atomically)
//   node bin/daemon-dist.mjs build --if-stale  only when it is missing or out of date
//   node bin/daemon-dist.mjs check            exit 0 when up to date, 1 (with the reason) when not
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The layers the daemon imports (bin/rackseed.mjs checks the same folders as root), compiled whole. */
export const SOURCE_DIRS = ['daemon', 'core', 'netboot', 'bmc', 'shared', 'agent'];
/** Where the compiled daemon goes, relative to the package. */
export const DIST_DIR = join('dist', 'daemon');
/** The CLI's entry point, relative to DIST_DIR. */
export const DIST_ENTRY = join('daemon', 'cli', 'main.js');
export const STAMP = 'build-stamp.json';
/** Bumped when the build's output changes for the same sources (options, layout): older builds are then stale. */
export const BUILD_FORMAT = 1;

/** Every .ts file under the package's SOURCE_DIRS, relative, sorted. */
function sourceFiles(pkg) {
  const out = [];
  const walk = (rel) => {
    let entries;
    try { entries = readdirSync(join(pkg, rel), { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const r = join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(r);
    }
  };
  for (const d of SOURCE_DIRS) walk(d);
  return out.sort();
}

/**
 * The sources' fingerprint now: `{ hash, files }` (files: relative path → "size:mtimeMs", for naming what changed).
 * @param {string} pkg
 */
export function sourceFingerprint(pkg) {
  const h = createHash('sha256').update(`format ${BUILD_FORMAT}\n`);
  const files = {};
  for (const rel of [...sourceFiles(pkg), 'tsconfig.json']) {
    let st;
    try { st = statSync(join(pkg, rel)); } catch { continue; }
    const sig = `${st.size}:${Math.trunc(st.mtimeMs)}`; // whole ms: what a copy keeping mtimes (cpSync, cp -p) keeps
    files[rel] = sig;
    h.update(`${rel}\0${sig}\n`);
  }
  return { hash: h.digest('hex'), files };
}

/** What differs between a stamp's file list and now, in a few words (the first three paths). */
function describeChange(was, now) {
  const changed = [];
  for (const [f, sig] of Object.entries(now)) if (was[f] === undefined) changed.push(`${f} is new`); else if (was[f] !== sig) changed.push(`${f} changed`);
  for (const f of Object.keys(was)) if (now[f] === undefined) changed.push(`${f} is gone`);
  if (changed.length === 0) return 'its build format changed';
  return changed.slice(0, 3).join(', ') + (changed.length > 3 ? ` and ${changed.length - 3} more` : '');
}

/**
 * The compiled daemon's entry file when dist/daemon is up to date with the sources, else why not.
 * @param {string} pkg
 * @returns {{ entry: string } | { reason: string }}
 */
export function compiledDaemon(pkg) {
  const dist = join(pkg, DIST_DIR);
  let stamp;
  try { stamp = JSON.parse(readFileSync(join(dist, STAMP), 'utf8')); } catch {
    return { reason: existsSync(dist) ? `${DIST_DIR} has no readable ${STAMP}` : `${DIST_DIR} is not built` };
  }
  const now = sourceFingerprint(pkg);
  if (stamp.hash !== now.hash) return { reason: `${DIST_DIR} is older than the sources (${describeChange(stamp.files ?? {}, now.files)})` };
  const entry = join(dist, DIST_ENTRY);
  if (!existsSync(entry)) return { reason: `${join(DIST_DIR, DIST_ENTRY)} is missing` };
  return { entry };
}

/** esbuild plugin: each entry compiles alone; its imports stay imports, `.ts` ones renamed to the `.js` beside it. */
function oneToOne(pkg, outRoot) {
  return {
    name: 'rackseed-one-to-one',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (a) => {
        if (a.kind === 'entry-point') return undefined;
        if (!a.path.startsWith('.') && !a.path.startsWith('/')) return { path: a.path, external: true }; // node: and npm packages
        const target = resolve(a.resolveDir, a.path);
        const rel = relative(pkg, target);
        const compiled = rel.endsWith('.ts') && SOURCE_DIRS.includes(rel.split(sep)[0]);
        if (compiled) return { path: a.path.replace(/\.ts$/, '.js'), external: true };
        // anything else (a file outside the compiled layers) by its path from where the output file will be
        const outDir = join(outRoot, relative(pkg, a.resolveDir));
        let p = relative(outDir, target);
        if (!p.startsWith('.')) p = `./${p}`;
        return { path: p.split(sep).join('/'), external: true };
      });
    },
  };
}

/** Make every folder 0755 and file 0644 (whatever the umask): bin/rackseed.mjs refuses group/world-writable folders. */
function tighten(dir) {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) tighten(p); else chmodSync(p, 0o644);
  }
}

/**
 * Compile the package's sources into `pkg`/dist/daemon: into a fresh folder beside it, then swapped in by rename, so
 * a daemon starting meanwhile sees the old build or the new one, each with its own stamp. Returns the file count.
 * Throws with esbuild's messages when a file does not compile.
 * @param {string} pkg
 */
export async function buildDaemon(pkg) {
  const fp = sourceFingerprint(pkg); // before reading any source: an edit during the build leaves it stale
  const { build } = await import('esbuild'); // tsx's dependency; only the build needs it
  const dist = join(pkg, DIST_DIR);
  mkdirSync(dirname(dist), { recursive: true, mode: 0o755 });
  const tmp = `${dist}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const entries = Object.keys(fp.files).filter((f) => f.endsWith('.ts')).map((f) => join(pkg, f));
  try {
    await build({
      entryPoints: entries, outdir: tmp, outbase: pkg, bundle: true, platform: 'node', format: 'esm', target: 'node20',
      tsconfig: join(pkg, 'tsconfig.json'), sourcemap: 'linked', sourcesContent: false, logLevel: 'silent',
      plugins: [oneToOne(pkg, tmp)],
    });
    // the repo's package.json says "type": "module"; a copied dist/daemon keeps saying it
    writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(tmp, STAMP), JSON.stringify({ ...fp, format: BUILD_FORMAT, builtAt: new Date().toISOString() }) + '\n');
    tighten(tmp);
    for (let attempt = 0; ; attempt++) {
      const old = `${dist}.old-${process.pid}-${attempt}`;
      if (existsSync(dist)) renameSync(dist, old);
      try { renameSync(tmp, dist); } catch (err) {
        if (attempt < 3 && err?.code === 'ENOTEMPTY') continue; // another build put its own in between: replace it
        throw err;
      } finally { rmSync(old, { recursive: true, force: true }); }
      break;
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (err?.errors?.length) {
      const first = err.errors.slice(0, 5).map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`).join('\n');
      throw new Error(`could not compile the daemon into ${DIST_DIR}:\n${first}`);
    }
    throw err;
  }
  return entries.length;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
  const [cmd, flag] = process.argv.slice(2);
  if (cmd === 'check') {
    const c = compiledDaemon(pkg);
    if ('entry' in c) { process.stdout.write(`${DIST_DIR} is up to date\n`); process.exit(0); }
    process.stdout.write(`${c.reason}\n`);
    process.exit(1);
  } else if (cmd === 'build' && (flag === undefined || flag === '--if-stale')) {
    if (flag === '--if-stale' && 'entry' in compiledDaemon(pkg)) {
      process.stdout.write(`rackseed: the compiled daemon (${DIST_DIR}) is up to date\n`);
    } else {
      const t = Date.now();
      try {
        const n = await buildDaemon(pkg);
        process.stdout.write(`rackseed: compiled the daemon (${n} files) into ${DIST_DIR} in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
      } catch (err) {
        process.stderr.write(`rackseed: ${err instanceof Error ? err.message : err}\n`);
        process.exit(1);
      }
    }
  } else {
    process.stderr.write('usage: node bin/daemon-dist.mjs build [--if-stale] | check\n');
    process.exit(64);
  }
}
