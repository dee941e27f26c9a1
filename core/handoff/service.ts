// Hand-off of nodes to an OpenStack Ironic (issue 16): one job per node (JobStore, kind 'handoff') whose steps run in
// order and persist what they did before the next call, so a kill -9 at any point resumes without a second Ironic node:
//   read-bmc  RackSeed's own session to the node's BMC: power state and the cipher suite that worked (IPMI) or the
//             ComputerSystem path (Redfish: the node goes to Ironic with driver redfish, spec.ts)
//   engine    GET / (microversion), an authenticated GET (credentials checked before anything is written)
//   node      find the node in Ironic — the attempt's own (by UUID), one holding any of the node's MACs (a port), or one
//             named like it (a POST the kill -9 interrupted) — and update it; else create it. A node found in a
//             state RackSeed must not touch (deploying, active, …) is reported, never changed
//   ports     one per MAC, pxe_enabled on the boot MAC; a MAC that is a port of ANOTHER Ironic node fails the step
//   manage    enroll → manageable (Ironic's ipmitool reads the BMC); back in enroll = refused: Ironic's last_error
//   provide   manageable → available (cleaning, if the site enabled it, is waited for)
//   verify    read back: provision state available, Ironic's power state = RackSeed's BMC reading, ports = the MACs
//   pivot     the engine owns the node: the boot policy stops answering its MACs, RackSeed stops driving its BMC
// A failed step rolls back what this attempt created in Ironic (the node, or the ports it added to an existing one)
// and says exactly what remains when it cannot; the node stays RackSeed's, with the engine's message.
import type { Logger } from 'pino';
import type { Job } from '../../shared/api.ts';
import type { Inventory } from '../../shared/inventory.ts';
import type { NodeSummary } from '../../shared/node.ts';
import type { EngineAuthKind, EngineRef, HandoffRecord, HandoffRequest, HandoffVerification } from '../../shared/handoff.ts';
import type { Core } from '../core.ts';
import type { BmcConnector, BmcSession } from '../bmc-port.ts';
import { CoreError } from '../jobs/runner.ts';
import { runJobSteps } from '../jobs/step-loop.ts';
import { StepError, withTimeout } from '../jobs/steps.ts';
import { HandoffStore, engineId, engineLabel } from './store.ts';
import { gatherNode, type HandoffNode } from './model.ts';
import { IronicClient, IronicError, type IronicAuth, type IronicNode, type JsonPatchOp } from './ironic/client.ts';
import { ironicNodeSpec, ironicPortSpecs } from './ironic/spec.ts';
import { redfishEndpoint } from '../bmc/redfish-connector.ts';

export const HANDOFF_STEPS = ['read-bmc', 'engine', 'node', 'ports', 'manage', 'provide', 'verify', 'pivot'] as const;
/** The JobStore kind of hand-off jobs (JobRunner leaves these to HandoffService). */
export const HANDOFF_JOB_KIND = 'handoff' as Job['kind'];

/** Provision states RackSeed may (re)configure in Ironic; others belong to Ironic's users and are only reported. */
const TOUCHABLE = new Set(['enroll', 'verifying', 'manageable', 'available', 'cleaning', 'clean wait']);

export interface HandoffOptions {
  /** how long `manage` may take (Ironic retries a failing ipmitool for up to [ipmi] command_retry_timeout; default 180 s) */
  manageTimeoutMs?: number;
  /** how long `provide` may take (automated cleaning, when a site enables it, is long; default 30 min) */
  provideTimeoutMs?: number;
  /** poll period of Ironic's state (default 500 ms) */
  pollMs?: number;
  /** per BMC session step (default 30 s) */
  bmcTimeoutMs?: number;
  /** how long verify waits for Ironic's power state to agree with the BMC's (default 30 s: Ironic syncs periodically) */
  verifyPowerMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class HandoffService {
  readonly store: HandoffStore;
  private readonly running = new Set<string>();
  private stopped = false;
  private readonly log: Logger;
  private readonly o: Required<HandoffOptions>;
  /** cipher suite each node's BMC session used (read-bmc → node), kept per job in memory; 3 after a resume */
  private readonly suites = new Map<string, number>();
  /** Redfish ComputerSystem path each node's BMC session used (read-bmc → node); after a resume, from the BMC address */
  private readonly systemPaths = new Map<string, string>();

  constructor(private readonly core: Core, private readonly connector: BmcConnector | null, opts: HandoffOptions = {}) {
    this.log = core.log.child({ svc: 'handoff' });
    this.store = new HandoffStore(core.db, this.log, (mac, nodeId, engine) => this.core.bus.record({
      source: 'dhcp', kind: 'owned-elsewhere', mac, nodeId, message: `not answered: owned by ${engine}`, detail: { engine },
    }));
    this.o = {
      manageTimeoutMs: opts.manageTimeoutMs ?? 180_000, provideTimeoutMs: opts.provideTimeoutMs ?? 30 * 60_000,
      pollMs: opts.pollMs ?? 500, bmcTimeoutMs: opts.bmcTimeoutMs ?? 30_000, verifyPowerMs: opts.verifyPowerMs ?? 30_000,
    };
  }

  /** Secret-store key of an engine's password. */
  private secretKey(id: string): string {
    return `engine.${id}`;
  }

  /**
   * Check an engine (GET / and one authenticated GET with the given or stored credentials), then save it (password
   * sealed in the secret store) and return its ref. 400 for a bad URL or missing credentials; 502 when the engine is
   * unreachable, refuses the credentials or is too old — then nothing is saved.
   */
  async saveEngine(e: HandoffRequest['engine']): Promise<EngineRef> {
    let url: URL;
    try { url = new URL(e.url); } catch { throw new CoreError(400, `not a URL: ${e.url}`); }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CoreError(400, `the Ironic URL must be http:// or https:// (got ${url.protocol})`);
    if (url.username || url.password) throw new CoreError(400, 'give the Ironic user and password separately, not in the URL');
    const ref: EngineRef = { kind: e.kind, url: url.origin + url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '') };
    const id = engineId(ref);
    const auth: EngineAuthKind = e.auth ?? (e.user ? 'basic' : 'none');
    if (auth === 'basic' && !e.user) throw new CoreError(400, 'HTTP basic auth needs a user');
    const password = e.password ?? this.core.config.secret(this.secretKey(id));
    if (auth === 'basic' && password === null) throw new CoreError(400, `no password stored for ${engineLabel(ref)}: give one`);
    const client = new IronicClient({ url: ref.url, auth: auth === 'basic' ? { kind: 'basic', user: e.user!, password: password! } : { kind: 'none' } });
    try {
      await client.negotiate();
    } catch (err) {
      if (err instanceof IronicError) throw new CoreError(502, err.message);
      throw err;
    }
    this.store.upsertEngine(ref, auth, auth === 'basic' ? e.user ?? null : null);
    if (e.password !== undefined) this.core.config.setSecret(this.secretKey(id), e.password);
    return ref;
  }

  private client(id: string): IronicClient {
    const e = this.store.engine(id);
    if (!e) throw new StepError('engine', `unknown engine ${id}`);
    let auth: IronicAuth = { kind: 'none' };
    if (e.auth === 'basic') {
      const password = this.core.config.secret(this.secretKey(id));
      if (password === null || e.username === null) throw new StepError('engine', `no credentials stored for ${engineLabel(e.ref)}`);
      auth = { kind: 'basic', user: e.username, password };
    }
    return new IronicClient({ url: e.ref.url, auth });
  }

  /**
   * Start hand-off jobs for `nodeIds` to the engine (saved first). 404 unknown node; 409 a node with a job running,
   * owned by an engine already, without a BMC or inventory; 502 the engine cannot be reached, refuses the credentials
   * or speaks too old an API (checked before any job starts: nothing is written to it). Returns each node's record
   * (status `running`).
   */
  async start(nodeIds: string[], engine: HandoffRequest['engine']): Promise<HandoffRecord[]> {
    const nodes = nodeIds.map((id) => {
      const n = this.core.nodes.get(id);
      if (!n) throw new CoreError(404, `no node ${id}`);
      return n;
    });
    for (const n of nodes) {
      const owner = this.store.owner(n.id);
      if (owner !== 'rackseed') throw new CoreError(409, `node ${n.id} is owned by ${engineLabel(owner)} already: take it back first`);
      if (this.core.jobs.activeForNode(n.id)) throw new CoreError(409, `node ${n.id} has a job running`);
      if (!n.bmc) throw new CoreError(409, `node ${n.id} has no BMC: Ironic could not drive it (discover it through its BMC first)`);
      if (!this.core.nodes.inventory(n.id)) throw new CoreError(409, `node ${n.id} has no inventory yet: inspect it first`);
    }
    if (!this.core.config.bmcCredentials()) throw new CoreError(409, 'set the BMC credentials first (PUT /api/v1/bmc/credentials): Ironic needs them');
    const ref = await this.saveEngine(engine);
    const records: HandoffRecord[] = [];
    for (const n of nodes) {
      // re-checked after the engine answered: another request may have started one meanwhile
      if (this.core.jobs.activeForNode(n.id) || this.store.owner(n.id) !== 'rackseed') { records.push(this.store.record(n.id)); continue; }
      const job = this.core.jobs.create(HANDOFF_JOB_KIND, n.id, n.bmc!.address, [...HANDOFF_STEPS]);
      this.store.begin(n.id, job.id, ref);
      this.core.bus.record({ source: 'job', kind: 'handoff-start', mac: n.mac, nodeId: n.id, message: `hand-off to ${engineLabel(ref)} started (job ${job.id})`, detail: { job: job.id, engine: ref.url } });
      this.publishJob(job.id);
      void this.run(job.id);
      records.push(this.store.record(n.id));
    }
    return records;
  }

  /** Owner back to RackSeed; the engine keeps its node. Returns the records. 404 unknown node. */
  takeBack(nodeIds: string[]): HandoffRecord[] {
    return nodeIds.map((id) => {
      const n = this.core.nodes.get(id);
      if (!n) throw new CoreError(404, `no node ${id}`);
      const owner = this.store.owner(id);
      if (this.store.clearOwner(id)) {
        if (this.store.progress(id)) this.store.update(id, { status: 'taken-back' });
        const label = owner === 'rackseed' ? '' : engineLabel(owner);
        this.core.bus.record({ source: 'api', kind: 'takeback', mac: n.mac, nodeId: id, message: `taken back from ${label}: RackSeed answers and drives this node again (the engine still has its record)` });
        this.core.lifecycle.announce(id);
      }
      return this.store.record(id);
    });
  }

  /**
   * Hand over and stop (the whole appliance): persisted before the caller stops the netboot services, so a crash in
   * between still leaves them stopped; a daemon started later starts none (daemon.ts) until `resumeServices()`.
   * Returns the stop's record.
   */
  markStopped(now = Date.now()): { at: number; owned: number } {
    const owned = this.store.nodeIds().filter((id) => this.store.owner(id) !== 'rackseed').length;
    const v = { at: now, owned };
    this.core.config.setHandoverStop(v);
    this.core.bus.record({ source: 'api', kind: 'handoff-stop', mac: null, nodeId: null, message: `hand over and stop: netboot services stopped (${owned} node(s) owned by engines); nothing answers on the provisioning NIC, also after a restart, until services are started again` });
    return v;
  }

  /** When the appliance was handed over and stopped (and how many nodes engines owned), or null. */
  handoverStopped(): { at: number; owned: number } | null {
    return this.core.config.handoverStop();
  }

  /** The user started services again: clear the stop. True when it was set. */
  resumeServices(): boolean {
    if (!this.core.config.handoverStop()) return false;
    this.core.config.setHandoverStop(null);
    this.core.bus.record({ source: 'api', kind: 'handoff-resume', mac: null, nodeId: null, message: 'netboot services started again after a hand over and stop' });
    return true;
  }

  records(nodeIds?: string[]): HandoffRecord[] {
    return (nodeIds ?? this.store.nodeIds()).map((id) => this.store.record(id));
  }

  /** Throws 409 when the node is an engine's (for BMC operations and jobs RackSeed would start on it). */
  assertRackSeedOwns(nodeId: string): void {
    const owner = this.store.owner(nodeId);
    if (owner !== 'rackseed') throw new CoreError(409, `node ${nodeId} is owned by ${engineLabel(owner)}: RackSeed does not drive its BMC (take it back first)`);
  }

  /** At startup: resume every hand-off job a crash interrupted, from its first unfinished step. */
  resume(): void {
    for (const job of this.core.jobs.listUnfinished()) {
      if (job.kind !== HANDOFF_JOB_KIND || !job.nodeId) continue;
      this.core.bus.record({ source: 'job', kind: 'job-resumed', mac: this.core.nodes.get(job.nodeId)?.mac ?? null, nodeId: job.nodeId, message: `hand-off job ${job.id} resumed after a daemon restart` });
      void this.run(job.id);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** Resolves when no hand-off job runs in this process (tests, shutdown). */
  async idle(timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.running.size > 0 && Date.now() < end) await sleep(20);
  }

  private publishJob(id: string): void {
    const job = this.core.jobs.get(id);
    if (job) this.core.bus.publish({ type: 'job', payload: job });
  }

  private async run(jobId: string): Promise<void> {
    if (this.running.has(jobId)) return;
    this.running.add(jobId);
    const job = this.core.jobs.get(jobId);
    try {
      if (!job?.nodeId) return;
      this.core.jobs.setStatus(jobId, 'running');
      this.publishJob(jobId);
      const end = await runJobSteps(this.core.jobs, job, {
        isStopped: () => this.stopped,
        runStep: (name) => this.runStep(job, name),
        publish: () => this.publishJob(jobId),
        onFailure: (_i, reason) => this.fail(job, reason),
        ownsMessage: (err) => err instanceof StepError || err instanceof IronicError,
      });
      if (end !== 'done') return;
      this.core.jobs.setStatus(jobId, 'done');
      this.publishJob(jobId);
    } catch (err) {
      this.log.error({ err, job: jobId }, 'hand-off job failed unexpectedly');
    } finally {
      this.running.delete(jobId);
      this.suites.delete(jobId);
      this.systemPaths.delete(jobId);
    }
  }

  /** A failed attempt: roll back what it created in Ironic, say what remains, keep the node RackSeed's. */
  private async fail(job: Job, reason: string): Promise<void> {
    const nodeId = job.nodeId!;
    const p = this.store.progress(nodeId);
    let leftBehind: string | null = null;
    let rolledBack = '';
    if (p && p.engineNode && (p.createdNode || p.createdPorts.length > 0 || p.portsSent.length > 0)) {
      try {
        const client = this.client(p.engineId);
        await client.negotiate();
        if (p.createdNode) {
          const n = await client.getNode(p.engineNode);
          if (n && !TOUCHABLE.has(n.provision_state)) {
            leftBehind = `Ironic node ${p.engineNode} (state ${n.provision_state}) was created by this attempt and could not be removed in that state`;
          } else if (n && (n.provision_state === 'verifying' || n.provision_state === 'cleaning' || n.provision_state === 'clean wait')) {
            leftBehind = `Ironic node ${p.engineNode} is still ${n.provision_state}; delete it once that ends (baremetal node delete ${p.engineNode})`;
          } else if (n) {
            await client.deleteNode(p.engineNode);
            rolledBack = `; removed the Ironic node ${p.engineNode} this attempt created`;
          }
        } else {
          // a port whose POST went out but whose answer never came (a timeout) may exist too: found by its MAC
          const ports = [...p.createdPorts];
          for (const mac of p.portsSent) {
            const [x] = await client.portsByAddress(mac);
            if (x && x.node_uuid === p.engineNode && !ports.includes(x.uuid)) ports.push(x.uuid);
          }
          for (const port of ports) await client.deletePort(port).catch((err: unknown) => {
            if (!(err instanceof IronicError && err.kind === 'not-found')) throw err;
          });
          if (ports.length > 0) rolledBack = `; removed the ${ports.length} port(s) this attempt added to Ironic node ${p.engineNode}`;
        }
      } catch (err) {
        leftBehind = `Ironic ${p.createdNode ? `node ${p.engineNode}` : `ports ${p.createdPorts.join(', ')} of node ${p.engineNode}`} created by this attempt could not be removed: ${(err as Error).message}`;
      }
    }
    this.store.update(nodeId, { status: 'failed', error: reason, leftBehind, ...(leftBehind ? {} : { createdNode: false, createdPorts: [] }) });
    this.core.jobs.setStatus(job.id, 'failed', reason);
    const node = this.core.nodes.get(nodeId);
    this.core.bus.record({
      source: 'job', kind: 'handoff-failed', mac: node?.mac ?? null, nodeId, level: 'error',
      message: `hand-off failed: ${reason}${rolledBack}${leftBehind ? `; left in Ironic: ${leftBehind}` : ''}; the node stays RackSeed's`,
      detail: { job: job.id, leftBehind },
    });
    this.publishJob(job.id);
  }

  private nodeAndInventory(nodeId: string): { node: NodeSummary; inv: Inventory } {
    const node = this.core.nodes.get(nodeId);
    if (!node) throw new StepError('node', `node ${nodeId} is gone from RackSeed's store`);
    const inv = this.core.nodes.inventory(nodeId) as Inventory | null;
    if (!inv) throw new StepError('node', `node ${nodeId} has no inventory`);
    return { node, inv };
  }

  /** The node as Ironic should see it, with the BMC password (for driver_info) — never logged. */
  private handoffNode(jobId: string, nodeId: string): HandoffNode {
    const { node, inv } = this.nodeAndInventory(nodeId);
    const creds = this.core.config.bmcCredentials();
    if (!creds) throw new StepError('node', 'no BMC credentials are set');
    const tlsSha256 = node.bmc?.protocol === 'redfish' ? this.core.tlsPins.get(redfishEndpoint(node.bmc.address)) : null;
    return gatherNode({ node, inventory: inv, credentials: creds, cipherSuite: this.suites.get(jobId) ?? 3, redfishSystemPath: this.systemPaths.get(jobId) ?? null, tlsSha256 });
  }

  private async withBmc<T>(step: string, nodeId: string, fn: (s: BmcSession) => Promise<T>): Promise<T> {
    const node = this.core.nodes.get(nodeId);
    const creds = this.core.config.bmcCredentials();
    if (!node?.bmc || !creds || !this.connector) throw new StepError(step, 'no BMC, credentials or BMC connector to read the node\'s power with');
    const address = node.bmc.address;
    return withTimeout(step, this.o.bmcTimeoutMs, (async () => {
      let s: BmcSession;
      try { s = await this.connector!(address, creds); } catch (err) { throw new StepError(step, `BMC ${address}: ${(err as Error).message}`); }
      try { return await fn(s); } finally { await s.close(); }
    })());
  }

  private async runStep(job: Job, name: string): Promise<void> {
    const nodeId = job.nodeId!;
    const p = this.store.progress(nodeId);
    if (!p) throw new StepError(name, 'the hand-off record is missing');
    const mac = this.core.nodes.get(nodeId)?.mac ?? null;
    switch (name) {
      case 'read-bmc': {
        const { power, suite, systemPath } = await this.withBmc(name, nodeId, async (s) => ({ power: await s.powerStatus(), suite: s.cipherSuite ?? null, systemPath: s.systemPath ?? null }));
        if (suite !== null) this.suites.set(job.id, suite);
        if (systemPath !== null) this.systemPaths.set(job.id, systemPath);
        this.core.nodes.update(nodeId, { power });
        return;
      }
      case 'engine': {
        const c = this.client(p.engineId);
        const { microversion } = await c.negotiate();
        this.core.bus.record({ source: 'job', kind: 'handoff-engine', mac, nodeId, message: `Ironic at ${c.url} answers (API microversion ${microversion})` });
        return;
      }
      case 'node': return this.stepNode(job, p);
      case 'ports': return this.stepPorts(job);
      case 'manage': return this.stepManage(job);
      case 'provide': return this.stepProvide(job);
      case 'verify': return this.stepVerify(job);
      case 'pivot': {
        const q = this.store.progress(nodeId)!;
        const e = this.store.engine(q.engineId)!;
        const h = this.handoffNode(job.id, nodeId);
        this.store.setOwner(nodeId, e.ref, q.engineNode, h.macs);
        this.store.update(nodeId, { status: 'done', error: null });
        this.core.bus.record({
          source: 'job', kind: 'handoff-done', mac, nodeId,
          message: `handed over to ${engineLabel(e.ref)} as node ${q.engineNode}: RackSeed no longer answers ${h.macs.join(', ')} nor drives BMC ${h.bmc?.host}:${h.bmc?.port}`,
          detail: { engine: e.ref.url, engineNode: q.engineNode, macs: h.macs },
        });
        this.core.lifecycle.announce(nodeId);
        return;
      }
      default:
        throw new StepError(name, `unknown step ${name}`);
    }
  }

  private async connected(engineIdValue: string): Promise<IronicClient> {
    const c = this.client(engineIdValue);
    await c.negotiate();
    return c;
  }

  /**
   * Find the node's Ironic node (own UUID, a port with one of its MACs, its name) and update it, or create it. A POST
   * that Ironic answers "a node with that name already exists" is the POST a kill -9 interrupted, processed by Ironic
   * only after this resumed job looked the name up (or another client's, meanwhile): the node is looked up again by
   * name and adopted like one found before the POST — never a second node, never a failure that leaves it behind.
   */
  private async stepNode(job: Job, p: NonNullable<ReturnType<HandoffStore['progress']>>): Promise<void> {
    const nodeId = job.nodeId!;
    const c = await this.connected(p.engineId);
    const h = this.handoffNode(job.id, nodeId);
    const spec = ironicNodeSpec(h);
    let found: IronicNode | null = p.engineNode ? await c.getNode(p.engineNode) : null;
    let how = 'this attempt';
    if (!found) {
      for (const mac of h.macs) {
        const [port] = await c.portsByAddress(mac);
        if (port) { found = await c.getNode(port.node_uuid); how = `port ${mac}`; if (found) break; }
      }
    }
    if (!found) { found = await c.getNode(spec.name); how = `name ${spec.name}`; }
    if (found) return this.adoptNode(c, nodeId, p, h, spec, found, how);
    this.store.update(nodeId, { createSent: true });
    let created: IronicNode;
    try {
      created = await c.createNode({ ...spec });
    } catch (err) {
      if (!(err instanceof IronicError && err.kind === 'conflict')) throw err;
      const late = await c.getNode(spec.name);
      if (!late) throw err;
      return this.adoptNode(c, nodeId, p, h, spec, late, `name ${spec.name}`);
    }
    this.store.update(nodeId, { engineNode: created.uuid, createdNode: true });
    this.core.bus.record({ source: 'job', kind: 'handoff-node', mac: h.bootMac, nodeId, message: `Ironic node ${created.uuid} (${spec.name}) created`, detail: { engineNode: created.uuid } });
  }

  /**
   * Make `found` this attempt's Ironic node and update it to the spec. It is the attempt's own (rolled back on failure)
   * when it is the UUID the attempt recorded, or — found by name, with RackSeed's id in extra — when the attempt had
   * already sent its POST before this run (`p.createSent`: a kill -9 lost the answer); otherwise it is reported as
   * existing. A node named like this machine but carrying another identity, or in a state RackSeed must not touch, fails.
   */
  private async adoptNode(c: IronicClient, nodeId: string, p: NonNullable<ReturnType<HandoffStore['progress']>>, h: HandoffNode,
    spec: ReturnType<typeof ironicNodeSpec>, found: IronicNode, how: string): Promise<void> {
    const ours = found.extra?.rackseed_id === nodeId;
    // a node with our name but another machine's identity is not ours to change
    if (how.startsWith('name') && !ours) {
      throw new StepError('node', `Ironic already has a node named ${spec.name} (${found.uuid}) that is not this machine (extra.rackseed_id ${String(found.extra?.rackseed_id ?? 'unset')})`);
    }
    if (!TOUCHABLE.has(found.provision_state)) {
      throw new StepError('node', `this machine is already Ironic node ${found.uuid}${found.name ? ` (${found.name})` : ''} in state ${found.provision_state}: reported, not changed`);
    }
    const createdByUs = p.engineNode === found.uuid ? p.createdNode : (p.createSent && ours && how.startsWith('name'));
    const existing = createdByUs ? null : `Ironic node ${found.uuid}${found.name ? ` (${found.name})` : ''} found by ${how} in state ${found.provision_state}: updated`;
    this.store.update(nodeId, { engineNode: found.uuid, createdNode: createdByUs, existing });
    await c.patchNode(found.uuid, nodePatch(found, spec));
    if (existing) this.core.bus.record({ source: 'job', kind: 'handoff-existing', mac: h.bootMac, nodeId, message: `${existing} (no duplicate created)`, detail: { engineNode: found.uuid } });
    else if (p.engineNode !== found.uuid) this.core.bus.record({ source: 'job', kind: 'handoff-node', mac: h.bootMac, nodeId, message: `Ironic node ${found.uuid} (${spec.name}), created by this hand-off before the restart, adopted`, detail: { engineNode: found.uuid } });
  }

  /**
   * One port per MAC on the attempt's node. Each MAC is recorded in `portsSent` before its POST, so a port a kill -9
   * kept the job from recording is recognised as the attempt's own when the resumed job finds it. A POST Ironic answers
   * "already exists" (the interrupted POST, processed only after the resumed job looked) is resolved by looking the MAC
   * up again: on the attempt's node it is adopted, on another node the step fails as below.
   */
  private async stepPorts(job: Job): Promise<void> {
    const nodeId = job.nodeId!;
    const p = this.store.progress(nodeId)!;
    const c = await this.connected(p.engineId);
    const h = this.handoffNode(job.id, nodeId);
    const created = [...p.createdPorts];
    const sent = [...p.portsSent];
    const own = (uuid: string) => { // a port this attempt added to a node it did not create: rolled back with it
      if (p.createdNode || created.includes(uuid)) return;
      created.push(uuid);
      this.store.update(nodeId, { createdPorts: created });
    };
    for (const want of ironicPortSpecs(h)) {
      let [have] = await c.portsByAddress(want.address);
      if (!have) {
        if (!sent.includes(want.address)) { sent.push(want.address); this.store.update(nodeId, { portsSent: sent }); }
        try {
          const port = await c.createPort({ address: want.address, node_uuid: p.engineNode!, pxe_enabled: want.pxe_enabled });
          own(port.uuid);
          continue;
        } catch (err) {
          if (!(err instanceof IronicError && err.kind === 'conflict')) throw err;
          [have] = await c.portsByAddress(want.address);
          if (!have) throw err;
        }
      }
      if (have.node_uuid !== p.engineNode) {
        throw new StepError('ports', `MAC ${want.address} is already a port of another Ironic node (${have.node_uuid}): reported, not moved`);
      }
      if (sent.includes(want.address)) own(have.uuid);
      if (have.pxe_enabled !== want.pxe_enabled) await c.patchPort(have.uuid, [{ op: 'replace', path: '/pxe_enabled', value: want.pxe_enabled }]);
    }
  }

  /** Poll the node until `done(node)` says yes (true) or no (a message), or the timeout passes. */
  private async waitFor(c: IronicClient, uuid: string, step: string, timeoutMs: number, done: (n: IronicNode) => true | string | null): Promise<IronicNode> {
    const end = Date.now() + timeoutMs;
    let last: IronicNode | null = null;
    for (;;) {
      if (this.stopped) throw new StepError(step, 'daemon stopping');
      last = await c.getNode(uuid);
      if (!last) throw new StepError(step, `Ironic node ${uuid} disappeared`);
      const r = done(last);
      if (r === true) return last;
      if (typeof r === 'string') throw new StepError(step, r);
      if (Date.now() > end) throw new StepError(step, `Ironic node ${uuid} is still ${last.provision_state}${last.target_provision_state ? ` → ${last.target_provision_state}` : ''} after ${Math.round(timeoutMs / 1000)} s${last.last_error ? ` (last_error: ${last.last_error})` : ''}`);
      await sleep(this.o.pollMs);
    }
  }

  private async stepManage(job: Job): Promise<void> {
    const p = this.store.progress(job.nodeId!)!;
    const c = await this.connected(p.engineId);
    const uuid = p.engineNode!;
    let n = await c.getNode(uuid);
    if (!n) throw new StepError('manage', `Ironic node ${uuid} disappeared`);
    if (n.provision_state === 'manageable' || n.provision_state === 'available' || n.provision_state === 'cleaning' || n.provision_state === 'clean wait') return;
    if (n.provision_state === 'enroll') {
      await c.setProvisionState(uuid, 'manage');
      // the conductor takes the request asynchronously: wait until it left enroll or came back to it with an error
      n = await this.waitFor(c, uuid, 'manage', this.o.manageTimeoutMs, (x) => {
        if (x.provision_state === 'manageable') return true;
        if (x.provision_state === 'enroll' && x.target_provision_state === null && x.last_error) return `Ironic refused manage: ${x.last_error}`;
        return null;
      });
      return;
    }
    if (n.provision_state === 'verifying') {
      await this.waitFor(c, uuid, 'manage', this.o.manageTimeoutMs, (x) => (x.provision_state === 'manageable' ? true
        : x.provision_state === 'enroll' && x.target_provision_state === null ? `Ironic refused manage: ${x.last_error ?? 'back in enroll'}` : null));
      return;
    }
    throw new StepError('manage', `Ironic node ${uuid} is ${n.provision_state}: not a state RackSeed hands over from`);
  }

  private async stepProvide(job: Job): Promise<void> {
    const p = this.store.progress(job.nodeId!)!;
    const c = await this.connected(p.engineId);
    const uuid = p.engineNode!;
    const n = await c.getNode(uuid);
    if (!n) throw new StepError('provide', `Ironic node ${uuid} disappeared`);
    if (n.provision_state === 'manageable') await c.setProvisionState(uuid, 'provide');
    else if (n.provision_state !== 'available' && n.provision_state !== 'cleaning' && n.provision_state !== 'clean wait') {
      throw new StepError('provide', `Ironic node ${uuid} is ${n.provision_state}: cannot provide it`);
    }
    await this.waitFor(c, uuid, 'provide', this.o.provideTimeoutMs, (x) => {
      if (x.provision_state === 'available') return true;
      if (x.provision_state === 'clean failed' || (x.provision_state === 'manageable' && x.target_provision_state === null && x.last_error)) return `Ironic refused provide: ${x.last_error ?? x.provision_state}`;
      return null;
    });
  }

  private async stepVerify(job: Job): Promise<void> {
    const nodeId = job.nodeId!;
    const p = this.store.progress(nodeId)!;
    const c = await this.connected(p.engineId);
    const uuid = p.engineNode!;
    const h = this.handoffNode(job.id, nodeId);
    const end = Date.now() + this.o.verifyPowerMs;
    let n: IronicNode | null;
    let bmcPower: 'on' | 'off';
    // Ironic reads power itself (manage) and then every sync interval: agree within verifyPowerMs
    for (;;) {
      bmcPower = await this.withBmc('verify', nodeId, (s) => s.powerStatus());
      n = await c.getNode(uuid);
      if (!n) throw new StepError('verify', `Ironic node ${uuid} disappeared`);
      if (n.power_state === `power ${bmcPower}` || Date.now() > end) break;
      await sleep(this.o.pollMs);
    }
    const ports = (await c.portsOfNode(uuid)).map((x) => ({ address: x.address.toLowerCase(), pxeEnabled: x.pxe_enabled })).sort((a, b) => a.address.localeCompare(b.address));
    const want = ironicPortSpecs(h).map((x) => ({ address: x.address, pxeEnabled: x.pxe_enabled })).sort((a, b) => a.address.localeCompare(b.address));
    const result: HandoffVerification = {
      provisionState: n.provision_state, enginePower: n.power_state, bmcPower, powerMatches: n.power_state === `power ${bmcPower}`,
      ports, portsMatch: JSON.stringify(ports) === JSON.stringify(want), microversion: c.microversion ?? '',
    };
    this.store.update(nodeId, { result });
    this.core.nodes.update(nodeId, { power: bmcPower });
    const problems: string[] = [];
    if (n.provision_state !== 'available') problems.push(`Ironic says ${n.provision_state}, not available`);
    if (!result.powerMatches) problems.push(`Ironic's power state is ${n.power_state ?? 'unknown'} but the BMC says ${bmcPower}`);
    if (!result.portsMatch) problems.push(`Ironic's ports ${ports.map((x) => x.address + (x.pxeEnabled ? ' (pxe)' : '')).join(', ')} differ from ${want.map((x) => x.address + (x.pxeEnabled ? ' (pxe)' : '')).join(', ')}`);
    if (problems.length > 0) throw new StepError('verify', `read-back from Ironic does not match: ${problems.join('; ')}`);
    this.core.bus.record({
      source: 'job', kind: 'handoff-verified', mac: h.bootMac, nodeId,
      message: `Ironic node ${uuid} verified: available, power ${bmcPower} as the BMC says, ports ${ports.map((x) => x.address).join(', ')}`,
      detail: { ...result },
    });
  }
}

/** JSON patch that makes an existing Ironic node carry the spec's driver, driver_info, properties, extra and name. */
function nodePatch(cur: IronicNode, spec: ReturnType<typeof ironicNodeSpec>): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  if (cur.driver !== spec.driver) ops.push({ op: 'replace', path: '/driver', value: spec.driver });
  // an existing node keeps the name its site gave it
  if (cur.name === null) ops.push({ op: 'add', path: '/name', value: spec.name });
  for (const [section, values] of [['driver_info', spec.driver_info], ['properties', spec.properties], ['extra', spec.extra]] as const) {
    for (const [k, v] of Object.entries(values)) ops.push({ op: 'add', path: `/${section}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, value: v });
  }
  return ops;
}
