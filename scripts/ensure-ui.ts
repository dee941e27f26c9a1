// Builds the renderer bundle (dist/renderer, which the daemon serves at /) when it is missing or older than its
// sources (renderer, shared). Used by scripts/setup.sh, so `npm run lab` and `npm test` on a fresh clone
// serve the UI rather than the daemon's "the UI is not built" page, and by the UI tests.
//   node --import tsx scripts/ensure-ui.ts        build if needed; prints what it did
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Whether dist/renderer/index.html exists and is newer than every renderer and shared source file. */
export function rendererIsFresh(): boolean {
  const index = join(REPO, 'dist', 'renderer', 'index.html');
  const srcs = [join(REPO, 'renderer'), join(REPO, 'shared')];
  return existsSync(index) && statSync(index).mtimeMs >= Math.max(...srcs.map(newestMtime));
}

/** Build dist/renderer with vite unless it is fresh; returns whether it built. Throws when vite fails. */
export function ensureRendererBuilt(): boolean {
  if (rendererIsFresh()) return false;
  execFileSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'],
    { cwd: REPO, stdio: 'inherit', timeout: 180_000 });
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t = Date.now();
  const built = ensureRendererBuilt();
  process.stdout.write(built ? `rackseed setup: built the UI (dist/renderer) in ${((Date.now() - t) / 1000).toFixed(1)} s\n` : 'rackseed setup: the UI (dist/renderer) is up to date\n');
}
