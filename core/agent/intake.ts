// The agent side of the core (shared/inventory.ts documents the protocol): authenticate a per-node bearer token,
// accept a validated inventory (store it, summarise it on the node, advance the lifecycle, match the BMC by GUID),
// and answer the agent's "what next?". Every refusal happens before anything is written.
import type { Logger } from 'pino';
import { checkInventory, totalDiskBytes, type AgentCommand, type Inventory } from '../../shared/inventory.ts';
import type { NodeSummary } from '../../shared/node.ts';
import type { NodeStore } from '../store/nodes.ts';
import type { JobStore } from '../store/jobs.ts';
import type { BmcStore } from '../store/bmcs.ts';
import type { NodeLifecycle } from '../node-lifecycle.ts';
import type { EventBus } from '../event-bus.ts';
import type { Db } from '../db.ts';
import { guidsMatch } from '../guid.ts';
import { AgentTokens, plainIp, type AgentCapability } from './tokens.ts';

export type AgentAuth = { ok: true; node: NodeSummary } | { ok: false; status: 401; error: string };

/** A refused agent request is recorded on its node at most once per this span per (node, reason, address). */
const REFUSAL_EVENT_EVERY_MS = 60_000;
export interface AgentReply { status: number; body: Record<string, unknown> }

/** Called after an inventory was stored (the job runner listens). Must not throw. */
export type InventoryListener = (node: NodeSummary, inv: Inventory) => void;

/** How often the agent of a node RackSeed leaves running (it did not power it on) asks for a command. */
export const LEFT_RUNNING_POLL_S = 60;

const ACCEPTS_INVENTORY = new Set<NodeSummary['state']>(['discovered', 'inspecting', 'available', 'error', 'deploying', 'cleaning']);
/** States whose node posts an inventory from the deploy/clean agent: it is kept (fresh disk facts), the state stays. */
const KEEPS_STATE = new Set<NodeSummary['state']>(['deploying', 'cleaning']);

export class AgentIntake {
  private readonly listeners = new Set<InventoryListener>();
  /** the agent tokens (tokens.ts): issued by the boot policy, checked here */
  readonly tokens: AgentTokens;
  /** (node, reason, address) → when its refusal was last recorded as an event */
  private readonly refusalsRecorded = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly nodes: NodeStore,
    private readonly jobs: JobStore,
    private readonly bmcs: BmcStore,
    private readonly lifecycle: NodeLifecycle,
    private readonly bus: EventBus,
    private readonly log: Logger,
    /** whether `ip` is the address the DHCP lease of node `nodeId`'s MAC holds now (CoreBootPolicy.holdsLease) */
    private readonly holdsLease: (nodeId: string, ip: string) => boolean = () => false,
  ) {
    this.tokens = new AgentTokens(db);
  }

  onInventory(fn: InventoryListener): () => void {
    this.listeners.add(fn);
    return () => { this.listeners.delete(fn); };
  }

  /**
   * Resolve `Authorization: Bearer <token>`, sent from `ip` to a route that needs `need`, to its node. Missing,
   * malformed or unknown token → 401; a known token that expired, comes from an address that does not hold its node's
   * lease, or is used for another purpose than it was issued for → 401 and a warning on the node (at most one a minute
   * per reason and address). Nothing else is changed.
   */
  authenticate(authorization: string | undefined, ip: string | null, need: AgentCapability): AgentAuth {
    if (!authorization || !authorization.startsWith('Bearer ')) return { ok: false, status: 401, error: 'missing bearer token' };
    const token = authorization.slice(7).trim();
    if (token.length < 16 || token.length > 128) return { ok: false, status: 401, error: 'invalid token' };
    const c = this.tokens.check(token, ip, need, this.holdsLease);
    const node = c.grant ? this.nodes.get(c.grant.nodeId) : null;
    if (!node) return { ok: false, status: 401, error: 'invalid token' };
    if (c.ok) return { ok: true, node };
    const why = c.reason === 'expired' ? `the token expired at ${new Date(c.grant!.expiresAt).toISOString()}`
      : c.reason === 'wrong-address' ? `the request came from ${plainIp(ip) ?? '?'}, the token was issued to ${c.grant!.ip} (the address holding the node's lease)`
        : `the token was issued for ${c.grant!.purpose}, not for this request (${need})`;
    this.recordRefusal(node, c.reason, plainIp(ip), why);
    return { ok: false, status: 401, error: c.reason === 'expired' ? 'token expired' : c.reason === 'wrong-address' ? 'token not valid from this address' : 'token not valid for this request' };
  }

  /** A warning on the node about a refused agent request (rate-limited: a flood of replays writes one a minute). */
  recordRefusal(node: NodeSummary, reason: string, ip: string | null, why: string): void {
    const key = `${node.id}|${reason}|${ip ?? ''}`;
    const now = Date.now();
    const last = this.refusalsRecorded.get(key);
    this.log.warn({ node: node.id, mac: node.mac, ip, reason }, `agent request refused: ${why}`);
    if (last !== undefined && now - last < REFUSAL_EVENT_EVERY_MS) return;
    if (this.refusalsRecorded.size > 10_000) this.refusalsRecorded.clear();
    this.refusalsRecorded.set(key, now);
    this.bus.record({
      source: 'agent', kind: 'agent-refused', mac: node.mac, nodeId: node.id, level: 'warn',
      message: `agent request refused (401): ${why}`, detail: { reason, from: ip },
    });
  }

  /**
   * Accept an inventory from `node` (already authenticated). 400 if it fails the schema; 403 if it names another
   * node or another boot MAC than the token's node; 409 if the node's state does not take inventories.
   */
  acceptInventory(node: NodeSummary, body: unknown, from: string | null): AgentReply {
    const check = checkInventory(body);
    if (!check.ok) {
      this.log.warn({ node: node.id, mac: node.mac, errors: check.errors }, 'inventory refused: schema');
      return { status: 400, body: { error: 'inventory does not match the schema', details: check.errors } };
    }
    const inv = check.value;
    if ((inv.nodeId !== null && inv.nodeId !== node.id) || (inv.bootMac !== null && inv.bootMac !== node.mac)) {
      this.log.warn({ node: node.id, mac: node.mac, claimedNode: inv.nodeId, claimedMac: inv.bootMac }, 'inventory refused: names another node');
      return { status: 403, body: { error: 'this token belongs to another node' } };
    }
    if (!ACCEPTS_INVENTORY.has(node.state)) {
      return { status: 409, body: { error: `node is ${node.state}; inventory not accepted` } };
    }
    const bootNic = inv.nics.find((n) => n.mac === node.mac);
    const cpu = inv.cpu.model ? `${inv.cpu.model}${inv.cpu.threads ? ` ×${inv.cpu.threads}` : ''}` : null;
    this.db.transaction(() => {
      this.nodes.update(node.id, {
        inventory: inv,
        serial: inv.dmi.system.serial,
        uuid: inv.dmi.system.uuid,
        firmware: inv.bootMode,
        cpu,
        memoryMiB: inv.memory.totalBytes !== null ? Math.round(inv.memory.totalBytes / 1048576) : null,
        diskGiB: Math.round((totalDiskBytes(inv) / 1073741824) * 100) / 100,
        // only a DHCP exchange moves a node's address (netboot-sink.ts); an inventory fills it in when none is known
        ip: node.ip ?? bootNic?.ipv4 ?? from,
        power: 'on',
      });
      this.bus.record({
        source: 'agent', kind: 'inventory', mac: node.mac, nodeId: node.id,
        message: `inventory received: serial ${inv.dmi.system.serial ?? '?'}, ${inv.disks.length} disk(s), ${inv.nics.length} NIC(s), ${inv.bootMode}`,
        detail: { serial: inv.dmi.system.serial, uuid: inv.dmi.system.uuid, bootMode: inv.bootMode, disks: inv.disks.length, from },
      });
      if (!KEEPS_STATE.has(node.state)) this.lifecycle.transition(node.id, 'available', 'inventory');
      this.matchBmcByGuid(node.id, inv.dmi.system.uuid);
    })();
    this.lifecycle.announce(node.id);
    for (const fn of this.listeners) {
      try { fn(this.nodes.get(node.id)!, inv); } catch (err) { this.log.error({ err, node: node.id }, 'inventory listener threw'); }
    }
    // after the listeners: a discovery job recognises its node (and marks it powered on by RackSeed) there
    const updated = this.nodes.get(node.id)!;
    if (!updated.poweredOnByRackSeed && !this.jobs.activeForNode(node.id)) {
      this.bus.record({
        source: 'agent', kind: 'left-running', mac: node.mac, nodeId: node.id,
        message: 'inventory done; RackSeed did not power this machine on, so it leaves it running (the agent idles in the discovery ramdisk)',
      });
    }
    return { status: 200, body: { ok: true, nodeId: node.id, state: updated.state } };
  }

  /**
   * The agent's next command: wait while a job still drives the node (it powers it off through the BMC); once the
   * inventory is in, power off — but only a machine a RackSeed job powered on (`poweredOnByRackSeed`). RackSeed never
   * powers off a machine it did not start: such a node stays on in the ramdisk, its agent asking again every
   * LEFT_RUNNING_POLL_S seconds (a job started later, e.g. an inspection through its BMC, still reaches it).
   */
  next(node: NodeSummary): AgentCommand {
    if (this.jobs.activeForNode(node.id)) return { action: 'wait', seconds: 5 };
    if (node.state !== 'available' && node.state !== 'error') return { action: 'wait', seconds: 5 };
    return node.poweredOnByRackSeed ? { action: 'poweroff' } : { action: 'wait', seconds: LEFT_RUNNING_POLL_S };
  }

  /** Link the node to the BMC whose System GUID equals its SMBIOS UUID (either byte order). Returns the BMC address or null. */
  matchBmcByGuid(nodeId: string, uuid: string | null): string | null {
    if (!uuid) return null;
    const bmc = this.bmcs.list().find((b) => guidsMatch(b.guid, uuid));
    if (!bmc) return null;
    const node = this.nodes.get(nodeId)!;
    if (bmc.nodeId === nodeId && node.bmc?.address === bmc.address) return bmc.address;
    if (bmc.nodeId && bmc.nodeId !== nodeId) this.nodes.update(bmc.nodeId, { bmcAddress: null, bmcMatchedBy: null });
    this.bmcs.upsert(bmc.address, { nodeId, seenAt: bmc.seenAt });
    this.nodes.update(nodeId, { bmcAddress: bmc.address, bmcMatchedBy: 'guid' });
    this.bus.record({ source: 'bmc', kind: 'bmc-matched', mac: node.mac, nodeId, message: `matched to BMC ${bmc.address} by System GUID ${bmc.guid}`, detail: { bmc: bmc.address, guid: bmc.guid, uuid } });
    return bmc.address;
  }
}
