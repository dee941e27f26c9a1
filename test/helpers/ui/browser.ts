// Test helper: Debian's Chromium driven by playwright-core (never `playwright install`), and the renderer
// bundle built when it is missing or older than its sources (scripts/ensure-ui.ts).
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './daemon.ts';
export { ensureRendererBuilt } from '../../../scripts/ensure-ui.ts';

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
