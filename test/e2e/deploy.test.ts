// Issue 15 acceptance on the virtual rack (lab/): real QEMU nodes with ipmi_sim BMCs, RackSeed's daemon in its
// namespace, the real busybox agent (agent/ramdisk/deploy.sh) streaming the lab-tiny image over HTTP to the disk.
//   1. discovery makes the nodes available; lab-tiny (and two variants) are uploaded to the image library
//   2. three nodes deployed at once (two through `rackseed deploy --wait`, one through the API with an image whose
//      stored bytes were damaged after import): two `active`, booted from disk, showing the config drive's host name
//      and SSH key count on their serial consoles; one `deploy-failed` with "checksum mismatch", the others unaffected
//   3. `rackseed release` of one active node: cleaned (wipe events), powered off, `available`; its next power-on through
//      RackSeed (an inspection) boots the discovery ramdisk
//   4. `kill -9` of the daemon while a node streams a 192 MiB image (128 MiB of it pseudo-random data: the agent sends
//      only data ranges, zeros are zeroed on the disk): after a restart the write starts over (attempt 2) and the node
//      becomes `active` only after the full image was written and read back
// Everything is torn down by PID in `finally` (Lab.down: processes it recorded, then anything left in its namespaces).
// Nodes: RACKSEED_E2E_DEPLOY_NODES, firmware tokens of lab/config.ts (default "bios,uefi,bios": the last one gets the
// damaged image); with two tokens step 2 has one good node (two VMs at a time on a loaded machine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, createReadStream, existsSync, mkdtempSync, openSync, rmSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type RackNode } from '../../lab/rack.ts';
import { NET, parseNodeSpec } from '../../lab/config.ts';
import { REPO_ROOT, startDaemon } from '../../lab/appliance.ts';
import { ensureLabImages, TINY_MARKER } from '../../lab/images/index.ts';
import { pidAlive, sleep } from '../../lab/processes.ts';
import { ramdiskPaths } from '../../agent/build/manifest.ts';
import { DaemonClient } from '../../daemon/cli/client.ts';
import type { BmcInfo, Job, SweepStatus } from '../../shared/api.ts';
import type { NodeEvent, NodeSummary } from '../../shared/node.ts';
import type { ImageRecord } from '../../shared/image.ts';
import type { Deployment } from '../../shared/deploy.ts';

const isRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBrb3Zpc2lvbmluZy10ZXN0LWtleS0wMDAwMDAwMDA= e2e@rackseed';
const NODE_TOKENS = (process.env.RACKSEED_E2E_DEPLOY_NODES || 'bios,uefi,bios').split(',').map((s) => s.trim()).filter(Boolean);
const FULL = NODE_TOKENS.length >= 3;

async function until<T>(what: string, ms: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try { const v = await probe(); if (v) return v; } catch (err) { last = err; }
    if (Date.now() > end) throw new Error(`timed out after ${Math.round(ms / 1000)} s: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(1000);
  }
}

function ensureBuilt(): void {
  if (!existsSync(join(REPO_ROOT, '.cache', 'resources', 'ipxe', 'manifest.json'))) {
    assert.equal(spawnSync('bash', ['scripts/build.sh'], { cwd: REPO_ROOT, stdio: 'inherit' }).status, 0, 'scripts/build.sh');
  }
  // the agent changed (deploy.sh): build when the inputs changed, as npm run build:ramdisk does
  assert.equal(spawnSync(process.execPath, ['--import', 'tsx', 'agent/build/cli.ts'], { cwd: REPO_ROOT, stdio: 'inherit' }).status, 0, 'ramdisk build');
  assert.ok(ramdiskPaths(), 'ramdisk built');
}

/** `rackseed …` against the lab daemon's socket. */
function cli(lab: Lab, args: string[], timeoutMs = 900_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, RACKSEED_URL: `unix:${lab.names.apiSocket}`, RACKSEED_TOKEN: lab.token, TSX_DISABLE_CACHE: '1' };
    execFile(process.execPath, ['bin/rackseed.mjs', ...args], { cwd: REPO_ROOT, env, timeout: timeoutMs, maxBuffer: 16 * MiB }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Upload a raw image file to the library through the API, and wait until it is ready. */
async function upload(lab: Lab, name: string, path: string): Promise<ImageRecord> {
  const client = new DaemonClient({ url: `unix:${lab.names.apiSocket}`, token: lab.token });
  await client.call<ImageRecord>('POST', `/api/v1/images?name=${name}`, createReadStream(path), { headers: { 'content-length': String(statSync(path).size) } });
  return until(`image ${name} ready`, 300_000, async () => {
    const img = await lab.api.get<ImageRecord>(`/api/v1/images/${name}`);
    if (img.state === 'failed') throw new Error(`import of ${name} failed: ${img.error}`);
    return img.state === 'ready' ? img : null;
  });
}

/** A copy of `src` with one byte changed at `offset` (a different image, as bootable), `size` bytes long (zero-padded). */
/** `src` with 0x5a at `offset`, grown to `size`: with zeros, or (`data`) with pseudo-random bytes the agent must send. */
function variant(src: string, dest: string, offset: number, size: number, data = false): void {
  copyFileSync(src, dest);
  const fd = openSync(dest, 'r+');
  try {
    const from = statSync(src).size;
    if (size > from) ftruncateSync(fd, size);
    if (data) for (let at = from; at < size; at += MiB) writeSync(fd, randomBytes(Math.min(MiB, size - at)), 0, Math.min(MiB, size - at), at);
    writeSync(fd, Buffer.from([0x5a]), 0, 1, offset);
  } finally { closeSync(fd); }
}

function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    const r = spawnSync('dd', [`if=${path}`, 'bs=1', `skip=${offset}`, 'count=1', 'status=none']);
    b[0] = (r.stdout[0] ?? 0) ^ 0xff;
    writeSync(fd, b, 0, 1, offset);
  } finally { closeSync(fd); }
}

async function deployments(lab: Lab): Promise<Deployment[]> { return lab.api.get<Deployment[]>('/api/v1/deployments'); }
async function nodeOf(lab: Lab, rn: RackNode): Promise<NodeSummary> {
  const ns = await lab.api.get<NodeSummary[]>('/api/v1/nodes');
  return ns.find((n) => n.mac === rn.identity.mac)!;
}
async function events(lab: Lab, mac: string): Promise<NodeEvent[]> { return lab.api.get<NodeEvent[]>(`/api/v1/events?mac=${mac}&limit=2000`); }
const consoleTail = (lab: Lab, rn: RackNode) => lab.console(rn).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').slice(-2500);

test('deploy on the virtual rack: 3 nodes at once (one checksum mismatch), booted from disk with the config drive, released, kill -9 mid-write', { skip: isRoot ? false : 'needs root', timeout: 2_400_000 }, async (t) => {
  ensureBuilt();
  const tStart = Date.now();
  const lap = (what: string) => t.diagnostic(`${what}: ${Math.round((Date.now() - tStart) / 1000)} s`);
  const { tiny } = await ensureLabImages({ tiny: true }, { ifMissing: true });
  assert.ok(tiny);
  const work = mkdtempSync(join(tmpdir(), 'rs-e2e-deploy-'));
  const bad = join(work, 'lab-tiny-bad.raw');
  const big = join(work, 'lab-tiny-big.raw');
  variant(tiny.path, bad, 100 * 512, 64 * MiB); // a byte in the MBR gap: another image, as bootable
  variant(tiny.path, big, 101 * 512, 192 * MiB, true); // 128 MiB of data after it, for a write slow enough to kill mid-stream

  assert.ok(NODE_TOKENS.length === 2 || NODE_TOKENS.length === 3, 'RACKSEED_E2E_DEPLOY_NODES: two or three firmware tokens');
  const lab = await Lab.up({ nodes: NODE_TOKENS.map(parseNodeSpec), daemon: { mode: 'authoritative' }, forwardPort: null, node: { memoryMiB: 256, diskGiB: 2 }, log: (l) => t.diagnostic(l) });
  const extraPids: number[] = [];
  try {
    const api = lab.api;
    // ---- 1. discovery and images
    await api.put('/api/v1/bmc/credentials', { user: lab.bmcUser, password: lab.bmcPassword });
    await api.post<SweepStatus>('/api/v1/bmc/sweep', { cidr: NET.bmcNetwork });
    await until('the sweep finds every BMC', 90_000, async () => {
      const b = await api.get<BmcInfo[]>('/api/v1/bmcs');
      return lab.nodes.every((rn) => b.some((x) => x.address === rn.bmcAddress && x.guid)) ? b : null;
    });
    await api.post<Job[]>('/api/v1/discovery', {});
    const [img, badImg, bigImg] = await Promise.all([upload(lab, 'lab-tiny', tiny.path), upload(lab, 'lab-tiny-bad', bad), upload(lab, 'lab-tiny-big', big)]);
    assert.deepEqual(img.bootModes, ['bios', 'uefi']);
    assert.equal(img.sha256, tiny.sha256);
    await until('every node available', 600_000, async () => {
      const js = await api.get<Job[]>('/api/v1/jobs');
      const failed = js.find((j) => j.status === 'failed');
      if (failed) throw new Error(`discovery job for ${failed.bmcAddress} failed: ${failed.error}`);
      const ns = await Promise.all(lab.nodes.map((rn) => nodeOf(lab, rn)));
      return ns.every((n) => n?.state === 'available' && n.power === 'off') && js.every((j) => j.status === 'done');
    });
    lap('discovery and uploads');
    // the damaged copy: the library's raw file of lab-tiny-bad no longer has the bytes its SHA-256 says
    // (in a data range of its extent map — the 0x5a's block —, which the library made at import: the agent receives it)
    flipByte(join(lab.daemon!.dataDir, 'images', `${badImg.id}.raw`), 100 * 512 + 1);

    // ---- 2. deploy at once: the good ones through the CLI (with --wait), the damaged one through the API
    const [n1, n2, n3] = lab.nodes as [RackNode, RackNode, RackNode | undefined];
    const keyFile = join(work, 'id.pub');
    spawnSync('sh', ['-c', `printf '%s\\n' '${SSH_KEY}' > ${keyFile}`]);
    const good = FULL ? [n1, n2] : [n1];
    const damaged = FULL ? n3! : n2;
    const cliRun = cli(lab, ['deploy', ...good.map((n) => n.identity.serial), '--image', 'lab-tiny', '--hostname', 'tiny-{index}', '--ssh-key', keyFile, '--wait', '--timeout', '900', '--json']);
    const dmg = await api.post<Deployment>(`/api/v1/nodes/${(await nodeOf(lab, damaged)).id}/deploy`, { image: 'lab-tiny-bad', hostname: 'damaged' });
    assert.equal(dmg.image?.sha256, badImg.sha256);
    const r = await cliRun;
    assert.equal(r.code, 0, `rackseed deploy: ${r.stderr}`);
    const done = JSON.parse(r.stdout) as Deployment[];
    assert.deepEqual(done.map((d) => [d.hostname, d.stage]), good.map((_, i) => [`tiny-${i + 1}`, 'done']));
    lap('deploy of the good nodes');
    const failed = await until('the damaged deploy to fail', 600_000, async () => {
      const d = (await deployments(lab)).find((x) => x.nodeId === dmg.nodeId);
      return d && d.stage === 'failed' ? d : null;
    });
    assert.match(failed.error ?? '', new RegExp(`^checksum mismatch \\(expected ${badImg.sha256}: its data ranges sum to Fletcher-4 [0-9a-f]{64}; the disk's read back to [0-9a-f]{64}\\): the bytes the agent received already differed`));
    const dn = await nodeOf(lab, damaged);
    assert.equal(dn.state, 'deploy-failed');
    assert.match(dn.lastError ?? '', /checksum mismatch/);
    for (const [i, rn] of good.entries()) {
      const n = await nodeOf(lab, rn);
      assert.equal(n.state, 'active', `${rn.identity.name} unaffected by the failure`);
      const con = await until(`${rn.identity.name} shows the tiny OS's marker`, 120_000, async () => {
        const c = lab.console(rn);
        return c.includes(`${TINY_MARKER} booted hostname=tiny-${i + 1} keys=1`) ? c : null;
      });
      assert.match(con, /config-drive=\/dev\/[a-z]+2/, 'the config drive was found on the partition added at the end of the disk');
      const evs = await events(lab, rn.identity.mac);
      for (const k of ['image-written', 'image-verified', 'config-drive-written', 'booted', 'deploy-done']) assert.ok(evs.some((e) => e.kind === k), `${rn.identity.name}: event ${k}`);
      assert.ok(evs.some((e) => e.kind === 'deploy-progress'), 'progress reached the node history');
    }
    lap('checks after deploy');

    // ---- 3. release one active node; its next power-on through RackSeed boots the discovery ramdisk
    const rel = await cli(lab, ['release', n1.identity.mac, '--wait', '--timeout', '600']);
    assert.equal(rel.code, 0, `rackseed release: ${rel.stderr}\n${consoleTail(lab, n1)}`);
    const released = await nodeOf(lab, n1);
    assert.equal(released.state, 'available');
    assert.equal(released.power, 'off');
    assert.equal(lab.qemuPid(n1), null, 'powered off');
    const wiped = (await events(lab, n1.identity.mac)).find((e) => e.kind === 'disks-wiped');
    assert.match(wiped?.message ?? '', /disks wiped: vda \(2147483648 bytes\): \d+ regions zeroed/);
    const before = lab.console(n1).length;
    await api.post<Job>(`/api/v1/nodes/${released.id}/inspect`, {});
    await until('the released node re-inspected through the discovery ramdisk', 300_000, async () => {
      const n = await nodeOf(lab, n1);
      return n.state === 'available' && lab.console(n1).slice(before).includes('rackseed-agent:') && !(await api.get<Job[]>('/api/v1/jobs')).some((j) => j.status === 'running' || j.status === 'pending');
    });
    assert.doesNotMatch(lab.console(n1).slice(before), new RegExp(`${TINY_MARKER} booted`), 'not the wiped OS');
    lap('release and re-inspection');

    // ---- 4. kill -9 of the daemon mid-write; after a restart the node is active only after a whole verified write
    const victim = n2;
    const vid = (await nodeOf(lab, victim)).id;
    await api.post<Deployment>(`/api/v1/nodes/${vid}/deploy`, { image: 'lab-tiny-big', hostname: 'big' });
    const mid = await until('the big image streaming', 600_000, async () => {
      const d = (await deployments(lab)).find((x) => x.nodeId === vid);
      if (d?.stage === 'failed') throw new Error(`failed early: ${d.error}`);
      return d && d.stage === 'writing' && d.bytes > 0 && d.bytes < d.totalBytes ? d : null;
    });
    const oldDaemon = lab.daemon!;
    process.kill(oldDaemon.pid, 'SIGKILL');
    await until('the daemon gone', 10_000, async () => !pidAlive(oldDaemon.pid));
    process.kill(oldDaemon.relayPid, 'SIGTERM');
    t.diagnostic(`killed the daemon at ${mid.bytes} of ${mid.totalBytes} bytes`);
    await sleep(3000); // the agent's stream breaks; it keeps trying to report
    const again = await startDaemon(lab.names, { mode: 'authoritative', token: lab.token });
    extraPids.push(again.pid, again.relayPid);
    lab.daemon = again;
    assert.equal((await nodeOf(lab, victim)).state, 'deploying', 'after the restart: still deploying, never active');
    const end = await until('the resumed deploy to end', 900_000, async () => {
      const d = (await deployments(lab)).find((x) => x.nodeId === vid);
      return d && (d.stage === 'done' || d.stage === 'failed') ? d : null;
    });
    assert.equal(end.stage, 'done', `${end.error}\n${consoleTail(lab, victim)}`);
    assert.equal((await nodeOf(lab, victim)).state, 'active');
    const evs = await events(lab, victim.identity.mac);
    const iResumed = evs.findIndex((e) => e.kind === 'job-resumed');
    assert.ok(iResumed >= 0, 'the job resumed');
    assert.match(evs[iResumed]!.message, /write-image \(the image is written again from the start\)/);
    const written = evs.findIndex((e, i) => i > iResumed && e.kind === 'image-written');
    const verified = evs.findIndex((e, i) => i > written && e.kind === 'image-verified');
    const doneAt = evs.findIndex((e, i) => i > iResumed && e.kind === 'deploy-done');
    assert.ok(written > iResumed && verified > written && doneAt > verified, 'active only after a whole write and read-back after the restart');
    assert.ok(evs.some((e, i) => i > iResumed && e.kind === 'agent-command' && /attempt [2-9]/.test(e.message)), 'a new attempt');
    assert.match(evs[verified]!.message, new RegExp(bigImg.sha256!));
    assert.ok(await until('the big image booted', 120_000, async () => lab.console(victim).includes(`${TINY_MARKER} booted hostname=big`)));
    lap('kill -9 and resume');
  } finally {
    for (const p of extraPids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    await lab.down();
    rmSync(work, { recursive: true, force: true });
  }
});
