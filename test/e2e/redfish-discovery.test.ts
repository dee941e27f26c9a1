// Issue 18 acceptance on the virtual rack: two QEMU nodes (SeaBIOS, TCG), node1 behind an ipmi_sim BMC and node2
// behind the lab's Redfish BMC (HTTPS on 10.242.0.12:443 with a self-signed certificate made at lab start, power and
// boot order through chassis-control.sh), go through discovery together, only through RackSeed's API: the sweep finds
// node2's BMC as Redfish (certificate pinned = the one the lab made, system UUID, host MAC) and node1's as IPMI;
// discovery sets one-time PXE and powers both on (node2's QEMU starts with -boot order=n through Redfish), matches
// node2 by its system UUID and node1 by its System GUID, both end `available` and are powered off. The lab (namespaces,
// QEMU, BMCs, daemon) is torn down by PID in `finally`, even on failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

function ensureBuilt(): void {
  if (!existsSync(join(REPO_ROOT, '.cache', 'resources', 'ipxe', 'manifest.json'))) {
    assert.equal(spawnSync('bash', ['scripts/build.sh'], { cwd: REPO_ROOT, stdio: 'inherit' }).status, 0, 'scripts/build.sh');
  }
  if (!ramdiskPaths()) {
    assert.equal(spawnSync(process.execPath, ['--import', 'tsx', 'agent/build/cli.ts', '--if-missing'], { cwd: REPO_ROOT, stdio: 'inherit' }).status, 0, 'ramdisk build');
  }
}

test('one IPMI and one Redfish node go through discovery together: Redfish found as Redfish, matched by UUID, both available', { timeout: 900_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, 'this test needs root (namespaces, taps, QEMU)');
  ensureBuilt();
  const lab = await Lab.up({ nodes: planNodes(2, 'bios'), redfish: 1, daemon: { mode: 'authoritative' }, forwardPort: null, log: (l) => t.diagnostic(l) });
  try {
    const api = lab.api;
    const [ipmiNode, rfNode] = lab.nodes as [RackNode, RackNode];
    assert.equal(ipmiNode.bmcProtocol, 'ipmi');
    assert.equal(rfNode.bmcProtocol, 'redfish');
    const byMac = (ns: NodeSummary[], rn: RackNode) => ns.find((n) => n.mac === rn.identity.mac);

    await api.put('/api/v1/bmc/credentials', { user: lab.bmcUser, password: lab.bmcPassword });
    const sweep = await api.post<SweepStatus>('/api/v1/bmc/sweep', { cidr: NET.bmcNetwork });
    assert.equal(sweep.prefer, 'redfish');
    const t0 = Date.now();
    const bmcs = await until('sweep finds both BMCs with their GUID/UUID', 120_000, async () => {
      const b = await api.get<BmcInfo[]>('/api/v1/bmcs');
      return lab.nodes.every((rn) => b.some((x) => x.address === rn.bmcAddress && x.guid)) ? b : null;
    });
    t.diagnostic(`sweep found both BMCs in ${Math.round((Date.now() - t0) / 1000)} s`);
    const rfBmc = bmcs.find((b) => b.address === rfNode.bmcAddress)!;
    assert.deepEqual([rfBmc.protocol, rfBmc.protocols, rfBmc.guid, rfBmc.macs, rfBmc.redfishVersion, rfBmc.error],
      ['redfish', ['redfish'], rfNode.identity.uuid, [rfNode.identity.mac], '1.11.0', null]);
    assert.equal(rfBmc.tlsFingerprint, rfNode.bmcCertSha256, 'the pinned certificate is the one the lab made for this BMC');
    const ipmiBmc = bmcs.find((b) => b.address === ipmiNode.bmcAddress)!;
    assert.deepEqual([ipmiBmc.protocol, ipmiBmc.protocols, ipmiBmc.tlsFingerprint], ['ipmi', ['ipmi'], null]);

    const jobs = await api.post<Job[]>('/api/v1/discovery', {});
    assert.deepEqual(jobs.map((j) => j.bmcAddress).sort(), lab.nodes.map((n) => n.bmcAddress).sort());
    const t1 = Date.now();
    const nodes = await until('both nodes available with their jobs done', 600_000, async () => {
      const [ns, js] = await Promise.all([api.get<NodeSummary[]>('/api/v1/nodes'), api.get<Job[]>('/api/v1/jobs')]);
      const failed = js.find((j) => j.status === 'failed');
      if (failed) throw new Error(`job for ${failed.bmcAddress} failed: ${failed.error}`);
      const ok = lab.nodes.every((rn) => byMac(ns, rn)?.state === 'available') && jobs.every((j) => js.find((x) => x.id === j.id)?.status === 'done');
      return ok ? ns : null;
    });
    t.diagnostic(`discovery of both nodes took ${Math.round((Date.now() - t1) / 1000)} s`);

    const rf = byMac(nodes, rfNode)!;
    const rfDetail = await api.get<NodeDetail>(`/api/v1/nodes/${rf.id}`);
    assert.equal(rfDetail.node.uuid, rfNode.identity.uuid);
    assert.equal(rfDetail.node.serial, rfNode.identity.serial);
    assert.deepEqual(rfDetail.node.bmc, { address: rfNode.bmcAddress, guid: rfNode.identity.uuid, vendor: 'RackSeed Lab', matchedBy: 'guid', protocol: 'redfish' });
    assert.ok(rfDetail.events.some((e) => e.kind === 'bmc-matched' && e.message.includes(rfNode.bmcAddress)), 'matched event');
    const ip = byMac(nodes, ipmiNode)!;
    assert.equal(ip.bmc?.address, ipmiNode.bmcAddress);
    assert.equal(ip.bmc?.matchedBy, 'guid');
    assert.equal(ip.bmc?.protocol, 'ipmi');

    // the Redfish BMC's boot override reached QEMU: chassis-control.sh logged the power-on with boot=pxe
    assert.match(readFileSync(join(rfNode.dir, 'control.log'), 'utf8'), /set boot pxe[\s\S]*set power 1/);
    assert.match(lab.console(rfNode), /=== power on .* boot=pxe/);
    await until('both nodes powered off by their jobs', 60_000, async () => (lab.nodes.every((rn) => lab.qemuPid(rn) === null) ? true : null));
    const after = await api.get<NodeSummary[]>('/api/v1/nodes');
    assert.deepEqual(lab.nodes.map((rn) => byMac(after, rn)?.power), ['off', 'off']);
  } finally {
    await lab.down({ removeDir: true });
    assert.deepEqual(lab.livePids(), [], 'nothing the lab started is left running');
  }
});
