// Issue 5 acceptance on the virtual rack (lab/): 2 nodes (SeaBIOS + OVMF), each with its own ipmi_sim BMC,
// RackSeed in the appliance namespace. The sweep finds both BMCs, discovery brings both nodes to
// `available` with inventories matched to their BMCs, one node is power-cycled through the API, the uplink
// capture holds nothing from RackSeed's boot servers, and teardown leaves no namespace or process —
// also when `lab/cli.ts up` is stopped with SIGINT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labNames, NET, planNodes, DEFAULT_BMC_PASSWORD, DEFAULT_BMC_USER } from '../../lab/config.ts';
import { Lab, type RackNode } from '../../lab/rack.ts';
import { discoverNodes, sweepBmcs } from '../../lab/discovery.ts';
import { pidAlive, readPidFile, run, sleep, tryRun } from '../../lab/processes.ts';
import { readState } from '../../lab/teardown.ts';
import { namespaceExists } from '../../lab/topology.ts';
import { REPO_ROOT } from '../../lab/appliance.ts';
import type { NodeDetail, BmcInfo } from '../../shared/api.ts';
import type { NodeSummary } from '../../shared/node.ts';
import type { ImageRecord } from '../../shared/image.ts';
import { LabApi } from '../../lab/api-client.ts';

const isRoot = process.getuid?.() === 0;

/** Same machine when equal as written or with the first three fields byte-swapped (SMBIOS vs RFC 4122 order). */
function sameGuid(a: string | null | undefined, b: string): boolean {
  if (!a) return false;
  const hex = (s: string) => s.replace(/[-{}]/g, '').toLowerCase();
  const swap = (h: string) => h.slice(0, 8).match(/../g)!.reverse().join('') + h.slice(8, 12).match(/../g)!.reverse().join('')
    + h.slice(12, 16).match(/../g)!.reverse().join('') + h.slice(16);
  return hex(a) === hex(b) || swap(hex(a)) === hex(b);
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | null | Promise<T | null>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(250);
  }
}

function assertGone(id: string, pids: number[]): void {
  const n = labNames(id);
  for (const ns of [n.rackNs, n.appNs, n.uplinkNs]) assert.equal(namespaceExists(ns), false, `namespace ${ns} left behind`);
  const alive = pids.filter(pidAlive);
  assert.deepEqual(alive, [], `processes left behind: ${alive.join(', ')}`);
  // no temporary veth end left in the root namespace
  const links = run(null, 'ip', ['-o', 'link', 'show']);
  assert.equal(/\brsl[0-9a-f]{8}\b/.test(links), false, 'a lab veth is left in the root namespace');
}

test('virtual rack: 2 nodes swept, discovered, inspected, available, matched to their BMCs; power cycle; confined; clean teardown', {
  skip: isRoot ? false : 'needs root (namespaces, QEMU taps)', timeout: 360_000,
}, async (t) => {
  const lab = await Lab.up({ nodes: planNodes(2, 'bios,uefi'), daemon: { mode: 'authoritative' }, forwardPort: 0 });
  const started: number[] = [];
  try {
    const [bios, uefi] = lab.nodes as [RackNode, RackNode];
    started.push(...lab.livePids());

    await t.test('BMCs answer like real ones: System GUID decodes (SMBIOS order) to the node UUID', () => {
      for (const node of lab.nodes) {
        const out = lab.ipmitool(node, 'mc', 'guid', 'smbios');
        assert.match(out, new RegExp(`System GUID\\s*:\\s*${node.identity.uuid}`, 'i'));
      }
    });

    await t.test('the host reaches the API through the 127.0.0.1 forwarder', async () => {
      const res = await fetch(`${lab.url}/api/v1/health`, { headers: { authorization: `Bearer ${lab.token}` } });
      assert.equal(res.status, 200);
      const unauth = await fetch(`${lab.url}/api/v1/nodes`);
      assert.equal(unauth.status, 401);
    });

    const opts = {
      user: lab.bmcUser, password: lab.bmcPassword, cidr: NET.bmcNetwork,
      expectBmcs: lab.nodes.map((n) => n.bmcAddress), sweepTimeoutMs: 60_000, discoveryTimeoutMs: 240_000,
      progress: (l: string) => t.diagnostic(l),
    };

    await t.test('sweep of the BMC segment finds both BMCs with their GUIDs', async () => {
      const bmcs = await sweepBmcs(lab.api, opts);
      for (const node of lab.nodes) {
        const b = bmcs.find((x) => x.address === node.bmcAddress);
        assert.ok(b, `BMC ${node.bmcAddress} not found`);
        assert.ok(sameGuid(b.guid, node.identity.uuid), `BMC ${b.address} guid ${b.guid} vs node uuid ${node.identity.uuid}`);
      }
      assert.equal(bmcs.filter((b) => b.address.startsWith('10.242.0.')).length, 2, 'only the two BMCs exist on the segment');
    });

    let nodes: NodeSummary[] = [];
    await t.test('discovery: both nodes inspected and available, inventories matched to their BMCs', async () => {
      nodes = (await discoverNodes(lab.api, 2, opts)).nodes;
      for (const rn of lab.nodes) {
        const n = nodes.find((x) => x.mac === rn.identity.mac);
        assert.ok(n, `node ${rn.identity.mac} not discovered`);
        assert.equal(n.state, 'available');
        const d = await lab.api.get<NodeDetail>(`/api/v1/nodes/${n.id}`);
        assert.ok(d.inventory, 'inventory stored');
        assert.equal(d.node.serial, rn.identity.serial);
        assert.equal(d.node.uuid?.toLowerCase(), rn.identity.uuid);
        assert.equal(d.node.firmware, rn.spec.firmware);
        assert.equal(d.node.bmc?.address, rn.bmcAddress, `${rn.identity.name} matched to the wrong BMC`);
        const seq = d.events.map((e) => `${e.source}:${e.kind}`);
        assert.ok(d.events.some((e) => e.source === 'dhcp'), `no DHCP event for ${rn.identity.mac}: ${seq.join(' ')}`);
        assert.ok(d.events.some((e) => e.source === 'agent' || e.kind === 'inventory'), `no inventory event: ${seq.join(' ')}`);
      }
      const bmcs = await lab.api.get<BmcInfo[]>('/api/v1/bmcs');
      for (const rn of lab.nodes) {
        const b = bmcs.find((x) => x.address === rn.bmcAddress);
        assert.equal(b?.nodeId, nodes.find((x) => x.mac === rn.identity.mac)?.id, `BMC ${rn.bmcAddress} not linked to its node`);
      }
    });

    await t.test('power cycle through the API really restarts the node (QEMU), then power off stops it', async () => {
      const n = nodes.find((x) => x.mac === uefi.identity.mac);
      assert.ok(n);
      const before = lab.qemuPid(uefi);
      const controlLog = join(uefi.dir, 'control.log');
      const mark = readFileSync(controlLog, 'utf8').length;
      await lab.api.post(`/api/v1/nodes/${n.id}/power`, { action: 'cycle' });
      const after = await waitFor('QEMU running after cycle', 20_000, () => { const p = lab.qemuPid(uefi); return p !== null && p !== before ? p : null; });
      started.push(after);
      const calls = readFileSync(controlLog, 'utf8').slice(mark);
      assert.match(calls, /set power 1|set reset 1/, `BMC never powered the node: ${calls}`);
      await lab.api.post(`/api/v1/nodes/${n.id}/power`, { action: 'off' });
      await waitFor('QEMU gone after power off', 20_000, () => (pidAlive(after) ? null : true));
      const st = await lab.api.post<{ power: string }>(`/api/v1/nodes/${n.id}/power`, { action: 'status' });
      assert.equal(st.power, 'off');
      void bios;
    });

    await t.test('uplink: a DHCP client there gets no answer, and the capture holds nothing from RackSeed', async () => {
      const r = tryRun(lab.names.uplinkNs, 'busybox', ['udhcpc', '-i', 'wifi0', '-f', '-q', '-n', '-t', '3', '-T', '1',
        '-V', 'PXEClient:Arch:00000:UNDI:002001', '-s', '/bin/true'], 20_000);
      assert.equal(r, null, 'a DHCP server answered on the uplink');
      await sleep(500);
      const rep = lab.uplinkReport();
      assert.ok(rep.total >= 3, `the capture saw the probe (${rep.total} packets)`);
      assert.deepEqual(rep.bootReplies, [], 'DHCP/TFTP packets from RackSeed on the uplink');
      assert.deepEqual(rep.fromAppliance, [], 'UDP from the appliance on the uplink');
    });
  } finally {
    started.push(...lab.livePids());
    await lab.down();
  }
  assertGone(lab.names.id, started);
});

test('lab/cli.ts up: lab-tiny and lab-debian registered by name in the image library (lab-debian in the background); SIGINT tears down every namespace, tap and process', {
  skip: isRoot ? false : 'needs root', timeout: 600_000,
}, async () => {
  const id = `s${randomBytes(3).toString('hex')}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'up', '--id', id, '--nodes', '1', '--firmware', 'bios',
    '--no-build', '--port', '0'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const pids: number[] = [];
  try {
    await waitFor(`"Ready." from lab/cli.ts up (output so far: ${out})`, 90_000, () => (out.includes('Ready.') ? true : (child.exitCode !== null ? (() => { throw new Error(out); })() : null)));
    // lab-tiny is in the library before "Ready."; lab-debian (cached by scripts/setup.sh test) follows in the background
    assert.match(out.slice(0, out.indexOf('Ready.')), /image lab-tiny: (ready \(bios\+uefi|already in the library)/, out);
    assert.match(out, /image lab-debian: (checking the cached build|building in the background)/);
    const n = labNames(id);
    const st = readState(n);
    assert.ok(st, 'lab.json written');
    await waitFor(`lab-debian registered (output so far: ${out})`, 420_000,
      () => (/image lab-debian: registered/.test(out) ? true : (/lab-debian: not registered/.test(out) ? (() => { throw new Error(out); })() : null)));
    assert.match(out, /image lab-debian: ready \(bios\+uefi, disk \d+ MiB/);
    const token = /export RACKSEED_TOKEN=(\S+)/.exec(out)?.[1];
    assert.ok(token, 'the API token is printed');
    const lib = await new LabApi(n.apiSocket, token).get<ImageRecord[]>('/api/v1/images');
    assert.deepEqual(lib.filter((i) => i.state === 'ready').map((i) => i.name).sort(), ['lab-debian', 'lab-tiny']);
    assert.deepEqual(lib.find((i) => i.name === 'lab-debian')?.sourceFormat, 'qcow2');
    // power the node on through its BMC so a QEMU is running when the signal comes
    execFileSync('ip', ['netns', 'exec', n.appNs, 'ipmitool', '-I', 'lanplus', '-C', '3', '-H', '10.242.0.11',
      '-U', DEFAULT_BMC_USER, '-P', DEFAULT_BMC_PASSWORD, 'chassis', 'power', 'on'], { stdio: 'ignore' });
    const qemu = await waitFor('QEMU started by the BMC', 10_000, () => readPidFile(join(st.nodeDirs[0], 'power.pid')));
    assert.ok(pidAlive(qemu));
    pids.push(qemu, ...st.pids.bmcs, ...[st.pids.daemon, st.pids.radvd, st.pids.tcpdump].filter((p): p is number => typeof p === 'number'));
    assert.ok(pids.length >= 5, `expected QEMU, BMC, daemon, radvd, tcpdump: ${pids.join(',')}`);
    assert.ok(pids.every(pidAlive));
    child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), 45_000); })]);
    clearTimeout(timer);
    assert.equal(code, 130, `cli exit ${String(code)}; output:\n${out}`);
    assert.match(out, /everything removed/);
    assertGone(id, pids);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    // whatever happened, leave nothing behind
    execFileSync(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'down', '--id', id], { cwd: REPO_ROOT, stdio: 'ignore' });
  }
});

test('npm run lab: Ctrl-C (SIGINT to the whole process group, as a terminal sends it) returns only when nothing is left', {
  skip: isRoot ? false : 'needs root', timeout: 300_000,
}, async () => {
  const id = `c${randomBytes(3).toString('hex')}`;
  // its own process group, like a shell's foreground job; the npm script's own arguments plus ours
  const child = spawn('npm', ['run', 'lab', '--', '--id', id, '--nodes', '1', '--firmware', 'bios', '--port', '0'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const pids: number[] = [];
  try {
    // mid bring-up: the daemon runs, the BMC has powered the node on for discovery, nothing has finished
    await waitFor(`discovery started by npm run lab (output so far: ${out})`, 240_000,
      () => (/Discovering/.test(out) ? true : (child.exitCode !== null ? (() => { throw new Error(out); })() : null)));
    const st = readState(labNames(id));
    assert.ok(st, 'lab.json written');
    const qemu = await waitFor('QEMU powered on by discovery', 60_000, () => readPidFile(join(st.nodeDirs[0], 'power.pid')));
    pids.push(qemu, ...st.pids.bmcs, ...[st.pids.daemon, st.pids.radvd, st.pids.tcpdump].filter((p): p is number => typeof p === 'number'));
    assert.ok(pids.every(pidAlive), 'everything runs before the signal');
    process.kill(-child.pid!, 'SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), 60_000); })]);
    clearTimeout(timer);
    assert.notEqual(code, 'timeout', `npm run lab did not return:\n${out}`);
    // the moment the command returns, nothing of the lab may be left
    assertGone(id, pids);
    assert.match(out, /everything removed/);
  } finally {
    if (child.exitCode === null) { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }
    execFileSync(process.execPath, ['--import', 'tsx', 'lab/cli.ts', 'down', '--id', id], { cwd: REPO_ROOT, stdio: 'ignore' });
  }
});
