// The seed (issue 17): one resumable job, stages persisted in `seeds` (store.ts) before the next one starts:
//   deploy-control  the deploy service (core/deploy) puts the control image on the control node with a config drive
//                   whose user_data configures Ironic, dnsmasq, nginx and both NICs (control-config.ts); waited for
//                   until `active` (the deployed OS booted) or `deploy-failed` (its reason)
//   wait-ironic     the control node's Ironic API answers GET / and an authenticated GET with the generated password
//   handoff         every other node of the plan goes to that Ironic through the hand-off service (core/handoff: enroll,
//                   manage, provide, verified through Ironic); nodes already handed over or with a hand-off job running
//                   (a kill -9 mid-stage) are waited for, never started twice; then each Ironic node is set up for
//                   the laptop's absence: deploy_interface ramdisk, boot_interface ipxe, instance_info kernel/ramdisk =
//                   the ramdisk copied onto the control node
//   pivot           RackSeed owns none of them any more: the handed-over nodes are the engine's (hand-off's pivot step)
//                   and the control node is marked owned by it too (no DHCP/proxyDHCP answer, BMC not driven)
//   report          who owns what, URLs, what was verified (power state, provision state, ports read back)
// A failed stage stops the seed there with the reason; every node not yet handed over stays RackSeed's. `resume()`
// continues a failed seed from that stage, `rollback()` takes every node of the seed back (the engine keeps its records).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Core } from '../core.ts';
import { CoreError } from '../jobs/runner.ts';
import { engineLabel } from '../handoff/store.ts';
import { gatherNode } from '../handoff/model.ts';
import { IronicClient, IronicError } from '../handoff/ironic/client.ts';
import type { EngineRef } from '../../shared/handoff.ts';
import type { NodeSummary } from '../../shared/node.ts';
import type { Inventory } from '../../shared/inventory.ts';
import {
  SEED_STAGES, type SeedPlan, type SeedPlanNode, type SeedRecord, type SeedReport, type SeedRequest, type SeedStageName,
} from '../../shared/seed.ts';
import { SeedStore, type SeedRow } from './store.ts';
import {
  CONTROL_HTTP_PORT, CONTROL_IRONIC_USER, CONTROL_MIN_MEMORY_MIB, CONTROL_RAMDISK_PATHS, controlIronicUrl,
} from './control-config.ts';
import { seedControlUserData } from './control-user-data.ts';

export const CONTROL_HOSTNAME = 'rackseed-control';
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SeedOptions {
  /** poll period of deploy/hand-off/Ironic state (default 1 s) */
  pollMs?: number;
  /** the control image's memory need (default CONTROL_MIN_MEMORY_MIB) */
  minMemoryMiB?: number;
  /** tests: the Ironic URL to use instead of the control node's provisioning address (a port forward) */
  ironicUrlOverride?: string;
}

class StageError extends Error {}

/** Memory (MiB) and total disk (GiB) of a node's inventory; null when unknown. */
function sizes(core: Core, id: string): { memoryMiB: number | null; diskGiB: number | null } {
  const inv = core.nodes.inventory(id) as Inventory | null;
  if (!inv) return { memoryMiB: null, diskGiB: null };
  const mem = inv.memory.totalBytes ?? inv.memory.usableBytes;
  const disk = inv.disks.reduce((n, d) => n + (d.sizeBytes ?? 0), 0);
  return { memoryMiB: mem === null ? null : Math.round(mem / MiB), diskGiB: disk ? Math.round((disk / 1024 ** 3) * 10) / 10 : null };
}

export class SeedService {
  readonly store: SeedStore;
  private readonly log: Logger;
  private readonly o: Required<Omit<SeedOptions, 'ironicUrlOverride'>> & { ironicUrlOverride: string | null };
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly core: Core, opts: SeedOptions = {}) {
    this.log = core.log.child({ svc: 'seed' });
    this.store = new SeedStore(core.db);
    this.o = { pollMs: opts.pollMs ?? 1000, minMemoryMiB: opts.minMemoryMiB ?? CONTROL_MIN_MEMORY_MIB, ironicUrlOverride: opts.ironicUrlOverride ?? null };
  }

  private secretKey(id: string): string { return `seed.${id}`; }

  /** Why this node cannot be the control node, or null. */
  private controlProblem(n: NodeSummary): string | null {
    if (n.state !== 'available') return `node ${n.id} is ${n.state}: the control node must be available`;
    if (this.core.handoff.store.owner(n.id) !== 'rackseed') return `node ${n.id} is owned by an engine already`;
    if (!n.bmc) return `node ${n.id} has no BMC: RackSeed could not deploy it`;
    const { memoryMiB } = sizes(this.core, n.id);
    if (memoryMiB === null) return `node ${n.id} has no inventory yet: inspect it first`;
    if (memoryMiB < this.o.minMemoryMiB) return `node ${n.id} is too small for the control node: ${memoryMiB} MiB of RAM, the control image (Debian + Ironic, dnsmasq, nginx) needs ${this.o.minMemoryMiB} MiB`;
    return null;
  }

  /** The plan: the control node (asked, or the one with the most RAM, then disk) and what happens to every other node. */
  plan(controlRef?: string): SeedPlan {
    const nodes = this.core.nodes.list();
    let control: NodeSummary | null = null;
    let problem: string | null = null;
    if (controlRef) {
      control = this.core.deploys.resolveNode(controlRef);
      problem = this.controlProblem(control);
    } else {
      const fit = nodes.filter((n) => this.controlProblem(n) === null)
        .map((n) => ({ n, ...sizes(this.core, n.id) }))
        .sort((a, b) => (b.memoryMiB ?? 0) - (a.memoryMiB ?? 0) || (b.diskGiB ?? 0) - (a.diskGiB ?? 0) || a.n.id.localeCompare(b.n.id));
      control = fit[0]?.n ?? null;
      if (!control) problem = nodes.length ? `no node can be the control node (an available node RackSeed owns, with a BMC and ≥ ${this.o.minMemoryMiB} MiB of RAM)` : 'no node discovered yet';
    }
    const out: SeedPlanNode[] = nodes.map((n) => {
      const s = sizes(this.core, n.id);
      const base = { id: n.id, mac: n.mac, serial: n.serial, ...s };
      if (control && n.id === control.id) return { ...base, action: 'control', reason: problem };
      const why = this.handoffProblem(n);
      return { ...base, action: why ? 'skip' : 'handoff', reason: why };
    });
    return { control: control?.id ?? null, nodes: out, problem, minMemoryMiB: this.o.minMemoryMiB };
  }

  /** Why a node would not be handed over by the seed (it stays RackSeed's), or null. */
  private handoffProblem(n: NodeSummary): string | null {
    if (this.core.handoff.store.owner(n.id) !== 'rackseed') return 'owned by an engine already';
    if (!n.bmc) return 'no BMC: Ironic could not drive it';
    if (!this.core.nodes.inventory(n.id)) return 'no inventory yet';
    if (n.state !== 'available') return `${n.state}: only available nodes are handed over`;
    return null;
  }

  /** The latest seed (never a password). */
  get(): SeedRecord | null {
    return this.public(this.store.latest());
  }

  private public(r: SeedRow | null): SeedRecord | null {
    if (!r) return null;
    const { ironicTimeoutSec: _t, sshKeys: _k, ...rec } = r;
    return rec;
  }

  /** Start a seed. Every check happens before anything changes: 404 unknown node, 409 a seed running or a node that
   *  cannot be the control node (too small, not available, …), 400 bad network parameters or no ramdisk to give. */
  start(req: SeedRequest): SeedRecord {
    const cur = this.store.latest();
    if (cur && cur.status === 'running') throw new CoreError(409, `a seed is running already (${cur.id}, stage ${cur.stage})`);
    const control = this.core.deploys.resolveNode(req.control);
    const problem = this.controlProblem(control);
    if (problem) throw new CoreError(409, problem);
    const image = req.image ?? 'lab-control';
    const img = this.core.images.list().find((i) => i.id === image || i.name === image);
    if (!img) throw new CoreError(409, `no image ${image} in the library: import the control-node image first (lab/images/cli.ts build --control)`);
    if (img.state !== 'ready') throw new CoreError(409, `the image ${image} is ${img.state}`);
    const plan = this.plan(control.id);
    const nodes = plan.nodes.filter((n) => n.action === 'handoff').map((n) => n.id);
    const ironicUrl = this.o.ironicUrlOverride ?? this.ironicUrlOf(req);
    const id = randomUUID();
    const password = randomBytes(18).toString('base64url');
    // checked now (bad CIDR, MAC, …): refused before anything is stored
    this.userData(req, password);
    this.core.config.setSecret(this.secretKey(id), password);
    const row = this.store.create({ id, controlNode: control.id, image: img.name, nodes, network: req.network, ironicUrl,
      ironicTimeoutSec: req.ironicTimeoutSec ?? 600, sshKeys: req.sshKeys ?? [] });
    this.core.bus.record({ source: 'api', kind: 'seed-start', mac: control.mac, nodeId: control.id,
      message: `seed started: ${control.id} becomes the control node, ${nodes.length} node(s) to hand over to its Ironic (${ironicUrl})`, detail: { seed: id, nodes: nodes.length } });
    this.kick(row.id);
    return this.public(row)!;
  }

  private ironicUrlOf(req: SeedRequest): string {
    try { return controlIronicUrl({ provisioning: { mac: '00:00:00:00:00:00', cidr: req.network.provisioningCidr } }); } catch (err) { throw new CoreError(400, (err as Error).message); }
  }

  private userData(req: Pick<SeedRequest, 'network'>, password: string, controlMac?: string): string {
    try {
      return seedControlUserData({ boot: this.core.bootSettings, network: req.network, password, controlMac });
    } catch (err) {
      throw new CoreError(400, (err as Error).message);
    }
  }

  /** Continue a failed seed from the stage that failed, with that stage's time budget (wait-ironic's) counted afresh:
   *  the engineer fixed something and asks again. 409 when none failed. (A kill -9 resumes through recover(), which
   *  keeps the budget.) */
  resume(): SeedRecord {
    const cur = this.store.latest();
    if (!cur || cur.status !== 'failed') throw new CoreError(409, cur ? `the seed is ${cur.status}, not failed` : 'no seed');
    this.store.stage(cur.id, cur.stage, { status: 'pending', startedAt: null, finishedAt: null, error: null });
    this.store.finish(cur.id, 'running', null, null);
    this.core.bus.record({ source: 'api', kind: 'seed-resumed', mac: null, nodeId: cur.controlNode, message: `seed ${cur.id} resumed at stage ${cur.stage} (it had stopped: ${cur.error ?? 'no reason'})` });
    this.publish();
    this.kick(cur.id);
    return this.get()!;
  }

  /** Take back every node of the seed (the control node too): RackSeed serves and drives them again. */
  async rollback(): Promise<SeedRecord> {
    const cur = this.store.latest();
    if (!cur) throw new CoreError(409, 'no seed');
    if (cur.status === 'running') throw new CoreError(409, 'the seed is running: wait for it to stop at a stage (or fail) before rolling back');
    const ids = [cur.controlNode, ...cur.nodes].filter((id) => this.core.nodes.get(id));
    this.core.handoff.takeBack(ids);
    this.store.finish(cur.id, 'rolled-back', null, cur.error);
    this.core.bus.record({ source: 'api', kind: 'seed-rollback', mac: null, nodeId: null, message: `seed ${cur.id} rolled back: RackSeed owns its ${ids.length} node(s) again (Ironic keeps its records)` });
    this.publish();
    return this.get()!;
  }

  /** The site's credentials file (text). Only when asked: never in the seed record. */
  credentials(): string {
    const cur = this.store.latest();
    if (!cur) throw new CoreError(404, 'no seed');
    const password = this.core.config.secret(this.secretKey(cur.id));
    if (password === null) throw new CoreError(404, 'no credentials stored for this seed');
    return [
      '# RackSeed seed: credentials of the site\'s control node. Keep this file safe; it is the only copy outside the control node.',
      `# seed ${cur.id}, control node ${cur.controlNode}`,
      `OS_ENDPOINT=${cur.ironicUrl}`,
      'OS_AUTH_TYPE=http_basic',
      `OS_USERNAME=${CONTROL_IRONIC_USER}`,
      `OS_PASSWORD=${password}`,
      // the client negotiates: Debian bookworm's ironicclient knows up to 1.78 and refuses a pinned 1.82 outright
      'OS_BAREMETAL_API_VERSION=latest',
      '',
    ].join('\n');
  }

  /** At daemon start: a seed a kill -9 interrupted continues from its first unfinished stage. */
  recover(): void {
    const cur = this.store.latest();
    if (cur?.status === 'running') {
      this.core.bus.record({ source: 'job', kind: 'seed-resumed', mac: null, nodeId: cur.controlNode, message: `seed ${cur.id} resumed at stage ${cur.stage} after a daemon restart` });
      this.kick(cur.id);
    }
  }

  stop(): void { this.stopped = true; }

  /** Resolves when the seed of this process stopped running (tests). */
  async idle(timeoutMs = 60_000): Promise<void> {
    const p = this.running;
    if (p) await Promise.race([p, sleep(timeoutMs)]);
  }

  private kick(id: string): void {
    if (this.running) return;
    this.running = this.run(id).catch((err: unknown) => { this.log.error({ err }, 'seed crashed'); }).finally(() => { this.running = null; });
  }

  /** The seed as it is now, to every stream client ('seed' messages, shared/api.ts). */
  private publish(): void {
    const r = this.get();
    if (r) this.core.bus.publish({ type: 'seed', payload: r });
  }

  /** A running stage's progress text, published when it changed (the stages poll every pollMs). */
  private progress(id: string, name: SeedStageName, detail: string): void {
    const cur = this.store.get(id)?.stages.find((s) => s.name === name);
    if (cur?.detail === detail) return;
    this.store.stage(id, name, { detail });
    this.publish();
  }

  private async run(id: string): Promise<void> {
    for (const name of SEED_STAGES) {
      if (this.stopped) return;
      const row = this.store.get(id);
      if (!row || row.status !== 'running') return;
      const st = row.stages.find((s) => s.name === name)!;
      if (st.status === 'done') continue;
      this.store.stage(id, name, { status: 'running', startedAt: st.startedAt ?? Date.now(), error: null });
      this.publish();
      try {
        const detail = await this.runStage(name, row);
        if (this.stopped) return;
        this.store.stage(id, name, { status: 'done', finishedAt: Date.now(), detail });
        this.core.bus.record({ source: 'job', kind: 'seed-stage', mac: null, nodeId: row.controlNode, message: `seed: ${name} done${detail ? `: ${detail}` : ''}`, detail: { seed: id, stage: name } });
      } catch (err) {
        if (this.stopped) return;
        const reason = err instanceof Error ? err.message : String(err);
        this.store.stage(id, name, { status: 'failed', finishedAt: Date.now(), error: reason }, { status: 'failed', error: `${name}: ${reason}` });
        this.core.bus.record({ source: 'job', kind: 'seed-failed', mac: null, nodeId: row.controlNode, level: 'error', message: `seed stopped at ${name}: ${reason}`, detail: { seed: id, stage: name } });
        this.publish();
        return;
      }
      this.publish();
    }
    this.publish();
  }

  private engine(row: SeedRow): { ref: EngineRef; password: string } {
    const password = this.core.config.secret(this.secretKey(row.id));
    if (password === null) throw new StageError('the seed\'s Ironic password is gone from the secret store');
    return { ref: { kind: 'ironic', url: row.ironicUrl }, password };
  }

  private client(row: SeedRow): IronicClient {
    const { password } = this.engine(row);
    return new IronicClient({ url: row.ironicUrl, auth: { kind: 'basic', user: CONTROL_IRONIC_USER, password } });
  }

  private async runStage(name: SeedStageName, row: SeedRow): Promise<string | null> {
    switch (name) {
      case 'deploy-control': return this.deployControl(row);
      case 'wait-ironic': return this.waitIronic(row);
      case 'handoff': return this.handoff(row);
      case 'pivot': return this.pivot(row);
      case 'report': return this.report(row);
    }
  }

  private async deployControl(row: SeedRow): Promise<string> {
    const node = this.core.nodes.get(row.controlNode);
    if (!node) throw new StageError(`the control node ${row.controlNode} is gone`);
    let d = this.core.deploys.get(node.id);
    const ours = d && d.kind === 'deploy' && d.image?.name === row.image && d.hostname === CONTROL_HOSTNAME && d.startedAt >= row.startedAt;
    if (!ours || d!.stage === 'failed') {
      const password = this.engine(row).password;
      try {
        d = this.core.deploys.deploy(node.id, { image: row.image, hostname: CONTROL_HOSTNAME, userData: this.userData(row, password, node.mac), sshKeys: row.sshKeys });
      } catch (err) {
        throw new StageError(`the deploy service refused the control node: ${(err as Error).message}`);
      }
    }
    for (;;) {
      if (this.stopped) return '';
      d = this.core.deploys.get(node.id);
      if (!d) throw new StageError('the control node\'s deployment disappeared');
      if (d.stage === 'failed') throw new StageError(`the control node's deploy failed: ${d.error ?? 'no reason given'}`);
      if (d.stage === 'done') return `${row.image} on ${d.disk?.name ?? 'its disk'}, booted (${d.bootedVia ?? 'seen'})`;
      this.progress(row.id, 'deploy-control', `deploy ${d.stage}${d.totalBytes ? ` ${Math.round((100 * d.bytes) / d.totalBytes)} %` : ''}`);
      await sleep(this.o.pollMs);
    }
  }

  private async waitIronic(row: SeedRow): Promise<string> {
    const st = row.stages.find((s) => s.name === 'wait-ironic')!;
    const end = (st.startedAt ?? Date.now()) + row.ironicTimeoutSec * 1000;
    const client = this.client(row);
    let last = '';
    for (;;) {
      if (this.stopped) return '';
      try {
        const { microversion } = await client.negotiate();
        return `Ironic answers at ${row.ironicUrl} (API ${microversion}, HTTP basic)`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        if (err instanceof IronicError && (err.kind === 'auth' || err.kind === 'version')) throw new StageError(`the control node's Ironic refuses: ${last}`);
      }
      if (Date.now() > end) throw new StageError(`the control node's Ironic did not answer at ${row.ironicUrl} within ${row.ironicTimeoutSec} s (last: ${last})`);
      await sleep(this.o.pollMs);
    }
  }

  private async handoff(row: SeedRow): Promise<string> {
    const { ref, password } = this.engine(row);
    const label = engineLabel(ref);
    const h = this.core.handoff;
    const pending = (): string[] => row.nodes.filter((id) => h.store.owner(id) === 'rackseed');
    // nodes a kill -9 left with a hand-off job running are resumed by HandoffService.resume(): only wait for them
    const toStart = pending().filter((id) => !this.core.jobs.activeForNode(id) && h.store.progress(id)?.status !== 'running');
    if (toStart.length) {
      try {
        await h.start(toStart, { kind: 'ironic', url: ref.url, auth: 'basic', user: CONTROL_IRONIC_USER, password });
      } catch (err) {
        throw new StageError(`the hand-off to ${label} was refused: ${(err as Error).message}`);
      }
    }
    const retried = new Set<string>();
    for (;;) {
      if (this.stopped) return '';
      const recs = h.records(row.nodes);
      const runningN = recs.filter((r) => r.status === 'running').length;
      const failed = recs.filter((r) => r.status === 'failed');
      this.progress(row.id, 'handoff', `${recs.filter((r) => r.owner !== 'rackseed').length}/${row.nodes.length} handed over${runningN ? `, ${runningN} running` : ''}`);
      if (runningN === 0) {
        // one retry per stage run of a hand-off that failed (a transient Ironic or BMC error): a new attempt finds a
        // clean Ironic or updates the node holding the MAC. (The resumed job's own "already exists" after a kill -9 —
        // a POST Ironic processed late — no longer fails: core/handoff adopts that node/port.)
        const retry = failed.filter((r) => !retried.has(r.nodeId) && h.store.owner(r.nodeId) === 'rackseed' && !this.core.jobs.activeForNode(r.nodeId));
        if (retry.length) {
          for (const r of retry) retried.add(r.nodeId);
          this.log.warn({ nodes: retry.map((r) => r.nodeId), errors: retry.map((r) => r.error) }, 'seed: retrying failed hand-offs once');
          try {
            await h.start(retry.map((r) => r.nodeId), { kind: 'ironic', url: ref.url, auth: 'basic', user: CONTROL_IRONIC_USER, password });
          } catch (err) {
            throw new StageError(`the hand-off to ${label} was refused: ${(err as Error).message}`);
          }
          await sleep(this.o.pollMs);
          continue;
        }
        if (failed.length) throw new StageError(failed.map((r) => `node ${r.nodeId}: ${r.error ?? 'failed'}${r.leftBehind ? ` (left in Ironic: ${r.leftBehind})` : ''}`).join('; '));
        const notYet = pending();
        if (notYet.length) throw new StageError(`not handed over: ${notYet.join(', ')}`);
        break;
      }
      await sleep(this.o.pollMs);
    }
    // after the laptop leaves: Ironic boots them into the ramdisk the control node holds, with no agent
    const client = this.client(row);
    await client.negotiate();
    // the control node's own HTTP server, on its static provisioning address (not the laptop's view of its API)
    const httpBase = `http://${row.network.provisioningCidr.replace(/\/\d+$/, '')}:${CONTROL_HTTP_PORT}`;
    for (const r of h.records(row.nodes)) {
      if (!r.engineNode) continue;
      try {
        await client.patchNode(r.engineNode, [
          { op: 'add', path: '/deploy_interface', value: 'ramdisk' },
          // iPXE: the kernel and ramdisk come over the control node's HTTP server (nginx), not TFTP; iPXE clients
          // (QEMU's ROMs, most NIC firmware chain-loads) get the script at once, others get undionly.kpxe/ipxe.efi
          { op: 'add', path: '/boot_interface', value: 'ipxe' },
          { op: 'add', path: '/instance_info/kernel', value: `${httpBase}${CONTROL_RAMDISK_PATHS.kernel.replace(/^.*\/httpboot/, '')}` },
          { op: 'add', path: '/instance_info/ramdisk', value: `${httpBase}${CONTROL_RAMDISK_PATHS.initrd.replace(/^.*\/httpboot/, '')}` },
          // the serial console last, so it is /dev/console: the ramdisk's output reaches the BMC's Serial-over-LAN
          { op: 'add', path: '/instance_info/ramdisk_kernel_arguments', value: 'console=tty0 console=ttyS0,115200n8' },
        ]);
      } catch (err) {
        throw new StageError(`node ${r.nodeId} was handed over but Ironic refused its ramdisk settings: ${(err as Error).message}`);
      }
    }
    return `${row.nodes.length} node(s) handed over to ${label}, verified through Ironic, set to boot the control node's ramdisk`;
  }

  private async pivot(row: SeedRow): Promise<string> {
    const { ref } = this.engine(row);
    const control = this.core.nodes.get(row.controlNode);
    if (!control) throw new StageError(`the control node ${row.controlNode} is gone`);
    if (this.core.handoff.store.owner(control.id) === 'rackseed') {
      const macs = this.macsOf(control.id);
      this.core.handoff.store.setOwner(control.id, ref, null, macs);
      this.core.bus.record({ source: 'job', kind: 'handoff-pivot', mac: control.mac, nodeId: control.id, message: `the control node runs ${engineLabel(ref)}: RackSeed no longer answers or drives it` });
      this.core.lifecycle.announce(control.id);
    }
    const still = [control.id, ...row.nodes].filter((id) => this.core.handoff.store.owner(id) === 'rackseed');
    if (still.length) throw new StageError(`RackSeed still owns ${still.join(', ')}`);
    const macs = [control.id, ...row.nodes].flatMap((id) => this.macsOf(id));
    const answered = macs.filter((m) => this.core.handoff.store.claimedByEngine(m) === null);
    if (answered.length) throw new StageError(`RackSeed would still answer ${answered.join(', ')}`);
    return `RackSeed answers none of the ${macs.length} MAC(s) of the control node and the ${row.nodes.length} handed-over node(s)`;
  }

  private macsOf(id: string): string[] {
    const node = this.core.nodes.get(id);
    return node ? gatherNode({ node, inventory: this.core.nodes.inventory(id) as Inventory | null, credentials: null }).macs : [];
  }

  private async report(row: SeedRow): Promise<string> {
    const control = this.core.nodes.get(row.controlNode)!;
    const client = this.client(row);
    await client.negotiate().catch(() => undefined);
    const verified: string[] = [];
    const nodes = [];
    for (const id of row.nodes) {
      const n = this.core.nodes.get(id);
      const r = this.core.handoff.records([id])[0]!;
      let provisionState: string | null = null;
      let powerState: string | null = null;
      let error: string | null = null;
      if (r.engineNode) {
        try {
          const inIronic = await client.getNode(r.engineNode);
          provisionState = inIronic?.provision_state ?? null;
          powerState = inIronic?.power_state ?? null;
        } catch (err) { error = (err as Error).message; }
      }
      nodes.push({ id, mac: n?.mac ?? '', serial: n?.serial ?? null, owner: r.owner === 'rackseed' ? 'rackseed' as const : 'ironic' as const, ironicNode: r.engineNode,
        provisionState, powerState, verified: !!r.result && provisionState === 'available', error: error ?? r.error });
    }
    verified.push(`control node ${control.id} deployed with ${row.image} and booted`);
    verified.push(`Ironic API at ${row.ironicUrl} answers with HTTP basic auth (user ${CONTROL_IRONIC_USER})`);
    verified.push(`${nodes.filter((n) => n.verified).length}/${nodes.length} node(s) available in Ironic, power state equal to the BMC's, ports = MACs (hand-off verify)`);
    verified.push('RackSeed answers no DHCP/proxyDHCP for the control node and the handed-over nodes, and drives none of their BMCs');
    const report: SeedReport = {
      controlNode: { id: control.id, mac: control.mac, hostname: CONTROL_HOSTNAME, address: row.network.provisioningCidr.replace(/\/\d+$/, '') },
      ironicUrl: row.ironicUrl, ironicUser: CONTROL_IRONIC_USER,
      httpUrl: `http://${row.network.provisioningCidr.replace(/\/\d+$/, '')}:${CONTROL_HTTP_PORT}`,
      nodes: [{ id: control.id, mac: control.mac, serial: control.serial, owner: 'control-node', ironicNode: null, provisionState: null, powerState: null, verified: true, error: null }, ...nodes],
      verified, unplugReady: nodes.every((n) => n.owner === 'ironic'), finishedAt: Date.now(),
    };
    this.store.finish(row.id, 'done', report);
    this.core.bus.record({ source: 'job', kind: 'seed-done', mac: control.mac, nodeId: control.id, message: `seed done: the laptop can be unplugged (${row.nodes.length} node(s) in ${row.ironicUrl})` });
    return report.unplugReady ? 'the laptop can be unplugged' : 'some nodes are still RackSeed\'s';
  }
}
