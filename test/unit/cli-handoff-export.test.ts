// `rackseed export` / `rackseed import` / `rackseed handoff` as the issue spells them, against in-process daemons
// (RACKSEED_URL, RACKSEED_TOKEN): the CSV exported with --with-secrets from one daemon (an IPMI and a Redfish BMC) and
// read back by `rackseed import FILE.csv` into another — nodes, BMC addresses, protocols and the credential arrive; a
// bad row exits INVALID naming its line and field and imports nothing; without secrets no password leaves; `handoff
// --to URL` reaches the daemon (an unreachable Ironic: exit FAILED with its message, nothing recorded) and a missing
// URL is a usage error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { EXIT } from '../../daemon/cli/client.ts';
import { inventoryFor } from './core-inventory-fixture.ts';

const TOKEN = 'cli-handoff-export-token-0123456789abcdef';
const BMC_PASSWORD = 'bmc-CLI-exp0rt';
let from: RunningDaemon;
let to: RunningDaemon;
let dir: string;

async function daemonAt(name: string): Promise<RunningDaemon> {
  return startDaemon({ dataDir: join(dir, name), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
}

function cli(d: RunningDaemon, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, RACKSEED_URL: d.url, RACKSEED_TOKEN: TOKEN, RACKSEED_IRONIC_PASSWORD: undefined };
    execFile(process.execPath, ['bin/rackseed.mjs', ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A node as discovery leaves it: inventory, serial, UUID, its BMC with the protocol the sweep chose. */
function seed(d: RunningDaemon, mac: string, serial: string, uuid: string, bmc: string, protocol: 'ipmi' | 'redfish'): string {
  const { node } = d.core.lifecycle.ensureNode(mac, 'api');
  d.core.nodes.update(node.id, { inventory: inventoryFor(mac, node.id, uuid, serial), serial, uuid, bmcAddress: bmc, bmcMatchedBy: 'guid', firmware: 'uefi' });
  d.core.bmcs.upsert(bmc, { nodeId: node.id, protocol, protocols: [protocol] });
  d.core.lifecycle.transition(node.id, 'available', 'inventory');
  return node.id;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-cli-handoff-export-'));
  [from, to] = [await daemonAt('from'), await daemonAt('to')];
  from.core.config.setBmcCredentials({ user: 'admin', password: BMC_PASSWORD });
  seed(from, '52:54:00:c2:00:01', 'CLI-EXP-1', '11111111-2222-3333-4444-5555555555c1', '10.242.16.41', 'ipmi');
  seed(from, '52:54:00:c2:00:02', 'CLI-EXP-2', '11111111-2222-3333-4444-5555555555c2', '10.242.16.42:8443#1', 'redfish');
});
after(async () => { await from?.close(); await to?.close(); rmSync(dir, { recursive: true, force: true }); });

test('rackseed export --format csv --with-secrets, then rackseed import FILE.csv into another daemon: nodes, BMCs, protocols and the credential arrive', async () => {
  const ex = await cli(from, ['export', '--format', 'csv', '--with-secrets']);
  assert.equal(ex.code, EXIT.OK, ex.stderr);
  assert.match(ex.stdout.split('\n')[0]!, /^# SECRETS INCLUDED: this file holds the BMC passwords of 2 node\(s\)/);
  assert.match(ex.stdout, /^id,name,boot_mac,.*,bmc_address,bmc_port,bmc_protocol,bmc_username,bmc_password$/m);
  const file = join(dir, 'fleet.csv');
  writeFileSync(file, ex.stdout);

  const im = await cli(to, ['import', file]);
  assert.equal(im.code, EXIT.OK, im.stderr);
  assert.equal(im.stdout.trim(), 'imported a nodes CSV: 2 row(s); 2 node(s) created, 0 updated, 2 BMC(s) registered');
  const a = to.core.nodes.getByMac('52:54:00:c2:00:01')!;
  const b = to.core.nodes.getByMac('52:54:00:c2:00:02')!;
  assert.deepEqual([a.serial, a.uuid, a.bmc?.address, a.bmc?.protocol], ['CLI-EXP-1', '11111111-2222-3333-4444-5555555555c1', '10.242.16.41', 'ipmi']);
  assert.deepEqual([b.serial, b.bmc?.address, b.bmc?.protocol], ['CLI-EXP-2', '10.242.16.42:8443#1', 'redfish']);
  assert.deepEqual(to.core.config.bmcCredentials(), { user: 'admin', password: BMC_PASSWORD });

  // the importing daemon exports the same BMC columns
  const again = await cli(to, ['export', '--format', 'csv', '--include-secrets']);
  assert.equal(again.code, EXIT.OK, again.stderr);
  const bmcCols = (text: string) => text.split('\n').filter((l) => /^[0-9a-f-]{36},/.test(l)).map((l) => l.split(',').slice(13).join(',')).sort();
  assert.deepEqual(bmcCols(again.stdout), bmcCols(ex.stdout));
  assert.deepEqual(bmcCols(ex.stdout), [`10.242.16.41,623,ipmi,admin,${BMC_PASSWORD}`, `10.242.16.42#1,8443,redfish,admin,${BMC_PASSWORD}`]);

  // without secrets no password leaves, and the header says so
  const plain = await cli(from, ['export', '--format', 'csv', 'CLI-EXP-2']);
  assert.equal(plain.code, EXIT.OK, plain.stderr);
  assert.match(plain.stdout.split('\n')[0]!, /^# no secrets: BMC passwords are left out/);
  assert.ok(!plain.stdout.includes(BMC_PASSWORD));
  assert.equal(plain.stdout.split('\n').filter((l) => /^[0-9a-f-]{36},/.test(l)).length, 1, 'only the node asked for');
});

test('rackseed import of a bad row: exit INVALID naming the line and the field, nothing imported', async () => {
  const d = await daemonAt('bad');
  try {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'boot_mac,bmc_address,bmc_protocol\n52:54:00:c2:01:01,10.0.0.1,ipmi\n52:54:00:c2:01:02,10.0.0.2,snmp\n');
    const r = await cli(d, ['import', file]);
    assert.equal(r.code, EXIT.INVALID, r.stderr + r.stdout);
    assert.match(r.stderr, /line 3, field bmc_protocol: 'snmp' is neither ipmi nor redfish; nothing was imported/);
    assert.equal(d.core.nodes.list().length, 0);
    assert.equal(d.core.bmcs.list().length, 0);
    const missing = await cli(d, ['import', join(dir, 'nope.csv')]);
    assert.equal(missing.code, EXIT.USAGE);
    assert.match(missing.stderr, /cannot read .*nope\.csv/);
  } finally { await d.close(); }
});

test('rackseed handoff NODE --to URL reaches the daemon; an unreachable Ironic fails with its message and records nothing; no URL is a usage error', async () => {
  const port = await new Promise<number>((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => r(p)); }); });
  const r = await cli(from, ['handoff', 'CLI-EXP-1', '--to', `http://127.0.0.1:${port}`, '--wait']);
  assert.equal(r.code, EXIT.FAILED, r.stderr + r.stdout);
  assert.match(r.stderr, new RegExp(`Ironic at http://127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\)`));
  const id = from.core.nodes.getByMac('52:54:00:c2:00:01')!.id;
  assert.equal(from.core.handoff.records([id])[0]!.status, null, 'no attempt was recorded');
  const none = await cli(from, ['handoff', 'CLI-EXP-1']);
  assert.equal(none.code, EXIT.USAGE);
  assert.match(none.stderr, /give the Ironic API URL: --ironic http:\/\/HOST:6385/);
});
