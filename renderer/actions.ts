// Side effects of the UI: each action calls the daemon through the typed client and writes the answer into
// the store. Components call these; they never fetch themselves. `initActions` is called once at start-up.
import { ApiClient, ApiError, type DownloadedFile, type HandoverStopState } from './api/client.ts';
import type { NetworkConfig, PowerAction, BootDevRequest } from '../shared/api.ts';
import type { ExportFormat, HandoffRecord, HandoffRequest, ImportResult } from '../shared/handoff.ts';
import type { BatchDeployRequest, Deployment, DeploySettings } from '../shared/deploy.ts';
import type { SeedRecord, SeedRequest } from '../shared/seed.ts';
import { IMAGE_NAME, IMAGE_NAME_RULE, type ImageRecord } from '../shared/image.ts';
import { uploadImage, type XhrFactory } from './api/upload.ts';
import { appStore, type AppStore } from './store/store.ts';
import { ConsoleSocket, type ConsoleHandlers } from './api/console-socket.ts';
import type { ConsoleLogTail } from '../shared/console.ts';

let client: ApiClient | null = null;
let store: AppStore = appStore;
let unsubscribe: (() => void) | null = null;

export function initActions(c: ApiClient, s: AppStore = appStore): void {
  client = c;
  store = s;
  unsubscribe?.();
  // a hand-off job moved (this UI's, the CLI's, a resumed one): read that node's record again, and follow it while it runs
  unsubscribe = s.subscribe((now, prev) => {
    if (now.handoffJobs === prev.handoffJobs) return;
    const changed = Object.keys(now.handoffJobs).filter((id) => now.handoffJobs[id] !== prev.handoffJobs[id]);
    if (changed.length) void followHandoffs(changed);
  });
}

function api(): ApiClient {
  if (!client) throw new Error('actions used before initActions');
  return client;
}

/** Human text for an error, including the HTTP status the daemon gave. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    store.getState().notify('error', `${what}: ${errorText(err)}`);
    return undefined;
  }
}

/** Initial snapshot (and again after the stream reconnects). Each part fails independently. */
export async function loadSnapshot(): Promise<void> {
  const s = store.getState();
  await Promise.all([
    guarded('Interfaces', async () => s.setInterfaces(await api().interfaces())),
    guarded('Configuration', async () => {
      const cfg = await api().config();
      s.setNetworkConfig(cfg);
      if (cfg && !store.getState().selectedInterface) s.selectInterface(cfg.interface);
    }),
    guarded('Survey', async () => s.setSurvey(await api().lastSurvey())),
    guarded('Services', async () => s.setServices(await api().services())),
    guarded('Nodes', async () => s.setNodes(await api().nodes())),
    guarded('Events', async () => s.setEvents(await api().events({ limit: 500 }))),
    guarded('BMC credentials', async () => {
      const c = await api().bmcCredentials();
      s.setBmcCredentials(c.user, c.passwordSet);
    }),
    guarded('BMCs', async () => s.setBmcs(await api().bmcs())),
    loadHandoffs(),
    loadDeploy(),
    guarded('Seed', async () => s.setSeed(await api().seed())),
  ]);
}

export async function refreshInterfaces(): Promise<void> {
  await guarded('Interfaces', async () => store.getState().setInterfaces(await api().interfaces()));
}

export async function runSurvey(iface: string): Promise<void> {
  await guarded('Survey', async () => store.getState().setSurvey(await api().survey(iface)));
}

export type ApplyResult = { ok: true } | { ok: false; status: number | null; message: string };

/** PUT /config/network. A 409 (foreign DHCP server, authoritative without override) comes back as a result, not a notice. */
export async function applyNetwork(cfg: NetworkConfig): Promise<ApplyResult> {
  try {
    const status = await api().applyNetwork(cfg);
    store.getState().setServices(status);
    store.getState().setNetworkConfig(status.config ?? cfg);
    return { ok: true };
  } catch (err) {
    return { ok: false, status: err instanceof ApiError ? err.status : null, message: errorText(err) };
  }
}

export async function saveBmcCredentials(user: string, password: string): Promise<boolean> {
  const r = await guarded('BMC credentials', () => api().setBmcCredentials(user, password));
  if (!r) return false;
  store.getState().setBmcCredentials(r.user, r.passwordSet);
  return true;
}

export async function startSweep(cidr: string): Promise<void> {
  const s = store.getState();
  s.setBmcs([]);
  const st = await guarded('Sweep', () => api().sweep(cidr));
  if (st) s.setSweep(st);
}

export async function startDiscovery(): Promise<boolean> {
  const r = await guarded('Discovery', () => api().startDiscovery());
  if (r !== undefined) store.getState().notify('info', 'Discovery started: power on or PXE-boot the nodes.');
  return r !== undefined;
}

export async function loadNodeDetail(id: string): Promise<void> {
  await guarded('Node', async () => store.getState().setDetail(await api().node(id)));
}

/** Opens the node's live serial console (the component that asked owns the socket and closes it). */
export function openConsole(id: string, h: ConsoleHandlers): ConsoleSocket {
  return new ConsoleSocket(api().conn, id, h);
}

/** The last lines of the node's console log (kept across daemon restarts), or null when it cannot be read. */
export async function consoleTail(id: string, lines = 15): Promise<ConsoleLogTail | null> {
  try { return await api().consoleLog(id, lines); } catch { return null; }
}

export async function power(id: string, action: PowerAction): Promise<void> {
  const r = await guarded(`Power ${action}`, () => api().power(id, action));
  if (r) {
    const n = store.getState().nodes[id];
    if (n && r.power) store.getState().upsertNode({ ...n, power: r.power });
    store.getState().notify('info', `Power ${action} sent to ${n?.mac ?? id}`);
  }
}

export async function setBootDevice(id: string, req: BootDevRequest): Promise<void> {
  const r = await guarded('Boot device', () => api().bootdev(id, req));
  if (r) store.getState().notify('info', `Next boot: ${req.device}${req.persistent ? ' (persistent)' : ' (once)'}`);
}

export async function setMaintenance(id: string, on: boolean, reason?: string): Promise<void> {
  const r = await guarded('Maintenance', () => api().setMaintenance(id, on, reason));
  if (r) {
    store.getState().upsertNode(r);
    store.getState().notify('info', `Maintenance ${on ? 'on' : 'off'} for ${r.mac}`);
  }
}

/** Let a `seen` node PXE-boot (allowlist admission): it becomes `discovered` and boots the next time it asks. */
export async function allowNode(id: string): Promise<void> {
  const r = await guarded('Allow', () => api().allow(id));
  if (r) {
    store.getState().upsertNode(r);
    store.getState().notify('info', `${r.mac} may boot now: it is discovered the next time it PXE-boots`);
  }
}

/** Let MACs boot before (or after) they are seen; `text` holds MACs separated by commas, spaces or new lines. */
export async function allowMacs(text: string): Promise<boolean> {
  const macs = text.split(/[\s,;]+/).map((m) => m.trim()).filter(Boolean);
  if (!macs.length) return false;
  const r = await guarded('Allow', () => api().allowMacs(macs));
  if (!r) return false;
  for (const n of r) store.getState().upsertNode(n);
  store.getState().notify('info', `${r.length} machine${r.length === 1 ? '' : 's'} may boot now`);
  return true;
}

/** Inspect through the BMC; `leaveRunning`: the node stays on in the discovery ramdisk afterwards (its root shell on the console). */
export async function inspect(id: string, leaveRunning = false): Promise<void> {
  const r = await guarded('Inspect', () => api().inspect(id, leaveRunning));
  if (r) store.getState().notify('info', leaveRunning ? 'Inspection started: the node stays on in the ramdisk afterwards (root shell on its console)' : 'Inspection started');
}

// ── hand-off (issue 16) ──

/** How often the records of running hand-offs are read again (the job's steps arrive live on the stream meanwhile). */
export const HANDOFF_POLL_MS = 1000;
let following = false;
const followQueue = new Set<string>();

/** Every hand-off record, the engines, and the latest hand-off job per node (for a page opened mid-hand-off). */
export async function loadHandoffs(): Promise<void> {
  const s = store.getState();
  await Promise.all([
    guarded('Hand-offs', async () => s.setHandoffs(await api().handoffs())),
    guarded('Engines', async () => s.setEngines(await api().engines())),
    guarded('Jobs', async () => { for (const j of await api().jobs()) if (j.kind === 'handoff') s.setHandoffJob(j); }),
  ]);
  void followHandoffs();
}

/**
 * Read the records of `nodes` now, then poll the records of every running hand-off every HANDOFF_POLL_MS until
 * none runs. One loop at a time; nodes asked for meanwhile join it.
 */
export async function followHandoffs(nodes: string[] = [], pollMs = HANDOFF_POLL_MS): Promise<void> {
  for (const id of nodes) followQueue.add(id);
  if (following) return;
  following = true;
  try {
    for (let first = true; ; first = false) {
      const ids = new Set(followQueue);
      followQueue.clear();
      for (const r of Object.values(store.getState().handoffs)) if (r.status === 'running') ids.add(r.nodeId);
      if (ids.size === 0) break;
      if (!first || nodes.length === 0) await new Promise((r) => setTimeout(r, pollMs));
      store.getState().upsertHandoffs(await api().handoffs([...ids]));
    }
  } catch (err) {
    store.getState().notify('error', `Hand-off status: ${errorText(err)}`);
  } finally {
    following = false;
  }
}

export type HandoffStart = { ok: true; records: HandoffRecord[] } | { ok: false; status: number | null; message: string };

/**
 * POST /handoff. Refusals come back as a result for the dialog to show (502: the engine's own message — unreachable,
 * wrong credentials, too old; 409: a node that cannot be handed over), not as a notice. The password crosses once.
 */
export async function startHandoff(req: HandoffRequest): Promise<HandoffStart> {
  try {
    const records = await api().startHandoff(req);
    store.getState().upsertHandoffs(records);
    void guarded('Engines', async () => store.getState().setEngines(await api().engines()));
    void followHandoffs();
    return { ok: true, records };
  } catch (err) {
    return { ok: false, status: err instanceof ApiError ? err.status : null, message: errorText(err) };
  }
}

/** Owner back to RackSeed; the engine keeps its node. */
export async function takeBack(ids: string[]): Promise<boolean> {
  const r = await guarded('Take back', () => api().takeBack(ids));
  if (!r) return false;
  store.getState().upsertHandoffs(r);
  store.getState().notify('info', `${r.length} node${r.length === 1 ? '' : 's'} taken back: RackSeed answers and drives ${r.length === 1 ? 'it' : 'them'} again`);
  return true;
}

export type StopResult = { ok: true; owned: number } | { ok: false; message: string };

/** Hand over and stop: every netboot service of the appliance stops; nothing answers on the provisioning NIC. */
export async function handoverAndStop(): Promise<StopResult> {
  try {
    const r = await api().handoverAndStop();
    if (r.services) store.getState().setServices(r.services);
    store.getState().notify('info', `Netboot services stopped: nothing of RackSeed answers on the provisioning NIC (${r.owned} node${r.owned === 1 ? '' : 's'} owned by engines)`);
    return { ok: true, owned: r.owned };
  } catch (err) {
    return { ok: false, message: errorText(err) };
  }
}

/**
 * The hand-over-and-stop state as the daemon keeps it (it outlives a daemon restart), or null when it cannot be read
 * (the banner then shows nothing rather than a guess).
 */
export async function loadHandoverStop(): Promise<HandoverStopState | null> {
  try {
    return await api().handoverStopped();
  } catch {
    return null;
  }
}

export type ExportOutcome = { ok: true; file: DownloadedFile } | { ok: false; message: string };

/** The export of `ids` (none: every exportable node) in `format`; BMC passwords only when `secrets`. */
export async function exportNodes(format: ExportFormat, ids: string[], secrets: boolean): Promise<ExportOutcome> {
  try {
    return { ok: true, file: await api().exportNodes(format, ids, secrets) };
  } catch (err) {
    return { ok: false, message: errorText(err) };
  }
}

export type ImportOutcome = { ok: true; result: ImportResult } | { ok: false; message: string };

/** Import a nodes CSV or a rack plan from a file the engineer picked; the daemon names a bad row's line and field. */
export async function importCsvFile(file: Blob): Promise<ImportOutcome> {
  try {
    if (file.size > 900 * 1024) return { ok: false, message: `the file is ${Math.round(file.size / 1024)} KiB; RackSeed imports at most 900 KiB at once (split it)` };
    const csv = await file.text();
    if (!csv.trim()) return { ok: false, message: 'the file is empty' };
    const result = await api().importCsv(csv);
    await guarded('Nodes', async () => store.getState().setNodes(await api().nodes()));
    await guarded('BMCs', async () => store.getState().setBmcs(await api().bmcs()));
    return { ok: true, result };
  } catch (err) {
    return { ok: false, message: errorText(err) };
  }
}

// ── images and deploy (issue 15) ──

/** The image library and every node's latest deploy/release. */
export async function loadDeploy(): Promise<void> {
  const s = store.getState();
  await Promise.all([
    guarded('Images', async () => s.setImages(await api().images())),
    guarded('Deployments', async () => s.setDeployments(await api().deployments())),
  ]);
}

let xhrFactory: XhrFactory | undefined;
/** Tests: the XMLHttpRequest to upload with. */
export function setXhrFactory(f: XhrFactory | undefined): void { xhrFactory = f; }

/**
 * Upload `file` as image `name` with progress in `uploads[name]` (bytes sent, MB/s), then the daemon's answer: the
 * record (ready, or importing while a qcow2 converts — 'image' stream messages carry on), or why it was refused.
 */
export async function uploadImageFile(file: File | Blob, name: string, fileName = (file as File).name ?? name): Promise<ImageRecord | null> {
  const s = () => store.getState();
  const startedAt = Date.now();
  const base = { name, fileName, total: file.size, startedAt, mbps: null, error: null };
  if (!IMAGE_NAME.test(name)) { s().setUpload({ ...base, sent: 0, status: 'failed', error: `the name must be ${IMAGE_NAME_RULE}` }); return null; }
  if (Object.values(s().images).some((i) => i.name === name)) { s().setUpload({ ...base, sent: 0, status: 'failed', error: `an image named ${name} exists already: choose another name or remove it first` }); return null; }
  s().setUpload({ ...base, sent: 0, status: 'uploading' });
  let last = 0;
  const handle = uploadImage(api().conn, name, file, ({ sent, total }) => {
    const now = Date.now();
    if (now - last < 100 && sent < total) return; // at most ten store updates a second
    last = now;
    const secs = (now - startedAt) / 1000;
    s().setUpload({ ...base, total, sent, mbps: secs > 0.2 ? Math.round((sent / secs / 1e6) * 10) / 10 : null, status: sent >= total ? 'processing' : 'uploading' });
  }, xhrFactory);
  try {
    const rec = await handle.done;
    // the bar shows the whole file sent before the image appears (and may be chosen) in the library
    const u = s().uploads[name];
    s().setUpload({ ...base, ...(u ?? {}), sent: file.size, status: 'done' });
    s().upsertImage(rec);
    return rec;
  } catch (err) {
    const body = err instanceof ApiError ? err.body as { image?: ImageRecord } | null : null;
    if (body && typeof body === 'object' && body.image) s().upsertImage(body.image);
    const u = s().uploads[name];
    s().setUpload({ ...base, ...(u ?? {}), status: 'failed', error: errorText(err) });
    return null;
  }
}

export async function removeImage(id: string): Promise<boolean> {
  const r = await guarded('Remove image', () => api().deleteImage(id));
  if (!r) return false;
  store.getState().removeImage(r.id);
  store.getState().notify('info', `Image ${r.name} removed`);
  return true;
}

export type DeployStart = { ok: true; deployments: Deployment[] } | { ok: false; message: string; nodes: { node: string; error: string }[] };

/** POST /deploy for many nodes. A refused batch starts nothing; the daemon names each refused node. */
export async function startDeploy(req: BatchDeployRequest): Promise<DeployStart> {
  try {
    const list = await api().deploy(req);
    for (const d of list) store.getState().upsertDeployment(d);
    return { ok: true, deployments: list };
  } catch (err) {
    const body = err instanceof ApiError ? err.body as { nodes?: { node: string; error: string }[] } | null : null;
    return { ok: false, message: errorText(err), nodes: body && typeof body === 'object' && Array.isArray(body.nodes) ? body.nodes : [] };
  }
}

/** The daemon's deploy settings (concurrent writers, read-back check), or undefined (the error is notified). */
export async function loadDeploySettings(): Promise<DeploySettings | undefined> {
  return guarded('Deploy settings', () => api().deploySettings());
}

/** Change deploy settings (they hold for the next deploys, until the daemon restarts); the daemon's answer, or undefined. */
export async function saveDeploySettings(change: Partial<DeploySettings>): Promise<DeploySettings | undefined> {
  const r = await guarded('Deploy settings', () => api().setDeploySettings(change));
  if (r) store.getState().notify('info', `Deploy settings: ${r.maxWriters} concurrent writer${r.maxWriters === 1 ? '' : 's'}, read-back check ${r.readBackCheck}`);
  return r;
}

/** Release (clean) nodes: wipe partition tables and signatures (and with `erase` zero whole disks), power off. */
export async function releaseNodes(ids: string[], erase: boolean): Promise<DeployStart> {
  try {
    const list = await api().release(ids, erase);
    for (const d of list) store.getState().upsertDeployment(d);
    store.getState().notify('info', `Release started for ${list.length} node${list.length === 1 ? '' : 's'}: they become available once their disks are wiped`);
    return { ok: true, deployments: list };
  } catch (err) {
    const body = err instanceof ApiError ? err.body as { nodes?: { node: string; error: string }[] } | null : null;
    return { ok: false, message: errorText(err), nodes: body && typeof body === 'object' && Array.isArray(body.nodes) ? body.nodes : [] };
  }
}

// ── the seed (issue 17) ──

/** The daemon's plan for `control` (none: the node it proposes); the answer goes to `seedPlan`. */
export async function loadSeedPlan(control?: string): Promise<void> {
  await guarded('Seed plan', async () => store.getState().setSeedPlan(await api().seedPlan(control)));
}

export type SeedAction = { ok: true; seed: SeedRecord } | { ok: false; status: number | null; message: string };

async function seedCall(fn: () => Promise<SeedRecord>): Promise<SeedAction> {
  try {
    const seed = await fn();
    store.getState().setSeed(seed);
    return { ok: true, seed };
  } catch (err) {
    return { ok: false, status: err instanceof ApiError ? err.status : null, message: errorText(err) };
  }
}

/** POST /seed. A refusal (too small, a seed running, no control image, bad addresses) comes back for the step to show. */
export function startSeed(req: SeedRequest): Promise<SeedAction> { return seedCall(() => api().startSeed(req)); }

/** Continue a failed seed from the stage it stopped at. */
export function resumeSeed(): Promise<SeedAction> { return seedCall(() => api().resumeSeed()); }

/** Take every node of the seed back: RackSeed answers and drives them again (the control node's Ironic keeps its records). */
export async function rollbackSeed(): Promise<SeedAction> {
  const r = await seedCall(() => api().rollbackSeed());
  if (r.ok) {
    store.getState().notify('info', 'Seed rolled back: RackSeed answers and drives every node of the seed again');
    await loadHandoffs();
  }
  return r;
}

export type CredentialsOutcome = { ok: true; file: DownloadedFile } | { ok: false; message: string };

/** The site's credentials file, only when the engineer asks (the daemon records each time it hands it out). */
export async function seedCredentials(): Promise<CredentialsOutcome> {
  try {
    return { ok: true, file: await api().seedCredentials() };
  } catch (err) {
    return { ok: false, message: errorText(err) };
  }
}
