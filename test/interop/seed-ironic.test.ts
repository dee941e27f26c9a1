// The seed's orchestration (core/seed, issue 17) against REAL parts: Debian's Ironic (test/helpers/ironic.ts, one
// `/usr/bin/ironic`, SQLite, HTTP basic with the password the seed generated) and OpenIPMI ipmi_sim BMCs in a test
// network namespace for the nodes handed over; the hand-off stage is core/handoff's own code path. The control node's
// deploy runs through the real DeployService with test/helpers/deploy-fakes.ts' fake BMC, agent and OS — the pattern
// the deploy service's own unit tests use (test/unit/deploy-job.test.ts): booting the lab-control image in a TCG VM is
// the lab scenario's job, not this test's. Ironic is started only once the seed waits for it, so wait-ironic polls a
// closed port first; the kill -9 is of a real child process (test/helpers/seed-child.ts) in the middle of the hand-off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { NetnsSandbox, canUseNetns, ip } from '../helpers/netns.ts';
import { enterNetns, startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.ts';
import { startIronic, ironicInstalled, type IronicProcess } from '../helpers/ironic.ts';
import { addNode, FakeBmcs, importImage, MiB } from '../helpers/deploy-fakes.ts';
import { biosMbrImage } from '../helpers/images.ts';
import { Core } from '../../core/core.ts';
import { ipmiConnector } from '../../core/bmc/ipmi-connector.ts';
import type { BmcConnector } from '../../core/bmc-port.ts';
import { IpmiClient } from '../../bmc/ipmi/session/client.ts';
import { inventoryFor } from '../unit/core-inventory-fixture.ts';
import { CoreError } from '../../core/jobs/runner.ts';
import type { SeedRecord } from '../../shared/seed.ts';

const BMC_PASSWORD = 'bmc-Pw-4-seed';
const IRONIC_PORT = 6391;
const IRONIC_URL = `http://127.0.0.1:${IRONIC_PORT}`;
const sandbox = new NetnsSandbox();
let ns = '';
let leave: (() => void) | null = null;
const sims: IpmiSim[] = [];
const ironics: IronicProcess[] = [];
const children: ChildProcess[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'rs-seed-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Machine { mac: string; serial: string; uuid: string; bmc: string; sim: IpmiSim }

async function until<T>(what: string, ms: number, f: () => Promise<T | null | undefined | false> | T | null | undefined | false): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function machine(n: number): Promise<Machine> {
  const bmc = `10.242.17.${n}`;
  ip('-n', ns, 'addr', 'add', `${bmc}/32`, 'dev', 'lo');
  const uuid = `0000${n.toString(16).padStart(4, '0')}-1111-2222-3333-4444555577${n.toString(16).padStart(2, '0')}`;
  const sim = await startIpmiSim({ sandbox, ns, address: bmc, user: 'admin', password: BMC_PASSWORD, guid: uuid.replace(/-/g, '') });
  sims.push(sim);
  return { mac: `52:54:00:17:00:${n.toString(16).padStart(2, '0')}`, serial: `SN-SEED-${n}`, uuid, bmc, sim };
}

/** A node as discovery leaves it, with its BMC an ipmi_sim (handed over through Ironic's own ipmitool). */
function discovered(core: Core, m: Machine): string {
  const { node } = core.lifecycle.ensureNode(m.mac, 'api');
  core.nodes.update(node.id, { inventory: inventoryFor(m.mac, node.id, m.uuid, m.serial), serial: m.serial, uuid: m.uuid, bmcAddress: m.bmc, bmcMatchedBy: 'guid', firmware: 'bios' });
  core.bmcs.upsert(m.bmc, { nodeId: node.id, guid: m.uuid });
  core.lifecycle.transition(node.id, 'available', 'inventory');
  return node.id;
}

/** One core: the control node's BMC is deploy-fakes' (its fake agent writes the image, its fake OS calls back), the others real. */
function seedCore(dataDir: string, fakes: FakeBmcs): Core {
  const ipmi = ipmiConnector(new IpmiClient({ logger: pino({ level: 'silent' }) }));
  const connector: BmcConnector = (address, creds) => (fakes.machines.has(address) ? fakes.connector(address, creds) : ipmi(address, creds));
  const core = new Core({
    dataDir, logger: pino({ level: 'silent' }), bmcConnector: connector, handoff: { pollMs: 100 }, seed: { pollMs: 100, ironicUrlOverride: IRONIC_URL },
    deploy: { agentTimeoutMs: 5000, stallMs: 5000, powerOffTimeoutMs: 1500, pollMs: 30, bmcStepTimeoutMs: 5000 },
  });
  core.config.setBmcCredentials({ user: 'admin', password: BMC_PASSWORD });
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, ramdisk: { kernelPath: '/files/vmlinuz', initrdPath: '/files/initrd.img' } };
  fakes.core = core;
  return core;
}

const NETWORK = { provisioningCidr: '10.242.17.250/24', bmcNic: { mac: '52:54:00:17:01:01', cidr: '10.242.18.250/24' }, dhcpRange: { start: '10.242.17.100', end: '10.242.17.199', netmask: '255.255.255.0' } };

/** A control node (fake BMC, 2 GiB of RAM, 256 MiB disk) and the lab-control image (a small bootable MBR image here). */
async function controlNode(core: Core, fakes: FakeBmcs, dir: string, memMiB = 2048): Promise<string> {
  const img = join(dir, 'control.img');
  biosMbrImage(img);
  await importImage(core, 'lab-control', img);
  const n = addNode(core, fakes, { mac: '52:54:00:17:00:01', serial: 'SN-SEED-CONTROL', address: '10.242.17.1', disk: join(dir, 'control-disk'), diskBytes: 256 * MiB });
  const inv = core.nodes.inventory(n.id) as { memory: { totalBytes: number | null } };
  core.nodes.update(n.id, { inventory: { ...inv, memory: { totalBytes: memMiB * MiB, usableBytes: memMiB * MiB } } as never });
  return n.id;
}

async function ironicGet<T>(path: string, password: string): Promise<T> {
  const r = await fetch(IRONIC_URL + path, { headers: { 'x-openstack-ironic-api-version': '1.82', authorization: `Basic ${Buffer.from(`rackseed:${password}`).toString('base64')}` } });
  assert.ok(r.ok, `${path}: ${r.status}`);
  return await r.json() as T;
}

const passwordOf = (core: Core): string => /^OS_PASSWORD=(.+)$/m.exec(core.seed.credentials())![1];

before(async () => {
  assert.ok(canUseNetns(), 'this test needs root and iproute2 (network namespaces)');
  assert.ok(ironicInstalled(), 'Debian\'s ironic-api, ironic-conductor and python3-ironicclient are needed (scripts/setup.sh test)');
  ns = sandbox.addNamespace('seed');
  leave = await enterNetns(ns);
});

after(async () => {
  for (const c of children) { if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); }
  await Promise.allSettled(ironics.map((i) => i.stop()));
  for (const s of sims) await s.stop();
  leave?.();
  await sandbox.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

test('seed: plan, refusal of a too-small control node, deploy → wait for Ironic (timeout first) → hand-off verified by Ironic → pivot → report; resume; rollback', async () => {
  const dir = mkdtempSync(join(scratch, 'a-'));
  const fakes = new FakeBmcs();
  const core = seedCore(join(dir, 'data'), fakes);
  try {
    const [m2, m3] = [await machine(2), await machine(3)];
    writeFileSync(m3.sim.powerFile, '1\n'); // one on, one off
    const small = await controlNode(core, fakes, dir, 512);
    const n2 = discovered(core, m2);
    const n3 = discovered(core, m3);

    // too small: refused before anything changes, with the reason
    assert.throws(() => core.seed.start({ control: small, network: NETWORK }), (e: unknown) => e instanceof CoreError && e.statusCode === 409 && /too small for the control node: 512 MiB of RAM.*needs 1536 MiB/.test(e.message));
    assert.equal(core.seed.get(), null);
    let plan = core.seed.plan();
    assert.equal(plan.control, null, 'no node big enough: none proposed');
    assert.match(plan.problem!, /no node can be the control node/);
    const inv = core.nodes.inventory(small) as { memory: { totalBytes: number | null } };
    core.nodes.update(small, { inventory: { ...inv, memory: { totalBytes: 2048 * MiB, usableBytes: 2048 * MiB } } as never });
    plan = core.seed.plan();
    assert.equal(plan.control, small, 'the node with the most RAM is proposed');
    assert.deepEqual(plan.nodes.filter((n) => n.action === 'handoff').map((n) => n.id).sort(), [n2, n3].sort());

    // the seed, with a 3 s Ironic timeout: Ironic is not running, so wait-ironic fails with the reason
    const started = core.seed.start({ control: small, network: NETWORK, ironicTimeoutSec: 3 });
    assert.equal(started.status, 'running');
    assert.ok(!JSON.stringify(started).includes(passwordOf(core)), 'no password in the record');
    const failed = await until('wait-ironic to time out', 120_000, () => { const s = core.seed.get(); return s?.status === 'failed' ? s : null; });
    assert.equal(failed.stage, 'wait-ironic');
    assert.equal(failed.stages.find((s) => s.name === 'deploy-control')!.status, 'done', failed.error ?? '');
    assert.match(failed.error!, /wait-ironic: the control node's Ironic did not answer at http:\/\/127\.0\.0\.1:6391 within 3 s/);
    assert.equal(core.nodes.get(small)!.state, 'active', 'the control node was deployed through the deploy service');
    for (const id of [n2, n3]) assert.equal(core.handoff.store.owner(id), 'rackseed', 'nodes not handed over stay RackSeed\'s');

    // the control node's Ironic comes up (with the password the seed generated); resume from the failed stage
    const password = passwordOf(core);
    ironics.push(await startIronic({ host: '127.0.0.1', port: IRONIC_PORT, auth: { kind: 'http_basic', user: 'rackseed', password }, ipmiRetrySec: 5, syncPowerSec: 5 }));
    // Ironic started with a short wait-ironic budget measured from the stage's first start: give it a fresh one
    core.seed.store.stage(failed.id, 'wait-ironic', { startedAt: Date.now() });
    core.seed.resume();
    const done = await until('the seed', 240_000, () => { const s = core.seed.get(); return s && s.status !== 'running' ? s : null; });
    assert.equal(done.status, 'done', done.error ?? '');
    assert.deepEqual(done.stages.map((s) => s.status), ['done', 'done', 'done', 'done', 'done']);

    // what Ironic says, over its API from outside RackSeed
    const list = await ironicGet<{ nodes: { uuid: string; name: string; provision_state: string; power_state: string; deploy_interface: string; boot_interface: string; instance_info: Record<string, string> }[] }>('/v1/nodes?detail=true', password);
    assert.equal(list.nodes.length, 2, 'the two other nodes, not the control node');
    for (const [m, want] of [[m2, 'power off'], [m3, 'power on']] as const) {
      const ports = await ironicGet<{ ports: { node_uuid: string }[] }>(`/v1/ports/detail?address=${m.mac}`, password);
      assert.equal(ports.ports.length, 1, m.mac);
      const node = list.nodes.find((x) => x.uuid === ports.ports[0]!.node_uuid)!;
      assert.equal(node.provision_state, 'available');
      assert.equal(node.power_state, want, 'Ironic reads the BMC like RackSeed');
      assert.equal(node.deploy_interface, 'ramdisk');
      assert.equal(node.boot_interface, 'ipxe');
      assert.equal(node.instance_info.kernel, 'http://10.242.17.250:8080/seed/vmlinuz', 'the ramdisk the control node holds');
    }
    // the pivot: RackSeed answers none of the seed's MACs
    for (const mac of [m2.mac, m3.mac, '52:54:00:17:00:01']) assert.ok(core.handoff.store.claimedByEngine(mac), `${mac} owned elsewhere`);
    for (const mac of [m2.mac, m3.mac, '52:54:00:17:00:01']) {
      assert.equal(core.policy.dhcpBoot({ mac, arch: 7, vendorClass: 'PXEClient:Arch:00007', userClass: null, uuid: null, interface: 'br0' }), null);
      assert.equal(core.events.query({ mac, limit: 5000 }).filter((e) => e.kind === 'owned-elsewhere').length, 1, `one "owned by" event for ${mac}`);
    }
    const report = done.report!;
    assert.equal(report.unplugReady, true);
    assert.equal(report.ironicUrl, IRONIC_URL);
    assert.deepEqual(report.nodes.map((n) => n.owner).sort(), ['control-node', 'ironic', 'ironic']);
    assert.ok(report.nodes.filter((n) => n.owner === 'ironic').every((n) => n.verified && n.provisionState === 'available'));
    assert.match(core.seed.credentials(), /^OS_PASSWORD=.{20,}$/m);

    // rollback: RackSeed owns every node of the seed again; Ironic keeps its records
    const back = await core.seed.rollback();
    assert.equal(back.status, 'rolled-back');
    for (const id of [small, n2, n3]) assert.equal(core.handoff.store.owner(id), 'rackseed');
    assert.equal((await ironicGet<{ nodes: unknown[] }>('/v1/nodes', password)).nodes.length, 2);
  } finally {
    fakes.stopAll();
    core.close();
    await Promise.allSettled(ironics.splice(0).map((i) => i.stop()));
  }
});

test('seed: kill -9 of the process in the middle of the hand-off stage resumes and finishes, with no node in Ironic twice', async () => {
  const dir = mkdtempSync(join(scratch, 'b-'));
  const dataDir = join(dir, 'data');
  const fakes = new FakeBmcs();
  let core = seedCore(dataDir, fakes);
  let password = '';
  let seed: SeedRecord;
  const machines = [await machine(4), await machine(5), await machine(6)];
  try {
    const control = await controlNode(core, fakes, dir);
    for (const m of machines) discovered(core, m);
    seed = core.seed.start({ control, network: NETWORK, ironicTimeoutSec: 600 });
    // Ironic up once the control node is deployed
    await until('the wait-ironic stage', 120_000, () => core.seed.get()?.stage === 'wait-ironic');
    password = passwordOf(core);
    ironics.push(await startIronic({ host: '127.0.0.1', port: IRONIC_PORT, auth: { kind: 'http_basic', user: 'rackseed', password }, ipmiRetrySec: 5, syncPowerSec: 5 }));
    await until('the hand-off stage', 120_000, () => core.seed.get()?.stage === 'handoff');
  } finally {
    fakes.stopAll();
    core.close(); // this process lets go of the database; the child carries on from what it holds
  }
  // the child: the same data dir, resumes the hand-off stage; killed with SIGKILL once Ironic has a node
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/seed-child.ts', dataDir, IRONIC_URL], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  await until('a node in Ironic, written by the child', 120_000, async () => (await ironicGet<{ nodes: unknown[] }>('/v1/nodes', password)).nodes.length >= 1 && child.exitCode === null);
  const before = (await ironicGet<{ nodes: unknown[] }>('/v1/nodes', password)).nodes.length;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.match(out, /"stage":"handoff"/, out.slice(-2000));
  assert.ok(before >= 1 && before <= 3);

  // restart: recover() resumes the hand-off jobs, then the seed
  const fakes2 = new FakeBmcs();
  core = seedCore(dataDir, fakes2);
  try {
    core.recover();
    const done = await until('the resumed seed', 240_000, () => { const s = core.seed.get(); return s && s.status !== 'running' ? s : null; });
    assert.equal(done.id, seed!.id);
    assert.equal(done.status, 'done', done.error ?? '');
    const nodes = (await ironicGet<{ nodes: { uuid: string; provision_state: string }[] }>('/v1/nodes?detail=true', password)).nodes;
    assert.equal(nodes.length, 3, 'three nodes handed over, none twice');
    assert.ok(nodes.every((n) => n.provision_state === 'available'));
    for (const m of machines) {
      const ports = await ironicGet<{ ports: unknown[] }>(`/v1/ports?address=${m.mac}`, password);
      assert.equal(ports.ports.length, 1, `one port for ${m.mac}`);
    }
    assert.ok(core.events.query({ limit: 5000 }).some((e) => e.kind === 'seed-resumed'), 'the resume is in the history');
  } finally {
    core.close();
  }
});
