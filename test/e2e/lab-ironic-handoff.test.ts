// `npm run lab` ends with a real OpenStack Ironic (issue 16 acceptance) and the pivot is verified on the wire, once with
// `noauth` (the default) and once with HTTP basic auth (`--ironic-auth basic`). Each case runs `lab/cli.ts up` with two
// SeaBIOS nodes, authoritative DHCP and --wait-available: Debian's Ironic starts in its own namespace on the BMC bridge
// (lab/ironic.ts), is registered with the daemon as the hand-off target (GET /api/v1/engines), and its API is forwarded
// to 127.0.0.1 (printed beside the UI's), where python3-ironicclient's `baremetal` reads it. Both discovered nodes are
// handed over through RackSeed's API; Ironic reports them `available` with the power state the BMCs give ipmitool
// (off); then a power-on through Ironic's own API (its ipmitool → ipmi_sim → chassis-control) really starts both nodes'
// QEMU — Ironic and the BMCs then say on — and their PXE DHCP requests are seen by a tcpdump on the provisioning
// bridge, while RackSeed sends no DHCP packet back (capture), records "owned by ironic" once per MAC (event history)
// and leases nothing (authoritative mode). SIGTERM to the lab CLI tears everything down: namespaces (the Ironic one
// too) and processes, checked by PID.
// One lab per auth mode: the lab Ironic's auth is fixed when `npm run lab` starts it, and each case is then exactly
// what a field engineer runs (`npm run lab`, `npm run lab -- --ironic-auth basic`); one discovery round of two nodes
// costs ~30 s (TCG), about what a take-back and a second Ironic would. The noauth case binds the host port with
// --ironic-port 0, the basic one through RACKSEED_IRONIC_PORT (a free high port; 6385 may be taken on this machine —
// its default is a unit test, test/unit/lab-ironic-port.test.ts). Two VMs per case (TCG); run with the heavy wrapper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BMC_PASSWORD, DEFAULT_BMC_USER, labNames, NET, nodeIdentity, type LabNames } from '../../lab/config.ts';
import { LabApi } from '../../lab/api-client.ts';
import { pidAlive, readPidFile, run, sleep, spawnDetached } from '../../lab/processes.ts';
import { readState } from '../../lab/teardown.ts';
import { namespaceExists } from '../../lab/topology.ts';
import { ironicInstalled } from '../../lab/ironic.ts';
import type { EngineInfo, HandoffRecord, HandoffRequest } from '../../shared/handoff.ts';
import type { NodeSummary, NodeEvent } from '../../shared/node.ts';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? (ironicInstalled() ? false : 'Debian\'s Ironic is not installed (bash scripts/setup.sh test)') : 'needs root (namespaces, QEMU taps)';
const NODES = 2;
const IRONIC_VERSION = '1.82';

async function waitFor<T>(what: string | (() => string), timeoutMs: number, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out: ${typeof what === 'string' ? what : what()}`);
    await sleep(500);
  }
}

function freeLoopbackPort(): Promise<number> {
  const s = createServer();
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
  });
}

interface RunningLab { id: string; names: LabNames; token: string; scratch: string; cli: ChildProcess; out: () => string; api: LabApi }

/** `lab/cli.ts up` with two BIOS nodes and discovery; resolves when both are available. */
async function labUp(prefix: string, extraArgs: string[], env: NodeJS.ProcessEnv): Promise<RunningLab> {
  const id = `t${randomBytes(3).toString('hex')}`;
  const names = labNames(id);
  const token = randomBytes(24).toString('base64url');
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  let out = '';
  const cli = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'up', '--id', id, '--nodes', String(NODES), '--firmware', 'bios', '--no-build',
    '--images', 'none', '--port', '0', '--wait-available', '--timeout', '900', ...extraArgs],
  { env: { ...process.env, ...env, RACKSEED_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
  cli.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  cli.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const lab: RunningLab = { id, names, token, scratch, cli, out: () => out, api: new LabApi(names.apiSocket, token) };
  try {
    await waitFor(() => `the lab (${out.slice(-3000)})`, 1_000_000, () => new RegExp(`\\n${NODES} nodes available \\(\\d+ s\\)\\. Ctrl-C`).test(out)
      || (cli.exitCode !== null && (() => { throw new Error(`lab exited ${cli.exitCode}: ${out.slice(-4000)}`); })()));
  } catch (err) {
    await labDown(lab).catch(() => {});
    throw err;
  }
  return lab;
}

/** SIGTERM to the lab CLI; then nothing of the lab may be left (namespaces, processes by PID). */
async function labDown(lab: RunningLab, tcpdump: number | null = null): Promise<void> {
  const pids = [...Object.values(readState(lab.names)?.pids ?? {}).flat().filter((p): p is number => typeof p === 'number')];
  const qemus = (readState(lab.names)?.nodeDirs ?? []).map((d) => readPidFile(join(d, 'power.pid'))).filter((p): p is number => p !== null);
  if (tcpdump !== null) { try { process.kill(tcpdump, 'SIGTERM'); } catch { /* gone */ } }
  if (lab.cli.exitCode === null) {
    lab.cli.kill('SIGTERM');
    await waitFor('the lab CLI to exit', 60_000, () => lab.cli.exitCode !== null);
  }
  rmSync(lab.scratch, { recursive: true, force: true });
  assert.match(lab.out(), /everything removed \(namespaces, taps, bridges, QEMU, BMCs, daemon, Ironic, forwarders\)/);
  for (const ns of [lab.names.rackNs, lab.names.appNs, lab.names.uplinkNs, lab.names.ironicNs]) assert.equal(namespaceExists(ns), false, `namespace ${ns} left behind`);
  assert.deepEqual([...pids, ...qemus].filter(pidAlive), [], 'no lab process left (QEMU, Ironic and its relay included)');
}

/** What the BMC itself says, asked with ipmitool from the rack namespace (not through RackSeed or Ironic). */
function bmcPower(names: LabNames, address: string): 'on' | 'off' {
  const outText = run(names.rackNs, 'ipmitool', ['-I', 'lanplus', '-H', address, '-U', DEFAULT_BMC_USER, '-P', DEFAULT_BMC_PASSWORD, '-C', '3', 'chassis', 'power', 'status'], 30_000);
  const m = /Chassis Power is (on|off)/.exec(outText);
  assert.ok(m, `ipmitool chassis power status on ${address}: ${outText}`);
  return m[1] as 'on' | 'off';
}

interface IronicAccess {
  hostUrl: string;
  labUrl: string;
  /** headers for Ironic's API from the host (auth included) */
  headers: Record<string, string>;
  /** environment for Debian's `baremetal` (python3-ironicclient) */
  clientEnv: Record<string, string>;
  /** the engine as given to POST /api/v1/handoff (basic: the user; the daemon holds the password) */
  engine: HandoffRequest['engine'];
}

/**
 * The acceptance path on a running lab: both nodes handed over, Ironic's view (available, power = the BMCs'), a power-on
 * through Ironic's API that starts both QEMUs, and RackSeed silent for them (capture on br-prov + event history).
 */
async function handOverAndBoot(lab: RunningLab, ironic: IronicAccess): Promise<void> {
  const { api, names } = lab;
  const baremetal = (...args: string[]) => JSON.parse(execFileSync('/usr/bin/baremetal', [...args, '-f', 'json'], {
    env: { PATH: '/usr/bin:/bin', HOME: lab.scratch, OS_ENDPOINT: ironic.hostUrl, OS_BAREMETAL_API_VERSION: IRONIC_VERSION, ...ironic.clientEnv }, encoding: 'utf8', timeout: 60_000,
  })) as Record<string, unknown>[];
  const ironicGet = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${ironic.hostUrl}${path}`, { headers: { ...ironic.headers, 'x-openstack-ironic-api-version': IRONIC_VERSION } });
    assert.equal(r.status, 200, `GET ${path}: ${r.status}`);
    return r.json() as Promise<T>;
  };
  assert.deepEqual(baremetal('node', 'list'), [], 'Ironic starts empty');

  const nodes = await api.get<NodeSummary[]>('/api/v1/nodes');
  assert.equal(nodes.length, NODES);
  const idents = Array.from({ length: NODES }, (_, i) => nodeIdentity(lab.id, i + 1));
  const nodeDirs = readState(names)!.nodeDirs;
  const plan = idents.map((ident) => {
    const node = nodes.find((n) => n.mac === ident.mac);
    assert.ok(node, `node ${ident.name} (${ident.mac}) discovered: ${JSON.stringify(nodes.map((n) => n.mac))}`);
    assert.equal(node.state, 'available');
    const dir = nodeDirs.find((d) => d.endsWith(`/${ident.name}`));
    assert.ok(dir, `${ident.name}'s folder in ${JSON.stringify(nodeDirs)}`);
    return { node, ident, pidFile: join(dir, 'power.pid') };
  });
  for (const p of plan) {
    const pid = readPidFile(p.pidFile);
    assert.ok(pid === null || !pidAlive(pid), `${p.ident.name} is off after discovery`);
  }

  await api.post('/api/v1/handoff', { nodes: plan.map((p) => p.node.id), engine: ironic.engine } satisfies HandoffRequest);
  const recs = await waitFor('the hand-off of both nodes', 300_000, async () => {
    const rs = await api.get<HandoffRecord[]>(`/api/v1/handoff?nodes=${plan.map((p) => p.node.id).join(',')}`);
    return rs.length === NODES && rs.every((r) => r.status !== 'running') ? rs : null;
  });
  for (const r of recs) assert.equal(r.status, 'done', `${r.nodeId}: ${r.error ?? ''}`);
  const recOf = (id: string) => recs.find((r) => r.nodeId === id)!;

  // Ironic's own view, through a client nobody here wrote: both available, its power state is what the BMCs say
  const listed = baremetal('node', 'list', '--fields', 'uuid', 'name', 'provision_state', 'power_state', 'driver');
  assert.equal(listed.length, NODES, JSON.stringify(listed));
  for (const p of plan) {
    const row = listed.find((l) => l['UUID'] === recOf(p.node.id).engineNode);
    assert.ok(row, `${p.ident.name} (${recOf(p.node.id).engineNode}) in Ironic: ${JSON.stringify(listed)}`);
    const bmc = bmcPower(names, p.ident.bmcAddress);
    assert.deepEqual([row['Provisioning State'], row['Power State'], row['Driver']], ['available', `power ${bmc}`, 'ipmi'], `${p.ident.name}: Ironic vs its BMC`);
    assert.equal(bmc, 'off');
  }

  // the capture on the provisioning bridge, then a power-on through Ironic's own API, both nodes
  const pcap = join(lab.scratch, 'prov.pcap');
  const tcpdump = spawnDetached(names.rackNs, 'tcpdump', ['-i', 'br-prov', '-n', '-U', '-Z', 'root', '-w', pcap, 'udp and (port 67 or port 68 or port 4011)'], join(lab.scratch, 'tcpdump.log'));
  try {
    await sleep(1500);
    for (const p of plan) {
      const put = await fetch(`${ironic.hostUrl}/v1/nodes/${recOf(p.node.id).engineNode}/states/power`, {
        method: 'PUT', headers: { ...ironic.headers, 'content-type': 'application/json', 'x-openstack-ironic-api-version': IRONIC_VERSION }, body: JSON.stringify({ target: 'power on' }),
      });
      assert.equal(put.status, 202, await put.text());
    }
    const qemus = await Promise.all(plan.map((p) => waitFor(`${p.ident.name}'s QEMU started by Ironic`, 180_000, () => { const pid = readPidFile(p.pidFile); return pid !== null && pidAlive(pid) ? pid : null; })));
    for (const p of plan) {
      const uuid = recOf(p.node.id).engineNode!;
      await waitFor(`Ironic to report ${p.ident.name} on`, 180_000, async () => {
        const n = await ironicGet<{ power_state: string | null; target_power_state: string | null }>(`/v1/nodes/${uuid}?fields=power_state,target_power_state`);
        return n.power_state === 'power on' && n.target_power_state === null;
      });
      assert.equal(bmcPower(names, p.ident.bmcAddress), 'on', `${p.ident.name}'s BMC agrees with Ironic`);
    }
    // the nodes PXE-boot (their disks are blank): wait for their DHCP requests on the wire, and a while longer for retries
    const lines = () => run(null, 'tcpdump', ['-r', pcap, '-nn', '-e'], 30_000).split('\n').filter((l) => l.trim());
    const fromMac = (all: string[], mac: string) => all.filter((l) => l.toLowerCase().includes(`${mac} >`));
    await waitFor(() => `DHCP requests from both nodes (QEMU pids ${qemus.join(', ')}):\n${lines().join('\n')}`, 300_000,
      () => { const all = lines(); return plan.every((p) => fromMac(all, p.ident.mac).length >= 2); });
    await sleep(15_000);
    const all = lines();
    const fromRackSeed = all.filter((l) => l.includes(`${NET.provAppliance}.67 >`) || l.includes(`${NET.provAppliance}.4011 >`));
    assert.deepEqual(fromRackSeed, [], 'RackSeed sent no DHCP/proxyDHCP packet on the provisioning bridge');
    for (const p of plan) {
      const asked = fromMac(all, p.ident.mac).length;
      assert.ok(asked >= 2, `${p.ident.name} asked (${asked} DHCP packets):\n${all.join('\n')}`);
      const events = await api.get<NodeEvent[]>(`/api/v1/events?mac=${encodeURIComponent(p.ident.mac)}&limit=2000`);
      const owned = events.filter((e) => e.kind === 'owned-elsewhere');
      assert.equal(owned.length, 1, `one "owned by" event for ${p.ident.mac}: ${JSON.stringify(owned)}`);
      assert.equal(owned[0]!.message, `not answered: owned by ironic (${ironic.labUrl})`);
      const since = recOf(p.node.id).updatedAt ?? 0;
      const served = events.filter((e) => e.at > since && e.source === 'dhcp' && ['offer', 'ack', 'proxy-offer'].includes(e.kind));
      assert.deepEqual(served, [], `no DHCP answer in ${p.ident.name}'s history after the hand-off`);
      console.log(`# ${ironic.engine.auth ?? 'none'}: ${p.ident.name} sent ${asked} DHCP packets, RackSeed replies: 0`);
    }
  } finally {
    try { process.kill(tcpdump, 'SIGTERM'); } catch { /* gone */ }
  }
}

test('npm run lab (noauth): two discovered QEMU nodes handed over to the lab Ironic, available with the BMCs\' power state; a power-on through Ironic boots them and RackSeed stays silent (capture + events)', {
  skip, timeout: 1_200_000,
}, async () => {
  const lab = await labUp('rs-lab-ironic-', ['--ironic-port', '0'], {});
  let failed = true;
  try {
    const out = lab.out();
    const m = /Ironic API:\s+(http:\/\/127\.0\.0\.1:\d+)\s+\(in the lab: (http:\/\/[\d.]+:\d+), noauth; the daemon's hand-off target\)/.exec(out);
    assert.ok(m, `the Ironic line beside the UI's:\n${out}`);
    assert.match(out, /RackSeed UI: http:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, new RegExp(`export OS_ENDPOINT=${m[1]!.replace(/\./g, '\\.')} OS_AUTH_TYPE=none; openstack baremetal node list`));
    const [, hostUrl, labUrl] = m;
    assert.equal(labUrl, `http://${NET.ironic}:${NET.ironicPort}`);
    const engines = await lab.api.get<EngineInfo[]>('/api/v1/engines');
    assert.deepEqual(engines.map((e) => [e.kind, e.url, e.auth]), [['ironic', labUrl, 'none']], 'the daemon knows the lab Ironic');
    await handOverAndBoot(lab, { hostUrl: hostUrl!, labUrl: labUrl!, headers: {}, clientEnv: { OS_AUTH_TYPE: 'none' }, engine: { kind: 'ironic', url: labUrl! } });
    failed = false;
  } finally {
    await labDown(lab).catch((err: unknown) => { if (!failed) throw err; });
  }
});

test('npm run lab -- --ironic-auth basic (port from RACKSEED_IRONIC_PORT): the lab Ironic asks for HTTP basic auth, the daemon holds the password; two QEMU nodes handed over with it, booted through Ironic, RackSeed silent (capture + events)', {
  skip, timeout: 1_200_000,
}, async () => {
  const port = await freeLoopbackPort();
  const lab = await labUp('rs-lab-ironic-basic-', ['--ironic-auth', 'basic'], { RACKSEED_IRONIC_PORT: String(port) });
  let failed = true;
  try {
    const out = lab.out();
    const m = /export OS_ENDPOINT=(http:\/\/127\.0\.0\.1:\d+) OS_AUTH_TYPE=http_basic OS_USERNAME=(\S+) OS_PASSWORD=(\S+); openstack baremetal node list/.exec(out);
    assert.ok(m, out);
    const [, hostUrl, user, password] = m;
    assert.equal(hostUrl, `http://127.0.0.1:${port}`, 'the forwarder listens on RACKSEED_IRONIC_PORT');
    assert.match(out, new RegExp(`Ironic API:\\s+http://127\\.0\\.0\\.1:${port}\\s+\\(in the lab: http://10\\.242\\.0\\.2:6385, HTTP basic, user rackseed-lab; the daemon's hand-off target\\)`));
    const labUrl = `http://${NET.ironic}:${NET.ironicPort}`;
    const engines = await lab.api.get<EngineInfo[]>('/api/v1/engines');
    assert.deepEqual(engines.map((e) => [e.url, e.auth, e.user, e.passwordSet]), [[labUrl, 'basic', 'rackseed-lab', true]]);
    assert.ok(!JSON.stringify(engines).includes(password!), 'the password is never in an API answer');
    const anon = await fetch(`${hostUrl}/v1/nodes`, { headers: { 'x-openstack-ironic-api-version': IRONIC_VERSION } });
    assert.equal(anon.status, 401, 'the lab Ironic refuses a request without credentials');
    // `lab status` counts the Ironic namespace and shows Ironic's process
    const st = execFileSync(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'status', '--id', lab.id], { encoding: 'utf8', timeout: 120_000 });
    assert.match(st, new RegExp(`^\\* ${lab.id}: 4/4 namespaces, owner pid \\d+$`, 'm'), st);
    assert.match(st, new RegExp(`^    ironic pid \\d+ running in ${lab.names.ironicNs} \\(namespace present\\), API http://10\\.242\\.0\\.2:6385 in the lab`, 'm'), st);
    // the hand-off names the known engine and its user; the daemon uses the password it sealed when the lab registered it
    await handOverAndBoot(lab, {
      hostUrl: hostUrl!, labUrl,
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
      clientEnv: { OS_AUTH_TYPE: 'http_basic', OS_USERNAME: user!, OS_PASSWORD: password! },
      engine: { kind: 'ironic', url: labUrl, auth: 'basic', user: user! },
    });
    const events = await lab.api.get<NodeEvent[]>('/api/v1/events?limit=5000');
    assert.ok(!JSON.stringify(events).includes(password!), 'the Ironic password is in no event');
    failed = false;
  } finally {
    await labDown(lab).catch((err: unknown) => { if (!failed) throw err; });
  }
});
