// The single bridge between the daemon's event stream and the store: opens `WS /api/v1/stream`, parses each
// frame as a StreamMessage and turns it into setState. Reconnects with exponential backoff (0.5 s → 10 s,
// jittered); after a reconnect it reloads the snapshot (`onReconnect`) because messages sent while
// disconnected are lost.
import type { StreamMessage } from '../../shared/api.ts';
import type { NodeEvent } from '../../shared/node.ts';
import type { AppStore } from '../store/store.ts';
import type { NodeUpdate } from '../store/slices.ts';

const MESSAGE_TYPES: ReadonlySet<string> = new Set(['event', 'node', 'node-state', 'sweep', 'services', 'job', 'image', 'image-removed', 'deploy', 'seed']);

/**
 * Parse one frame: a StreamMessage, or an array of them (the daemon sends the messages of one turn together).
 * Returns the valid messages in order and how many entries were not messages; null when the frame is not JSON.
 */
export function parseStreamFrame(data: unknown): { messages: StreamMessage[]; dropped: number } | null {
  if (typeof data !== 'string') return null;
  let v: unknown;
  try { v = JSON.parse(data); } catch { return null; }
  const items = Array.isArray(v) ? v : [v];
  const messages: StreamMessage[] = [];
  for (const item of items) { const m = validStreamMessage(item); if (m) messages.push(m); }
  return { messages, dropped: items.length - messages.length };
}

function validStreamMessage(v: unknown): StreamMessage | null {
  if (typeof v !== 'object' || v === null) return null;
  const m = v as { type?: unknown; payload?: unknown };
  if (typeof m.type !== 'string' || !MESSAGE_TYPES.has(m.type)) return null;
  if (typeof m.payload !== 'object' || m.payload === null) return null;
  return m as StreamMessage;
}

/** Apply one message to the store. Pure with respect to the outside world: only setState. */
export function applyStreamMessage(store: AppStore, msg: StreamMessage): void {
  const s = store.getState();
  switch (msg.type) {
    case 'event': s.addEvent(msg.payload); break;
    case 'node': s.upsertNode(msg.payload); break;
    case 'node-state': s.setNodeState(msg.payload.id, msg.payload.state); break;
    case 'sweep':
      s.setSweep(msg.payload.status);
      if (msg.payload.found) s.upsertBmc(msg.payload.found);
      break;
    case 'services': s.setServices(msg.payload); break;
    case 'image': s.upsertImage(msg.payload); break;
    case 'image-removed': s.removeImage(msg.payload.id); break;
    case 'deploy': s.upsertDeployment(msg.payload); break;
    case 'seed': s.setSeed(msg.payload); break;
    case 'job': {
      const job = msg.payload;
      if (job.kind === 'handoff') s.setHandoffJob(job);
      const d = job.nodeId ? s.details[job.nodeId] : undefined;
      if (d) {
        const jobs = d.jobs.filter((j) => j.id !== job.id);
        jobs.push(job);
        s.setDetail({ ...d, jobs });
      }
      break;
    }
  }
}

/** Delay before reconnect attempt `n` (0-based): 500 ms doubling, capped at 10 s, ±20 % jitter. */
export function backoffMs(n: number, random: () => number = Math.random): number {
  const base = Math.min(10_000, 500 * 2 ** Math.min(n, 10));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** How long stream events are gathered before they reach the store (one render per batch, not per event). */
export const EVENT_BATCH_MS = 100;

/**
 * Gathers 'event' messages and hands them to the store in one `addEvents` per `EVENT_BATCH_MS`: a DHCP storm
 * streams thousands of events a second, and one state change (and render) each froze the page. `flush()` applies
 * what is gathered at once; callers flush before any other message so the store sees messages in stream order.
 */
export function createEventBatcher(store: AppStore, schedule: (fn: () => void) => unknown = (fn) => setTimeout(fn, EVENT_BATCH_MS)) {
  let queue: NodeEvent[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    store.getState().addEvents(batch);
  };
  return {
    push(e: NodeEvent): void {
      queue.push(e);
      if (!scheduled) { scheduled = true; schedule(flush); }
    },
    flush,
  };
}

/** The next animation frame where there is one (a browser), else a 16 ms timer (Node, hidden tabs get rAF paused: a 250 ms timer backs it up). */
export function nextFrame(fn: () => void): unknown {
  if (typeof requestAnimationFrame !== 'function') return setTimeout(fn, 16);
  let done = false;
  const once = (): void => { if (!done) { done = true; fn(); } };
  requestAnimationFrame(once);
  return setTimeout(once, 250);
}

/**
 * Live updates batched per animation frame: every stream message of a frame is gathered and applied together —
 * runs of 'event' messages as one `addEvents`, runs of 'node'/'node-state' messages as one `applyNodeUpdates`, the
 * others in between as they came — so a hall of 1,000 nodes reporting at once costs one store change (and one
 * render of the fleet table) per frame instead of one per message. Stream order is kept. `flush()` applies now.
 */
export function createStreamBatcher(store: AppStore, schedule: (fn: () => void) => unknown = nextFrame) {
  let queue: StreamMessage[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    let events: NodeEvent[] = [];
    let nodes: NodeUpdate[] = [];
    const s = store.getState();
    const settle = (): void => {
      if (events.length) { s.addEvents(events); events = []; }
      if (nodes.length) { s.applyNodeUpdates(nodes); nodes = []; }
    };
    for (const m of batch) {
      if (m.type === 'event') { if (nodes.length) settle(); events.push(m.payload); continue; }
      if (m.type === 'node' || m.type === 'node-state') {
        if (events.length) settle();
        nodes.push(m.type === 'node' ? { node: m.payload } : { id: m.payload.id, state: m.payload.state });
        continue;
      }
      settle();
      applyStreamMessage(store, m);
    }
    settle();
  };
  return {
    push(m: StreamMessage): void {
      queue.push(m);
      if (!scheduled) { scheduled = true; schedule(flush); }
    },
    flush,
    /** messages waiting for the next frame */
    get pending(): number { return queue.length; },
  };
}

export interface StreamHandle { close(): void }

export interface ConnectOptions {
  url: string;
  store: AppStore;
  /** called after every successful (re)connection except the first, to reload snapshots */
  onReconnect?: () => void;
  WebSocketImpl?: typeof WebSocket;
}

export function connectStream(opts: ConnectOptions): StreamHandle {
  const WS = opts.WebSocketImpl ?? WebSocket;
  let attempt = 0;
  let opened = false;
  let closed = false;
  let ws: WebSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const batch = createStreamBatcher(opts.store);

  const open = (): void => {
    if (closed) return;
    opts.store.getState().setStreamStatus('connecting');
    ws = new WS(opts.url);
    ws.onopen = () => {
      opts.store.getState().setStreamStatus('open');
      if (opened) opts.onReconnect?.();
      opened = true;
      attempt = 0;
    };
    ws.onmessage = (ev) => {
      const frame = parseStreamFrame(ev.data);
      if (!frame || frame.dropped > 0) console.warn(`rackseed: dropped ${frame ? `${frame.dropped} malformed stream message(s)` : 'a malformed stream frame'}`);
      for (const msg of frame?.messages ?? []) batch.push(msg);
    };
    // a failed handshake (e.g. 401) surfaces as error + close(1006); the close handler decides
    ws.onerror = () => { /* followed by close */ };
    ws.onclose = (ev) => {
      ws = null;
      if (closed) return;
      // 4401 / 1008: the daemon refused our credentials; retrying will not help until the user logs in again
      if (ev.code === 4401 || ev.code === 1008) {
        opts.store.getState().setStreamStatus('unauthorized');
        return;
      }
      opts.store.getState().setStreamStatus('closed');
      timer = setTimeout(open, backoffMs(attempt++));
    };
  };
  open();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      batch.flush();
      ws?.close();
    },
  };
}
