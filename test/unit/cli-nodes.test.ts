// `rackseed nodes` through the daemon's API (RACKSEED_URL, RACKSEED_TOKEN): the node list as JSON and as a table,
// NODE resolved by id, MAC or serial, and the exit codes of daemon/cli/client.ts for each failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { EXIT } from '../../daemon/cli/client.ts';
import type { NodeSummary } from '../../shared/node.ts';

const TOKEN = 'cli-nodes-test-token-0123456789abcdef';
let d: RunningDaemon;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-cli-nodes-'));
  d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  const n = d.core.lifecycle.ensureNode('52:54:00:aa:bb:01', 'dhcp').node;
  d.core.nodes.update(n.id, { serial: 'SN-0001' });
});
after(async () => { await d.close(); rmSync(dir, { recursive: true, force: true }); });

function cli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const e: NodeJS.ProcessEnv = { ...process.env, RACKSEED_URL: undefined, RACKSEED_TOKEN: undefined, ...env };
    execFile(process.execPath, ['bin/rackseed.mjs', ...args], { env: e }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('rackseed nodes: JSON list, table, and one node by MAC or serial', async () => {
  const env = { RACKSEED_URL: d.url, RACKSEED_TOKEN: TOKEN };
  const list = await cli(['nodes', '--json'], env);
  assert.equal(list.code, 0, list.stderr);
  const nodes = JSON.parse(list.stdout) as NodeSummary[];
  assert.deepEqual(nodes.map((n) => n.mac), ['52:54:00:aa:bb:01']);
  const table = await cli(['nodes'], env);
  assert.match(table.stdout, /^ID\s+MAC\s+STATE/m);
  assert.match(table.stdout, /52:54:00:aa:bb:01\s+discovered/);
  for (const ref of ['52-54-00-AA-BB-01', 'SN-0001', nodes[0]!.id]) {
    const one = await cli(['nodes', ref, '--json'], env);
    assert.equal(one.code, 0, one.stderr);
    assert.equal((JSON.parse(one.stdout) as { node: NodeSummary }).node.id, nodes[0]!.id);
  }
});

test('rackseed nodes: exit codes say what failed', async () => {
  assert.equal((await cli(['nodes'], { RACKSEED_URL: d.url })).code, EXIT.USAGE, 'no token');
  const wrong = await cli(['nodes', '--json'], { RACKSEED_URL: d.url, RACKSEED_TOKEN: 'wrong-token-wrong-token' });
  assert.equal(wrong.code, EXIT.UNAUTHORIZED);
  assert.match(JSON.parse(wrong.stdout).error, /RACKSEED_TOKEN/);
  assert.equal((await cli(['nodes'], { RACKSEED_URL: 'http://127.0.0.1:1', RACKSEED_TOKEN: TOKEN })).code, EXIT.UNREACHABLE);
  const missing = await cli(['nodes', 'no-such-node'], { RACKSEED_URL: d.url, RACKSEED_TOKEN: TOKEN });
  assert.equal(missing.code, EXIT.NOT_FOUND);
  assert.match(missing.stderr, /no node no-such-node/);
});
