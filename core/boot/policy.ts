// The core's boot policy (implements netboot/boot-policy.ts BootPolicy, plus the iPXE `scriptFor`):
//   unknown MAC, or a `seen` node — admission (BootAdmission, shared/admission.ts) decides:
//     open                  → node `discovered`, served the discovery ramdisk
//     allowlist             → admitted (→ `discovered`) only when a RackSeed job powered on the BMC whose System GUID is
//                             the client's PXE UUID (option 97); otherwise a `seen` node (recorded once per MAC) and
//                             nothing served: no DHCP boot answer, and a script that exits to the local disk
//                             (the engineer admits it with POST /api/v1/nodes/:id/allow)
//   discovered/inspecting  → the discovery ramdisk, with a fresh per-node agent token
//   deploying/cleaning     → the same ramdisk (the agent then deploys/wipes) while the job is at a step that needs the
//                            agent (core/deploy/service.ts bootsAgent); afterwards like active
//   maintenance            → ignored at DHCP; the script boots the local disk
//   available/active/error → no boot file (the firmware falls through to the disk); the script boots the local disk:
//                            `sanboot --no-describe --drive 0x80` on BIOS, `exit` (the firmware's next boot entry) on UEFI
//   owned by an engine     → (handed over, core/handoff/) no DHCP boot answer at all, before anything else; and through
//                            ownedElsewhere() no lease either in authoritative mode
// Only a DHCP exchange creates a node or moves its address (issue 19 item 3): the iPXE script (`scriptFor`) never
// admits a MAC nor re-points a node's address, and it hands the agent a token (core/agent/tokens.ts) only when it is
// asked from the address that holds the node's lease (`holderOf`).
import type { Logger } from 'pino';
import type { BootPolicy, BootRequest, DhcpBootAnswer } from '../../netboot/boot-policy.ts';
import type { EventSource, NodeSummary } from '../../shared/node.ts';
import type { BootAdmission, Job, NetworkConfig } from '../../shared/api.ts';
import { allowlistReason, defaultAdmission } from '../../shared/admission.ts';
import type { NodeStore } from '../store/nodes.ts';
import type { JobStore } from '../store/jobs.ts';
import type { BmcStore } from '../store/bmcs.ts';
import type { NodeLifecycle } from '../node-lifecycle.ts';
import type { EventBus } from '../event-bus.ts';
import { guidsMatch } from '../guid.ts';
import { normalizeMac } from '../ids.ts';
import { plainIp, type AgentTokens, type TokenPurpose } from '../agent/tokens.ts';
import { firstStageAnswer, httpBase, type ApplianceAddress } from './boot-files.ts';
import { discoveryScript, localBootScript, waitScript } from './ipxe-script.ts';

export interface BootPolicySettings extends ApplianceAddress {
  /** boot only allowed machines in every mode: admission `allowlist` whatever `admission` says */
  safeMode: boolean;
  /**
   * Which PXE clients are booted. Absent: defaultAdmission(saved network config) — `open` in authoritative mode without
   * override, `allowlist` otherwise (proxy mode beside the site's DHCP server above all).
   */
  admission?: BootAdmission;
  /** URL paths of the discovery kernel and initrd on the HTTP boot server; null when no ramdisk is built */
  ramdisk: { kernelPath: string; initrdPath: string } | null;
  /** UEFI clients get snponly.efi instead of ipxe.efi */
  preferSnp?: boolean;
  /**
   * Which iPXE a BIOS client runs the discovery script in: "rom" (default) — whichever asked, usually the NIC ROM's;
   * "bundled" — a BIOS client whose iPXE is not our undionly.kpxe chains tftp://serverIp/undionly.kpxe first.
   */
  biosIpxe?: BiosIpxe;
}

/** CLI `--bios-ipxe` values (see BootPolicySettings.biosIpxe). */
export const BIOS_IPXE_CHOICES = ['rom', 'bundled'] as const satisfies readonly NonNullable<NetworkConfig['biosIpxe']>[];
export type BiosIpxe = NonNullable<NetworkConfig['biosIpxe']>;

/** What the HTTP boot server knows about a `GET /boot.ipxe` request. */
export interface ScriptRequest {
  /** `?mac=` as sent (any notation), or null */
  mac: string | null;
  /** client IPv4 address of the HTTP connection */
  ip: string | null;
}

const BOOTS_RAMDISK = new Set<NodeSummary['state']>(['discovered', 'inspecting']);

/** What the policy reads besides its own settings. */
export interface BootPolicyStores {
  nodes: NodeStore;
  jobs: JobStore;
  bmcs: BmcStore;
  lifecycle: NodeLifecycle;
  bus: EventBus;
  /** the saved network config (mode, override), null when not configured */
  network: () => NetworkConfig | null;
  /** hand-off (core/handoff/store.ts): the engine's label when an engine owns `mac` (logged once per MAC), else null */
  owners?: { claimedByEngine(mac: string): string | null };
  /** deploy/clean (core/deploy/service.ts): whether a deploying/cleaning node is to boot the agent ramdisk now */
  deploys?: { bootsAgent(nodeId: string): boolean };
  /** the agent tokens a served ramdisk gets (core/agent/tokens.ts) */
  tokens: AgentTokens;
}

/** Node states whose MAC counts as a known client for the DHCP pool's reserve (netboot/dhcp/server/new-client-limit.ts). */
const KNOWN_STATES = new Set<NodeSummary['state']>(['inspecting', 'available', 'deploying', 'active', 'deploy-failed', 'cleaning', 'clean-failed', 'error']);

export class CoreBootPolicy implements BootPolicy {
  private readonly nodes: NodeStore;
  private readonly lifecycle: NodeLifecycle;
  private readonly bus: EventBus;
  /** (node, address) → when a refused boot script was last recorded */
  private readonly scriptRefusals = new Map<string, number>();

  constructor(
    private readonly stores: BootPolicyStores,
    private readonly settings: () => BootPolicySettings,
    private readonly log: Logger,
    /** ip → mac from the DHCP leases; null when unknown */
    private readonly ipToMac: (ip: string) => string | null = () => null,
  ) {
    this.nodes = stores.nodes;
    this.lifecycle = stores.lifecycle;
    this.bus = stores.bus;
  }

  /**
   * The admission rule in force: `allowlist` in safe mode; else the settings' own; else the default for the saved
   * network config. Read on every decision (a reconfiguration changes it at once).
   */
  admission(): BootAdmission {
    const s = this.settings();
    if (s.safeMode) return 'allowlist';
    return s.admission ?? defaultAdmission(this.stores.network());
  }

  /**
   * A MAC handed over to an engine (core/handoff): the DHCP server answers it nothing at all, not even an address in
   * authoritative mode (BootPolicy.ownedElsewhere). Returns the engine's label; logged and recorded once per MAC.
   */
  ownedElsewhere(mac: string): string | null {
    return this.stores.owners?.claimedByEngine(mac) ?? null;
  }

  dhcpBoot(req: BootRequest): DhcpBootAnswer | null {
    const s = this.settings();
    const mac = normalizeMac(req.mac);
    if (!mac) return null;
    // handed over: the engine that owns this MAC answers it, RackSeed stays silent
    if (this.stores.owners?.claimedByEngine(mac)) return null;
    let node = this.nodes.getByMac(mac);
    if (!node || node.state === 'seen') {
      node = this.admit(mac, node, 'dhcp', req.uuid);
      if (!node) {
        this.log.debug({ mac, interface: req.interface }, 'PXE client not admitted (allowlist): not booted');
        return null;
      }
    }
    if (node.maintenance || !this.bootsRamdisk(node)) {
      this.log.debug({ mac, node: node.id, state: node.state }, 'no network boot for this node');
      return null;
    }
    const firmware = req.arch === null || req.arch === 0 ? 'bios' : [6, 7, 9, 10, 11, 16].includes(req.arch) ? 'uefi' : null;
    if (firmware && node.firmware !== firmware) this.nodes.update(node.id, { firmware });
    return firstStageAnswer({ ...req, mac }, s, s.preferSnp);
  }

  /**
   * The MAC whose DHCP lease holds `ip` now: our lease in authoritative mode (and the addresses the DHCP/proxyDHCP
   * exchanges showed, `ipToMac`), else the node whose address a DHCP exchange last set (kept in SQLite). Null when none.
   */
  holderOf(ip: string | null): string | null {
    const a = plainIp(ip);
    if (!a) return null;
    return this.ipToMac(a) ?? this.nodes.getByIp(a)?.mac ?? null;
  }

  /** Whether `ip` is the address node `nodeId`'s lease holds now (an agent token follows its node's lease). */
  holdsLease(nodeId: string, ip: string): boolean {
    const mac = this.holderOf(ip);
    return mac !== null && this.nodes.idByMac(mac) === nodeId;
  }

  /**
   * Whether `mac` is a node RackSeed knows beyond a first PXE request: inventoried, deployed, being inspected, or
   * powered on by a RackSeed job. Such a client may take the pool's reserve (a flood of random MACs cannot).
   */
  knownClient(mac: string): boolean {
    const n = this.nodes.getByMac(mac);
    return !!n && (KNOWN_STATES.has(n.state) || n.poweredOnByRackSeed);
  }

  /**
   * The iPXE script for a `GET /boot.ipxe`. Resolves the node by `?mac=`, else by the client address (DHCP leases,
   * then the node store). Never creates a node nor moves its address (only a DHCP exchange does); serves the ramdisk,
   * with a fresh agent token bound to the asking address, only when that address holds the node's lease — any other
   * asker gets a local-boot script and the node a warning (its current token stays valid).
   */
  scriptFor(req: ScriptRequest): string {
    const s = this.settings();
    const base = httpBase(s);
    const ip = plainIp(req.ip);
    let mac = req.mac ? normalizeMac(req.mac) : null;
    if (!mac && ip) mac = this.holderOf(ip);
    if (!mac) return localBootScript('this machine is not known by MAC (no ?mac= and no DHCP lease for its address)');
    const node = this.nodes.getByMac(mac);
    if (!node) return localBootScript('this MAC made no DHCP exchange with RackSeed: only a DHCP exchange makes a node');
    if (node.state === 'seen') return localBootScript(`${this.notAdmittedWhy()}: only allowed machines are booted`);
    if (node.maintenance) return localBootScript(`node ${node.id} is in maintenance`, node.firmware);
    if (!this.bootsRamdisk(node)) return localBootScript(`node ${node.id} is ${node.state}`, node.firmware);
    if (!s.ramdisk) {
      this.bus.record({ source: 'http', kind: 'no-ramdisk', mac, nodeId: node.id, level: 'warn', message: 'discovery ramdisk is not built (npm run build:ramdisk); node told to wait' });
      return waitScript(base, mac, 'the discovery ramdisk is not built yet');
    }
    const holder = this.holderOf(ip);
    if (!ip || holder !== mac) {
      this.refuseScript(node, ip, holder);
      return localBootScript(`${ip ?? 'this address'} does not hold the DHCP lease of ${mac}: no agent for it`, node.firmware);
    }
    const purpose: TokenPurpose = node.state === 'deploying' ? 'deploy' : node.state === 'cleaning' ? 'clean' : 'inventory';
    const token = this.stores.tokens.issue(node.id, purpose, ip);
    return discoveryScript({
      base, kernelPath: s.ramdisk.kernelPath, initrdPath: s.ramdisk.initrdPath, nodeId: node.id, mac, token,
      bundledBiosIpxe: s.biosIpxe === 'bundled' ? `tftp://${s.serverIp}/undionly.kpxe` : null,
    });
  }

  /** A boot script for `node` asked from an address that does not hold its lease: a warning, at most one a minute per address. */
  private refuseScript(node: NodeSummary, ip: string | null, holder: string | null): void {
    const key = `${node.id}|${ip ?? ''}`;
    const now = Date.now();
    const last = this.scriptRefusals.get(key);
    this.log.warn({ node: node.id, mac: node.mac, ip, holder }, 'boot script for a node asked from an address that does not hold its lease');
    if (last !== undefined && now - last < 60_000) return;
    if (this.scriptRefusals.size > 10_000) this.scriptRefusals.clear();
    this.scriptRefusals.set(key, now);
    this.bus.record({
      source: 'http', kind: 'script-refused', mac: node.mac, nodeId: node.id, level: 'warn',
      message: `boot script for this node asked from ${ip ?? 'an unknown address'}, which does not hold its DHCP lease${holder ? ` (it is ${holder}'s)` : ''}: no agent token given, nothing changed`,
      detail: { from: ip, holder },
    });
  }

  /** Whether `node` network-boots the agent ramdisk: discovery/inspection, or a deploy/clean step that needs the agent. */
  private bootsRamdisk(node: NodeSummary): boolean {
    if (BOOTS_RAMDISK.has(node.state)) return true;
    return (node.state === 'deploying' || node.state === 'cleaning') && (this.stores.deploys?.bootsAgent(node.id) ?? false);
  }

  /**
   * Admission of a client that is not a node yet (`node` null) or is `seen`: the node, now `discovered`, when it may
   * boot; null when it may not (then it is recorded as `seen`, once). `uuid` is the PXE client's option 97.
   */
  private admit(mac: string, node: NodeSummary | null, via: EventSource, uuid: string | null): NodeSummary | null {
    if (this.admission() === 'open') {
      return node ? this.lifecycle.admit(node.id, 'open-admission') : this.lifecycle.ensureNode(mac, via).node;
    }
    const job = uuid ? this.poweredOnJob(uuid) : null;
    if (job) {
      const admitted = node ? this.lifecycle.admit(node.id, 'bmc-power-on')! : this.lifecycle.ensureNode(mac, via, 'bmc-power-on').node;
      this.bus.record({
        source: 'job', kind: 'admitted', mac, nodeId: admitted.id,
        message: `booted: its PXE UUID ${uuid} is the System GUID of BMC ${job.bmcAddress}, which job ${job.id} powered on`,
        detail: { job: job.id, bmc: job.bmcAddress, uuid },
      });
      return this.nodes.update(admitted.id, { poweredOnByRackSeed: true }) ?? admitted;
    }
    if (!node) this.lifecycle.recordSeen(mac, via, this.notAdmittedWhy(), uuid);
    return null;
  }

  /** Why a client is not booted under allowlist admission ("proxy mode", "safe mode", …). */
  private notAdmittedWhy(): string {
    const s = this.settings();
    return allowlistReason(this.stores.network(), s.safeMode);
  }

  /**
   * The unfinished job that has powered on (its `power-on` step running or done) the BMC whose System GUID matches
   * `uuid` (either byte order, guid.ts), or null. Only such a job makes an unknown PXE client bootable under
   * allowlist admission: RackSeed started that machine, so it is the one the engineer asked to discover.
   */
  private poweredOnJob(uuid: string): Job | null {
    for (const job of this.stores.jobs.listUnfinished()) {
      if (!job.bmcAddress) continue;
      const on = job.steps.find((st) => st.name === 'power-on');
      if (!on || (on.status !== 'running' && on.status !== 'done')) continue;
      if (guidsMatch(this.stores.bmcs.get(job.bmcAddress)?.guid, uuid)) return job;
    }
    return null;
  }
}
