// Typed client of the daemon API (shared/api.ts). Every call sends the session cookie (credentials) and,
// when known, the Bearer token. Non-2xx answers throw ApiError carrying the HTTP status and the daemon's
// `{ error }` text, so the UI can show e.g. a 409 refusal verbatim.
import type {
  BmcInfo, BootDevRequest, Health, Job, NetInterface, NetworkConfig, NodeDetail, PowerAction, ServicesStatus,
  SurveyResult, SweepStatus,
} from '../../shared/api.ts';
import type { NodeEvent, NodeSummary } from '../../shared/node.ts';
import type { EngineInfo, ExportFormat, HandoffRecord, HandoffRequest, ImportResult } from '../../shared/handoff.ts';
import type { ImageRecord } from '../../shared/image.ts';
import type { BatchDeployRequest, Deployment, DeploySettings } from '../../shared/deploy.ts';
import type { SeedPlan, SeedRecord, SeedRequest } from '../../shared/seed.ts';
import type { ConsoleLogTail } from '../../shared/console.ts';
import type { ApiConnection } from './connection.ts';
import { attachmentName } from '../lib/handoff.ts';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly body: unknown) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface BmcCredentialsState { user: string | null; passwordSet: boolean }

/** GET /api/v1/handoff/stop: when the appliance was handed over and stopped (null: it serves), how many nodes engines owned. */
export interface HandoverStopState { stoppedAt: number | null; owned: number | null }

/** A file the daemon handed out (an export): its text, the name it suggested and what its headers said. */
export interface DownloadedFile { text: string; fileName: string; contentType: string; secrets: 'included' | 'omitted' | null }

/** The daemon's `{ error }` text of a failed answer (or the body, or the status text). */
function errorMessage(res: Response, text: string): { message: string; parsed: unknown } {
  let parsed: unknown = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = text; }
  }
  const msg = typeof parsed === 'object' && parsed && 'error' in parsed ? String((parsed as { error: unknown }).error)
    : typeof parsed === 'string' && parsed ? parsed : res.statusText;
  return { message: `${res.status} ${msg}`, parsed };
}

export class ApiClient {
  constructor(readonly conn: ApiConnection, private readonly fetchImpl: typeof fetch = fetch.bind(globalThis)) {}

  private async send(method: string, path: string, body: unknown, accept: string): Promise<{ res: Response; text: string }> {
    const headers: Record<string, string> = { accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.conn.token) headers.authorization = `Bearer ${this.conn.token}`;
    const res = await this.fetchImpl(this.conn.baseUrl + path, {
      method, headers, credentials: 'include', body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      const e = errorMessage(res, text);
      throw new ApiError(res.status, e.message, e.parsed);
    }
    return { res, text };
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { text } = await this.send(method, path, body, 'application/json');
    if (!text) return null as T;
    try { return JSON.parse(text) as T; } catch { return text as T; }
  }

  health(): Promise<Health> { return this.request('GET', '/api/v1/health'); }
  interfaces(): Promise<NetInterface[]> { return this.request('GET', '/api/v1/interfaces'); }
  config(): Promise<NetworkConfig | null> { return this.request('GET', '/api/v1/config'); }
  /** Starts/restarts DHCP/TFTP; 409 ApiError when a foreign DHCP server answered and mode is authoritative without override. */
  applyNetwork(cfg: NetworkConfig): Promise<ServicesStatus> { return this.request('PUT', '/api/v1/config/network', cfg); }
  lastSurvey(): Promise<SurveyResult | null> { return this.request('GET', '/api/v1/survey'); }
  survey(iface: string): Promise<SurveyResult> { return this.request('POST', '/api/v1/survey', { interface: iface }); }
  services(): Promise<ServicesStatus> { return this.request('GET', '/api/v1/services'); }
  nodes(): Promise<NodeSummary[]> { return this.request('GET', '/api/v1/nodes'); }
  node(id: string): Promise<NodeDetail> { return this.request('GET', `/api/v1/nodes/${encodeURIComponent(id)}`); }
  /** the node's stored serial console log, last `lines` lines (shared/console.ts) */
  consoleLog(id: string, lines: number): Promise<ConsoleLogTail> { return this.request('GET', `/api/v1/nodes/${encodeURIComponent(id)}/console/log?lines=${lines}`); }
  /** `leaveRunning`: keep the node on in the discovery ramdisk after its inventory (root shell on its serial console) */
  inspect(id: string, leaveRunning = false): Promise<Job> { return this.request('POST', `/api/v1/nodes/${encodeURIComponent(id)}/inspect`, leaveRunning ? { leaveRunning: true } : {}); }
  power(id: string, action: PowerAction): Promise<{ power: 'on' | 'off' | null }> {
    return this.request('POST', `/api/v1/nodes/${encodeURIComponent(id)}/power`, { action });
  }
  bootdev(id: string, req: BootDevRequest): Promise<{ ok: true }> {
    return this.request('POST', `/api/v1/nodes/${encodeURIComponent(id)}/bootdev`, req);
  }
  setMaintenance(id: string, maintenance: boolean, reason?: string): Promise<NodeSummary> {
    return this.request('PUT', `/api/v1/nodes/${encodeURIComponent(id)}/maintenance`, reason ? { maintenance, reason } : { maintenance });
  }
  /** Let a `seen` node boot (→ discovered). */
  allow(id: string): Promise<NodeSummary> { return this.request('POST', `/api/v1/nodes/${encodeURIComponent(id)}/allow`, {}); }
  /** Let these MACs boot (seen nodes → discovered; MACs not seen yet become discovered nodes). */
  allowMacs(macs: string[]): Promise<NodeSummary[]> { return this.request('POST', '/api/v1/nodes/allow', { macs }); }
  events(q: { mac?: string; since?: number; limit?: number } = {}): Promise<NodeEvent[]> {
    const p = new URLSearchParams();
    if (q.mac) p.set('mac', q.mac);
    if (q.since !== undefined) p.set('since', String(q.since));
    if (q.limit !== undefined) p.set('limit', String(q.limit));
    const qs = p.toString();
    return this.request('GET', '/api/v1/events' + (qs ? `?${qs}` : ''));
  }
  bmcCredentials(): Promise<BmcCredentialsState> { return this.request('GET', '/api/v1/bmc/credentials'); }
  setBmcCredentials(user: string, password: string): Promise<{ user: string; passwordSet: true }> {
    return this.request('PUT', '/api/v1/bmc/credentials', { user, password });
  }
  sweep(cidr: string): Promise<SweepStatus> { return this.request('POST', '/api/v1/bmc/sweep', { cidr }); }
  bmcs(): Promise<BmcInfo[]> { return this.request('GET', '/api/v1/bmcs'); }
  jobs(): Promise<Job[]> { return this.request('GET', '/api/v1/jobs'); }
  startDiscovery(): Promise<unknown> { return this.request('POST', '/api/v1/discovery', {}); }

  // ── hand-off (shared/handoff.ts) ──
  /** Records of every node with a hand-off or an engine owner, or of these nodes. */
  handoffs(nodes?: string[]): Promise<HandoffRecord[]> {
    return this.request('GET', '/api/v1/handoff' + (nodes?.length ? `?nodes=${encodeURIComponent(nodes.join(','))}` : ''));
  }
  /** 202 with one running record per node; 502 when the engine is unreachable/refuses the credentials/is too old. */
  startHandoff(req: HandoffRequest): Promise<HandoffRecord[]> { return this.request('POST', '/api/v1/handoff', req); }
  takeBack(nodes: string[]): Promise<HandoffRecord[]> { return this.request('POST', '/api/v1/takeback', { nodes }); }
  /** Hand over and stop: every netboot service stops. */
  handoverAndStop(): Promise<{ services: ServicesStatus | null; owned: number }> { return this.request('POST', '/api/v1/handoff/stop', {}); }
  /** Whether the appliance was handed over and stopped (persisted: also after a daemon restart) and when. */
  handoverStopped(): Promise<HandoverStopState> { return this.request('GET', '/api/v1/handoff/stop'); }
  engines(): Promise<EngineInfo[]> { return this.request('GET', '/api/v1/engines'); }
  /** The export file of these nodes (all exportable ones when `nodes` is empty); BMC passwords only with `secrets`. */
  async exportNodes(format: ExportFormat, nodes: string[], secrets: boolean): Promise<DownloadedFile> {
    const p = new URLSearchParams({ format });
    if (nodes.length) p.set('nodes', nodes.join(','));
    if (secrets) p.set('secrets', '1');
    const { res, text } = await this.send('GET', `/api/v1/export?${p.toString()}`, undefined, '*/*');
    const s = res.headers.get('x-rackseed-secrets');
    const fileName = attachmentName(res.headers.get('content-disposition'), `rackseed-${format}.${format === 'csv' ? 'csv' : 'yaml'}`);
    return { text, fileName, contentType: res.headers.get('content-type') ?? 'text/plain', secrets: s === 'included' || s === 'omitted' ? s : null };
  }
  /** A node CSV (the CSV export) or a rack plan; 400 names the line and field, and nothing is imported. */
  importCsv(csv: string): Promise<ImportResult> { return this.request('POST', '/api/v1/import', { csv }); }

  // ── images and deploy (shared/image.ts, shared/deploy.ts) ──
  images(): Promise<ImageRecord[]> { return this.request('GET', '/api/v1/images'); }
  /** Upload a file as image `name`: 202 once the body is read (the import goes on; 'image' stream messages tell how far). */
  async uploadImage(name: string, file: Blob): Promise<ImageRecord> {
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/octet-stream' };
    if (this.conn.token) headers.authorization = `Bearer ${this.conn.token}`;
    const res = await this.fetchImpl(`${this.conn.baseUrl}/api/v1/images?name=${encodeURIComponent(name)}`, { method: 'POST', headers, credentials: 'include', body: file });
    const text = await res.text();
    if (!res.ok) { const e = errorMessage(res, text); throw new ApiError(res.status, e.message, e.parsed); }
    return JSON.parse(text) as ImageRecord;
  }
  deployments(): Promise<Deployment[]> { return this.request('GET', '/api/v1/deployments'); }
  /** 202 with one Deployment per node; a refused batch (400/404/409) starts nothing and names each node in `body.nodes`. */
  deploy(req: BatchDeployRequest): Promise<Deployment[]> { return this.request('POST', '/api/v1/deploy', req); }
  release(nodes: string[], erase = false): Promise<Deployment[]> { return this.request('POST', '/api/v1/release', { nodes, erase }); }
  deploySettings(): Promise<DeploySettings> { return this.request('GET', '/api/v1/deploy/settings'); }
  setDeploySettings(change: Partial<DeploySettings>): Promise<DeploySettings> { return this.request('PUT', '/api/v1/deploy/settings', change); }
  /** Remove an image (an import in progress is stopped first); answers the record as it was. */
  deleteImage(id: string): Promise<ImageRecord> { return this.request('DELETE', `/api/v1/images/${encodeURIComponent(id)}`); }

  // ── the seed (shared/seed.ts) ──
  /** The plan: the control node proposed (or `control`, checked), and what happens to every other node. */
  seedPlan(control?: string): Promise<SeedPlan> { return this.request('GET', '/api/v1/seed/plan' + (control ? `?control=${encodeURIComponent(control)}` : '')); }
  /** The latest seed, or null. Never a password. */
  seed(): Promise<SeedRecord | null> { return this.request('GET', '/api/v1/seed'); }
  /** 202: one resumable job; 409 (a seed running, the node cannot be the control node, no control image), 400, 404. */
  startSeed(req: SeedRequest): Promise<SeedRecord> { return this.request('POST', '/api/v1/seed', req); }
  resumeSeed(): Promise<SeedRecord> { return this.request('POST', '/api/v1/seed/resume', {}); }
  rollbackSeed(): Promise<SeedRecord> { return this.request('POST', '/api/v1/seed/rollback', {}); }
  /** The site's credentials file (text, OS_* lines); the daemon records that it handed them out. */
  async seedCredentials(): Promise<DownloadedFile> {
    const { res, text } = await this.send('GET', '/api/v1/seed/credentials', undefined, 'text/plain');
    return { text, fileName: attachmentName(res.headers.get('content-disposition'), 'rackseed-site-credentials.env'), contentType: res.headers.get('content-type') ?? 'text/plain', secrets: 'included' };
  }
}
