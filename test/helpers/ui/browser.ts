// Test helper: Debian's Chromium driven by playwright-core (never `playwright install`), and the renderer
// bundle built when it is missing or older than its sources.
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './daemon.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(REPO, 'test-results', 'ui');

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
    timeout: 60_000,
  });
}

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Build dist/renderer with vite when it is missing or stale (the daemon serves it at /). */
export function ensureRendererBuilt(): void {
  const index = join(REPO, 'dist', 'renderer', 'index.html');
  const srcs = [join(REPO, 'src', 'renderer'), join(REPO, 'src', 'shared')];
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...srcs.map(newestMtime))) return;
  execFileSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'src/renderer/vite.config.ts', '--logLevel', 'warn'],
    { cwd: REPO, stdio: 'inherit', timeout: 180_000 });
}

/** Collects console errors and uncaught page errors (CSP violations show up here). */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

export async function screenshot(page: Page, name: string, dir = SCREENSHOT_DIR): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
