// Applies the transition table (lifecycle.ts) to stored nodes: each transition is checked, written, its
// `lifecycle/state` event recorded (in the same transaction for in-memory cores; with a data directory the event log
// is its own file, written within ~10 ms — see store/events.ts), then broadcast. Also creates nodes the first time a MAC is seen.
import type { Db } from './db.ts';
import type { NodeState, NodeSummary, EventSource } from '../shared/node.ts';
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
   * Move node `id` to `to` for `cause`. `reason` is kept as lastError when `to` is `error` (required then) and
   * cleared otherwise. Throws IllegalTransitionError (nothing written) when the table does not allow it.
   */
  transition(id: string, to: NodeState, cause: TransitionCause, reason: string | null = null): NodeSummary {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    if (!canTransition(node.state, to, cause)) throw new IllegalTransitionError(node.state, to, cause);
    if (to === 'error' && !reason) throw new Error('a transition to error needs a reason');
    const ev = this.db.transaction(() => {
      this.nodes.writeState(id, to, to === 'error' ? reason : null);
      return this.events.append({
        source: 'lifecycle', kind: 'state', mac: node.mac, nodeId: id,
        message: `${node.state} → ${to} (${cause})${reason ? `: ${reason}` : ''}`,
        detail: { from: node.state, to, cause, ...(reason ? { reason } : {}) },
        level: to === 'error' ? 'error' : 'info',
      });
    })();
    const updated = this.nodes.get(id)!;
    this.bus.publish({ type: 'event', payload: ev });
    this.bus.publish({ type: 'node-state', payload: { id, state: to } });
    this.bus.publish({ type: 'node', payload: updated });
    return updated;
  }

  /** The node for `mac` (normalised), creating it `discovered` (with an event from `source`) if unknown. */
  ensureNode(mac: string, source: EventSource): { node: NodeSummary; created: boolean } {
    const existing = this.nodes.getByMac(mac);
    if (existing) return { node: existing, created: false };
    const { node, ev } = this.db.transaction(() => {
      const n = this.nodes.create(mac, 'discovered');
      const e = this.events.append({
        source: 'lifecycle', kind: 'discovered', mac, nodeId: n.id,
        message: `new node ${mac} discovered (first seen by ${source})`, detail: { cause: 'pxe-unknown', via: source },
      });
      return { node: n, ev: e };
    })();
    this.bus.publish({ type: 'event', payload: ev });
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
