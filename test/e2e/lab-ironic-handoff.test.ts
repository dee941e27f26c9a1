// `npm run lab` ends with a real OpenStack Ironic (issue 16 acceptance) and the pivot is verified on the wire:
// `lab/cli.ts up` (1 SeaBIOS node, authoritative DHCP, --wait-available) starts Debian's Ironic in its own namespace on
// the BMC bridge (lab/ironic.ts), registers it with the daemon as the hand-off target (GET /api/v1/engines) and forwards
// its API to 127.0.0.1 (printed beside the UI's), where python3-ironicclient's `baremetal node list` reads it. The
// discovered node is handed over through RackSeed's API to that Ironic (noauth); then a power-on through Ironic's own
// API (its ipmitool → ipmi_sim → chassis-control) really starts the node's QEMU, whose PXE DHCP requests a tcpdump on
// the provisioning bridge sees — and RackSeed sends no DHCP packet back (capture), records "owned by ironic" once for
// its MAC (event history), and leases nothing (authoritative mode). SIGTERM to the lab CLI tears everything down:
// namespaces (the Ironic one too) and processes, checked by PID. One VM (TCG); run with the heavy wrapper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labNames, NET } from '../../lab/config.ts';
import { LabApi } from '../../lab/api-client.ts';
import { pidAlive, readPidFile, run, sleep, spawnDetached } from '../../lab/processes.ts';
import { readState } from '../../lab/teardown.ts';
import { namespaceExists } from '../../lab/topology.ts';
import { ironicInstalled } from '../../lab/ironic.ts';
import type { EngineInfo, HandoffRecord } from '../../shared/handoff.ts';
import type { NodeSummary, NodeEvent } from '../../shared/node.ts';

const isRoot = process.getuid?.() === 0;

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(500);
  }
}

test('npm run lab: real Ironic in the lab, hand-off through RackSeed, power-on through Ironic boots the VM and RackSeed stays silent (capture + events)', {
  skip: isRoot ? (ironicInstalled() ? false : 'Debian\'s Ironic is not installed (bash scripts/setup.sh test)') : 'needs root (namespaces, QEMU taps)', timeout: 1_200_000,
}, async () => {
  const id = `t${randomBytes(3).toString('hex')}`;
  const names = labNames(id);
  const token = randomBytes(24).toString('base64url');
  const scratch = mkdtempSync(join(tmpdir(), 'rs-lab-ironic-'));
  let out = '';
  const cli: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'up', '--id', id, '--nodes', '1', '--firmware', 'bios', '--no-build',
    '--images', 'none', '--port', '0', '--ironic-port', '0', '--wait-available', '--timeout', '900'],
  { env: { ...process.env, RACKSEED_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
  cli.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  cli.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  let tcpdump: number | null = null;
  let pids: number[] = [];
  try {
    await waitFor(`the lab (${out.slice(-3000)})`, 1_000_000, () => /\n1 nodes available \(\d+ s\)\. Ctrl-C/.test(out) || (cli.exitCode !== null && (() => { throw new Error(`lab exited ${cli.exitCode}: ${out.slice(-4000)}`); })()));
    const m = /Ironic API:\s+(http:\/\/127\.0\.0\.1:\d+)\s+\(in the lab: (http:\/\/[\d.]+:\d+), noauth; the daemon's hand-off target\)/.exec(out);
    assert.ok(m, `the Ironic line beside the UI's:\n${out}`);
    assert.match(out, /RackSeed UI: http:\/\/127\.0\.0\.1:\d+/);
    const [, hostUrl, labUrl] = m;
    assert.equal(labUrl, `http://${NET.ironic}:${NET.ironicPort}`);
    const api = new LabApi(names.apiSocket, token);
    const engines = await api.get<EngineInfo[]>('/api/v1/engines');
    assert.deepEqual(engines.map((e) => [e.kind, e.url, e.auth]), [['ironic', labUrl, 'none']], 'the daemon knows the lab Ironic');
    // a client nobody here wrote, from the host through the forwarder
    const baremetal = (...args: string[]) => JSON.parse(execFileSync('/usr/bin/baremetal', [...args, '-f', 'json'], {
      env: { PATH: '/usr/bin:/bin', HOME: scratch, OS_ENDPOINT: hostUrl!, OS_AUTH_TYPE: 'none', OS_BAREMETAL_API_VERSION: '1.82' }, encoding: 'utf8', timeout: 60_000,
    })) as Record<string, unknown>[];
    assert.deepEqual(baremetal('node', 'list'), []);

    const [node] = await api.get<NodeSummary[]>('/api/v1/nodes');
    assert.equal(node?.state, 'available');
    await api.post('/api/v1/handoff', { nodes: [node!.id], engine: { kind: 'ironic', url: labUrl } });
    const rec = await waitFor('the hand-off', 300_000, async () => {
      const [r] = await api.get<HandoffRecord[]>(`/api/v1/handoff?nodes=${node!.id}`);
      return r && r.status !== 'running' ? r : null;
    });
    assert.equal(rec.status, 'done', rec.error ?? '');
    const listed = baremetal('node', 'list', '--fields', 'uuid', 'name', 'provision_state', 'power_state', 'driver');
    assert.equal(listed.length, 1);
    assert.deepEqual([listed[0]!['UUID'], listed[0]!['Provisioning State'], listed[0]!['Power State'], listed[0]!['Driver']], [rec.engineNode, 'available', 'power off', 'ipmi']);

    // the capture on the provisioning bridge, then a power-on through Ironic's own API
    const pcap = join(scratch, 'prov.pcap');
    tcpdump = spawnDetached(names.rackNs, 'tcpdump', ['-i', 'br-prov', '-n', '-U', '-Z', 'root', '-w', pcap, 'udp and (port 67 or port 68 or port 4011)'], join(scratch, 'tcpdump.log'));
    await sleep(1500);
    const qemuPidFile = join(readState(names)!.nodeDirs[0]!, 'power.pid');
    const before = readPidFile(qemuPidFile);
    assert.ok(before === null || !pidAlive(before), 'the node is off before Ironic powers it on');
    const put = await fetch(`${hostUrl}/v1/nodes/${rec.engineNode}/states/power`, {
      method: 'PUT', headers: { 'content-type': 'application/json', 'x-openstack-ironic-api-version': '1.82' }, body: JSON.stringify({ target: 'power on' }),
    });
    assert.equal(put.status, 202, await put.text());
    const qemu = await waitFor('QEMU started by Ironic', 120_000, () => { const p = readPidFile(qemuPidFile); return p !== null && pidAlive(p) ? p : null; });
    const mac = node!.mac;
    // the node PXE-boots (its disk is blank): wait for its DHCP requests on the wire, and a while longer for retries
    const lines = () => run(null, 'tcpdump', ['-r', pcap, '-nn', '-e'], 30_000).split('\n').filter((l) => l.trim());
    await waitFor(`DHCP requests from ${mac} (QEMU pid ${qemu})`, 240_000, () => lines().filter((l) => l.toLowerCase().startsWith(`${mac}`) || l.toLowerCase().includes(` ${mac} >`)).length >= 2);
    await sleep(15_000);
    const all = lines();
    const fromNode = all.filter((l) => l.toLowerCase().includes(`${mac} >`));
    const fromRackSeed = all.filter((l) => l.includes(`${NET.provAppliance}.67 >`) || l.includes(`${NET.provAppliance}.4011 >`));
    assert.ok(fromNode.length >= 2, `the node asked (${fromNode.length} DHCP packets):\n${all.join('\n')}`);
    assert.deepEqual(fromRackSeed, [], 'RackSeed sent no DHCP/proxyDHCP packet on the provisioning bridge');
    const events = await api.get<NodeEvent[]>(`/api/v1/events?mac=${encodeURIComponent(mac)}&limit=2000`);
    const owned = events.filter((e) => e.kind === 'owned-elsewhere');
    assert.equal(owned.length, 1, `one "owned by" event: ${JSON.stringify(owned)}`);
    assert.equal(owned[0]!.message, `not answered: owned by ironic (${labUrl})`);
    const since = rec.updatedAt ?? 0;
    const served = events.filter((e) => e.at > since && e.source === 'dhcp' && ['offer', 'ack', 'proxy-offer'].includes(e.kind));
    assert.deepEqual(served, [], 'no DHCP answer in the node\'s history after the hand-off');
    console.log(`# node DHCP packets seen: ${fromNode.length}, RackSeed replies: 0`);
  } finally {
    pids = [...Object.values(readState(names)?.pids ?? {}).flat().filter((p): p is number => typeof p === 'number')];
    if (tcpdump !== null) { try { process.kill(tcpdump, 'SIGTERM'); } catch { /* gone */ } }
    if (cli.exitCode === null) {
      cli.kill('SIGTERM');
      await waitFor('the lab CLI to exit', 60_000, () => cli.exitCode !== null);
    }
    rmSync(scratch, { recursive: true, force: true });
  }
  assert.match(out, /everything removed \(namespaces, taps, bridges, QEMU, BMCs, daemon, Ironic, forwarders\)/);
  for (const ns of [names.rackNs, names.appNs, names.uplinkNs, names.ironicNs]) assert.equal(namespaceExists(ns), false, `namespace ${ns} left behind`);
  assert.deepEqual(pids.filter(pidAlive), [], 'no lab process left (Ironic and its relay included)');
});

test('npm run lab -- --ironic-auth basic: the lab Ironic asks for HTTP basic auth, the daemon holds the password, openstack baremetal works with the printed credentials', {
  skip: isRoot ? (ironicInstalled() ? false : 'Debian\'s Ironic is not installed (bash scripts/setup.sh test)') : 'needs root (namespaces, QEMU taps)', timeout: 600_000,
}, async () => {
  const id = `t${randomBytes(3).toString('hex')}`;
  const names = labNames(id);
  const token = randomBytes(24).toString('base64url');
  const scratch = mkdtempSync(join(tmpdir(), 'rs-lab-ironic-basic-'));
  let out = '';
  // no discovery: the node stays off (no VM boots)
  const cli: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'up', '--id', id, '--nodes', '1', '--firmware', 'bios', '--no-build',
    '--images', 'none', '--port', '0', '--ironic-port', '0', '--ironic-auth', 'basic'],
  { env: { ...process.env, RACKSEED_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
  cli.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  cli.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  let pids: number[] = [];
  try {
    await waitFor(`the lab (${out.slice(-3000)})`, 500_000, () => /Ready\. Ctrl-C/.test(out) || (cli.exitCode !== null && (() => { throw new Error(`lab exited ${cli.exitCode}: ${out.slice(-4000)}`); })()));
    const m = /export OS_ENDPOINT=(http:\/\/127\.0\.0\.1:\d+) OS_AUTH_TYPE=http_basic OS_USERNAME=(\S+) OS_PASSWORD=(\S+); openstack baremetal node list/.exec(out);
    assert.ok(m, out);
    const [, hostUrl, user, password] = m;
    assert.match(out, /Ironic API:\s+http:\/\/127\.0\.0\.1:\d+\s+\(in the lab: http:\/\/10\.242\.0\.2:6385, HTTP basic, user rackseed-lab;/);
    const api = new LabApi(names.apiSocket, token);
    const engines = await api.get<EngineInfo[]>('/api/v1/engines');
    assert.deepEqual(engines.map((e) => [e.url, e.auth, e.user, e.passwordSet]), [['http://10.242.0.2:6385', 'basic', 'rackseed-lab', true]]);
    assert.ok(!JSON.stringify(engines).includes(password!), 'the password is never in an API answer');
    const env = { PATH: '/usr/bin:/bin', HOME: scratch, OS_ENDPOINT: hostUrl!, OS_AUTH_TYPE: 'http_basic', OS_USERNAME: user!, OS_BAREMETAL_API_VERSION: '1.82' };
    assert.deepEqual(JSON.parse(execFileSync('/usr/bin/baremetal', ['node', 'list', '-f', 'json'], { env: { ...env, OS_PASSWORD: password! }, encoding: 'utf8', timeout: 60_000 })), []);
    const anon = await fetch(`${hostUrl}/v1/nodes`, { headers: { 'x-openstack-ironic-api-version': '1.82' } });
    assert.equal(anon.status, 401, 'the lab Ironic refuses a request without credentials');
    // `lab status` counts the Ironic namespace and shows Ironic's process
    const st = execFileSync(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'status', '--id', id], { encoding: 'utf8', timeout: 120_000 });
    assert.match(st, new RegExp(`^\\* ${id}: 4/4 namespaces, owner pid \\d+$`, 'm'), st);
    assert.match(st, new RegExp(`^    ironic pid \\d+ running in ${names.ironicNs} \\(namespace present\\), API http://10\\.242\\.0\\.2:6385 in the lab`, 'm'), st);
  } finally {
    pids = [...Object.values(readState(names)?.pids ?? {}).flat().filter((p): p is number => typeof p === 'number')];
    if (cli.exitCode === null) {
      cli.kill('SIGTERM');
      await waitFor('the lab CLI to exit', 60_000, () => cli.exitCode !== null);
    }
    rmSync(scratch, { recursive: true, force: true });
  }
  for (const ns of [names.rackNs, names.appNs, names.uplinkNs, names.ironicNs]) assert.equal(namespaceExists(ns), false, `namespace ${ns} left behind`);
  assert.deepEqual(pids.filter(pidAlive), [], 'no lab process left');
});
