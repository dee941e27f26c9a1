// Applies the transition table (lifecycle.ts) to stored nodes: each transition is checked, written, its
// `lifecycle/state` event recorded (in the same transaction for in-memory cores; with a data directory the event log
// is its own file, written within ~10 ms — see store/events.ts), then broadcast. Also creates nodes the first time a MAC is
// seen: `discovered` when it may boot, `seen` when it may not (allowlist admission), and admits seen ones.
import type { Db } from './db.ts';
import { FAILED_STATES, type NodeEvent, type NodeState, type NodeSummary, type EventSource } from '../shared/node.ts';
import type { NodeStore } from './store/nodes.ts';
import type { EventStore } from './store/events.ts';
import type { EventBus } from './event-bus.ts';
import { canTransition, IllegalTransitionError, type TransitionCause } from './lifecycle.ts';

export class NodeLifecycle {
  constructor(
    private readonly db: Db,
    private readonly nodes: NodeStore,
    private readonly events: EventStore,
    private readonly bus: EventBus,
  ) {}

  /**
   * Move node `id` to `to` for `cause`. `reason` is kept as lastError when `to` is a failed state (`error`,
   * `deploy-failed`, `clean-failed`: required then) and cleared otherwise. Throws IllegalTransitionError (nothing
   * written) when the table does not allow it.
   */
  transition(id: string, to: NodeState, cause: TransitionCause, reason: string | null = null): NodeSummary {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    if (!canTransition(node.state, to, cause)) throw new IllegalTransitionError(node.state, to, cause);
    const failed = FAILED_STATES.includes(to);
    if (failed && !reason) throw new Error(`a transition to ${to} needs a reason`);
    const ev = this.db.transaction(() => {
      this.nodes.writeState(id, to, failed ? reason : null);
      return this.events.append({
        source: 'lifecycle', kind: 'state', mac: node.mac, nodeId: id,
        message: `${node.state} → ${to} (${cause})${reason ? `: ${reason}` : ''}`,
        detail: { from: node.state, to, cause, ...(reason ? { reason } : {}) },
        level: failed ? 'error' : 'info',
      });
    })();
    const updated = this.nodes.get(id)!;
    this.bus.publish({ type: 'event', payload: ev });
    this.bus.publish({ type: 'node-state', payload: { id, state: to } });
    this.bus.publish({ type: 'node', payload: updated });
    return updated;
  }

  /**
   * The node for `mac` (normalised), creating it `discovered` (with an event from `source`) if unknown. `cause` says
   * why it may boot: first seen while every client is admitted ('pxe-unknown'), allowed by the engineer ('allowed'),
   * or PXE-booted by a RackSeed job through its BMC ('bmc-power-on').
   */
  ensureNode(mac: string, source: EventSource, cause: 'pxe-unknown' | 'allowed' | 'bmc-power-on' = 'pxe-unknown'): { node: NodeSummary; created: boolean } {
    const existing = this.nodes.getByMac(mac);
    if (existing) return { node: existing, created: false };
    const why = cause === 'allowed' ? 'allowed to boot' : cause === 'bmc-power-on' ? 'PXE-booted after RackSeed powered its BMC on' : `first seen by ${source}`;
    return this.create(mac, 'discovered', {
      source: 'lifecycle', kind: 'discovered', message: `new node ${mac} discovered (${why})`, detail: { cause, via: source },
    });
  }

  /**
   * Record a PXE client that is not booted (allowlist admission) as a `seen` node, once per MAC: the node and its
   * `lifecycle/seen` event are written only the first time; later requests change nothing. `why` names the rule in
   * force ("proxy mode"); `uuid` is the client's PXE machine identifier (option 97), kept to help recognise it.
   */
  recordSeen(mac: string, source: EventSource, why: string, uuid: string | null): { node: NodeSummary; created: boolean } {
    const existing = this.nodes.getByMac(mac);
    if (existing) return { node: existing, created: false };
    return this.create(mac, 'seen', {
      source: 'lifecycle', kind: 'seen', message: `PXE client seen, not booted (${why}: only allowed machines boot)`,
      detail: { cause: 'pxe-unknown', via: source, admission: 'allowlist', ...(uuid ? { uuid } : {}) },
    }, uuid);
  }

  /**
   * Let a `seen` node boot (→ `discovered`, with `cause`); a node in any other state is already admitted and is
   * returned unchanged. Null when there is no such node.
   */
  admit(id: string, cause: 'allowed' | 'bmc-power-on' | 'open-admission'): NodeSummary | null {
    const node = this.nodes.get(id);
    if (!node) return null;
    return node.state === 'seen' ? this.transition(id, 'discovered', cause) : node;
  }

  /** Allow `mac` (normalised) to boot: its `seen` node → `discovered`; a MAC not seen yet becomes a `discovered` node. */
  allowMac(mac: string): NodeSummary {
    const n = this.nodes.getByMac(mac);
    return n ? this.admit(n.id, 'allowed')! : this.ensureNode(mac, 'api', 'allowed').node;
  }

  private create(mac: string, state: NodeState, ev: Omit<NodeEvent, 'id' | 'at' | 'mac' | 'nodeId'>, uuid: string | null = null): { node: NodeSummary; created: boolean } {
    const { node, e } = this.db.transaction(() => {
      let n = this.nodes.create(mac, state);
      if (uuid) n = this.nodes.update(n.id, { uuid }) ?? n;
      return { node: n, e: this.events.append({ ...ev, mac, nodeId: n.id }) };
    })();
    this.bus.publish({ type: 'event', payload: e });
    this.bus.publish({ type: 'node', payload: node });
    return { node, created: true };
  }

  /**
   * Set or clear a node's maintenance flag (RackSeed leaves such a node alone: its iPXE script boots the local disk
   * and no inspection starts), with a `lifecycle/maintenance` event (see the transaction note at the top). Null when no node.
   */
  setMaintenance(id: string, on: boolean, reason: string | null): NodeSummary | null {
    const out = this.db.transaction(() => {
      const node = this.nodes.update(id, { maintenance: on });
      if (!node) return null;
      const ev = this.events.append({
        source: 'lifecycle', kind: 'maintenance', mac: node.mac, nodeId: id, level: 'info',
        message: on ? `maintenance on${reason ? `: ${reason}` : ''}` : 'maintenance off',
        detail: { maintenance: on, ...(reason ? { reason } : {}) },
      });
      return { node, ev };
    })();
    if (!out) return null;
    this.bus.publish({ type: 'event', payload: out.ev });
    this.bus.publish({ type: 'node', payload: out.node });
    return out.node;
  }

  /** Broadcast the current row of a node after a non-state change (inventory, ip, power, bmc). */
  announce(id: string): void {
    const n = this.nodes.get(id);
    if (n) this.bus.publish({ type: 'node', payload: n });
  }
}
