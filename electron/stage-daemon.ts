// Stages the daemon for packaging: `.cache/daemon-bundle/` holds exactly what `rackseed serve` needs to run
// from the installed app's resources/daemon (electron-builder.yml copies it there): package.json, bin/,
// the TypeScript sources of the daemon and the layers below it, the agent's manifest reader, the renderer
// bundle (dist/renderer, served at /), the production node_modules (tsx and esbuild included), and the precompiled
// daemon (dist/daemon, compiled from the staged sources: bin/rackseed.mjs runs it, and tsx if it is ever stale).
// The discovery ramdisk and the iPXE binaries are copied by electron-builder to resources/daemon/.cache/… where
// the daemon looks for them. Offline: node_modules are copied from this checkout (`npm ls --omit=dev`).
//
//   node --import tsx electron/stage-daemon.ts [outDir]
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Default output, relative to the repository (electron-builder.yml extraResources `from`). */
export const DAEMON_BUNDLE_DIR = '.cache/daemon-bundle';
/** Source folders (relative to the repo) the daemon imports at run time. */
export const DAEMON_SOURCES = ['daemon', 'core', 'netboot', 'bmc', 'shared', 'agent/build', 'bin'] as const;
export const DAEMON_FILES = ['package.json', 'package-lock.json', 'tsconfig.json'] as const;
/** Built output the daemon serves. */
export const RENDERER_DIST = 'dist/renderer';

/** Absolute paths of the production dependency folders of the checkout (npm's own resolution). */
export function productionModules(repo = REPO_ROOT): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: repo, encoding: 'utf8', maxBuffer: 16 << 20 });
  return out.split('\n').map((l) => l.trim()).filter((l) => l && l !== repo && l.includes(`${'node_modules'}`));
}

export interface StageResult { outDir: string; modules: number }

export function stageDaemon(outDir = join(REPO_ROOT, DAEMON_BUNDLE_DIR), repo = REPO_ROOT): StageResult {
  if (!existsSync(join(repo, RENDERER_DIST, 'index.html'))) throw new Error(`${RENDERER_DIST} is missing: run npm run build:ui first`);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const notTests = (src: string) => !/\.test\.tsx?$/.test(src);
  for (const d of DAEMON_SOURCES) cpSync(join(repo, d), join(outDir, d), { recursive: true, filter: notTests });
  for (const f of DAEMON_FILES) if (existsSync(join(repo, f))) cpSync(join(repo, f), join(outDir, f));
  cpSync(join(repo, RENDERER_DIST), join(outDir, RENDERER_DIST), { recursive: true });
  const mods = productionModules(repo);
  for (const m of mods) cpSync(m, join(outDir, relative(repo, m)), { recursive: true, dereference: false });
  // the precompiled daemon (dist/daemon), built from the staged sources themselves so its stamp matches them
  execFileSync(process.execPath, [join(outDir, 'bin', 'daemon-dist.mjs'), 'build'], { cwd: outDir, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  return { outDir, modules: mods.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = stageDaemon(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(`staged the daemon in ${r.outDir} (${r.modules} production packages)`);
}
