// `rackseed seed` against an in-process daemon (API: shared/seed.ts, daemon/api/routes/seed.ts): the plan proposes the
// node with the most RAM (then disk), each refusal has its message and exit code (client.ts EXIT) and starts nothing,
// and no route answers without the token. The seed's stages themselves run in test/interop/seed-ironic.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { EXIT } from '../../daemon/cli/client.ts';
import { biosMbrImage } from '../helpers/images.ts';
import { importImage, inventory, MiB } from '../helpers/deploy-fakes.ts';
import type { SeedPlan } from '../../shared/seed.ts';

const TOKEN = 'cli-seed-test-token-0123456789abcdef';
let d: RunningDaemon;
let dir: string;
const ids: string[] = [];

function addNode(mac: string, serial: string, memMiB: number, diskGiB: number): string {
  const n = d.core.lifecycle.ensureNode(mac, 'dhcp').node;
  const inv = inventory(mac, { serial, firmware: 'bios', disks: [{ name: 'sda', sizeBytes: diskGiB * 1024 * MiB, serial: `D-${serial}` }] });
  inv.memory = { totalBytes: memMiB * MiB, usableBytes: memMiB * MiB };
  assert.equal(d.core.intake.acceptInventory(n, inv, null).status, 200);
  const bmc = `10.9.0.${ids.length + 1}`;
  d.core.bmcs.upsert(bmc, { nodeId: n.id });
  d.core.nodes.update(n.id, { bmcAddress: bmc, bmcMatchedBy: 'manual' });
  ids.push(n.id);
  return n.id;
}

function cli(args: string[], token = TOKEN): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/rackseed.mjs', ...args], { env: { ...process.env, RACKSEED_URL: d.url, RACKSEED_TOKEN: token } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-cli-seed-'));
  d = await startDaemon({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  d.core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, ramdisk: null };
  d.core.config.setBmcCredentials({ user: 'admin', password: 'pw' });
  const img = join(dir, 'control.img');
  biosMbrImage(img);
  await importImage(d.core, 'lab-control', img);
  addNode('52:54:00:5e:00:01', 'SEED-1', 1024, 100); // too small
  addNode('52:54:00:5e:00:02', 'SEED-2', 4096, 40);
  addNode('52:54:00:5e:00:03', 'SEED-3', 4096, 80); // same RAM, more disk: proposed
});
after(async () => { await d.close(); rmSync(dir, { recursive: true, force: true }); });

test('plan: the most RAM, then the most disk; every other node handed over', async () => {
  const r = await cli(['seed', '--plan', '--json']);
  assert.equal(r.code, EXIT.OK, r.stderr);
  const plan = JSON.parse(r.stdout) as SeedPlan;
  assert.equal(plan.control, ids[2]);
  assert.deepEqual(plan.nodes.map((n) => n.action), ['handoff', 'handoff', 'control']);
  const human = await cli(['seed', '--plan']);
  assert.match(human.stdout, new RegExp(`control node: ${ids[2]}`));
});

test('refusals: message and exit code each, nothing started', async () => {
  const net = ['--provisioning', '10.0.0.2/24', '--dhcp-range', '10.0.0.100,10.0.0.199,255.255.255.0'];
  const cases: [string[], number, RegExp][] = [
    [['seed', '--control', 'SEED-3'], EXIT.USAGE, /give --control NODE, --provisioning CIDR and --dhcp-range/],
    [['seed', '--control', 'SEED-1', ...net], EXIT.CONFLICT, /too small for the control node: 1024 MiB of RAM/],
    [['seed', '--control', 'NOPE', ...net], EXIT.NOT_FOUND, /no node NOPE/],
    [['seed', '--control', 'SEED-3', '--image', 'nope', ...net], EXIT.CONFLICT, /no image nope in the library/],
    [['seed', '--control', 'SEED-3', ...net], EXIT.INVALID, /the discovery ramdisk is not built/],
    [['seed', '--control', 'SEED-3', '--provisioning', '10.0.0.2', '--dhcp-range', '1.1.1.1,1.1.1.2,255.0.0.0'], EXIT.INVALID, /provisioningCidr|pattern/],
    [['seed', '--resume'], EXIT.CONFLICT, /no seed/],
    [['seed', '--credentials-file', join(dir, 'creds')], EXIT.NOT_FOUND, /no seed/],
    [['seed', '--status'], EXIT.OK, /no seed yet/],
  ];
  for (const [args, code, msg] of cases) {
    const r = await cli(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, msg, args.join(' '));
  }
  assert.equal(d.core.seed.get(), null, 'nothing started');
  assert.equal(d.core.deploys.list().length, 0);
  const noToken = await cli(['seed', '--plan'], 'wrong-token');
  assert.equal(noToken.code, EXIT.UNAUTHORIZED);
  for (const [m, p] of [['GET', '/api/v1/seed'], ['GET', '/api/v1/seed/plan'], ['POST', '/api/v1/seed'], ['POST', '/api/v1/seed/resume'], ['POST', '/api/v1/seed/rollback'], ['GET', '/api/v1/seed/credentials']]) {
    const res = await fetch(d.url + p, { method: m });
    assert.equal(res.status, 401, `${m} ${p} without the token`);
  }
});
