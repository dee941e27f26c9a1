// Hand-off to a REAL OpenStack Ironic from Debian's packages (ironic-api/-conductor 21.4 run as one `/usr/bin/ironic`
// with rpc_transport = none and SQLite; test/helpers/ironic.ts) driving real OpenIPMI ipmi_sim BMCs, all inside one
// test network namespace (BMCs on its lo, Ironic on its 127.0.0.1). Ironic reads every BMC with its own ipmitool.
// Covered: enroll → manage → provide → available with Ironic's power reading equal to RackSeed's; ports per MAC with
// pxe_enabled on the boot MAC; python3-ironicclient (a client nobody here wrote) reading the result; idempotency (a
// second hand-off updates, never duplicates); a wrong BMC password given to Ironic → Ironic's own last_error and nothing
// left behind; HTTP basic auth through the CLI (wrong Ironic password refused before anything is written); the
// password in no log, event, API answer, export or database page; the pivot (no DHCP boot answer, one
// "owned by" event per MAC, BMC operations refused, take-back); `openstack baremetal create` loading the ironic export;
// kill -9 of the daemon in the middle of a hand-off → resumed, exactly one Ironic node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { NetnsSandbox, canUseNetns, ip } from '../helpers/netns.ts';
import { enterNetns, startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { startIronic, ironicInstalled, type IronicProcess } from '../helpers/ironic.ts';
import { startHeldProxy } from '../helpers/held-proxy.ts';
import { Core } from '../../core/core.ts';
import { ipmiConnector } from '../../core/bmc/ipmi-connector.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { startDaemon, type RunningDaemon } from '../../daemon/daemon.ts';
import { EXIT } from '../../daemon/cli/client.ts';
import type { HandoffRecord } from '../../shared/handoff.ts';
import type { Job } from '../../shared/api.ts';
import { inventoryFor } from '../unit/core-inventory-fixture.ts';
import { HANDOFF_JOB_KIND, HANDOFF_STEPS } from '../../core/handoff/service.ts';

const BMC_PASSWORD = 'bmc-Pw-4-sim';
const IRONIC_USER = 'metal3';
const IRONIC_PASSWORD = 'Ir0nic-basic-S3cret';
const NOAUTH_PORT = 6385;
// how long Ironic retries a failing ipmitool call ([ipmi] command_retry_timeout): long enough that a loaded machine's
// slow ipmi_sim answer is retried, not turned into a failed manage; the wrong-password case waits it out once
const IPMI_RETRY_SEC = 30;
const BASIC_PORT = 6386;
const sandbox = new NetnsSandbox();
let ns = '';
let leave: (() => void) | null = null;
const sims: IpmiSim[] = [];
let noauth: IronicProcess;
let basic: IronicProcess;
const scratch = mkdtempSync(join(tmpdir(), 'rs-handoff-'));
const children: ChildProcess[] = [];

interface Machine { mac: string; extraMac: string; serial: string; uuid: string; bmc: string; sim: IpmiSim }
const machines: Machine[] = [];

function guidOf(uuid: string): string { return uuid.replace(/-/g, ''); }

/** One ipmi_sim BMC per machine, on 10.242.16.<n> in the namespace. */
async function machine(n: number, password = BMC_PASSWORD): Promise<Machine> {
  const bmc = `10.242.16.${n}`;
  ip('-n', ns, 'addr', 'add', `${bmc}/32`, 'dev', 'lo');
  const uuid = `0000${n.toString(16).padStart(4, '0')}-1111-2222-3333-4444555566${n.toString(16).padStart(2, '0')}`;
  const sim = await startIpmiSim({ sandbox, ns, address: bmc, user: 'admin', password, guid: guidOf(uuid) });
  sims.push(sim);
  const hex = n.toString(16).padStart(2, '0');
  const m = { mac: `52:54:00:16:00:${hex}`, extraMac: `52:54:00:16:01:${hex}`, serial: `SN-HO-${n}`, uuid, bmc, sim };
  machines.push(m);
  return m;
}

/** The node as discovery leaves it: inventory (two NICs), serial, SMBIOS UUID, BMC matched by GUID, available. */
function seed(core: Core, m: Machine): string {
  const { node } = core.lifecycle.ensureNode(m.mac, 'api');
  const inv = inventoryFor(m.mac, node.id, m.uuid, m.serial);
  inv.nics.push({ name: 'eth1', mac: m.extraMac, driver: 'e1000', link: false, speedMbps: null, ipv4: null });
  core.nodes.update(node.id, { inventory: inv, serial: m.serial, uuid: m.uuid, bmcAddress: m.bmc, bmcMatchedBy: 'guid', firmware: 'uefi' });
  core.bmcs.upsert(m.bmc, { nodeId: node.id, guid: m.uuid });
  core.lifecycle.transition(node.id, 'available', 'inventory');
  return node.id;
}

/** python3-ironicclient's `baremetal` CLI (OS_ENDPOINT, noauth or http_basic) → parsed JSON. */
function baremetal(url: string, args: string[], auth?: { user: string; password: string }): unknown {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', HOME: scratch, OS_ENDPOINT: url, OS_AUTH_TYPE: auth ? 'http_basic' : 'none', OS_BAREMETAL_API_VERSION: '1.82' };
  if (auth) { env.OS_USERNAME = auth.user; env.OS_PASSWORD = auth.password; }
  const out = execFileSync('/usr/bin/baremetal', [...args, ...(args[0] === 'create' ? [] : ['-f', 'json'])], { env, encoding: 'utf8', timeout: 60_000 });
  return args[0] === 'create' ? out : JSON.parse(out);
}

async function ironicGet<T>(url: string, path: string): Promise<T> {
  const r = await fetch(url + path, { headers: { 'x-openstack-ironic-api-version': '1.82' } });
  assert.ok(r.ok, `${path}: ${r.status}`);
  return await r.json() as T;
}

function cli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const e: NodeJS.ProcessEnv = { ...process.env, RACKSEED_URL: undefined, RACKSEED_TOKEN: undefined, RACKSEED_IRONIC_PASSWORD: undefined, ...env };
    execFile(process.execPath, ['bin/rackseed.mjs', ...args], { env: e, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function until<T>(what: string, ms: number, f: () => Promise<T | null | undefined | false> | T | null | undefined | false): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  assert.ok(canUseNetns(), 'this test needs root and iproute2 (network namespaces)');
  assert.ok(ironicInstalled(), 'Debian\'s ironic-api, ironic-conductor and python3-ironicclient are needed (scripts/setup.sh test)');
  ns = sandbox.addNamespace('ho');
  leave = await enterNetns(ns); // Ironic, the daemons and the CLI are spawned from here: they live in the namespace
  for (let n = 11; n <= 20; n++) await machine(n, n === 13 ? 'the-right-one' : BMC_PASSWORD);
  [noauth, basic] = await Promise.all([
    startIronic({ host: '127.0.0.1', port: NOAUTH_PORT, auth: { kind: 'noauth' }, ipmiRetrySec: IPMI_RETRY_SEC, syncPowerSec: 5 }),
    startIronic({ host: '127.0.0.1', port: BASIC_PORT, auth: { kind: 'http_basic', user: IRONIC_USER, password: IRONIC_PASSWORD }, ipmiRetrySec: IPMI_RETRY_SEC, syncPowerSec: 5 }),
  ]);
});

after(async () => {
  for (const c of children) { if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); }
  await Promise.allSettled([noauth?.stop(), basic?.stop()]);
  for (const s of sims) await s.stop();
  leave?.();
  await sandbox.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

test('noauth: two nodes handed over reach available, Ironic\'s power reading is the BMC\'s, ironicclient reads them; the pivot; no duplicate on a second hand-off', async () => {
  const t0 = Date.now();
  const ipmi = new IpmiClient({ logger: pino({ level: 'silent' }) });
  const core = new Core({ dataDir: null, logger: pino({ level: 'silent' }), ipmi, handoff: { pollMs: 100 } });
  try {
    core.config.setBmcCredentials({ user: 'admin', password: BMC_PASSWORD });
    const [a, b] = [machines[0]!, machines[1]!];
    b.sim.readPower(); writeFileSync(b.sim.powerFile, '1\n'); // one node on, one off: the readings must differ per node
    const ids = [seed(core, a), seed(core, b)];
    const started = await core.handoff.start(ids, { kind: 'ironic', url: noauth.url });
    assert.deepEqual(started.map((r) => r.status), ['running', 'running']);
    await until('hand-offs', 240_000, () => core.handoff.records(ids).every((r) => r.status !== 'running'));
    const recs = core.handoff.records(ids);
    for (const r of recs) {
      assert.equal(r.status, 'done', r.error ?? '');
      assert.equal(r.result?.provisionState, 'available');
      assert.equal(r.result?.powerMatches, true);
      assert.equal(r.result?.portsMatch, true);
      assert.equal(r.result?.microversion, '1.82');
      assert.notEqual(r.owner, 'rackseed');
    }
    assert.deepEqual(recs.map((r) => [r.result?.enginePower, r.result?.bmcPower]), [['power off', 'off'], ['power on', 'on']]);
    const handoffMs = Date.now() - t0;

    // a client nobody here wrote reads what RackSeed created
    const list = baremetal(noauth.url, ['node', 'list', '--long']) as { UUID: string; Name: string; 'Provisioning State': string; 'Power State': string; Driver: string; 'Driver Info': Record<string, unknown>; Properties: Record<string, unknown>; Extra: Record<string, unknown> }[];
    assert.equal(list.length, 2);
    const byName = new Map(list.map((n) => [n.Name, n]));
    const na = byName.get('rs-sn-ho-11')!;
    assert.equal(na['Provisioning State'], 'available');
    assert.equal(na['Power State'], 'power off');
    assert.equal(byName.get('rs-sn-ho-12')!['Power State'], 'power on');
    assert.equal(na.Driver, 'ipmi');
    assert.deepEqual(na['Driver Info'], { ipmi_address: a.bmc, ipmi_port: 623, ipmi_username: 'admin', ipmi_password: '******', ipmi_cipher_suite: 3, ipmi_protocol_version: '2.0' });
    // (Ironic adds `vendor` itself when its manage reads the BMC)
    assert.deepEqual({ ...na.Properties, vendor: undefined }, { cpus: 1, memory_mb: 512, local_gb: 8, cpu_arch: 'x86_64', capabilities: 'boot_mode:uefi', root_device: { serial: 'D1' }, vendor: undefined });
    assert.deepEqual(na.Extra, { rackseed_id: ids[0], serial: a.serial, system_uuid: a.uuid });
    const ports = baremetal(noauth.url, ['port', 'list', '--long', '--node', na.UUID]) as { Address: string; 'PXE boot enabled': boolean }[];
    assert.deepEqual(ports.map((p) => [p.Address, p['PXE boot enabled']]).sort(), [[a.mac, true], [a.extraMac, false]]);

    // Ironic's own ipmitool drives the BMC: power on through Ironic's API reaches the simulated chassis
    const put = await fetch(`${noauth.url}/v1/nodes/${na.UUID}/states/power`, { method: 'PUT', headers: { 'x-openstack-ironic-api-version': '1.82', 'content-type': 'application/json' }, body: JSON.stringify({ target: 'power on' }) });
    assert.equal(put.status, 202);
    await until('Ironic power on', 120_000, async () => (await ironicGet<{ power_state: string; target_power_state: string | null }>(noauth.url, `/v1/nodes/${na.UUID}?fields=power_state,target_power_state`)).power_state === 'power on');
    assert.equal(a.sim.readPower(), '1');

    // the pivot: no DHCP boot answer for any of its MACs, one "owned by" event per MAC, RackSeed does not drive the BMC
    for (const mac of [a.mac, a.extraMac]) {
      for (let i = 0; i < 3; i++) assert.equal(core.policy.dhcpBoot({ mac, arch: 7, vendorClass: 'PXEClient:Arch:00007', userClass: null, uuid: a.uuid, interface: 'br0' }), null);
      const owned = core.events.query({ mac, limit: 5000 }).filter((e) => e.kind === 'owned-elsewhere');
      assert.equal(owned.length, 1, `one "owned by" event for ${mac}`);
      assert.equal(owned[0]!.message, `not answered: owned by ironic (${noauth.url})`);
    }
    await assert.rejects(core.bmcOps.power(ids[0]!, 'status'), /owned by ironic .*take it back first/);
    assert.throws(() => core.runner.inspectNode(ids[0]!), /owned by ironic/);
    await assert.rejects(core.handoff.start([ids[0]!], { kind: 'ironic', url: noauth.url }), /owned by ironic .* already/);

    // take-back, then a second hand-off: the same Ironic node is found by its MAC and updated, never duplicated
    const back = core.handoff.takeBack([ids[0]!]);
    assert.equal(back[0]!.owner, 'rackseed');
    assert.equal(back[0]!.status, 'taken-back');
    assert.ok(core.policy.dhcpBoot({ mac: a.mac, arch: 7, vendorClass: 'PXEClient', userClass: null, uuid: null, interface: 'br0' }) === null, 'an available node gets no boot file anyway');
    await core.handoff.start([ids[0]!], { kind: 'ironic', url: noauth.url });
    await until('second hand-off', 240_000, () => core.handoff.records([ids[0]!])[0]!.status !== 'running');
    const again = core.handoff.records([ids[0]!])[0]!;
    assert.equal(again.status, 'done', again.error ?? '');
    assert.equal(again.engineNode, na.UUID);
    assert.match(again.existing ?? '', new RegExp(`Ironic node ${na.UUID} \\(rs-sn-ho-11\\) found by port ${a.mac} in state available: updated`));
    const nodes = await ironicGet<{ nodes: unknown[] }>(noauth.url, '/v1/nodes?fields=uuid');
    assert.equal(nodes.nodes.length, 2, 'no duplicate node in Ironic');
    const portsNow = await ironicGet<{ ports: unknown[] }>(noauth.url, '/v1/ports?fields=uuid');
    assert.equal(portsNow.ports.length, 4, 'no duplicate port');
    process.stdout.write(`# two hand-offs to available: ${handoffMs} ms; whole test ${Date.now() - t0} ms\n`);
  } finally {
    await core.handoff.idle();
    core.close();
    await ipmi.close();
  }
});

test('a wrong BMC password given to Ironic: Ironic\'s own last_error is reported and nothing is left in Ironic', async () => {
  const t0 = Date.now();
  const ipmi = new IpmiClient({ logger: pino({ level: 'silent' }) });
  const real = ipmiConnector(ipmi);
  // RackSeed's own sessions use the BMC's real password; the stored one (what Ironic gets) is wrong
  const core = new Core({ dataDir: null, logger: pino({ level: 'silent' }), ipmi, bmcConnector: (addr, creds) => real(addr, { ...creds, password: 'the-right-one' }), handoff: { pollMs: 100 } });
  try {
    core.config.setBmcCredentials({ user: 'admin', password: 'not-the-bmc-password' });
    const m = machines[2]!;
    const id = seed(core, m);
    await core.handoff.start([id], { kind: 'ironic', url: basic.url, user: IRONIC_USER, password: IRONIC_PASSWORD });
    await until('hand-off to fail', 240_000, () => core.handoff.records([id])[0]!.status !== 'running');
    const r = core.handoff.records([id])[0]!;
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /^Ironic refused manage: Failed to get power state for node [0-9a-f-]{36}\. Error: IPMI call failed: power status\.$/);
    assert.equal(r.leftBehind, null);
    assert.equal(r.owner, 'rackseed');
    const ev = core.events.query({ nodeId: id, limit: 100 }).find((e) => e.kind === 'handoff-failed')!;
    assert.match(ev.message, /removed the Ironic node [0-9a-f-]{36} this attempt created; the node stays RackSeed's/);
    const auth = { user: IRONIC_USER, password: IRONIC_PASSWORD };
    assert.deepEqual(baremetal(basic.url, ['node', 'list'], auth), [], 'no node left in Ironic');
    assert.deepEqual(baremetal(basic.url, ['port', 'list'], auth), [], 'no port left in Ironic');
    assert.ok(core.policy.dhcpBoot({ mac: m.mac, arch: 7, vendorClass: 'PXEClient', userClass: null, uuid: null, interface: 'br0' }) === null);
    assert.equal(core.events.query({ mac: m.mac, limit: 100 }).filter((e) => e.kind === 'owned-elsewhere').length, 0, 'still RackSeed\'s: no refusal event');
    process.stdout.write(`# refused manage reported in ${Date.now() - t0} ms\n`);
  } finally {
    await core.handoff.idle();
    core.close();
    await ipmi.close();
  }
});

test('HTTP basic through the CLI: a wrong Ironic password is refused before anything is written; the right one hands over; the password is in no log, event, API answer, export or database page', async () => {
  const dir = join(scratch, 'basic');
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { logs.push(chunk.toString()); cb(); } });
  const TOKEN = 'handoff-basic-token-0123456789abcdef';
  const d: RunningDaemon = await startDaemon({ dataDir: dir, listen: '127.0.0.1:0', logger: pino({ level: 'debug' }, sink), token: TOKEN, uiDir: null,
    repoRoot: process.cwd(), network: null, httpPort: 80, safeMode: false, print: () => {} });
  try {
    d.core.config.setBmcCredentials({ user: 'admin', password: BMC_PASSWORD });
    const m = machines[3]!;
    const id = seed(d.core, m);
    const env = { RACKSEED_URL: d.url, RACKSEED_TOKEN: TOKEN };
    const pwFile = join(scratch, 'ironic-pw');
    writeFileSync(pwFile, 'wrong-password\n', { mode: 0o600 });
    const wrong = await cli(['handoff', m.serial, '--ironic', basic.url, '--user', IRONIC_USER, '--password-file', pwFile, '--wait', '--json'], env);
    assert.equal(wrong.code, EXIT.FAILED, wrong.stderr);
    assert.match(JSON.parse(wrong.stdout).error, /refused GET \/v1\/nodes with HTTP 401: the user or password is wrong/);
    assert.deepEqual(baremetal(basic.url, ['node', 'list'], { user: IRONIC_USER, password: IRONIC_PASSWORD }), []);
    assert.equal(d.core.handoff.records([id])[0]!.status, null, 'no attempt was recorded');

    const ok = await cli(['handoff', m.mac, '--ironic', basic.url, '--user', IRONIC_USER, '--wait', '--json'], { ...env, RACKSEED_IRONIC_PASSWORD: IRONIC_PASSWORD });
    assert.equal(ok.code, EXIT.OK, ok.stderr + ok.stdout);
    const recs = JSON.parse(ok.stdout) as HandoffRecord[];
    assert.equal(recs[0]!.status, 'done');
    assert.equal(recs[0]!.result?.provisionState, 'available');
    assert.equal(recs[0]!.result?.powerMatches, true);
    // with HTTP basic too: a power-on through Ironic's API (its own ipmitool) starts the machine, which RackSeed then
    // does not answer (no DHCP boot answer, one "owned by" event for its MAC)
    const auth = { authorization: 'Basic ' + Buffer.from(`${IRONIC_USER}:${IRONIC_PASSWORD}`).toString('base64'), 'x-openstack-ironic-api-version': '1.82' };
    assert.equal(m.sim.readPower(), '0', 'the machine is off before Ironic powers it on');
    const on = await fetch(`${basic.url}/v1/nodes/${recs[0]!.engineNode}/states/power`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ target: 'power on' }) });
    assert.equal(on.status, 202, await on.text());
    await until('Ironic power on (basic auth)', 120_000, async () => {
      const r = await fetch(`${basic.url}/v1/nodes/${recs[0]!.engineNode}?fields=power_state,target_power_state`, { headers: auth });
      const n = await r.json() as { power_state: string; target_power_state: string | null };
      return n.power_state === 'power on' && n.target_power_state === null;
    });
    assert.equal(m.sim.readPower(), '1', 'Ironic\'s ipmitool started the machine');
    for (let i = 0; i < 3; i++) assert.equal(d.core.policy.dhcpBoot({ mac: m.mac, arch: 7, vendorClass: 'PXEClient:Arch:00007', userClass: null, uuid: m.uuid, interface: 'br0' }), null);
    assert.deepEqual(d.core.events.query({ mac: m.mac, limit: 5000 }).filter((e) => e.kind === 'owned-elsewhere').map((e) => e.message), [`not answered: owned by ironic (${basic.url})`]);
    const table = await cli(['takeback', id], env);
    assert.equal(table.code, EXIT.OK, table.stderr);
    assert.match(table.stdout, new RegExp(`^${id}\\s+taken-back\\s+rackseed\\s+[0-9a-f-]{36}`, 'm'));
    // a later hand-off to the same Ironic needs no password again: the daemon stored it sealed
    const again = await cli(['handoff', id, '--ironic', basic.url, '--user', IRONIC_USER, '--wait'], env);
    assert.equal(again.code, EXIT.OK, again.stderr);
    assert.match(again.stdout, /done\s+ironic http:\/\/127\.0\.0\.1:6386/);

    // hygiene: nowhere but the sealed secret
    const answers: string[] = [];
    for (const path of ['/api/v1/handoff', '/api/v1/engines', '/api/v1/jobs', '/api/v1/nodes', `/api/v1/nodes/${id}`, '/api/v1/events?limit=5000', '/api/v1/bmc/credentials']) {
      const r = await fetch(d.url + path, { headers: { authorization: `Bearer ${TOKEN}` } });
      answers.push(await r.text());
    }
    const engines = JSON.parse(answers[1]!) as { url: string; auth: string; user: string; passwordSet: boolean }[];
    assert.deepEqual(engines.map((e) => [e.url, e.auth, e.user, e.passwordSet]), [[basic.url, 'basic', IRONIC_USER, true]]);
    for (const extra of [[], ['--include-secrets']]) { // the CLI once each way, the API for every format
      const ex = await cli(['export', '--format', 'metal3', ...extra, m.serial], env);
      assert.equal(ex.code, EXIT.OK, ex.stderr);
      assert.match(ex.stdout, /kind: BareMetalHost/);
      answers.push(ex.stdout);
    }
    for (const format of ['metal3', 'tinkerbell', 'ironic', 'ansible', 'csv']) {
      for (const secrets of [false, true]) {
        const r = await fetch(`${d.url}/api/v1/export?format=${format}${secrets ? '&secrets=1' : ''}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const text = await r.text();
        assert.equal(r.headers.get('x-rackseed-secrets'), secrets ? 'included' : 'omitted');
        answers.push(text);
        if (secrets) assert.match(text.split('\n')[0]!, /SECRETS INCLUDED/);
        else assert.ok(!text.includes(BMC_PASSWORD) && !text.includes(Buffer.from(BMC_PASSWORD).toString('base64')), `${format} without secrets has no BMC password`);
      }
    }
    const events = JSON.stringify(d.core.events.query({ limit: 5000 }));
    const dbPages = readdirSync(dir).filter((f) => f.startsWith('rackseed.db') || f.startsWith('events.db')).map((f) => readFileSync(join(dir, f)).toString('latin1'));
    for (const [where, text] of [['logs', logs.join('')], ['events', events], ['API answers and exports', answers.join('\n')], ['database files', dbPages.join('')]] as const) {
      assert.ok(!text.includes(IRONIC_PASSWORD), `the Ironic password is not in the ${where}`);
      assert.ok(!text.includes(Buffer.from(`${IRONIC_USER}:${IRONIC_PASSWORD}`).toString('base64')), `no basic-auth header in the ${where}`);
    }
    assert.ok(logs.length > 0 && events.includes('handoff-done'));
  } finally {
    await d.core.handoff.idle();
    await d.close();
  }
});

test('`openstack baremetal create` (openstackclient + python3-ironicclient) loads the ironic export into Ironic', async () => {
  const core = new Core({ dataDir: null, logger: pino({ level: 'silent' }) });
  try {
    core.config.setBmcCredentials({ user: 'admin', password: BMC_PASSWORD });
    const id = seed(core, machines[4]!);
    const { exportFleet } = await import('../../daemon/api/routes/handoff.ts');
    const file = join(scratch, 'nodes.yaml');
    writeFileSync(file, exportFleet(core, 'ironic', [id], true));
    const auth = { user: IRONIC_USER, password: IRONIC_PASSWORD };
    // the command the issue names: openstackclient's `openstack baremetal create` (python3-ironicclient's plugin; it
    // negotiates the microversion itself — it knows up to 1.78, so no OS_BAREMETAL_API_VERSION of 1.82 here)
    execFileSync('/usr/bin/openstack', ['baremetal', 'create', file], { encoding: 'utf8', timeout: 120_000,
      env: { PATH: '/usr/bin:/bin', HOME: scratch, OS_ENDPOINT: basic.url, OS_AUTH_TYPE: 'http_basic', OS_USERNAME: auth.user, OS_PASSWORD: auth.password } });
    const n = baremetal(basic.url, ['node', 'show', 'rs-sn-ho-15', '--fields', 'name', 'driver', 'driver_info', 'extra'], auth) as { driver: string; driver_info: Record<string, unknown>; extra: Record<string, unknown> };
    assert.equal(n.driver, 'ipmi');
    assert.equal(n.driver_info.ipmi_address, machines[4]!.bmc);
    assert.equal(n.driver_info.ipmi_password, '******');
    assert.equal(n.extra.rackseed_id, id);
    const ports = baremetal(basic.url, ['port', 'list', '--long', '--address', machines[4]!.mac], auth) as { 'PXE boot enabled': boolean }[];
    assert.deepEqual(ports.map((p) => p['PXE boot enabled']), [true]);
  } finally { core.close(); }
});

test('kill -9 of the daemon in the middle of a hand-off: the job resumes after the restart and Ironic has the node once', async () => {
  const t0 = Date.now();
  const dir = join(scratch, 'kill');
  const m = machines[5]!;
  { // the node as discovery left it, in the daemon's database
    const core = new Core({ dataDir: dir, logger: pino({ level: 'silent' }) });
    core.config.setBmcCredentials({ user: 'admin', password: BMC_PASSWORD });
    seed(core, m);
    core.close();
  }
  const TOKEN = 'handoff-kill-token-0123456789abcdef';
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const url = `http://127.0.0.1:${port}`;
  const env = { RACKSEED_URL: url, RACKSEED_TOKEN: TOKEN };
  const serve = (): ChildProcess => {
    const c = spawn(process.execPath, ['bin/rackseed.mjs', 'serve', '--data', dir, '--listen', `127.0.0.1:${port}`],
      { env: { ...process.env, RACKSEED_TOKEN: TOKEN, RACKSEED_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(c);
    return c;
  };
  const get = async <T>(path: string): Promise<T | null> => {
    try { const r = await fetch(url + path, { headers: { authorization: `Bearer ${TOKEN}` } }); return r.ok ? await r.json() as T : null; } catch { return null; }
  };
  // the daemon reaches Ironic through a proxy that holds its `manage` request (never delivered): the kill lands in the
  // manage step however fast or slow Ironic is, not in a race with Ironic's ~1.5 s ipmitool read
  const proxy = await startHeldProxy(noauth.url);
  const manageHeld = proxy.hold({ method: 'PUT', path: /^\/v1\/nodes\/[0-9a-f-]{36}\/states\/provision$/ });
  let daemon = serve();
  await until('daemon up', 90_000, () => get('/api/v1/health'));
  const start = await cli(['handoff', m.serial, '--ironic', proxy.url, '--json'], env);
  assert.equal(start.code, EXIT.OK, start.stderr);
  const nodeId = (JSON.parse(start.stdout) as HandoffRecord[])[0]!.nodeId;
  await manageHeld;
  const job = await until('manage step running', 60_000, async () => (await get<Job[]>('/api/v1/jobs'))?.find((j) => j.kind === 'handoff' && j.steps.find((s) => s.name === 'manage')?.status === 'running'));
  daemon.kill('SIGKILL');
  await new Promise((r) => daemon.once('exit', r));
  assert.deepEqual(job.steps.filter((s) => s.status === 'done').map((s) => s.name), ['read-bmc', 'engine', 'node', 'ports']);
  daemon = serve();
  const done = await until('resumed hand-off', 240_000, async () => {
    const r = (await get<HandoffRecord[]>(`/api/v1/handoff?nodes=${nodeId}`))?.[0];
    return r && r.status !== 'running' ? r : null;
  });
  assert.equal(done.status, 'done', done.error ?? '');
  assert.equal(done.result?.provisionState, 'available');
  const jobs = (await get<Job[]>('/api/v1/jobs'))!.filter((j) => j.kind === 'handoff');
  assert.equal(jobs.length, 1, 'the same job, resumed');
  assert.equal(jobs[0]!.status, 'done');
  const events = (await get<{ kind: string }[]>(`/api/v1/events?mac=${m.mac}&limit=500`))!;
  assert.ok(events.some((e) => e.kind === 'job-resumed'));
  const named = await ironicGet<{ nodes: { uuid: string; name: string }[] }>(noauth.url, '/v1/nodes?fields=uuid,name');
  assert.equal(named.nodes.filter((n) => n.name === 'rs-sn-ho-16').length, 1, 'exactly one Ironic node for the machine');
  const ports = await ironicGet<{ ports: { node_uuid: string }[] }>(noauth.url, `/v1/ports?address=${m.mac}&fields=node_uuid`);
  assert.deepEqual(ports.ports.map((p) => p.node_uuid), [done.engineNode]);
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  await proxy.close();
  process.stdout.write(`# kill -9 and resume: ${Date.now() - t0} ms\n`);
});

test('a crash after the node POST went out but before its answer was stored: the resumed job adopts that node by name, no second one', async () => {
  const ipmi = new IpmiClient({ logger: pino({ level: 'silent' }) });
  const core = new Core({ dataDir: null, logger: pino({ level: 'silent' }), ipmi, handoff: { pollMs: 100 } });
  try {
    core.config.setBmcCredentials({ user: 'admin', password: BMC_PASSWORD });
    const m = machines[6]!;
    const id = seed(core, m);
    // the state a kill -9 leaves right after `POST /v1/nodes` was sent: steps up to `engine` done, create_sent set,
    // no Ironic UUID stored — and the node does exist in Ironic, with RackSeed's name and id
    const ref = { kind: 'ironic' as const, url: noauth.url };
    const job = core.jobs.create(HANDOFF_JOB_KIND, id, m.bmc, [...HANDOFF_STEPS]);
    core.jobs.setStatus(job.id, 'running');
    core.jobs.setStep(job.id, 0, 'done');
    core.jobs.setStep(job.id, 1, 'done');
    core.jobs.setStep(job.id, 2, 'running');
    core.handoff.store.upsertEngine(ref, 'none', null);
    core.handoff.store.begin(id, job.id, ref);
    core.handoff.store.update(id, { createSent: true });
    const post = await fetch(`${noauth.url}/v1/nodes`, { method: 'POST', headers: { 'x-openstack-ironic-api-version': '1.82', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'rs-sn-ho-17', driver: 'ipmi', extra: { rackseed_id: id } }) });
    assert.equal(post.status, 201);
    const lost = (await post.json() as { uuid: string }).uuid;
    core.recover();
    await until('resumed hand-off', 120_000, () => core.handoff.records([id])[0]!.status !== 'running');
    const r = core.handoff.records([id])[0]!;
    assert.equal(r.status, 'done', r.error ?? '');
    assert.equal(r.engineNode, lost, 'the node the lost POST created');
    assert.equal(r.existing, null, 'it is this attempt\'s own node, not a pre-existing one');
    assert.equal(core.handoff.store.progress(id)!.createdNode, true);
    const named = await ironicGet<{ nodes: { name: string }[] }>(noauth.url, '/v1/nodes?fields=name');
    assert.equal(named.nodes.filter((n) => n.name === 'rs-sn-ho-17').length, 1);
  } finally {
    await core.handoff.idle();
    core.close();
    await ipmi.close();
  }
});

/**
 * kill -9 of a real process (test/helpers/handoff-child.ts) at one exact point of a hand-off to the noauth Ironic, then
 * a restarted core on the same database resumes the job. The points:
 *   port-answered   Ironic created the port and answered; the process dies before the job records it
 *   port-in-flight  the `POST /v1/ports` was sent, the process dies, Ironic processes it only after the resumed job
 *                   looked the MAC up (held-proxy.ts delivers it late): the resumed POST meets "already exists"
 *   node-in-flight  the same for `POST /v1/nodes`: the resumed job's name lookup finds nothing, its POST meets
 *                   "a node with that name already exists"
 * The resumed job must adopt what Ironic has — the hand-off finishes, the node and each port exist once.
 */
async function killMidHandoff(m: Machine, point: 'port-answered' | 'port-in-flight' | 'node-in-flight'): Promise<void> {
  const t0 = Date.now();
  const dir = join(scratch, `kill-${point}`);
  const name = `rs-${m.serial.toLowerCase()}`;
  let nodeId: string;
  { // the node as discovery left it, in the database the child opens
    const core = new Core({ dataDir: dir, logger: pino({ level: 'silent' }) });
    core.config.setBmcCredentials({ user: 'admin', password: BMC_PASSWORD });
    nodeId = seed(core, m);
    core.close();
  }
  const proxy = point === 'port-answered' ? null : await startHeldProxy(noauth.url);
  const ironicUrl = proxy?.url ?? noauth.url;
  const held = point === 'port-in-flight' ? proxy!.hold({ method: 'POST', path: /^\/v1\/ports$/ })
    : point === 'node-in-flight' ? proxy!.hold({ method: 'POST', path: /^\/v1\/nodes$/ }) : null;
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/handoff-child.ts', dir, nodeId, ironicUrl, held ? 'by-test' : 'after-port-post'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.once('exit', (code, sig) => r(sig ?? code)));
  if (held) {
    await Promise.race([held, exited.then(() => { throw new Error(`the child ended before its request was held: ${out}`); })]);
    child.kill('SIGKILL');
  }
  assert.equal(await exited, 'SIGKILL', `the child dies at the crash point: ${out}`);
  if (!held) assert.match(out, /crashing at after-port-post/);
  const named = async () => (await ironicGet<{ nodes: { uuid: string; name: string }[] }>(noauth.url, '/v1/nodes?fields=uuid,name')).nodes.filter((n) => n.name === name);
  // what the kill left in Ironic: the node with one port (answered), the node and no port yet, or nothing yet
  const left = await named();
  assert.equal(left.length, point === 'node-in-flight' ? 0 : 1);
  if (left[0]) {
    const p = await ironicGet<{ ports: unknown[] }>(noauth.url, `/v1/ports?node=${left[0].uuid}&fields=address`);
    assert.equal(p.ports.length, point === 'port-answered' ? 1 : 0);
  }
  // the held request reaches Ironic right after the resumed job's lookup was answered, before the job sees the answer
  const late = point === 'port-in-flight' ? proxy!.deliverAfter({ method: 'GET', path: new RegExp(`^/v1/ports\\?address=${encodeURIComponent(m.mac)}&`) })
    : point === 'node-in-flight' ? proxy!.deliverAfter({ method: 'GET', path: new RegExp(`^/v1/nodes/${name}\\?`) }) : null;

  const ipmi = new IpmiClient({ logger: pino({ level: 'silent' }) });
  const core = new Core({ dataDir: dir, logger: pino({ level: 'silent' }), ipmi, handoff: { pollMs: 100 } });
  try {
    core.recover();
    await until('resumed hand-off', 180_000, () => core.handoff.records([nodeId])[0]!.status !== 'running');
    if (late) assert.equal(await late, 201, 'the late request created its object in Ironic');
    const r = core.handoff.records([nodeId])[0]!;
    assert.equal(r.status, 'done', `${r.error ?? ''} ${r.leftBehind ?? ''}`);
    assert.equal(r.result?.provisionState, 'available');
    assert.equal(r.result?.portsMatch, true);
    assert.equal(r.existing, null, 'the node is this attempt\'s own, not one Ironic had before');
    assert.equal(core.handoff.store.progress(nodeId)!.createdNode, true);
    assert.notEqual(r.owner, 'rackseed');
    const jobs = core.jobs.list().filter((j) => j.kind === HANDOFF_JOB_KIND && j.nodeId === nodeId);
    assert.deepEqual(jobs.map((j) => j.status), ['done'], 'the same job, resumed');
    const now = await named();
    assert.deepEqual(now.map((n) => n.uuid), [r.engineNode], 'exactly one Ironic node for the machine');
    if (left[0]) assert.equal(r.engineNode, left[0].uuid, 'the node the killed process created');
    for (const mac of [m.mac, m.extraMac]) {
      const p = await ironicGet<{ ports: { node_uuid: string; pxe_enabled: boolean }[] }>(noauth.url, `/v1/ports?address=${mac}&fields=node_uuid,pxe_enabled`);
      assert.deepEqual(p.ports.map((x) => [x.node_uuid, x.pxe_enabled]), [[r.engineNode, mac === m.mac]], `one port for ${mac}`);
    }
    assert.ok(core.events.query({ nodeId, limit: 500 }).some((e) => e.kind === 'job-resumed'));
  } finally {
    await core.handoff.idle();
    core.close();
    await ipmi.close();
    await proxy?.close();
  }
  process.stdout.write(`# kill -9 (${point}) and resume: ${Date.now() - t0} ms\n`);
}

test('kill -9 right after Ironic created a port and before the job recorded it: the resumed job adopts the port, no node or port twice', async () => {
  await killMidHandoff(machines[7]!, 'port-answered');
});

test('kill -9 while Ironic had not yet processed the port POST (it lands after the restarted job looked): the resumed job adopts that port instead of failing on "already exists" and removing the node', async () => {
  await killMidHandoff(machines[8]!, 'port-in-flight');
});

test('kill -9 while Ironic had not yet processed the node POST (it lands after the restarted job looked the name up): the resumed job adopts that node, no second one', async () => {
  await killMidHandoff(machines[9]!, 'node-in-flight');
});
