// `rackseed allow MAC|NODE…` (daemon/cli/allow.ts) against an in-process daemon in proxy mode: a seen node named
// by its serial or id and a MAC never seen become `discovered`; a bad MAC or an unknown node change nothing and exit
// with client.ts's codes. The command runs in a child process (its own exit code and stdout), as main.ts would run it.
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

const TOKEN = 'cli-allow-test-token-0123456789abcdef';
let d: RunningDaemon;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-cli-allow-'));
  d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  d.core.config.setNetwork({ interface: 'br0', mode: 'proxy' });
  for (const [mac, serial] of [['52:54:00:ab:00:01', 'SEEN-1'], ['52:54:00:ab:00:02', null]] as const) {
    const n = d.core.lifecycle.recordSeen(mac, 'dhcp', 'proxy mode', null).node;
    if (serial) d.core.nodes.update(n.id, { serial });
  }
});
after(async () => { await d.close(); rmSync(dir, { recursive: true, force: true }); });

/** Run `rackseed allow ARGS` as a child process (the verb alone: main.ts registers it). */
function allow(args: string[], env: Record<string, string | undefined> = { RACKSEED_URL: d.url, RACKSEED_TOKEN: TOKEN }): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = "const { allowCommand } = await import('./daemon/cli/allow.ts'); await allowCommand().parseAsync(process.argv.slice(1), { from: 'user' });";
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', run, '--', ...args],
      { env: { ...process.env, RACKSEED_URL: undefined, RACKSEED_TOKEN: undefined, ...env } }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
  });
}

const stateOf = (mac: string) => d.core.nodes.getByMac(mac)?.state ?? null;

test('rackseed allow: seen nodes by serial or id, and a MAC never seen, become discovered', async () => {
  const second = d.core.nodes.getByMac('52:54:00:ab:00:02')!;
  const r = await allow(['SEEN-1', second.id, '52-54-00-AB-00-03', '--json']);
  assert.equal(r.code, EXIT.OK, r.stderr);
  const nodes = JSON.parse(r.stdout) as NodeSummary[];
  assert.deepEqual(nodes.map((n) => [n.mac, n.state]), [['52:54:00:ab:00:01', 'discovered'], ['52:54:00:ab:00:02', 'discovered'], ['52:54:00:ab:00:03', 'discovered']]);
  for (const mac of ['52:54:00:ab:00:01', '52:54:00:ab:00:02', '52:54:00:ab:00:03']) assert.equal(stateOf(mac), 'discovered');
  const table = await allow(['52:54:00:ab:00:03']);
  assert.equal(table.code, EXIT.OK, table.stderr);
  assert.match(table.stdout, /52:54:00:ab:00:03\s+discovered/);
  assert.match(table.stdout, /1 machine may boot/);
});

test('rackseed allow: an unknown node or a bad MAC allows nothing and exits with its code', async () => {
  d.core.lifecycle.recordSeen('52:54:00:ab:00:09', 'dhcp', 'proxy mode', null);
  const missing = await allow(['52:54:00:ab:00:09', 'no-such-node']);
  assert.equal(missing.code, EXIT.NOT_FOUND);
  assert.match(missing.stderr, /no node no-such-node/);
  const bad = await allow(['52:54:00:ab:00:09', '52:54:00:zz:00:01:02']);
  assert.equal(bad.code, EXIT.NOT_FOUND, 'not a MAC: taken as a node name, and there is none');
  assert.equal(stateOf('52:54:00:ab:00:09'), 'seen', 'nothing was allowed');
  assert.equal((await allow(['52:54:00:ab:00:09'], { RACKSEED_URL: d.url })).code, EXIT.USAGE, 'no token');
});
