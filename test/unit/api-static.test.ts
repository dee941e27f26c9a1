// The built renderer is served at / (with the SPA fallback for client-side routes) without a token; the API
// beside it still is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startDaemon } from '../../daemon/daemon.ts';

test('static UI at /, SPA fallback, API still closed', async () => {
  const ui = mkdtempSync(join(tmpdir(), 'rs-api-ui-'));
  mkdirSync(join(ui, 'assets'));
  writeFileSync(join(ui, 'index.html'), '<!doctype html><title>RackSeed</title><div id="root"></div>');
  writeFileSync(join(ui, 'assets', 'app.js'), 'console.log(1)');
  const d = await startDaemon({ dataDir: null, listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: 't0k3n-for-static-test', uiDir: ui, repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  try {
    const root = await fetch(`${d.url}/`);
    assert.equal(root.status, 200);
    assert.match(await root.text(), /<title>RackSeed<\/title>/);
    const js = await fetch(`${d.url}/assets/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    const deep = await fetch(`${d.url}/nodes/abc`);
    assert.equal(deep.status, 200, 'client-side route falls back to index.html');
    assert.match(await deep.text(), /id="root"/);
    assert.equal((await fetch(`${d.url}/api/v1/nodes`)).status, 401);
    assert.equal((await fetch(`${d.url}/api/v1/nope`)).status, 401);
  } finally {
    await d.close();
    rmSync(ui, { recursive: true, force: true });
  }
});
