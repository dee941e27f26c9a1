// Deploy and release (issue 15 items 2, 4, 5, 6): jobs of ordered single-action steps, persisted in the job store like
// inspect jobs, driven here (the inspect runner skips them).
//
//   deploy: set-boot-pxe → power-on → write-image → verify-image → write-config-drive → power-off → set-boot-disk →
//           power-on-disk → wait-booted                         node: available|active|deploy-failed → deploying → active
//   clean:  set-boot-pxe → power-on → wipe-disks → power-off     node: active|available|deploy-failed|clean-failed →
//                                                                       cleaning → available
// A failed step fails the job with its reason, powers off a node the job powered on, and moves the node to
// `deploy-failed` / `clean-failed` with that reason. The agent (agent/ramdisk/deploy.sh) learns what to do from
// GET /agent/v1/next (command()), reports progress at most every ~2 s and the outcome of each phase (result()). It
// writes the image by its extent map (core/images/extent-map.ts): the zero ranges zeroed on the disk (BLKZEROOUT), the
// data ranges streamed (`wget DATA | dd` per range); then it checks that the zero ranges read back as zeros and reads
// the data ranges back through sha256sum. The node is `active` only after verify-image compared that SHA-256 with the
// one the map computed from the library's file — whose whole-file SHA-256 is the image's — and the deployed OS was
// seen booting (DoneWhen), each step persisted before the next starts.
//
// Crash safety: at start (resume()) every unfinished deploy/clean job continues from its first unfinished step. A step
// that was running runs again: an interrupted write is written again from the start under a new attempt number (the
// agent's reports of the old attempt are refused), so nothing written before the restart counts. Without BMC access
// the job fails with the reason instead. A node left deploying/cleaning without a job goes to its failed state.
//
// Many at once: at most `maxWriters` nodes stream an image at the same time; the others' agents are told to wait
// (stage `queued`) and get their turn first come, first served. Each job runs on its own: one failing changes nothing
// for the others.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Core } from '../core.ts';
import type { BmcConnector, BmcSession } from '../bmc-port.ts';
import type { Job, StreamMessage } from '../../shared/api.ts';
import type { AgentCommand, Inventory } from '../../shared/inventory.ts';
import type { NodeSummary } from '../../shared/node.ts';
import type { ImageRecord } from '../../shared/image.ts';
import { imageDataPath, imageMapPath, imageServingPath } from '../../shared/image.ts';
import { ImageDamagedError, extentMapTextSha256, type ExtentMap } from '../images/extent-map.ts';
import {
  DONE_WHEN, READ_BACK_CHECKS, type AgentProgress, type AgentResult, type BatchDeployRequest, type DeployAgentCommand, type Deployment, type DeployRequest,
  type DeploySettings, type DeployStage, type DoneWhen, type ReadBackCheck, type RootDeviceHints, type TargetDisk,
} from '../../shared/deploy.ts';
import { CoreError } from '../jobs/runner.ts';
import { runJobSteps } from '../jobs/step-loop.ts';
import { StepError, withTimeout } from '../jobs/steps.ts';
import { hashToken, newToken, normalizeMac } from '../ids.ts';
import { httpBase } from '../boot/boot-files.ts';
import { buildConfigDrive, ConfigDriveError, publicKeysFromText, type ConfigDriveTree } from './config-drive.ts';
import { configDriveIso } from './config-drive-iso.ts';
import { ConfigDrivePlacementError, guidFrom, placeConfigDrive, type DiskWrite } from './config-drive-placement.ts';
import { chooseRootDisk, formatBytes } from './root-disk.ts';
import { DEFAULT_HOSTNAME_PATTERN, expandHostname, expandHostnames, HostnamePatternError } from './hostname.ts';
import { DeploymentStore, publicDeployment, type DeploymentRecord } from './store.ts';

export const DEPLOY_STEPS = ['set-boot-pxe', 'power-on', 'write-image', 'verify-image', 'write-config-drive', 'power-off', 'set-boot-disk', 'power-on-disk', 'wait-booted'] as const;
export const CLEAN_STEPS = ['set-boot-pxe', 'power-on', 'wipe-disks', 'power-off'] as const;
/** Steps during which the node is to boot the agent ramdisk when it network-boots (the boot policy asks bootsAgent()). */
const AGENT_STEPS = new Set(['set-boot-pxe', 'power-on', 'write-image', 'verify-image', 'write-config-drive', 'wipe-disks']);
const KINDS = new Set<Job['kind']>(['deploy', 'clean']);

/** The span progress rates are measured over. */
const RATE_WINDOW_MS = 10_000;

/** Times the agent may ask for the same command again (it restarted or lost it) before the step fails. */
const MAX_ISSUES = 3;

export interface DeployOptions {
  /** nodes streaming an image at once (default 4; env RACKSEED_DEPLOY_WRITERS) */
  maxWriters?: number;
  /** from power-on until the agent first asks for its command (default 10 min; env RACKSEED_DEPLOY_AGENT_TIMEOUT_MS) */
  agentTimeoutMs?: number;
  /** longest silence of the agent once it has its command (default 5 min; env RACKSEED_DEPLOY_STALL_MS) */
  stallMs?: number;
  /** default boot timeout when the request gives none (default 15 min; env RACKSEED_DEPLOY_BOOT_TIMEOUT_MS) */
  bootTimeoutMs?: number;
  /** timeout of each BMC action (default 30 s) */
  bmcStepTimeoutMs?: number;
  /** how long the agent may take to power the node off before the BMC does it (default 30 s) */
  powerOffTimeoutMs?: number;
  /** BMC power polling period (default 2 s) */
  pollMs?: number;
  /** the agent's read-back check (default fletcher4; env RACKSEED_DEPLOY_READ_BACK; shared/deploy.ts ReadBackCheck) */
  readBackCheck?: ReadBackCheck;
}

/** DeployOptions from the environment (the daemon's knobs; tests pass options instead). */
export function deployOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DeployOptions {
  const num = (k: string): number | undefined => {
    const v = env[k];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  };
  const check = env.RACKSEED_DEPLOY_READ_BACK;
  if (check && !READ_BACK_CHECKS.includes(check as ReadBackCheck)) {
    throw new Error(`RACKSEED_DEPLOY_READ_BACK=${JSON.stringify(check)}: the read-back check is one of ${READ_BACK_CHECKS.join(', ')}`);
  }
  return {
    maxWriters: num('RACKSEED_DEPLOY_WRITERS'), agentTimeoutMs: num('RACKSEED_DEPLOY_AGENT_TIMEOUT_MS'),
    stallMs: num('RACKSEED_DEPLOY_STALL_MS'), bootTimeoutMs: num('RACKSEED_DEPLOY_BOOT_TIMEOUT_MS'),
    readBackCheck: (check || undefined) as ReadBackCheck | undefined,
  };
}

/** A refusal of a batch: the first status and every node's reason. */
export class BatchRefusedError extends CoreError {
  constructor(statusCode: number, message: string, readonly nodes: { node: string; error: string }[]) {
    super(statusCode, message);
    this.name = 'BatchRefusedError';
  }
}

/** What a running agent-driven step waits for. */
interface AgentWait {
  jobId: string;
  step: string;
  phase: AgentResult['phase'];
  attempt: number;
  /** the command handed out for this wait; null: none yet (or only `wait`) */
  command: () => DeployAgentCommand | AgentCommand;
  issued: number;
  /** the step needs a writer slot before its command is handed out */
  needsSlot: boolean;
  /** when the wait began (DHCP events after it tell what the node booted) */
  since: number;
  /** a PXE/iPXE DHCP request of the node came since: it network-boots (the agent's own DHCP follows) */
  sawPxe: boolean;
  /** the node was already PXE-booted again once because no agent asked in time */
  pxeRetried: boolean;
  timer: NodeJS.Timeout | null;
  resolve: (r: AgentResult) => void;
  reject: (e: Error) => void;
}

interface BootWait {
  jobId: string;
  accept: Set<'callback' | 'dhcp'>;
  since: number;
  resolve: (via: 'callback' | 'dhcp') => void;
  cancel: () => void;
}

interface Plan { attempt: number; writes: DiskWrite[]; sha: string[] }

export class DeployService {
  readonly store: DeploymentStore;
  private readonly log: Logger;
  private maxWriters: number;
  private readBackCheck: ReadBackCheck;
  private readonly agentTimeoutMs: number;
  private readonly stallMs: number;
  private readonly bootTimeoutMs: number;
  private readonly bmcStepTimeoutMs: number;
  private readonly powerOffTimeoutMs: number;
  private readonly pollMs: number;
  private readonly writers = new Set<string>();
  private readonly queue: string[] = [];
  private readonly waits = new Map<string, AgentWait>();
  private readonly early = new Map<string, AgentResult>();
  private readonly bootWaits = new Map<string, BootWait>();
  private readonly plans = new Map<string, Plan>();
  private readonly wire = new Map<string, string>();
  /** per node: the current stage's progress samples of the last RATE_WINDOW_MS (and one before), the quarters reported */
  private readonly rates = new Map<string, { stage: string; samples: { at: number; bytes: number }[]; reported: number }>();
  private readonly running = new Set<string>();
  /** jobs whose power-on step ran in this process (not before a restart): their node's first DHCP is watched */
  private readonly poweredHere = new Set<string>();
  private readonly sleepers = new Set<() => void>();
  private stopped = false;

  constructor(private readonly core: Core, private readonly connector: BmcConnector | null, opts: DeployOptions = {}) {
    this.log = core.log.child({ svc: 'deploy' });
    this.store = new DeploymentStore(core.db);
    this.maxWriters = Math.max(1, Math.floor(opts.maxWriters ?? 4));
    this.readBackCheck = opts.readBackCheck ?? 'fletcher4';
    this.agentTimeoutMs = opts.agentTimeoutMs ?? 10 * 60_000;
    this.stallMs = opts.stallMs ?? 5 * 60_000;
    this.bootTimeoutMs = opts.bootTimeoutMs ?? 15 * 60_000;
    this.bmcStepTimeoutMs = opts.bmcStepTimeoutMs ?? 30_000;
    this.powerOffTimeoutMs = opts.powerOffTimeoutMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 2000;
    core.bus.subscribe((m) => this.onStream(m));
  }

  // ---------------------------------------------------------------------------------------------------- the API side

  settings(): DeploySettings {
    return { maxWriters: this.maxWriters, readBackCheck: this.readBackCheck };
  }

  setSettings(s: Partial<DeploySettings>): DeploySettings {
    if (s.maxWriters !== undefined) {
      if (!Number.isInteger(s.maxWriters) || s.maxWriters < 1 || s.maxWriters > 1000) throw new CoreError(400, 'maxWriters must be an integer 1–1000');
      this.maxWriters = s.maxWriters;
    }
    if (s.readBackCheck !== undefined) {
      if (!READ_BACK_CHECKS.includes(s.readBackCheck)) throw new CoreError(400, `readBackCheck must be one of ${READ_BACK_CHECKS.join(', ')}`);
      this.readBackCheck = s.readBackCheck;
    }
    return this.settings();
  }

  get(nodeId: string): Deployment | null {
    const r = this.store.get(nodeId);
    return r ? publicDeployment(r) : null;
  }

  list(): Deployment[] {
    return this.store.list().map(publicDeployment);
  }

  /** A node by id, boot MAC (any notation) or serial number; 404 / 400 (a serial several nodes share). */
  resolveNode(ref: string): NodeSummary {
    const byId = this.core.nodes.get(ref);
    if (byId) return byId;
    const mac = normalizeMac(ref);
    const byMac = mac ? this.core.nodes.getByMac(mac) : null;
    if (byMac) return byMac;
    const bySerial = this.core.nodes.list().filter((n) => n.serial === ref);
    if (bySerial.length === 1) return bySerial[0]!;
    if (bySerial.length > 1) throw new CoreError(400, `${ref} is the serial number of ${bySerial.length} nodes: give the node id`);
    throw new CoreError(404, `no node ${ref}`);
  }

  /** Deploy one node (POST /api/v1/nodes/:id/deploy). Every check happens before anything changes. */
  deploy(nodeRef: string, req: DeployRequest): Deployment {
    const node = this.resolveNode(nodeRef);
    const hostname = req.hostname ?? (() => {
      try { return expandHostname(DEFAULT_HOSTNAME_PATTERN, { id: node.id, mac: node.mac, serial: node.serial, index: 1 }); } catch (err) { throw new CoreError(400, (err as Error).message); }
    })();
    const plan = this.checkDeploy(node, { ...req, hostname });
    return this.startDeploy(node, plan);
  }

  /** Deploy many nodes (POST /api/v1/deploy): all are checked first; any refusal refuses the batch (BatchRefusedError). */
  deployMany(req: BatchDeployRequest): Deployment[] {
    if (req.nodes.length === 0) throw new CoreError(400, 'no nodes given');
    const errors: { node: string; error: string; status: number }[] = [];
    const nodes: NodeSummary[] = [];
    for (const ref of req.nodes) {
      try { nodes.push(this.resolveNode(ref)); } catch (err) { errors.push({ node: ref, error: (err as Error).message, status: (err as CoreError).statusCode ?? 400 }); }
    }
    const dup = nodes.find((n, i) => nodes.findIndex((m) => m.id === n.id) !== i);
    if (dup) errors.push({ node: dup.id, error: `node ${dup.id} is listed twice`, status: 400 });
    let names: string[] = [];
    if (errors.length === 0) {
      try {
        names = expandHostnames(req.hostname ?? DEFAULT_HOSTNAME_PATTERN, nodes.map((n, i) => ({ id: n.id, mac: n.mac, serial: n.serial, index: i + 1 })));
      } catch (err) {
        if (!(err instanceof HostnamePatternError)) throw err;
        throw new BatchRefusedError(400, err.message, []);
      }
    }
    const plans: CheckedDeploy[] = [];
    nodes.forEach((n, i) => {
      if (errors.length && names.length === 0) return;
      try { plans.push(this.checkDeploy(n, { ...req, hostname: names[i] })); } catch (err) {
        errors.push({ node: n.id, error: (err as Error).message, status: (err as CoreError).statusCode ?? 400 });
      }
    });
    if (errors.length) {
      const first = errors[0]!;
      throw new BatchRefusedError(first.status, errors.length === 1 ? naming(first) : `${errors.length} of ${req.nodes.length} nodes cannot be deployed (nothing was started): ${naming(first)}`,
        errors.map(({ node, error }) => ({ node, error })));
    }
    return nodes.map((n, i) => this.startDeploy(n, plans[i]!));
  }

  /** Release (clean) one node (POST /api/v1/nodes/:id/release). */
  release(nodeRef: string, erase = false): Deployment {
    const node = this.resolveNode(nodeRef);
    this.checkRelease(node);
    return this.startClean(node, erase);
  }

  /** Release many nodes: all checked first, as deployMany. */
  releaseMany(refs: string[], erase = false): Deployment[] {
    if (refs.length === 0) throw new CoreError(400, 'no nodes given');
    const errors: { node: string; error: string; status: number }[] = [];
    const nodes: NodeSummary[] = [];
    for (const ref of refs) {
      try {
        const n = this.resolveNode(ref);
        this.checkRelease(n);
        if (nodes.some((m) => m.id === n.id)) throw new CoreError(400, `node ${n.id} is listed twice`);
        nodes.push(n);
      } catch (err) { errors.push({ node: ref, error: (err as Error).message, status: (err as CoreError).statusCode ?? 400 }); }
    }
    if (errors.length) {
      const first = errors[0]!;
      throw new BatchRefusedError(first.status, errors.length === 1 ? naming(first) : `${errors.length} of ${refs.length} nodes cannot be released (nothing was started): ${naming(first)}`,
        errors.map(({ node, error }) => ({ node, error })));
    }
    return nodes.map((n) => this.startClean(n, erase));
  }

  /** 409/503 unless RackSeed can drive `node`'s BMC now (the checks deploy and release share). */
  private checkDrivable(node: NodeSummary): void {
    if (node.maintenance) throw new CoreError(409, `node ${node.id} is in maintenance: clear it first (PUT /api/v1/nodes/${node.id}/maintenance)`);
    this.core.handoff.assertRackSeedOwns(node.id);
    if (!node.bmc) {
      throw new CoreError(409, `node ${node.id} has no BMC: RackSeed sets the boot device and power through it (run discovery through its BMC, or match one)`);
    }
    if (!this.connector) throw new CoreError(503, 'BMC control is not available in this daemon');
    if (!this.core.config.bmcCredentials()) throw new CoreError(409, 'set the BMC credentials first (PUT /api/v1/bmc/credentials)');
    const job = this.core.jobs.activeForNode(node.id);
    if (job) throw new CoreError(409, `node ${node.id} already has a ${job.kind} job running (${job.id})`);
  }

  private checkRelease(node: NodeSummary): void {
    if (!['active', 'available', 'deploy-failed', 'clean-failed'].includes(node.state)) {
      throw new CoreError(409, `node ${node.id} is ${node.state}: only active, available, deploy-failed or clean-failed nodes can be released`);
    }
    this.checkDrivable(node);
  }

  private checkDeploy(node: NodeSummary, req: DeployRequest & { hostname: string }): CheckedDeploy {
    if (!['available', 'active', 'deploy-failed'].includes(node.state)) {
      throw new CoreError(409, `node ${node.id} is ${node.state}: only available nodes deploy (or active / deploy-failed ones, to redeploy)`);
    }
    this.checkDrivable(node);
    const image = this.core.images.get(req.image);
    if (!image) throw new CoreError(404, `no image ${req.image} (rackseed images list)`);
    if (image.state !== 'ready' || !image.sha256 || image.rawSize === null) throw new CoreError(409, `image ${image.name} is ${image.state}${image.error ? `: ${image.error}` : ''}`);
    const inv = this.core.nodes.inventory(node.id) as Inventory | null;
    const firmware = node.firmware ?? inv?.bootMode ?? null;
    if (!inv || !firmware) throw new CoreError(409, `node ${node.id} has no inventory yet: inspect it first (its disks and firmware mode are needed)`);
    if (!image.bootModes.includes(firmware)) {
      throw new CoreError(400, `image ${image.name} cannot boot in ${firmware.toUpperCase()} mode, which node ${node.id} starts in (the image boots in: ${image.bootModes.map((m) => m.toUpperCase()).join(', ') || 'nothing'})`);
    }
    const size = image.virtualSize ?? image.rawSize;
    const choice = chooseRootDisk(inv.disks, size, req.rootDevice ?? {});
    if (!choice.ok) throw new CoreError(400, `node ${node.id}: ${choice.reason}`);
    const doneWhen: DoneWhen = req.doneWhen ?? 'auto';
    if (!DONE_WHEN.includes(doneWhen)) throw new CoreError(400, `doneWhen must be one of ${DONE_WHEN.join(', ')}`);
    if (doneWhen === 'dhcp' && this.core.config.network()?.mode === 'proxy') {
      throw new CoreError(400, 'doneWhen "dhcp" needs RackSeed\'s own DHCP server: in proxy mode the site\'s DHCP server answers the deployed OS (use "auto" or "callback")');
    }
    const sshKeys = (req.sshKeys ?? []).map((k) => k.trim()).filter(Boolean);
    try {
      // the same checks the drive gets when it is written: host name, keys, user data (YAML, 64 KiB)
      this.configDriveTree(node, { hostname: req.hostname, sshKeys, userData: req.userData ?? null, jobId: '00000000-0000-4000-8000-000000000000' }, 'http://0.0.0.0/x');
    } catch (err) {
      if (err instanceof ConfigDriveError) throw new CoreError(400, err.message);
      throw err;
    }
    const bootTimeoutSec = req.bootTimeoutSec ?? Math.round(this.bootTimeoutMs / 1000);
    const powerOnSec = req.powerOnSec ?? 60;
    if (!Number.isInteger(bootTimeoutSec) || bootTimeoutSec < 1 || bootTimeoutSec > 86_400) throw new CoreError(400, 'bootTimeoutSec must be 1–86400');
    if (!Number.isInteger(powerOnSec) || powerOnSec < 1 || powerOnSec > 86_400) throw new CoreError(400, 'powerOnSec must be 1–86400');
    return { image, disk: choice.disk, hostname: req.hostname, sshKeys, userData: req.userData ?? null, rootHints: req.rootDevice ?? {}, doneWhen, bootTimeoutSec, powerOnSec };
  }

  private startDeploy(node: NodeSummary, c: CheckedDeploy): Deployment {
    const job = this.core.jobs.create('deploy', node.id, node.bmc!.address, [...DEPLOY_STEPS]);
    const image = { id: c.image.id, name: c.image.name, sha256: c.image.sha256!, sizeBytes: c.image.rawSize! };
    this.core.db.transaction(() => {
      this.core.lifecycle.transition(node.id, 'deploying', 'deploy-start');
      this.store.start({
        nodeId: node.id, kind: 'deploy', jobId: job.id, image, hostname: c.hostname, sshKeys: c.sshKeys, userData: c.userData, rootHints: c.rootHints,
        disk: c.disk, doneWhen: c.doneWhen, bootTimeoutSec: c.bootTimeoutSec, powerOnSec: c.powerOnSec, erase: false, callbackHash: null, totalBytes: image.sizeBytes,
      });
    })();
    this.record(node.id, 'deploy-start', `deploy of ${image.name} (${formatBytes(image.sizeBytes)}) to ${c.disk.name} (${formatBytes(c.disk.sizeBytes)}) as ${c.hostname}; done when: ${c.doneWhen}`,
      { job: job.id, image: image.name, sha256: image.sha256, disk: c.disk.name, hostname: c.hostname, doneWhen: c.doneWhen });
    this.publishJob(job.id);
    this.publish(node.id);
    // the extent map is needed once the agent is up (a minute away): compute it meanwhile (kept by the library)
    this.core.images.extentMap(c.image).catch(() => undefined);
    void this.run(job.id);
    return this.get(node.id)!;
  }

  private startClean(node: NodeSummary, erase: boolean): Deployment {
    const job = this.core.jobs.create('clean', node.id, node.bmc!.address, [...CLEAN_STEPS]);
    this.core.db.transaction(() => {
      this.core.lifecycle.transition(node.id, 'cleaning', 'clean-start');
      this.store.start({
        nodeId: node.id, kind: 'clean', jobId: job.id, image: null, hostname: null, sshKeys: [], userData: null, rootHints: {}, disk: null, doneWhen: null,
        bootTimeoutSec: 0, powerOnSec: 0, erase, callbackHash: null, totalBytes: 0,
      });
    })();
    this.record(node.id, 'clean-start', `release: wiping partition tables and signatures at both ends of every disk${erase ? ', then zeroing every disk' : ''}`, { job: job.id, erase });
    this.publishJob(job.id);
    this.publish(node.id);
    void this.run(job.id);
    return this.get(node.id)!;
  }

  // ---------------------------------------------------------------------------------------------------- the boot policy

  /** True while `nodeId`'s deploy/clean job is at a step where the node runs (or is to boot into) the agent ramdisk. */
  bootsAgent(nodeId: string): boolean {
    const job = this.core.jobs.activeForNode(nodeId);
    if (!job || !KINDS.has(job.kind)) return false;
    const next = job.steps.find((s) => s.status !== 'done');
    return !!next && AGENT_STEPS.has(next.name);
  }

  // ---------------------------------------------------------------------------------------------------- the agent side

  /**
   * The agent's next command when its node is being deployed or cleaned (GET /agent/v1/next); null when this service
   * has nothing to say (the node is not deploying/cleaning: the intake answers).
   */
  command(node: NodeSummary): DeployAgentCommand | AgentCommand | null {
    const job = this.core.jobs.activeForNode(node.id);
    if (!job || !KINDS.has(job.kind)) {
      if (node.state === 'deploy-failed' || node.state === 'clean-failed') return node.poweredOnByRackSeed ? { action: 'poweroff' } : { action: 'wait', seconds: 60 };
      return null;
    }
    const w = this.waits.get(node.id);
    if (!w) {
      const step = job.steps.find((s) => s.status === 'running')?.name;
      return step === 'power-off' ? { action: 'poweroff' } : { action: 'wait', seconds: 3 };
    }
    this.touch(node.id);
    if (w.needsSlot && !this.acquireSlot(node.id)) {
      this.setStage(node.id, 'queued');
      return { action: 'wait', seconds: 3 };
    }
    if (w.issued >= MAX_ISSUES) {
      w.reject(new StepError(w.step, `the agent asked for its command ${w.issued + 1} times without reporting the outcome (did it restart? see the node's console)`));
      return { action: 'wait', seconds: 5 };
    }
    w.issued++;
    const cmd = w.command();
    this.record(node.id, 'agent-command', `agent told to ${cmd.action}${'attempt' in cmd ? ` (attempt ${cmd.attempt})` : ''}`, { action: cmd.action, step: w.step }, 'info', 'agent');
    return cmd;
  }

  /** POST /agent/v1/deploy/progress. 409 for a report of another attempt than the one running. */
  progress(node: NodeSummary, p: AgentProgress): { status: number; body: Record<string, unknown> } {
    const w = this.waits.get(node.id);
    const rec = this.store.get(node.id);
    if (!w || !rec || p.attempt !== w.attempt) return { status: 409, body: { error: 'no such command is running (an older attempt?)' } };
    this.touch(node.id);
    const now = Date.now();
    // MB/s over the last RATE_WINDOW_MS: the agent counts sectors the kernel has written, which arrive in bursts as the
    // page cache is flushed, so one report to the next says little
    let r = this.rates.get(node.id);
    if (!r || r.stage !== p.stage || p.bytes < (r.samples.at(-1)?.bytes ?? 0)) r = { stage: p.stage, samples: [], reported: 0 };
    r.samples.push({ at: now, bytes: p.bytes });
    while (r.samples.length > 2 && r.samples[1]!.at <= now - RATE_WINDOW_MS) r.samples.shift();
    const first = r.samples[0]!;
    const mbps = now - first.at >= 1000 ? Math.round(((p.bytes - first.bytes) / ((now - first.at) / 1000) / 1e6) * 10) / 10 : null;
    const total = rec.totalBytes;
    const pct = total > 0 ? Math.floor((p.bytes / total) * 4) : 0;
    const reported = r.reported;
    r.reported = Math.max(reported, pct);
    this.rates.set(node.id, r);
    this.store.update(node.id, { stage: p.stage, bytes: p.bytes, mbps });
    if (pct > reported && pct > 0 && pct < 4) {
      this.record(node.id, 'deploy-progress', `${p.stage}: ${pct * 25} % (${formatBytes(p.bytes)} of ${formatBytes(total)}${mbps !== null ? `, ${mbps} MB/s` : ''})`,
        { stage: p.stage, bytes: p.bytes, total, mbps });
    }
    this.publish(node.id);
    return { status: 200, body: { ok: true } };
  }

  /** POST /agent/v1/deploy/result. 409 for another attempt; a result that comes before its step waits is kept for it. */
  result(node: NodeSummary, r: AgentResult): { status: number; body: Record<string, unknown> } {
    const rec = this.store.get(node.id);
    const job = this.core.jobs.activeForNode(node.id);
    if (!rec || !job || !KINDS.has(job.kind) || r.attempt !== rec.attempt) {
      this.record(node.id, 'stale-result', `agent result of attempt ${r.attempt} (${r.phase}) ignored: ${rec && job ? `attempt ${rec.attempt} is running` : 'no deploy or clean is running'}`,
        { attempt: r.attempt, phase: r.phase }, 'warn');
      return { status: 409, body: { error: 'no such command is running (an older attempt?)' } };
    }
    this.touch(node.id);
    const w = this.waits.get(node.id);
    if (w && w.phase === r.phase) w.resolve(r);
    else this.early.set(node.id, r);
    return { status: 200, body: { ok: true } };
  }

  /** The config drive plan for the agent (text, one `OFFSET SIZE SHA256 URL` line per write), or null. */
  configDrivePlan(node: NodeSummary): string | null {
    const plan = this.plans.get(node.id);
    if (!plan) return null;
    const base = httpBase(this.core.bootSettings);
    return plan.writes.map((w, i) => `${w.offset} ${w.data.length} ${plan.sha[i]} ${base}/agent/v1/deploy/config-drive/${i}\n`).join('');
  }

  /** One piece of the node's config drive plan, or null. */
  configDrivePiece(node: NodeSummary, index: number): Buffer | null {
    return this.plans.get(node.id)?.writes[index]?.data ?? null;
  }

  /** The deployed OS called back (GET/POST /agent/v1/booted?token=…). False when the token is unknown. */
  booted(token: string, from: string | null): boolean {
    if (token.length < 16 || token.length > 128) return false;
    const rec = this.store.byCallbackHash(hashToken(token));
    if (!rec || rec.kind !== 'deploy') return false;
    if (rec.bootStartedAt === null) return true; // not booted from disk yet: nothing to learn from it
    // every call back is in the node's history (also after DHCP already counted as booted: it shows cloud-init ran)
    this.record(rec.nodeId, rec.bootedAt === null ? 'booted' : 'called-back', `the deployed OS called back (phone home${from ? ` from ${from}` : ''})`, { via: 'callback', from });
    if (rec.bootedAt === null) {
      this.store.update(rec.nodeId, { bootedAt: Date.now(), bootedVia: 'callback' });
      const w = this.bootWaits.get(rec.nodeId);
      if (w?.accept.has('callback')) w.resolve('callback');
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------------- crash recovery

  /** At startup: continue every deploy/clean a restart interrupted (see the header), else fail it with the reason. */
  resume(): void {
    const canResume = this.connector !== null && this.core.config.bmcCredentials() !== null;
    for (const job of this.core.jobs.listUnfinished()) {
      if (!KINDS.has(job.kind) || !job.nodeId) continue;
      const node = this.core.nodes.get(job.nodeId);
      const rec = this.store.get(job.nodeId);
      const want = job.kind === 'deploy' ? 'deploying' : 'cleaning';
      if (!node || !rec || rec.jobId !== job.id || node.state !== want) {
        this.failJob(job.id, 'the daemon restarted and the node\'s record no longer matches this job', 'crash-recovery');
        continue;
      }
      if (!canResume) {
        this.failJob(job.id, `interrupted by a daemon restart and cannot resume (no BMC connection or credentials)${job.kind === 'deploy' ? '; the disk is not known to hold the whole image' : ''}`, 'crash-recovery');
        continue;
      }
      const at = job.steps.find((s) => s.status !== 'done')?.name ?? 'the end';
      this.core.bus.record({ source: 'job', kind: 'job-resumed', mac: node.mac, nodeId: node.id, message: `${job.kind} job ${job.id} resumed after a daemon restart at ${at}${at === 'write-image' || at === 'verify-image' ? ' (the image is written again from the start)' : ''}` });
      void this.run(job.id);
    }
    for (const state of ['deploying', 'cleaning'] as const) {
      for (const n of this.core.nodes.listInState(state)) {
        const job = this.core.jobs.activeForNode(n.id);
        if (job && KINDS.has(job.kind)) continue;
        this.core.lifecycle.transition(n.id, state === 'deploying' ? 'deploy-failed' : 'clean-failed', 'crash-recovery',
          `the daemon restarted during the ${state === 'deploying' ? 'deploy' : 'clean'} and no job was left to finish it`);
        this.store.update(n.id, { stage: 'failed', error: 'interrupted by a daemon restart', finishedAt: Date.now() });
      }
    }
  }

  /** Daemon shutdown: stop waiting; running jobs stay `running` in the store and resume at the next start. */
  stop(): void {
    this.stopped = true;
    for (const w of [...this.waits.values()]) w.reject(new StepError(w.step, 'the daemon is stopping'));
    for (const w of [...this.bootWaits.values()]) w.cancel();
    for (const wake of [...this.sleepers]) wake();
  }

  // ---------------------------------------------------------------------------------------------------- the job runner

  private async run(jobId: string): Promise<void> {
    if (this.running.has(jobId)) return;
    this.running.add(jobId);
    try {
      const job = this.core.jobs.get(jobId);
      if (!job?.nodeId) return;
      this.core.jobs.setStatus(jobId, 'running');
      this.publishJob(jobId);
      const end = await runJobSteps(this.core.jobs, job, {
        isStopped: () => this.stopped,
        runStep: (name) => this.runStep(job, name),
        publish: () => this.publishJob(jobId),
        onFailure: async (i, reason) => {
          await this.powerOffAfterFailure(jobId, i);
          this.failJob(jobId, reason, 'job-failed');
        },
      });
      if (end === 'done') this.finish(jobId);
    } catch (err) {
      this.log.error({ err, job: jobId }, 'deploy runner failed');
    } finally {
      this.running.delete(jobId);
      this.poweredHere.delete(jobId);
    }
  }

  private async runStep(job: Job, name: string): Promise<void> {
    const nodeId = job.nodeId!;
    const address = job.bmcAddress!;
    const node = this.core.nodes.get(nodeId)!;
    const uefi = node.firmware === 'uefi';
    switch (name) {
      case 'set-boot-pxe':
        this.setStage(nodeId, 'booting-agent');
        await this.withBmc(address, name, (s) => s.setBootDevice('pxe', { persistent: false, uefi }));
        this.record(nodeId, 'bootdev', `BMC ${address}: next boot from PXE (once), for the ${job.kind === 'deploy' ? 'deploy' : 'clean'} agent`, { bmc: address }, 'info', 'bmc');
        return;
      case 'power-on': {
        await this.withBmc(address, name, async (s) => {
          const p = await s.powerStatus();
          await s.power(p === 'on' ? 'cycle' : 'on'); // a running node would not PXE-boot: cycle it
        });
        this.setPower(nodeId, address, 'on', true);
        this.poweredHere.add(job.id);
        this.record(nodeId, 'power-on', `BMC ${address}: power on (to boot the agent)`, { bmc: address }, 'info', 'bmc');
        return;
      }
      case 'write-image': return this.writeImage(job);
      case 'verify-image': return this.verifyImage(job);
      case 'write-config-drive': return this.writeConfigDrive(job);
      case 'wipe-disks': return this.wipeDisks(job);
      case 'power-off': return this.powerOff(job);
      case 'set-boot-disk':
        await this.withBmc(address, name, (s) => s.setBootDevice('disk', { persistent: true, uefi }));
        this.record(nodeId, 'bootdev', `BMC ${address}: boot from disk (persistent)`, { bmc: address }, 'info', 'bmc');
        return;
      case 'power-on-disk': {
        const rec = this.store.get(nodeId)!;
        if (rec.bootStartedAt === null) this.store.update(nodeId, { bootStartedAt: Date.now(), bootedAt: null, bootedVia: null });
        this.setStage(nodeId, 'booting-os');
        await this.withBmc(address, name, async (s) => {
          if ((await s.powerStatus()) === 'off') await s.power('on');
        });
        this.setPower(nodeId, address, 'on', true);
        this.record(nodeId, 'power-on', `BMC ${address}: power on from disk`, { bmc: address }, 'info', 'bmc');
        return;
      }
      case 'wait-booted': return this.waitBooted(job);
      default:
        throw new StepError(name, `unknown step ${name}`);
    }
  }

  private diskArgs(rec: DeploymentRecord): { disk: string; diskSize: number; diskSerial: string; diskWwn: string } {
    const d = rec.disk!;
    return { disk: d.name, diskSize: d.sizeBytes, diskSerial: d.serial ?? '', diskWwn: d.wwn ?? '' };
  }

  private nextAttempt(nodeId: string): number {
    const attempt = this.store.get(nodeId)!.attempt + 1;
    this.store.update(nodeId, { attempt });
    this.early.delete(nodeId);
    return attempt;
  }

  private imageUrl(sha256: string): string {
    return `${httpBase(this.core.bootSettings)}${imageServingPath(sha256)}`;
  }

  /** The extent map of the deployment's image, as a step needs it: a damaged or vanished library copy fails the step. */
  private async imageMap(step: string, rec: DeploymentRecord): Promise<ExtentMap> {
    const img = this.core.images.get(rec.image!.id);
    if (!img || img.state !== 'ready' || img.sha256 !== rec.image!.sha256) {
      throw new StepError(step, `image ${rec.image!.name} is no longer in the library (removed or replaced since the deploy started)`);
    }
    try {
      return await this.core.images.extentMap(img);
    } catch (err) {
      if (err instanceof ImageDamagedError) {
        throw new StepError(step, `checksum mismatch (expected ${err.expected}, got ${err.actual}): ${err.message}; nothing was written`);
      }
      throw new StepError(step, `the image ${rec.image!.name} cannot be read from the library: ${(err as Error).message}`);
    }
  }

  private async writeImage(job: Job): Promise<void> {
    const nodeId = job.nodeId!;
    const rec = this.store.get(nodeId)!;
    // a new attempt at once: reports of an older one (a stream a restart broke) are refused from now on
    const attempt = this.nextAttempt(nodeId);
    const map = await this.imageMap('write-image', rec);
    this.store.update(nodeId, { bytes: 0, mbps: null, totalBytes: rec.image!.sizeBytes });
    this.wire.delete(nodeId);
    let handedOut = Date.now();
    const sha = rec.image!.sha256;
    const r = await this.awaitAgent(job, 'write-image', 'write', attempt, true, () => {
      handedOut = Date.now();
      // the server's address as it is when the agent asks (a resumed job starts before the services are configured)
      const base = httpBase(this.core.bootSettings);
      return {
        action: 'deploy', attempt, url: this.imageUrl(sha), size: rec.image!.sizeBytes, sha256: sha,
        map: `${base}${imageMapPath(sha)}`, mapSha256: extentMapTextSha256(map), data: `${base}${imageDataPath(sha)}`, dataBytes: map.dataBytes, ...this.diskArgs(rec),
        check: this.readBackCheck,
      };
    }, this.agentTimeoutMs);
    this.releaseSlot(nodeId);
    if (!r.ok) throw new StepError('write-image', `writing the image failed on the node: ${r.error ?? 'no reason given'}`);
    if (r.bytes !== rec.image!.sizeBytes) throw new StepError('write-image', `short write: ${r.bytes ?? 0} of ${rec.image!.sizeBytes} bytes reached ${r.disk ?? rec.disk!.name}`);
    if (r.sha256) this.wire.set(nodeId, r.sha256);
    this.store.update(nodeId, { bytes: rec.image!.sizeBytes });
    const secs = Math.max(0.001, (Date.now() - handedOut) / 1000);
    const avg = Math.round((r.bytes / secs / 1e6) * 10) / 10;
    const zeros = rec.image!.sizeBytes - map.dataBytes;
    this.record(nodeId, 'image-written', `image written to ${r.disk ?? rec.disk!.name}: ${formatBytes(r.bytes)} in ${Math.round(secs)} s, ${avg} MB/s ` +
      `(${formatBytes(map.dataBytes)} of data sent, ${formatBytes(zeros)} zeroed on the disk${r.sha256 ? `; SHA-256 of the data received ${r.sha256}` : ''})`,
    { bytes: r.bytes, dataBytes: map.dataBytes, zeroBytes: zeros, sha256: r.sha256, disk: r.disk, seconds: Math.round(secs), mbps: avg });
  }

  private async verifyImage(job: Job): Promise<void> {
    const nodeId = job.nodeId!;
    const rec = this.store.get(nodeId)!;
    const expected = rec.image!.sha256;
    this.setStage(nodeId, 'verifying');
    const map = await this.imageMap('verify-image', rec);
    // The agent reads back right after writing, under the write's attempt number (also after a restart: the write
    // step was done, so that attempt wrote the whole image). An agent that asks for a command meanwhile is idle (a
    // restart lost its read-back): it gets a verify of its own, under a new attempt.
    const r = await this.awaitAgent(job, 'verify-image', 'verify', rec.attempt, false, () => {
      // asked for a command while verify-image waits: the agent is idle (a restart lost the read-back): a new attempt
      const a = this.nextAttempt(nodeId);
      const w = this.waits.get(nodeId);
      if (w) w.attempt = a;
      return {
        action: 'verify', attempt: a, size: rec.image!.sizeBytes, map: `${httpBase(this.core.bootSettings)}${imageMapPath(expected)}`, mapSha256: extentMapTextSha256(map),
        dataBytes: map.dataBytes, ...this.diskArgs(rec), check: this.readBackCheck,
      };
    }, this.stallMs, true);
    if (!r.ok) throw new StepError('verify-image', `reading the image back from ${r.disk ?? rec.disk!.name} failed: ${r.error ?? 'no reason given'}`);
    const disk = r.disk ?? rec.disk!.name;
    if (r.fletcher4 !== undefined) {
      // the agent summed the data ranges read back with Fletcher-4 (check `fletcher4`); the zero ranges it read as zeros
      const sum = r.fletcher4.toLowerCase();
      if (sum !== map.dataFletcher4) throw new StepError('verify-image', await this.mismatchReason(rec, map, sum, 'fletcher4'));
      this.record(nodeId, 'image-verified', `read back ${formatBytes(rec.image!.sizeBytes)} from ${disk}: the zero ranges are zeros and the data ranges' Fletcher-4 ` +
        `${sum} matches the library's copy (SHA-256 ${expected})`, { fletcher4: sum, imageSha256: expected, dataFletcher4: map.dataFletcher4 });
      return;
    }
    const got = (r.sha256 ?? '').toLowerCase();
    // either the data ranges read back (their SHA-256 from the map, the zero ranges checked by the agent) or — an
    // agent reading everything back — the whole image
    const whole = got === expected && r.bytes === rec.image!.sizeBytes;
    if (got !== map.dataSha256 && !whole) throw new StepError('verify-image', await this.mismatchReason(rec, map, got, 'sha256'));
    this.record(nodeId, 'image-verified', whole
      ? `read back ${formatBytes(rec.image!.sizeBytes)} from ${disk}: SHA-256 ${got} matches the image`
      : `read back ${formatBytes(rec.image!.sizeBytes)} from ${disk}: the zero ranges are zeros and the data ranges' SHA-256 ${got} matches; ` +
        `the image is SHA-256 ${expected}`, { sha256: got, imageSha256: expected, dataSha256: map.dataSha256 });
  }

  /**
   * Why a read-back did not match: the SHA-256 of the data as the agent received it tells in-flight damage from a
   * disk that reads back differently (when the agent sent one); otherwise the library's file is hashed again — a
   * damaged copy explains it, an intact one leaves the network or the disk.
   */
  private async mismatchReason(rec: DeploymentRecord, map: ExtentMap, got: string, check: ReadBackCheck): Promise<string> {
    const expected = rec.image!.sha256;
    const head = check === 'fletcher4'
      ? `checksum mismatch (expected ${expected}: its data ranges sum to Fletcher-4 ${map.dataFletcher4}; the disk's read back to ${got || 'nothing'})`
      : `checksum mismatch (expected ${expected}, got ${got || 'nothing'})`;
    const note = !got || check === 'fletcher4' ? ''
      : ` [${got} is the SHA-256 of the data ranges read back from the disk; the image's data ranges give ${map.dataSha256}]`;
    const wire = this.wire.get(rec.nodeId);
    if (wire !== undefined) {
      // the SHA-256 of the data as the agent received it (an agent that sends one): compared with the read-back's own
      // answer only when both are SHA-256s
      const readBack = check === 'sha256' ? got : null;
      return head + (wire === map.dataSha256 ? ': the bytes were received intact but the disk read back differently (a failing disk or controller?)'
        : wire === readBack ? ': the bytes the agent received already differed (corrupted on the image server or in flight)'
          : check === 'sha256' ? `: the bytes received (SHA-256 ${wire}) differ from both`
            : `: the bytes the agent received already differed (SHA-256 ${wire}: corrupted on the image server or in flight)`) + note;
    }
    try {
      await this.core.images.remapImage(rec.image!);
      return `${head}: the library's copy of the image is intact, so the bytes were damaged in flight or the disk read back differently (a failing disk, controller or NIC?)${note}`;
    } catch (err) {
      if (err instanceof ImageDamagedError) return `${head}: the bytes the agent received already differed: ${err.message}${note}`;
      return `${head} (the library's copy could not be checked: ${(err as Error).message})${note}`;
    }
  }

  private async writeConfigDrive(job: Job): Promise<void> {
    const nodeId = job.nodeId!;
    const rec = this.store.get(nodeId)!;
    this.setStage(nodeId, 'config-drive');
    const node = this.core.nodes.get(nodeId)!;
    // a fresh callback token whenever the drive is (re)built: only its hash is kept
    const token = newToken();
    this.store.update(nodeId, { callbackHash: hashToken(token) });
    const callback = `${httpBase(this.core.bootSettings)}/agent/v1/booted?token=${token}`;
    let writes: DiskWrite[];
    try {
      const tree = this.configDriveTree(node, { hostname: rec.hostname!, sshKeys: rec.sshKeys, userData: rec.userData, jobId: job.id }, callback);
      const iso = await configDriveIso(tree);
      const head = await this.imageHead(rec);
      const placed = placeConfigDrive({ head, imageBytes: rec.image!.sizeBytes, diskBytes: rec.disk!.sizeBytes, iso, partitionGuid: guidFrom(job.id) });
      writes = placed.writes;
      this.record(nodeId, 'config-drive', `config drive (${formatBytes(iso.length)} ISO, label config-2) goes to partition ${placed.partitionNumber} of ${rec.disk!.name} ` +
        `(${placed.table === 'gpt' ? 'GPT, backup table moved to the end of the disk' : 'MBR'}, sectors ${placed.firstLba}+${placed.sectors})`,
      { table: placed.table, partition: placed.partitionNumber, firstLba: placed.firstLba, sectors: placed.sectors });
    } catch (err) {
      if (err instanceof ConfigDrivePlacementError || err instanceof ConfigDriveError) throw new StepError('write-config-drive', `config drive: ${err.message}`);
      throw err;
    }
    const attempt = this.nextAttempt(nodeId);
    this.plans.set(nodeId, { attempt, writes, sha: writes.map((w) => createHash('sha256').update(w.data).digest('hex')) });
    try {
      const r = await this.awaitAgent(job, 'write-config-drive', 'configdrive', attempt, false, () => ({
        action: 'configdrive', attempt, plan: `${httpBase(this.core.bootSettings)}/agent/v1/deploy/config-drive`, ...this.diskArgs(rec),
      }), this.stallMs);
      if (!r.ok) throw new StepError('write-config-drive', `writing the config drive failed on the node: ${r.error ?? 'no reason given'}`);
    } finally {
      this.plans.delete(nodeId);
    }
    this.record(nodeId, 'config-drive-written', `config drive written and read back (${writes.length} pieces)`, {});
  }

  private async wipeDisks(job: Job): Promise<void> {
    const nodeId = job.nodeId!;
    const rec = this.store.get(nodeId)!;
    const attempt = this.nextAttempt(nodeId);
    const r = await this.awaitAgent(job, 'wipe-disks', 'clean', attempt, false, () => {
      this.setStage(nodeId, 'wiping');
      return { action: 'clean', attempt, erase: rec.erase };
    }, this.agentTimeoutMs);
    if (!r.ok) throw new StepError('wipe-disks', `wiping the disks failed: ${r.error ?? 'no reason given'}`);
    this.record(nodeId, 'disks-wiped', `disks wiped: ${r.detail ?? 'done'}`, { detail: r.detail ?? null });
  }

  /** The agent powers the node off (sync first); after powerOffTimeoutMs the BMC does. */
  private async powerOff(job: Job): Promise<void> {
    const nodeId = job.nodeId!;
    const address = job.bmcAddress!;
    this.setStage(nodeId, 'powering-off');
    const until = Date.now() + this.powerOffTimeoutMs;
    let off = false;
    while (!this.stopped && Date.now() < until) {
      off = (await this.withBmc(address, 'power-off', (s) => s.powerStatus())) === 'off';
      if (off) break;
      await this.sleep(this.pollMs);
    }
    if (this.stopped) throw new StepError('power-off', 'stopped');
    if (!off) {
      await this.withBmc(address, 'power-off', (s) => s.power('off'));
      this.record(nodeId, 'power-off', `BMC ${address}: power off (the agent did not within ${Math.round(this.powerOffTimeoutMs / 1000)} s)`, { bmc: address }, 'info', 'bmc');
    } else {
      this.record(nodeId, 'power-off', 'the agent powered the node off', { bmc: address }, 'info', 'bmc');
    }
    this.setPower(nodeId, address, 'off', false);
  }

  private async waitBooted(job: Job): Promise<void> {
    const nodeId = job.nodeId!;
    const node = this.core.nodes.get(nodeId)!;
    const rec = this.store.get(nodeId)!;
    const since = rec.bootStartedAt ?? Date.now();
    const doneWhen = rec.doneWhen ?? 'auto';
    this.setStage(nodeId, 'booting-os');
    if (doneWhen === 'power') {
      const left = since + rec.powerOnSec * 1000 - Date.now();
      if (left > 0) await this.sleep(left);
      if (this.stopped) throw new StepError('wait-booted', 'stopped');
      const p = await this.withBmc(job.bmcAddress!, 'wait-booted', (s) => s.powerStatus());
      if (p !== 'on') throw new StepError('wait-booted', `the node was powered off ${rec.powerOnSec} s after the power-on from disk (did the OS crash or shut down?)`);
      this.booted_(nodeId, 'power', `the BMC shows the node powered on ${rec.powerOnSec} s after the power-on from disk`);
      return;
    }
    const accept = new Set<'callback' | 'dhcp'>(doneWhen === 'auto' ? ['callback', 'dhcp'] : [doneWhen]);
    // already seen (before a restart, or faster than this step)?
    if (rec.bootedAt !== null && rec.bootedAt >= since && accept.has('callback')) { this.booted_(nodeId, 'callback', null); return; }
    if (accept.has('dhcp') && this.osDhcpSince(node, since)) { this.booted_(nodeId, 'dhcp', 'the deployed OS asked DHCP for an address (not a PXE client)'); return; }
    const timeoutMs = Math.max(0, since + rec.bootTimeoutSec * 1000 - Date.now());
    const via = await new Promise<'callback' | 'dhcp' | null>((resolve) => {
      const end = (v: 'callback' | 'dhcp' | null) => { clearTimeout(t); if (this.bootWaits.get(nodeId)?.jobId === job.id) this.bootWaits.delete(nodeId); resolve(v); };
      const t = setTimeout(() => end(null), timeoutMs);
      this.bootWaits.set(nodeId, { jobId: job.id, accept, since, resolve: end, cancel: () => end(null) });
    });
    if (this.stopped) throw new StepError('wait-booted', 'stopped');
    if (!via) {
      const what = [...accept].map((a) => (a === 'callback' ? 'no phone-home callback' : 'no DHCP request from its OS')).join(', ');
      throw new StepError('wait-booted', `the deployed OS did not report booting within ${rec.bootTimeoutSec} s of the power-on from disk (${what}; see the node's console)`);
    }
    this.booted_(nodeId, via, via === 'dhcp' ? 'the deployed OS asked DHCP for an address (not a PXE client)' : null);
  }

  private booted_(nodeId: string, via: 'callback' | 'dhcp' | 'power', message: string | null): void {
    const rec = this.store.get(nodeId)!;
    if (rec.bootedAt === null || rec.bootedVia !== via) this.store.update(nodeId, { bootedAt: rec.bootedAt ?? Date.now(), bootedVia: rec.bootedVia ?? via });
    if (message) this.record(nodeId, 'booted', message, { via });
  }

  /** A DHCP answer to `node`'s MAC since `since` for a client that was not PXE/iPXE (the event log). */
  private osDhcpSince(node: NodeSummary, since: number): boolean {
    return this.core.events.query({ mac: node.mac, nodeId: node.id, since, limit: 500 }).some((e) => isOsDhcp(e.source, e.kind, e.detail) && e.at >= since);
  }

  private onStream(m: StreamMessage): void {
    if (m.type !== 'event' || m.payload.source !== 'dhcp' || !m.payload.nodeId) return;
    this.agentBootSeen(m.payload.nodeId, m.payload.at, m.payload.kind, m.payload.detail);
    const w = this.bootWaits.get(m.payload.nodeId);
    if (!w || !w.accept.has('dhcp') || m.payload.at < w.since) return;
    if (isOsDhcp(m.payload.source, m.payload.kind, m.payload.detail)) w.resolve('dhcp');
  }

  /**
   * While the agent is awaited after a one-time PXE power-on, the node's first DHCP request tells what it booted: a
   * PXE/iPXE client (then the agent's own DHCP follows), or — with no PXE request before it — an OS from its disk: the
   * boot device was not honoured, and waiting for the agent is pointless. Authoritative mode only (RackSeed hears
   * every DHCP request there).
   */
  private agentBootSeen(nodeId: string, at: number, kind: string, detail: Record<string, unknown> | undefined): void {
    const w = this.waits.get(nodeId);
    if (!w || w.issued > 0 || at < w.since || w.sawPxe || !AGENT_STEPS.has(w.step) || !this.poweredHere.has(w.jobId)) return;
    if (detail?.pxe === true) { w.sawPxe = true; return; }
    if (!isOsDhcp('dhcp', kind, detail)) return;
    w.reject(new StepError(w.step, `the node booted from its disk instead of the network (its first DHCP request after the power-on came from an OS, not a PXE client): ` +
      'the BMC\'s one-time PXE boot device was not honoured — check network boot in its firmware boot order'));
  }

  private finish(jobId: string): void {
    const job = this.core.jobs.get(jobId)!;
    const nodeId = job.nodeId!;
    const rec = this.store.get(nodeId)!;
    this.core.jobs.setStatus(jobId, 'done');
    const took = Math.round((Date.now() - rec.startedAt) / 1000);
    this.store.update(nodeId, { stage: 'done', finishedAt: Date.now(), mbps: null, error: null });
    if (job.kind === 'deploy') {
      this.core.lifecycle.transition(nodeId, 'active', 'deploy-done');
      this.record(nodeId, 'deploy-done', `deployed ${rec.image!.name} to ${rec.disk!.name} as ${rec.hostname}; the OS booted (${rec.bootedVia ?? '?'}) — ${took} s in all`,
        { job: jobId, bootedVia: rec.bootedVia, seconds: took }, 'info', 'job');
    } else {
      this.core.lifecycle.transition(nodeId, 'available', 'clean-done');
      this.record(nodeId, 'clean-done', `released: disks wiped, powered off — ${took} s in all`, { job: jobId, seconds: took }, 'info', 'job');
    }
    this.publishJob(jobId);
    this.publish(nodeId);
  }

  private failJob(jobId: string, reason: string, cause: 'job-failed' | 'crash-recovery'): void {
    const job = this.core.jobs.get(jobId)!;
    const idx = job.steps.findIndex((s) => s.status !== 'done');
    if (idx >= 0 && job.steps[idx]!.status !== 'failed') this.core.jobs.setStep(jobId, idx, 'failed', reason);
    this.core.jobs.setStatus(jobId, 'failed', reason);
    const nodeId = job.nodeId;
    if (nodeId) {
      this.releaseSlot(nodeId);
      const w = this.waits.get(nodeId);
      if (w?.jobId === jobId) { if (w.timer) clearTimeout(w.timer); this.waits.delete(nodeId); }
      this.bootWaits.delete(nodeId);
      this.plans.delete(nodeId);
      this.early.delete(nodeId);
      this.rates.delete(nodeId);
      this.store.update(nodeId, { stage: 'failed', error: reason, finishedAt: Date.now(), mbps: null });
      const node = this.core.nodes.get(nodeId);
      const from = job.kind === 'deploy' ? 'deploying' : 'cleaning';
      if (node?.state === from) this.core.lifecycle.transition(nodeId, job.kind === 'deploy' ? 'deploy-failed' : 'clean-failed', cause, reason);
      this.record(nodeId, 'job-failed', `${job.kind} job failed: ${reason}`, { job: jobId, bmc: job.bmcAddress }, 'error', 'job');
      this.publish(nodeId);
    }
    this.publishJob(jobId);
  }

  /** A node this job powered on is powered off again after a failure (a safe state), unless the power-off step itself failed. */
  private async powerOffAfterFailure(jobId: string, failedIdx: number): Promise<void> {
    const job = this.core.jobs.get(jobId);
    if (!job?.bmcAddress || !job.nodeId) return;
    const on = job.steps.findIndex((s) => s.name === 'power-on');
    if (on < 0 || on >= failedIdx || job.steps[on]!.status !== 'done' || job.steps[failedIdx]!.name === 'power-off') return;
    try {
      await this.withBmc(job.bmcAddress, 'power-off', (s) => s.power('off'));
      this.setPower(job.nodeId, job.bmcAddress, 'off', false);
      this.record(job.nodeId, 'power-off', `BMC ${job.bmcAddress}: power off (the ${job.kind} failed; leaving the node in a safe state)`, { job: jobId, bmc: job.bmcAddress }, 'info', 'bmc');
    } catch (err) {
      this.record(job.nodeId, 'power-off-failed', `BMC ${job.bmcAddress}: could not power the node off after the failed ${job.kind}: ${(err as Error).message}`,
        { job: jobId, bmc: job.bmcAddress }, 'error', 'bmc');
    }
  }

  // ---------------------------------------------------------------------------------------------------- helpers

  /**
   * Wait for the agent's result of `phase`. `command` is what the agent gets when it asks (GET /agent/v1/next);
   * `firstContactMs` bounds the silence before the first question, then stallMs applies between reports.
   */
  private awaitAgent(job: Job, step: string, phase: AgentResult['phase'], attempt: number, needsSlot: boolean,
    command: () => DeployAgentCommand | AgentCommand, firstContactMs: number, continued = false): Promise<AgentResult> {
    const nodeId = job.nodeId!;
    return new Promise<AgentResult>((resolve, reject) => {
      const done = (fn: () => void) => {
        const cur = this.waits.get(nodeId);
        if (cur === w) { if (w.timer) clearTimeout(w.timer); this.waits.delete(nodeId); }
        fn();
      };
      const w: AgentWait = {
        jobId: job.id, step, phase, attempt, command, issued: continued ? 1 : 0, needsSlot, since: Date.now(), sawPxe: false, pxeRetried: false, timer: null,
        resolve: (r) => done(() => resolve(r)), reject: (e) => done(() => reject(e)),
      };
      this.waits.set(nodeId, w);
      const early = this.early.get(nodeId);
      if (early && early.phase === phase && early.attempt === attempt) { this.early.delete(nodeId); w.resolve(early); return; }
      this.arm(nodeId, firstContactMs);
    });
  }

  /** (Re)start the silence timer of the node's wait. */
  private arm(nodeId: string, ms: number): void {
    const w = this.waits.get(nodeId);
    if (!w) return;
    if (w.timer) clearTimeout(w.timer);
    w.timer = setTimeout(() => {
      const rec = this.store.get(nodeId);
      const stage = rec?.stage ?? w.step;
      // the agent never came up: PXE timeouts and lost boot packets happen on real networks too; boot it once more
      if (w.issued === 0 && stage === 'booting-agent' && !w.pxeRetried) { w.pxeRetried = true; void this.retryPxe(nodeId, w, ms); return; }
      w.reject(new StepError(w.step, w.issued === 0
        ? `no agent asked for its command within ${Math.round(ms / 1000)} s${stage === 'queued' ? '' : ' of the power-on'} (did the node PXE-boot the agent ramdisk? see its console and boot history)`
        : `the agent stopped reporting while ${stage} (nothing for ${Math.round(ms / 1000)} s; did the node hang or lose its network?)`));
    }, ms);
    w.timer.unref?.();
  }

  /**
   * One retry of the agent's network boot when no agent asked within the first-contact time: the BMC sets the one-time
   * PXE boot device again and power-cycles the node, then the same time runs again before the step fails.
   */
  private async retryPxe(nodeId: string, w: AgentWait, ms: number): Promise<void> {
    const job = this.core.jobs.get(w.jobId);
    const address = job?.bmcAddress;
    const uefi = this.core.nodes.get(nodeId)?.firmware === 'uefi';
    const secs = Math.round(ms / 1000);
    if (!address) { w.reject(new StepError(w.step, `no agent asked for its command within ${secs} s of the power-on, and the node has no BMC to boot it again`)); return; }
    this.record(nodeId, 'pxe-retry', `no agent asked for its command within ${secs} s of the power-on: PXE-booting the node again through BMC ${address} (one retry)`,
      { bmc: address, seconds: secs }, 'warn', 'bmc');
    try {
      await this.withBmc(address, w.step, async (s) => {
        await s.setBootDevice('pxe', { persistent: false, uefi });
        await s.power('cycle');
      });
    } catch (err) {
      if (this.waits.get(nodeId) === w) w.reject(err as Error);
      return;
    }
    this.setPower(nodeId, address, 'on', true);
    if (this.waits.get(nodeId) === w && w.issued === 0) { w.since = Date.now(); w.sawPxe = false; this.arm(nodeId, ms); }
  }

  private touch(nodeId: string): void {
    if (this.waits.has(nodeId)) this.arm(nodeId, this.stallMs);
  }

  private acquireSlot(nodeId: string): boolean {
    if (this.writers.has(nodeId)) return true;
    if (!this.queue.includes(nodeId)) this.queue.push(nodeId);
    if (this.writers.size < this.maxWriters && this.queue[0] === nodeId) {
      this.queue.shift();
      this.writers.add(nodeId);
      return true;
    }
    return false;
  }

  private releaseSlot(nodeId: string): void {
    this.writers.delete(nodeId);
    const i = this.queue.indexOf(nodeId);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => { clearTimeout(t); this.sleepers.delete(wake); resolve(); };
      const t = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private async withBmc<T>(address: string, step: string, fn: (s: BmcSession) => Promise<T>): Promise<T> {
    const creds = this.core.config.bmcCredentials();
    if (!creds || !this.connector) throw new StepError(step, `${step}: no BMC credentials or connector`);
    // the IPMI client's messages start with the host ("10.0.0.5: wrong password …"): said once, as "BMC 10.0.0.5:623"
    const host = address.replace(/:\d+$/, '');
    const why = (err: unknown) => new StepError(step, `${step}: BMC ${address}: ${(err as Error).message.replace(`${host}: `, '')}`);
    const work = (async () => {
      let s: BmcSession;
      try { s = await this.connector!(address, creds); } catch (err) { throw why(err); }
      try { return await fn(s); } catch (err) { throw why(err); } finally { await s.close(); }
    })();
    return withTimeout(step, this.bmcStepTimeoutMs, work);
  }

  private setPower(nodeId: string, address: string, power: 'on' | 'off', byUs: boolean): void {
    this.core.bmcs.upsert(address, { power });
    this.core.nodes.update(nodeId, { power, poweredOnByRackSeed: byUs });
    this.core.lifecycle.announce(nodeId);
  }

  private setStage(nodeId: string, stage: DeployStage): void {
    const rec = this.store.get(nodeId);
    if (!rec || rec.stage === stage) return;
    this.store.update(nodeId, { stage, ...(stage === 'queued' || stage === 'booting-os' || stage === 'powering-off' ? { mbps: null } : {}) });
    this.record(nodeId, 'deploy-stage', `${rec.kind}: ${stage}`, { stage });
    this.publish(nodeId);
  }

  private record(nodeId: string, kind: string, message: string, detail: Record<string, unknown>, level: 'info' | 'warn' | 'error' = 'info', source: 'job' | 'bmc' | 'agent' = 'job'): void {
    const node = this.core.nodes.get(nodeId);
    this.core.bus.record({ source, kind, mac: node?.mac ?? null, nodeId, message, detail, level });
  }

  private publish(nodeId: string): void {
    const d = this.get(nodeId);
    if (d) this.core.bus.publish({ type: 'deploy', payload: d });
  }

  private publishJob(jobId: string): void {
    const job = this.core.jobs.get(jobId);
    if (job) this.core.bus.publish({ type: 'job', payload: job });
  }

  /** The config drive's files: meta data, network data, user data, and vendor data asking cloud-init to phone home. */
  private configDriveTree(node: NodeSummary, p: { hostname: string; sshKeys: string[]; userData: string | null; jobId: string }, callback: string): ConfigDriveTree {
    const tree = buildConfigDrive({
      uuid: p.jobId, hostname: p.hostname, publicKeys: p.sshKeys.length ? publicKeysFromText(p.sshKeys.join('\n')) : undefined,
      userData: p.userData ?? undefined, phoneHomeUrl: callback, bootMac: node.mac,
    });
    // OpenStack vendor data: cloud-init (DataSourceConfigDrive, convert_vendordata) runs the "cloud-init" key as cloud-config
    // beside the user's own user data, so an unmodified cloud image calls back once booted (DoneWhen callback)
    const vendor = { 'cloud-init': `#cloud-config\nphone_home:\n  url: ${JSON.stringify(callback)}\n  post: [instance_id, hostname, fqdn]\n  tries: 10\n` };
    tree.files.push({ path: 'openstack/latest/vendor_data.json', data: Buffer.from(`${JSON.stringify(vendor, null, 2)}\n`) });
    tree.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return tree;
  }

  /** The image's first sectors (MBR, GPT header and entries), from the library's raw file. */
  private async imageHead(rec: DeploymentRecord): Promise<Buffer> {
    const path = this.core.images.rawPath({ id: rec.image!.id });
    const len = Math.min(rec.image!.sizeBytes, 2 * 1024 * 1024);
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(len);
      const { bytesRead } = await fh.read(buf, 0, len, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
}

interface CheckedDeploy {
  image: ImageRecord;
  disk: TargetDisk;
  hostname: string;
  sshKeys: string[];
  userData: string | null;
  rootHints: RootDeviceHints;
  doneWhen: DoneWhen;
  bootTimeoutSec: number;
  powerOnSec: number;
}

/** A refused node's reason, prefixed with the node unless the reason names it already. */
function naming(e: { node: string; error: string }): string {
  return e.error.includes(e.node) ? e.error : `node ${e.node}: ${e.error}`;
}

/**
 * A DHCPACK to a client that did not say it was PXE/iPXE (detail.pxe, netboot/dhcp/server/serve-loop.ts). Only a
 * completed exchange counts: an OFFER whose REQUEST never came is written later on its own, without the request's
 * facts (a UEFI firmware's PXE DISCOVER answered by no boot server ends that way).
 */
export function isOsDhcp(source: string, kind: string, detail: Record<string, unknown> | undefined): boolean {
  return source === 'dhcp' && kind === 'ack' && detail?.pxe !== true;
}

