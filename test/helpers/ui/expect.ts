// A tiny polling assertion for locators (playwright-core ships no test runner and no `expect`).
import type { Locator } from 'playwright-core';

/** Wait until the locator's text matches `re` (or the predicate holds); throws with the last text seen. */
export async function expect(loc: Locator, re: RegExp | ((text: string) => boolean), timeoutMs = 10_000): Promise<string> {
  const ok = typeof re === 'function' ? re : (t: string) => re.test(t);
  const deadline = Date.now() + timeoutMs;
  let last = '<not found>';
  for (;;) {
    try {
      if (await loc.count()) {
        last = (await loc.first().innerText({ timeout: 1000 })).trim();
        if (ok(last)) return last;
      }
    } catch { /* detached while re-rendering: try again */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${loc} to match ${re}; last text: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wait until `fn` returns a truthy value. */
export async function waitFor<T>(fn: () => Promise<T> | T, what: string, timeoutMs = 10_000, everyMs = 200): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) { lastErr = err; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
