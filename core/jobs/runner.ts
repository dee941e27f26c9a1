// Runs BMC jobs: inspect (a known node with a BMC) and discovery (a BMC whose node is still unknown).
// Steps run in order, one BMC session per step, each with a timeout; a failed step fails the job with its reason
// and, for a node being inspected, moves the node to `error` with that reason; a node the job had powered on is
// powered off again first (powerOffAfterFailure). A node whose machine a job powered on is marked
// `poweredOnByRackSeed` (from the power-on step, or, for discovery, from when its inventory names it) until RackSeed
// powers it off: only such a node may be told to power off by the agent (AgentIntake.next). An inspect job asked with
// `leaveRunning` ends with `leave-running` instead of `power-off`: the node stays up in the discovery ramdisk (its root
// shell on the serial console) and is handed to the engineer (no longer poweredOnByRackSeed, so the agent idles and
// nothing of RackSeed's powers it off). Every change is persisted
// (JobStore) before it is broadcast, so `resumeAfterCrash()` can pick up where a killed daemon stopped.
import type { Logger } from 'pino';
import type { Job } from '../../shared/api.ts';
import type { Inventory } from '../../shared/inventory.ts';
import type { NodeSummary } from '../../shared/node.ts';
import type { Core } from '../core.ts';
import type { AgentIntake } from '../agent/intake.ts';
import type { BmcConnector, BmcSession } from '../bmc-port.ts';
import { guidsMatch, normalizeGuid } from '../guid.ts';
import { runJobSteps } from './step-loop.ts';
import { DISCOVERY_STEPS, INSPECT_LEAVE_RUNNING_STEPS, INSPECT_STEPS, StepError, withTimeout } from './steps.ts';

export interface JobRunnerOptions {
  /** how long wait-inventory waits for the agent (default 10 min) */
  inventoryTimeoutMs?: number;
  /** timeout of each BMC step (default 30 s) */
  bmcStepTimeoutMs?: number;
}

interface Waiter { jobId: string; nodeId: string | null; guid: string | null; macs: string[]; bmcAddress: string | null; resolve: (node: NodeSummary) => void }

export class CoreError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = 'CoreError';
  }
}

export class JobRunner {
  private readonly waiters = new Set<Waiter>();
  private readonly running = new Set<string>();
  private stopped = false;
  private readonly inventoryTimeoutMs: number;
  private readonly bmcStepTimeoutMs: number;
  private readonly log: Logger;

  constructor(
    private readonly core: Core,
    private readonly intake: AgentIntake,
    private readonly connector: BmcConnector | null,
    opts: JobRunnerOptions = {},
  ) {
    this.log = core.log.child({ svc: 'jobs' });
    this.inventoryTimeoutMs = opts.inventoryTimeoutMs ?? 10 * 60_000;
    this.bmcStepTimeoutMs = opts.bmcStepTimeoutMs ?? 30_000;
    intake.onInventory((node, inv) => this.onInventory(node, inv));
  }

  /**
   * Start an inspect job for a node that has a BMC. 404/409/503 as CoreError. `leaveRunning`: keep the node on in the
   * discovery ramdisk after its inventory (steps INSPECT_LEAVE_RUNNING_STEPS) instead of powering it off.
   */
  inspectNode(nodeId: string, opts: { leaveRunning?: boolean } = {}): Job {
    const node = this.core.nodes.get(nodeId);
    if (!node) throw new CoreError(404, `no node ${nodeId}`);
    if (node.maintenance) throw new CoreError(409, `node ${nodeId} is in maintenance: clear it first (PUT /api/v1/nodes/${nodeId}/maintenance)`);
    this.core.handoff.assertRackSeedOwns(nodeId);
    if (!node.bmc) throw new CoreError(409, `node ${nodeId} has no BMC yet: run discovery through its BMC, or match one`);
    if (this.core.jobs.activeForNode(nodeId)) throw new CoreError(409, `node ${nodeId} already has a job running`);
    this.requireBmcAccess();
    this.core.lifecycle.transition(nodeId, 'inspecting', 'inspect-start');
    const job = this.core.jobs.create('inspect', nodeId, node.bmc.address, [...(opts.leaveRunning ? INSPECT_LEAVE_RUNNING_STEPS : INSPECT_STEPS)]);
    this.publishJob(job.id);
    void this.run(job.id);
    return this.core.jobs.get(job.id)!;
  }

  /** Start a discovery job for every listed BMC, or for every known BMC without a matched node. */
  discover(addresses?: string[]): Job[] {
    this.requireBmcAccess();
    const targets = addresses
      ? addresses.map((a) => { const b = this.core.bmcs.get(a); if (!b) throw new CoreError(404, `unknown BMC ${a}`); return b; })
      : this.core.bmcs.list().filter((b) => !b.nodeId);
    const jobs: Job[] = [];
    for (const bmc of targets) {
      const existing = this.core.jobs.activeForBmc(bmc.address);
      if (existing) { jobs.push(existing); continue; }
      if (bmc.nodeId && this.core.handoff.store.owner(bmc.nodeId) !== 'rackseed') continue; // handed over: the engine drives it
      if (bmc.nodeId) {
        const node = this.core.nodes.get(bmc.nodeId);
        if (node?.maintenance) continue; // left alone until the engineer clears the flag
        // a deployed node (active) runs its OS, a clean-failed one waits for a release: discovery never PXE-boots them
        if (node && (node.state === 'active' || node.state === 'clean-failed')) continue;
        if (node && !this.core.jobs.activeForNode(node.id)) { jobs.push(this.inspectNode(node.id)); continue; }
      }
      const job = this.core.jobs.create('inspect', null, bmc.address, [...DISCOVERY_STEPS]);
      this.publishJob(job.id);
      void this.run(job.id);
      jobs.push(this.core.jobs.get(job.id)!);
    }
    return jobs;
  }

  /**
   * At startup: resume unfinished jobs from their first unfinished step when the BMC can be reached (connector and
   * credentials present); otherwise fail them and settle their nodes. Then any node still `inspecting` without a job
   * goes to `error` with the reason. After this, no node is left in a working state without something driving it.
   */
  resumeAfterCrash(): void {
    const canResume = this.connector !== null && this.core.config.bmcCredentials() !== null;
    for (const job of this.core.jobs.listUnfinished()) {
      if (job.kind === 'handoff') continue; // HandoffService resumes its own (core/handoff/service.ts)
      if (job.kind === 'deploy' || job.kind === 'clean') continue; // DeployService resumes its own (core/deploy/service.ts)
      if (canResume && job.bmcAddress) {
        this.core.bus.record({ source: 'job', kind: 'job-resumed', mac: this.macOf(job.nodeId), nodeId: job.nodeId, message: `job ${job.id} resumed after a daemon restart` });
        if (job.nodeId) {
          const n = this.core.nodes.get(job.nodeId);
          if (n && n.state !== 'inspecting' && n.state !== 'available') this.core.lifecycle.transition(n.id, 'inspecting', 'inspect-start');
        }
        void this.run(job.id);
        continue;
      }
      const reason = 'interrupted by a daemon restart and cannot resume (no BMC connection or credentials)';
      this.failJob(job.id, job.steps.findIndex((s) => s.status !== 'done'), reason, 'crash-recovery');
    }
    for (const n of this.core.nodes.listInState('inspecting')) {
      if (!this.core.jobs.activeForNode(n.id)) {
        this.core.lifecycle.transition(n.id, 'error', 'crash-recovery', 'the daemon restarted during inspection and no job was left to finish it');
      }
    }
  }

  /** Stop waiting (daemon shutdown); running jobs stay `running` in the store and resume at the next start. */
  stop(): void {
    this.stopped = true;
    this.waiters.clear();
  }

  private requireBmcAccess(): void {
    if (!this.connector) throw new CoreError(503, 'BMC control is not available in this daemon');
    if (!this.core.config.bmcCredentials()) throw new CoreError(409, 'set the BMC credentials first (PUT /api/v1/bmc/credentials)');
  }

  private macOf(nodeId: string | null): string | null {
    return nodeId ? this.core.nodes.get(nodeId)?.mac ?? null : null;
  }

  private publishJob(id: string): void {
    const job = this.core.jobs.get(id);
    if (job) this.core.bus.publish({ type: 'job', payload: job });
  }

  private async withBmc<T>(address: string, step: string, fn: (s: BmcSession) => Promise<T>): Promise<T> {
    const creds = this.core.config.bmcCredentials();
    if (!creds || !this.connector) throw new StepError(step, 'no BMC credentials or connector');
    const work = (async () => {
      const s = await this.connector!(address, creds);
      try { return await fn(s); } finally { await s.close(); }
    })();
    return withTimeout(step, this.bmcStepTimeoutMs, work);
  }

  private async run(jobId: string): Promise<void> {
    if (this.running.has(jobId)) return;
    this.running.add(jobId);
    try {
      const job = this.core.jobs.get(jobId);
      if (!job) return;
      this.core.jobs.setStatus(jobId, 'running');
      this.publishJob(jobId);
      const end = await runJobSteps(this.core.jobs, job, {
        isStopped: () => this.stopped,
        runStep: (name) => this.runStep(jobId, name),
        publish: () => this.publishJob(jobId),
        onFailure: async (i, reason) => {
          await this.powerOffAfterFailure(jobId, i);
          this.failJob(jobId, i, reason, 'job-failed');
        },
      });
      if (end !== 'done') return;
      this.core.jobs.setStatus(jobId, 'done');
      const done = this.core.jobs.get(jobId)!;
      this.core.bus.record({ source: 'job', kind: 'job-done', mac: this.macOf(done.nodeId), nodeId: done.nodeId, message: `inspect job done (BMC ${done.bmcAddress})` });
      this.publishJob(jobId);
    } catch (err) {
      this.log.error({ err, job: jobId }, 'job runner failed');
    } finally {
      this.running.delete(jobId);
    }
  }

  /**
   * Safe state after a failed job: a node this job powered on (its power-on step is done, a later step other than
   * power-off failed) is powered off again, so it does not sit in the ramdisk, or boot an unknown local OS, unseen.
   * Best effort: the outcome is a history event either way, and the job still fails with its own reason.
   */
  private async powerOffAfterFailure(jobId: string, failedIdx: number): Promise<void> {
    const job = this.core.jobs.get(jobId);
    if (!job?.bmcAddress) return;
    const on = job.steps.findIndex((s) => s.name === 'power-on');
    if (on < 0 || on >= failedIdx || job.steps[on]!.status !== 'done' || job.steps[failedIdx]!.name === 'power-off') return;
    const address = job.bmcAddress;
    const mac = this.macOf(job.nodeId);
    try {
      await this.withBmc(address, 'power-off', (s) => s.power('off'));
      this.setPower(address, job.nodeId, 'off');
      if (job.nodeId) this.markPoweredOn(job.nodeId, false);
      this.core.bus.record({ source: 'bmc', kind: 'power-off', mac, nodeId: job.nodeId, message: `BMC ${address}: power off (the job failed; leaving the node in a safe state)`, detail: { job: jobId, bmc: address } });
    } catch (err) {
      this.core.bus.record({ source: 'bmc', kind: 'power-off-failed', mac, nodeId: job.nodeId, level: 'error', message: `BMC ${address}: could not power the node off after the failed job: ${(err as Error).message}`, detail: { job: jobId, bmc: address } });
    }
  }

  private failJob(jobId: string, stepIdx: number, reason: string, cause: 'job-failed' | 'crash-recovery'): void {
    if (stepIdx >= 0) this.core.jobs.setStep(jobId, stepIdx, 'failed', reason);
    this.core.jobs.setStatus(jobId, 'failed', reason);
    const job = this.core.jobs.get(jobId)!;
    this.core.bus.record({ source: 'job', kind: 'job-failed', mac: this.macOf(job.nodeId), nodeId: job.nodeId, level: 'error', message: `inspect job failed: ${reason}`, detail: { job: jobId, bmc: job.bmcAddress } });
    if (job.nodeId) {
      const node = this.core.nodes.get(job.nodeId);
      if (node?.state === 'inspecting') this.core.lifecycle.transition(node.id, 'error', cause, reason);
    }
    this.publishJob(jobId);
  }

  private async runStep(jobId: string, name: string): Promise<void> {
    const job = this.core.jobs.get(jobId)!;
    const address = job.bmcAddress!;
    switch (name) {
      case 'read-guid': {
        // IPMI: Get System GUID; Redfish: the system's UUID and the MACs of its EthernetInterfaces (both match nodes)
        const { raw, macs } = await this.withBmc(address, name, async (s) => ({ raw: await s.systemGuid(), macs: s.macs ? await s.macs() : null }));
        const guid = normalizeGuid(raw);
        this.core.bmcs.upsert(address, { guid, error: null, ...(macs ? { macs } : {}) });
        const what = this.core.bmcs.get(address)?.protocol === 'redfish' ? 'system UUID' : 'System GUID';
        this.core.bus.record({ source: 'bmc', kind: 'bmc-guid', mac: null, nodeId: null, message: `BMC ${address} ${what} ${guid ?? 'unknown'}${macs?.length ? `, host MACs ${macs.join(', ')}` : ''}`, detail: { bmc: address, guid, ...(macs ? { macs } : {}) } });
        return;
      }
      case 'set-boot-pxe':
        await this.withBmc(address, name, (s) => s.setBootDevice('pxe', { persistent: false }));
        this.core.bus.record({ source: 'bmc', kind: 'bootdev', mac: this.macOf(job.nodeId), nodeId: job.nodeId, message: `BMC ${address}: next boot from PXE (once)` });
        return;
      case 'power-on': {
        await this.withBmc(address, name, async (s) => {
          // a node already running would not PXE-boot: cycle it so the one-time boot device applies
          const p = await s.powerStatus();
          await s.power(p === 'on' ? 'cycle' : 'on');
        });
        this.setPower(address, job.nodeId, 'on');
        if (job.nodeId) this.markPoweredOn(job.nodeId, true);
        this.core.bus.record({ source: 'bmc', kind: 'power-on', mac: this.macOf(job.nodeId), nodeId: job.nodeId, message: `BMC ${address}: power on` });
        return;
      }
      case 'wait-inventory': {
        const node = await this.waitInventory(job);
        if (!job.nodeId) {
          this.core.jobs.setNode(jobId, node.id);
          this.publishJob(jobId);
        }
        return;
      }
      case 'power-off': {
        await this.withBmc(address, name, (s) => s.power('off'));
        const nodeId = this.core.jobs.get(jobId)!.nodeId;
        this.setPower(address, nodeId, 'off');
        if (nodeId) this.markPoweredOn(nodeId, false);
        this.core.bus.record({ source: 'bmc', kind: 'power-off', mac: this.macOf(nodeId), nodeId, message: `BMC ${address}: power off` });
        return;
      }
      case 'leave-running': {
        // synchronous after wait-inventory (no I/O between): the job is still unfinished while the agent's first
        // GET /agent/v1/next can arrive, so it is told to wait, and after this step it idles (AgentIntake.next)
        const nodeId = this.core.jobs.get(jobId)!.nodeId;
        if (!nodeId) throw new StepError(name, 'no node to leave running');
        this.markPoweredOn(nodeId, false);
        this.core.bus.record({
          source: 'job', kind: 'left-running', mac: this.macOf(nodeId), nodeId,
          message: `inspection done; left running in the discovery ramdisk as asked: root shell on its serial console (rackseed console ${nodeId}); RackSeed will not power it off (power it off, or deploy it, when done)`,
          detail: { job: jobId, bmc: address },
        });
        return;
      }
      default:
        throw new StepError(name, `unknown step ${name}`);
    }
  }

  /** Record whether RackSeed started the node's machine (see the header); only changes are written and announced. */
  private markPoweredOn(nodeId: string, on: boolean): void {
    const n = this.core.nodes.get(nodeId);
    if (!n || n.poweredOnByRackSeed === on) return;
    this.core.nodes.update(nodeId, { poweredOnByRackSeed: on });
    this.core.lifecycle.announce(nodeId);
  }

  private setPower(address: string, nodeId: string | null, power: 'on' | 'off'): void {
    this.core.bmcs.upsert(address, { power });
    if (nodeId) { this.core.nodes.update(nodeId, { power }); this.core.lifecycle.announce(nodeId); }
  }

  /** Resolves with the node once an inventory for this job arrived (already, since the job started, or later). */
  private waitInventory(job: Job): Promise<NodeSummary> {
    const guid = job.bmcAddress ? this.core.bmcs.get(job.bmcAddress)?.guid ?? null : null;
    const macs = job.bmcAddress ? this.core.bmcs.get(job.bmcAddress)?.macs ?? [] : [];
    // already arrived (fast boot, or before a restart)?
    const since = job.createdAt;
    const candidates = job.nodeId ? [this.core.nodes.get(job.nodeId)].filter((n): n is NodeSummary => !!n) : this.core.nodes.list();
    for (const n of candidates) {
      const got = this.core.events.query({ nodeId: n.id, limit: 50 }).some((e) => e.kind === 'inventory' && e.at >= since);
      if (got && this.belongsToJob(job.nodeId, guid, job.bmcAddress, n, macs)) {
        if (!job.nodeId) this.linkByGuid(job.bmcAddress, n, macs);
        this.markPoweredOn(n.id, true);
        return Promise.resolve(this.core.nodes.get(n.id) ?? n);
      }
    }
    return new Promise<NodeSummary>((resolve, reject) => {
      const w: Waiter = { jobId: job.id, nodeId: job.nodeId, guid, macs, bmcAddress: job.bmcAddress, resolve: (n) => { clearTimeout(t); this.waiters.delete(w); resolve(n); } };
      const t = setTimeout(() => {
        this.waiters.delete(w);
        reject(new StepError('wait-inventory', `no inventory from the node within ${Math.round(this.inventoryTimeoutMs / 1000)} s (did it PXE-boot?${this.allowlistHint(guid)})`));
      }, this.inventoryTimeoutMs);
      this.waiters.add(w);
    });
  }

  /**
   * Under allowlist admission an unknown PXE client boots only when its PXE UUID is this BMC's System GUID (boot/policy.ts):
   * say so when a node did not report, and what to do about it.
   */
  private allowlistHint(guid: string | null): string {
    if (this.core.policy.admission() !== 'allowlist') return '';
    return guid
      ? `; only allowed machines boot here: an unknown one only when its PXE UUID is the BMC's System GUID ${guid} — allow its MAC if it is listed as seen`
      : '; only allowed machines boot here and this BMC reported no System GUID to recognise its node by: allow the node\'s MAC (it is listed as seen)';
  }

  private belongsToJob(nodeId: string | null, guid: string | null, bmcAddress: string | null, n: NodeSummary, macs: string[] = []): boolean {
    if (nodeId) return n.id === nodeId;
    if (guid && guidsMatch(guid, n.uuid)) return true;
    // a Redfish BMC lists its host's NICs: the node whose MAC is among them
    if (macs.includes(n.mac.toLowerCase())) return true;
    if (guid || macs.length > 0) return false;
    // no GUID from the BMC: power correlation — the first node without a BMC that reports after power-on
    return !n.bmc && !!bmcAddress;
  }

  private linkByGuid(bmcAddress: string | null, n: NodeSummary, macs: string[] = []): void {
    if (!bmcAddress) return;
    const cur = this.core.nodes.get(n.id);
    if (cur?.bmc?.address === bmcAddress) return;
    const byMac = macs.includes(n.mac.toLowerCase());
    this.core.bmcs.upsert(bmcAddress, { nodeId: n.id });
    this.core.nodes.update(n.id, { bmcAddress, bmcMatchedBy: byMac ? 'mac' : 'power-correlation' });
    this.core.bus.record({ source: 'bmc', kind: 'bmc-matched', mac: n.mac, nodeId: n.id, message: byMac
      ? `matched to BMC ${bmcAddress} by MAC ${n.mac} (the BMC lists it among its host's interfaces)`
      : `matched to BMC ${bmcAddress} by power correlation (the BMC gave no usable GUID)` });
    this.core.lifecycle.announce(n.id);
  }

  private onInventory(node: NodeSummary, _inv: Inventory): void {
    for (const w of [...this.waiters]) {
      if (!this.belongsToJob(w.nodeId, w.guid, w.bmcAddress, node, w.macs)) continue;
      if (!w.nodeId) {
        this.core.jobs.setNode(w.jobId, node.id);
        this.linkByGuid(w.bmcAddress, node, w.macs);
      }
      // the job's power-on step is done (wait-inventory follows it): this machine runs because RackSeed started it
      this.markPoweredOn(node.id, true);
      w.resolve(this.core.nodes.get(node.id)!);
      return;
    }
  }
}
