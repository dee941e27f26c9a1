// The core's event bus: node events are persisted (EventStore) and then broadcast, together with node, job,
// sweep and services updates, to subscribers (the API's WebSocket stream). Listeners must not throw; one that
// does is logged and kept.
import type { Logger } from 'pino';
import type { StreamMessage } from '../shared/api.ts';
import type { NodeEvent } from '../shared/node.ts';
import type { EventStore, NewEvent } from './store/events.ts';

export type StreamListener = (msg: StreamMessage) => void;

export class EventBus {
  private readonly listeners = new Set<StreamListener>();

  constructor(private readonly store: EventStore, private readonly log: Logger) {}

  /** Register a listener; returns the function that removes it. */
  subscribe(fn: StreamListener): () => void {
    this.listeners.add(fn);
    return () => { this.listeners.delete(fn); };
  }

  /** Broadcast a message (not persisted; node events go through `record`). */
  publish(msg: StreamMessage): void {
    for (const fn of this.listeners) {
      try { fn(msg); } catch (err) { this.log.warn({ err }, 'stream listener threw'); }
    }
  }

  /** Persist a node event, log it, broadcast it, and return it with its id. */
  record(e: NewEvent): NodeEvent {
    const ev = this.store.append(e);
    const level = ev.level === 'error' ? 'warn' : 'debug';
    if (this.log.isLevelEnabled(level)) this.log[level]({ mac: ev.mac, node: ev.nodeId, source: ev.source, kind: ev.kind }, ev.message);
    this.publish({ type: 'event', payload: ev });
    return ev;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
