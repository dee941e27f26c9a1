// Side effects of the UI: each action calls the daemon through the typed client and writes the answer into
// the store. Components call these; they never fetch themselves. `initActions` is called once at start-up.
import { ApiClient, ApiError } from './api/client.ts';
import type { NetworkConfig, PowerAction, BootDevRequest } from '../shared/api.ts';
import { appStore, type AppStore } from './store/store.ts';

let client: ApiClient | null = null;
let store: AppStore = appStore;

export function initActions(c: ApiClient, s: AppStore = appStore): void {
  client = c;
  store = s;
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

export async function inspect(id: string): Promise<void> {
  const r = await guarded('Inspect', () => api().inspect(id));
  if (r) store.getState().notify('info', 'Inspection started');
}
