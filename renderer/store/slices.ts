// The store's typed slices (zustand "slices pattern"): each slice owns its state and the plain setters that
// change it. Side effects (API calls) live in ../actions.ts; backend events come in through ../api/bridge.ts.
import type { StateCreator } from 'zustand/vanilla';
import type {
  BmcInfo, Job, NetInterface, NetworkConfig, NodeDetail, ServicesStatus, SurveyResult, SweepStatus,
} from '../../shared/api.ts';
import type { NodeEvent, NodeState, NodeSummary } from '../../shared/node.ts';
import type { EngineInfo, HandoffRecord } from '../../shared/handoff.ts';
import type { ImageRecord } from '../../shared/image.ts';
import type { Deployment } from '../../shared/deploy.ts';
import type { SeedPlan, SeedRecord } from '../../shared/seed.ts';

export type RootState = NetworkSlice & BmcSlice & NodesSlice & EventsSlice & ServicesSlice & HandoffSlice & SelectionSlice & DeploySlice & DeployUiSlice & SeedSlice & UiSlice;
type Slice<T> = StateCreator<RootState, [], [], T>;

export interface NetworkSlice {
  interfaces: NetInterface[];
  selectedInterface: string | null;
  survey: SurveyResult | null;
  networkConfig: NetworkConfig | null;
  setInterfaces(list: NetInterface[]): void;
  selectInterface(name: string | null): void;
  setSurvey(s: SurveyResult | null): void;
  setNetworkConfig(c: NetworkConfig | null): void;
}

export const createNetworkSlice: Slice<NetworkSlice> = (set) => ({
  interfaces: [],
  selectedInterface: null,
  survey: null,
  networkConfig: null,
  setInterfaces: (interfaces) => set({ interfaces }),
  selectInterface: (selectedInterface) => set({ selectedInterface }),
  setSurvey: (survey) => set({ survey }),
  setNetworkConfig: (networkConfig) => set({ networkConfig }),
});

export interface BmcSlice {
  bmcUser: string | null;
  bmcPasswordSet: boolean;
  sweep: SweepStatus | null;
  /** BMCs by address, in the order they were found */
  bmcs: BmcInfo[];
  setBmcCredentials(user: string | null, passwordSet: boolean): void;
  setSweep(s: SweepStatus | null): void;
  setBmcs(list: BmcInfo[]): void;
  upsertBmc(b: BmcInfo): void;
}

export const createBmcSlice: Slice<BmcSlice> = (set) => ({
  bmcUser: null,
  bmcPasswordSet: false,
  sweep: null,
  bmcs: [],
  setBmcCredentials: (bmcUser, bmcPasswordSet) => set({ bmcUser, bmcPasswordSet }),
  setSweep: (sweep) => set({ sweep }),
  setBmcs: (bmcs) => set({ bmcs }),
  upsertBmc: (b) => set((s) => {
    const i = s.bmcs.findIndex((x) => x.address === b.address);
    if (i < 0) return { bmcs: [...s.bmcs, b] };
    const bmcs = s.bmcs.slice();
    bmcs[i] = b;
    return { bmcs };
  }),
});

export interface NodesSlice {
  /** nodes by id */
  nodes: Record<string, NodeSummary>;
  /** full detail of nodes the user opened, by id */
  details: Record<string, NodeDetail>;
  setNodes(list: NodeSummary[]): void;
  upsertNode(n: NodeSummary): void;
  setNodeState(id: string, state: NodeState): void;
  /** many 'node' / 'node-state' stream messages in one state change (one render), applied in order */
  applyNodeUpdates(updates: NodeUpdate[]): void;
  setDetail(d: NodeDetail): void;
}

/** A 'node' (whole summary) or 'node-state' (state only) stream message, as applyNodeUpdates takes them. */
export type NodeUpdate = { node: NodeSummary } | { id: string; state: NodeState };

export const createNodesSlice: Slice<NodesSlice> = (set) => ({
  nodes: {},
  details: {},
  setNodes: (list) => set({ nodes: Object.fromEntries(list.map((n) => [n.id, n])) }),
  upsertNode: (n) => set((s) => {
    const detail = s.details[n.id];
    return {
      nodes: { ...s.nodes, [n.id]: n },
      ...(detail ? { details: { ...s.details, [n.id]: { ...detail, node: n } } } : {}),
    };
  }),
  setNodeState: (id, state) => set((s) => {
    const n = s.nodes[id];
    if (!n) return {};
    return { nodes: { ...s.nodes, [id]: { ...n, state } } };
  }),
  applyNodeUpdates: (updates) => set((s) => {
    if (updates.length === 0) return {};
    const nodes = { ...s.nodes };
    let details: Record<string, NodeDetail> | null = null;
    for (const u of updates) {
      if ('node' in u) {
        nodes[u.node.id] = u.node;
        const detail = (details ?? s.details)[u.node.id];
        if (detail) { details ??= { ...s.details }; details[u.node.id] = { ...detail, node: u.node }; }
      } else {
        const n = nodes[u.id];
        if (n) nodes[u.id] = { ...n, state: u.state };
      }
    }
    return details ? { nodes, details } : { nodes };
  }),
  setDetail: (d) => set((s) => ({ details: { ...s.details, [d.node.id]: d }, nodes: { ...s.nodes, [d.node.id]: d.node } })),
});

/**
 * The state change for new events: each id once (the stream and a snapshot reload can overlap), the log capped at
 * MAX_EVENTS, and every open node detail gets its own events so its boot timeline updates live. One pass over the
 * current log per batch, whatever the batch size.
 */
function mergeEvents(s: { events: NodeEvent[]; details: Record<string, NodeDetail> }, list: NodeEvent[]): Partial<{ events: NodeEvent[]; details: Record<string, NodeDetail> }> {
  const seen = new Set(s.events.map((x) => x.id));
  const fresh = list.filter((e) => !seen.has(e.id) && (seen.add(e.id), true));
  if (fresh.length === 0) return {};
  const all = s.events.concat(fresh);
  const events = all.length > MAX_EVENTS ? all.slice(all.length - MAX_EVENTS) : all;
  let details: Record<string, NodeDetail> | null = null;
  for (const e of fresh) {
    const d = e.nodeId ? (details ?? s.details)[e.nodeId] : undefined;
    if (!d || d.events.some((x) => x.id === e.id)) continue;
    details ??= { ...s.details };
    details[d.node.id] = { ...d, events: [...d.events, e] };
  }
  return details ? { events, details } : { events };
}

/** The event log keeps the newest MAX_EVENTS entries. */
export const MAX_EVENTS = 1000;

export interface EventsSlice {
  /** oldest first, de-duplicated by id */
  events: NodeEvent[];
  setEvents(list: NodeEvent[]): void;
  addEvent(e: NodeEvent): void;
  /** Add many (ids increasing) in one state change: the stream delivers a DHCP storm's events in batches. */
  addEvents(list: NodeEvent[]): void;
}

export const createEventsSlice: Slice<EventsSlice> = (set) => ({
  events: [],
  setEvents: (list) => set({ events: list.slice(-MAX_EVENTS) }),
  addEvent: (e) => set((s) => mergeEvents(s, [e])),
  addEvents: (list) => set((s) => mergeEvents(s, list)),
});

export interface ServicesSlice {
  services: ServicesStatus | null;
  setServices(s: ServicesStatus | null): void;
}

export const createServicesSlice: Slice<ServicesSlice> = (set) => ({
  services: null,
  setServices: (services) => set({ services }),
});

export interface HandoffSlice {
  /** latest hand-off record of every node that has one or is owned by an engine, by node id (GET /handoff) */
  handoffs: Record<string, HandoffRecord>;
  /** latest hand-off job per node id, live from 'job' stream messages (its steps are the progress) */
  handoffJobs: Record<string, Job>;
  /** engines the daemon knows (GET /engines: never a password, only whether one is stored) */
  engines: EngineInfo[];
  /** replace all records (a full GET /handoff) */
  setHandoffs(list: HandoffRecord[]): void;
  /** merge records (a POST answer, a GET for some nodes) */
  upsertHandoffs(list: HandoffRecord[]): void;
  /** a hand-off job changed; older updates of the same job (by updatedAt) are ignored */
  setHandoffJob(job: Job): void;
  setEngines(list: EngineInfo[]): void;
}

export const createHandoffSlice: Slice<HandoffSlice> = (set) => ({
  handoffs: {},
  handoffJobs: {},
  engines: [],
  setHandoffs: (list) => set({ handoffs: Object.fromEntries(list.map((r) => [r.nodeId, r])) }),
  upsertHandoffs: (list) => set((s) => (list.length ? { handoffs: { ...s.handoffs, ...Object.fromEntries(list.map((r) => [r.nodeId, r])) } } : {})),
  setHandoffJob: (job) => set((s) => {
    if (!job.nodeId) return {};
    const cur = s.handoffJobs[job.nodeId];
    // a newer job of the node replaces the old one; the same job only moves forward in time
    if (cur && cur.id === job.id && cur.updatedAt > job.updatedAt) return {};
    if (cur && cur.id !== job.id && cur.createdAt > job.createdAt) return {};
    return { handoffJobs: { ...s.handoffJobs, [job.nodeId]: job } };
  }),
  setEngines: (engines) => set({ engines }),
});

/** Nodes the engineer ticked in the fleet table: what Hand over, Take back and Export act on. */
export interface SelectionSlice {
  /** node ids, in the order they were ticked */
  selection: string[];
  toggleSelected(id: string, on?: boolean): void;
  /** tick exactly these (the header checkbox: every visible row) */
  setSelection(ids: string[]): void;
  clearSelection(): void;
}

export const createSelectionSlice: Slice<SelectionSlice> = (set) => ({
  selection: [],
  toggleSelected: (id, on) => set((s) => {
    const has = s.selection.includes(id);
    const want = on ?? !has;
    if (want === has) return {};
    return { selection: want ? [...s.selection, id] : s.selection.filter((x) => x !== id) };
  }),
  setSelection: (ids) => set({ selection: [...new Set(ids)] }),
  clearSelection: () => set((s) => (s.selection.length ? { selection: [] } : {})),
});

/** The image library and every node's latest deploy/release, live from 'image' and 'deploy' stream messages. */
export interface DeploySlice {
  /** images by id */
  images: Record<string, ImageRecord>;
  /** the latest deploy or release of each node, by node id */
  deployments: Record<string, Deployment>;
  setImages(list: ImageRecord[]): void;
  upsertImage(i: ImageRecord): void;
  removeImage(id: string): void;
  setDeployments(list: Deployment[]): void;
  /** a deployment changed; an older update of the same job (by updatedAt) is ignored */
  upsertDeployment(d: Deployment): void;
}

export const createDeploySlice: Slice<DeploySlice> = (set) => ({
  images: {},
  deployments: {},
  setImages: (list) => set({ images: Object.fromEntries(list.map((i) => [i.id, i])) }),
  upsertImage: (i) => set((s) => ({ images: { ...s.images, [i.id]: i } })),
  removeImage: (id) => set((s) => {
    if (!s.images[id]) return {};
    const images = { ...s.images };
    delete images[id];
    return { images };
  }),
  setDeployments: (list) => set({ deployments: Object.fromEntries(list.map((d) => [d.nodeId, d])) }),
  upsertDeployment: (d) => set((s) => {
    const cur = s.deployments[d.nodeId];
    if (cur && cur.jobId === d.jobId && cur.updatedAt > d.updatedAt) return {};
    return { deployments: { ...s.deployments, [d.nodeId]: d } };
  }),
});

/** An image file this browser is sending to the daemon (XHR upload progress), by image name. */
export interface Upload {
  name: string;
  fileName: string;
  /** bytes sent so far and the file's size */
  sent: number;
  total: number;
  startedAt: number;
  /** MB/s (10^6 bytes) over the upload so far */
  mbps: number | null;
  /** uploading: bytes still going out; processing: all sent, the daemon still checks/converts; done/failed: its answer */
  status: 'uploading' | 'processing' | 'done' | 'failed';
  error: string | null;
}

/** What the Deploy step keeps beside the library and the deployments: uploads from this page, preset node picks. */
export interface DeployUiSlice {
  /** uploads started from this page, by image name */
  uploads: Record<string, Upload>;
  /** nodes the Deploy step starts with ticked (the fleet's Deploy/Redeploy action); null = every available node */
  deployPreset: string[] | null;
  setUpload(u: Upload): void;
  clearUpload(name: string): void;
  setDeployPreset(ids: string[] | null): void;
}

export const createDeployUiSlice: Slice<DeployUiSlice> = (set) => ({
  uploads: {},
  deployPreset: null,
  setUpload: (u) => set((s) => ({ uploads: { ...s.uploads, [u.name]: u } })),
  clearUpload: (name) => set((s) => {
    if (!s.uploads[name]) return {};
    const uploads = { ...s.uploads };
    delete uploads[name];
    return { uploads };
  }),
  setDeployPreset: (deployPreset) => set({ deployPreset }),
});

/** The seed (issue 17): the latest seed record, live from 'seed' stream messages, and the daemon's plan. */
export interface SeedSlice {
  /** the latest seed (GET /api/v1/seed); null: never seeded */
  seed: SeedRecord | null;
  /** the plan for the control node the Seed step shows (GET /api/v1/seed/plan[?control=]) */
  seedPlan: SeedPlan | null;
  /** a seed changed; an older update of the same seed (by updatedAt) is ignored, a newer seed replaces an older one */
  setSeed(r: SeedRecord | null): void;
  setSeedPlan(p: SeedPlan | null): void;
}

export const createSeedSlice: Slice<SeedSlice> = (set) => ({
  seed: null,
  seedPlan: null,
  setSeed: (r) => set((s) => {
    const cur = s.seed;
    if (r && cur && cur.id === r.id && cur.updatedAt > r.updatedAt) return {};
    if (r && cur && cur.id !== r.id && cur.startedAt > r.startedAt) return {};
    return { seed: r };
  }),
  setSeedPlan: (seedPlan) => set({ seedPlan }),
});

export type WizardStep = 'network' | 'bmc' | 'discover' | 'deploy' | 'seed';
export type StreamStatus = 'connecting' | 'open' | 'closed' | 'unauthorized';
export type Route =
  | { page: 'wizard'; step: WizardStep }
  | { page: 'fleet'; nodeId: string | null }
  | { page: 'events' };
export type SortKey = 'mac' | 'ip' | 'firmware' | 'state' | 'bmc' | 'serial' | 'cpu' | 'memoryMiB' | 'diskGiB' | 'power';

export interface Notice { id: number; kind: 'error' | 'info'; text: string }

export interface UiSlice {
  route: Route;
  streamStatus: StreamStatus;
  filter: string;
  sort: { key: SortKey; dir: 'asc' | 'desc' };
  notices: Notice[];
  setRoute(r: Route): void;
  setStreamStatus(s: StreamStatus): void;
  setFilter(f: string): void;
  /** same key toggles the direction; a new key sorts ascending */
  sortBy(key: SortKey): void;
  notify(kind: Notice['kind'], text: string): void;
  dismiss(id: number): void;
}

let noticeSeq = 0;

export const createUiSlice: Slice<UiSlice> = (set) => ({
  route: { page: 'wizard', step: 'network' },
  streamStatus: 'connecting',
  filter: '',
  sort: { key: 'mac', dir: 'asc' },
  notices: [],
  setRoute: (route) => set({ route }),
  setStreamStatus: (streamStatus) => set({ streamStatus }),
  setFilter: (filter) => set({ filter }),
  sortBy: (key) => set((s) => ({ sort: { key, dir: s.sort.key === key && s.sort.dir === 'asc' ? 'desc' : 'asc' } })),
  notify: (kind, text) => set((s) => ({ notices: [...s.notices.slice(-4), { id: ++noticeSeq, kind, text }] })),
  dismiss: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
});
