// Issue 4 acceptance, the core's side: on the virtual rack (lab/), two QEMU nodes — SeaBIOS/e1000 and
// OVMF/virtio-net, each with its own SMBIOS serial/UUID, a 4 GiB disk and an ipmi_sim BMC — are discovered only
// through RackSeed's API: BMC credentials, sweep, then POST /api/v1/discovery. Each discovery job sets one-time
// PXE, powers the node on, waits for the agent's inventory (the node PXE-boots RackSeed's own DHCP/HTTP and the
// discovery ramdisk), matches the node to its BMC by System GUID and powers it off. Then one node is re-inspected
// through POST /api/v1/nodes/:id/inspect (available → inspecting → available, a second job).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NET, planNodes } from '../../lab/config.ts';
import { Lab, type RackNode } from '../../lab/rack.ts';
import { REPO_ROOT } from '../../lab/appliance.ts';
import { sleep } from '../../lab/processes.ts';
import { ramdiskPaths } from '../../agent/build/manifest.ts';
import type { BmcInfo, Job, NodeDetail, SweepStatus } from '../../shared/api.ts';
import type { NodeSummary } from '../../shared/node.ts';

async function until<T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out after ${Math.round(ms / 1000)} s: ${what}`);
    await sleep(1000);
  }
}

/** The iPXE binaries and the discovery ramdisk, built once (cached) as `npm run lab` does. */
function ensureBuilt(): void {
  if (!existsSync(join(REPO_ROOT, '.cache', 'resources', 'ipxe', 'manifest.json'))) {
    assert.equal(spawnSync('bash', ['scripts/build.sh'], { cwd: REPO_ROOT, stdio: 'inherit' }).status, 0, 'scripts/build.sh');
  }
  if (!ramdiskPaths()) {
    assert.equal(spawnSync(process.execPath, ['--import', 'tsx', 'agent/build/cli.ts', '--if-missing'], { cwd: REPO_ROOT, stdio: 'inherit' }).status, 0, 'ramdisk build');
  }
}

test('discovery through BMCs: SeaBIOS and OVMF nodes inspected, available, matched to their own BMC, powered off; re-inspection', { timeout: 900_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test needs root (namespaces, taps, QEMU)');
  ensureBuilt();
  const lab = await Lab.up({ nodes: planNodes(2, 'bios,uefi'), daemon: { mode: 'authoritative' }, forwardPort: null, log: (l) => t.diagnostic(l) });
  try {
    const api = lab.api;
    const byMac = (ns: NodeSummary[], rn: RackNode) => ns.find((n) => n.mac === rn.identity.mac);

    await api.put('/api/v1/bmc/credentials', { user: lab.bmcUser, password: lab.bmcPassword });
    const sweep = await api.post<SweepStatus>('/api/v1/bmc/sweep', { cidr: NET.bmcNetwork });
    assert.equal(sweep.finished, false);
    const bmcs = await until('sweep finds both BMCs with their GUIDs', 90_000, async () => {
      const b = await api.get<BmcInfo[]>('/api/v1/bmcs');
      return lab.nodes.every((rn) => b.some((x) => x.address === rn.bmcAddress && x.guid)) ? b : null;
    });
    assert.deepEqual(bmcs.map((b) => b.nodeId), bmcs.map(() => null), 'no node known yet');

    const jobs = await api.post<Job[]>('/api/v1/discovery', {});
    assert.deepEqual(jobs.map((j) => j.bmcAddress).sort(), lab.nodes.map((n) => n.bmcAddress).sort());
    assert.ok(jobs.every((j) => j.kind === 'inspect' && j.nodeId === null));
    const t0 = Date.now();

    const nodes = await until('both nodes available with their jobs done', 600_000, async () => {
      const [ns, js] = await Promise.all([api.get<NodeSummary[]>('/api/v1/nodes'), api.get<Job[]>('/api/v1/jobs')]);
      const failed = js.find((j) => j.status === 'failed');
      if (failed) throw new Error(`job for ${failed.bmcAddress} failed: ${failed.error}`);
      const ok = lab.nodes.every((rn) => byMac(ns, rn)?.state === 'available') && jobs.every((j) => js.find((x) => x.id === j.id)?.status === 'done');
      return ok ? ns : null;
    });
    t.diagnostic(`discovery of 2 nodes took ${Math.round((Date.now() - t0) / 1000)} s`);

    const allJobs = await api.get<Job[]>('/api/v1/jobs');
    for (const rn of lab.nodes) {
      const n = byMac(nodes, rn)!;
      const d = await api.get<NodeDetail>(`/api/v1/nodes/${n.id}`);
      assert.equal(d.node.mac, rn.identity.mac);
      assert.equal(d.node.serial, rn.identity.serial);
      assert.equal(d.node.uuid, rn.identity.uuid);
      assert.equal(d.node.firmware, rn.spec.firmware, 'boot mode');
      assert.equal(d.node.diskGiB, 4, 'disk size');
      assert.equal(d.node.bmc?.address, rn.bmcAddress, `${rn.identity.name} matched to the wrong BMC`);
      assert.equal(d.node.bmc?.matchedBy, 'guid');
      assert.equal(d.node.power, 'off');
      assert.equal(lab.qemuPid(rn), null, `${rn.identity.name} still running after the power-off step`);
      const inv = d.inventory as { dmi: { system: { serial: string } }; disks: { serial: string | null }[]; bootMode: string };
      assert.equal(inv.dmi.system.serial, rn.identity.serial);
      assert.equal(inv.disks[0]?.serial, rn.identity.diskSerial);
      const job = allJobs.find((j) => j.bmcAddress === rn.bmcAddress)!;
      assert.equal(job.nodeId, n.id, 'the job learnt which node its BMC drives');
      assert.deepEqual(job.steps.map((s) => `${s.name}:${s.status}`), ['read-guid:done', 'set-boot-pxe:done', 'power-on:done', 'wait-inventory:done', 'power-off:done']);
      // the per-node history tells the boot story in order
      const kinds = d.events.map((e) => `${e.source}:${e.kind}`);
      const first = (k: string) => kinds.indexOf(k);
      for (const k of ['dhcp:ack', 'http:script', 'agent:inventory', 'bmc:bmc-matched', 'lifecycle:state']) assert.ok(first(k) >= 0, `${rn.identity.name}: no ${k} in ${kinds.join(' ')}`);
      assert.ok(first('dhcp:ack') < first('http:script') && first('http:script') < first('agent:inventory'), kinds.join(' '));
      assert.ok(!JSON.stringify(d.events).includes('rackseed.token='), 'agent tokens never reach the event log');
    }
    const linked = await api.get<BmcInfo[]>('/api/v1/bmcs');
    for (const rn of lab.nodes) assert.equal(linked.find((b) => b.address === rn.bmcAddress)?.nodeId, byMac(nodes, rn)!.id);

    // re-inspect the UEFI node through its (now known) BMC
    const uefi = lab.nodes.find((rn) => rn.spec.firmware === 'uefi')!;
    const un = byMac(nodes, uefi)!;
    const again = await api.post<Job>(`/api/v1/nodes/${un.id}/inspect`);
    assert.equal(again.nodeId, un.id);
    assert.equal((await api.get<NodeDetail>(`/api/v1/nodes/${un.id}`)).node.state, 'inspecting');
    const done = await until('re-inspection done', 300_000, async () => {
      const j = (await api.get<Job[]>('/api/v1/jobs')).find((x) => x.id === again.id)!;
      if (j.status === 'failed') throw new Error(`re-inspection failed: ${j.error}`);
      return j.status === 'done' ? j : null;
    });
    assert.deepEqual(done.steps.map((s) => s.status), ['done', 'done', 'done', 'done']);
    const after = await api.get<NodeDetail>(`/api/v1/nodes/${un.id}`);
    assert.equal(after.node.state, 'available');
    assert.equal(after.node.power, 'off');
    const states = after.events.filter((e) => e.kind === 'state').map((e) => `${e.detail?.from}>${e.detail?.to}`);
    assert.deepEqual(states, ['discovered>available', 'available>inspecting', 'inspecting>available']);
  } finally {
    await lab.down();
  }
});
