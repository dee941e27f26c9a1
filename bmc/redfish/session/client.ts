// RedfishClient: the entry point the core and the CLI use, the Redfish sibling of IpmiClient. One BmcHttp (keep-alive
// agent, pinned certificate, request cap) per BMC; sessions on demand (SessionService login with X-Auth-Token, basic
// auth when the service has no sessions, DELETE of the session on close); the unauthenticated probe of the service
// root the sweep uses.
import { pino, type Logger } from 'pino';
import { parseJsonBounded } from '../json.ts';
import { RedfishDecodeError } from '../errors.ts';
import {
  allowedResetTypes, bootOverrideBody, decodeActionInfo, decodeCollection, decodeComputerSystem, decodeErrorBody, decodeEthernetInterface,
  decodeManager, decodeServiceRoot, decodeTask, isLinkPath, RESET_TYPES, TASK_FINISHED, type BootMode, type BootOverride, type BootSettings,
  type ComputerSystem, type ServiceRoot,
} from '../resources.ts';
import { BmcHttp, MemoryPinStore, type HttpReply, type RequestSpec, type TlsPinStore } from './http.ts';
import {
  NoSystemError, NotRedfishError, RedfishAuthError, RedfishForbiddenError, RedfishHttpError, RedfishMalformedError, ResetTypeNotAllowedError,
  SeveralSystemsError, TaskFailedError, TaskTimeoutError,
} from './errors.ts';

export interface RedfishClientOptions {
  logger?: Logger;
  /** per request attempt, ms (default 10 000) */
  timeoutMs?: number;
  /** retries (default 2), backing off from `backoffMs` (default 500), doubling */
  retries?: number;
  backoffMs?: number;
  /** requests in flight per BMC (default 4) */
  maxConcurrentPerBmc?: number;
  /** largest body accepted (default 1 MiB) */
  maxBodyBytes?: number;
  /** where fingerprints are pinned (default: in memory, for this client's life) */
  pins?: TlsPinStore;
  /** accept any certificate (only when the user asked: CLI --insecure) */
  insecure?: boolean;
  /** a BMC's certificate was pinned for the first time: show the fingerprint to the user */
  onPinned?: (host: string, port: number, sha256: string) => void;
  /** how long a task monitor is polled (default 120 s) and how often (default 1 s, or the BMC's Retry-After) */
  taskTimeoutMs?: number;
  taskPollMs?: number;
}

export interface RedfishSessionOptions {
  user: string;
  password: string;
  /** HTTPS port (default 443) */
  port?: number;
  /** which ComputerSystem (its Id) when the service has several */
  systemId?: string;
  /** 'auto' (default): SessionService login, basic auth when the service has no sessions */
  auth?: 'auto' | 'session' | 'basic';
}

export type PowerWord = 'on' | 'off' | 'cycle' | 'reset' | 'soft';

/** Which ResetType each power word sends, in order of preference: the first the system allows is used. */
export const RESET_FOR: Record<PowerWord, string[]> = {
  on: ['On', 'ForceOn'],
  off: ['ForceOff'],
  soft: ['GracefulShutdown'],
  reset: ['ForceRestart'],
  cycle: ['PowerCycle', 'ForceRestart'],
};

export interface SystemIdentity {
  uuid: string | null;
  serial: string | null;
  model: string | null;
  manufacturer: string | null;
  /** MACs of the system's EthernetInterfaces (lower-case, colon), in the order the collection lists them */
  macs: string[];
  /** FirmwareVersion of the system's manager (the BMC) */
  firmware: string | null;
}

const ROOT = '/redfish/v1/';

export class RedfishClient {
  readonly log: Logger;
  private readonly conns = new Map<string, BmcHttp>();
  private readonly sessions = new Set<RedfishSession>();
  readonly pins: TlsPinStore;

  constructor(readonly options: RedfishClientOptions = {}) {
    this.log = options.logger ?? pino({ level: 'silent' });
    this.pins = options.pins ?? new MemoryPinStore();
  }

  /** The connection pool of one BMC (made on first use). */
  http(host: string, port = 443): BmcHttp {
    const key = `${host}:${port}`;
    let c = this.conns.get(key);
    if (!c) {
      c = new BmcHttp(host, port, {
        log: this.log, timeoutMs: this.options.timeoutMs ?? 10_000, retries: this.options.retries ?? 2, backoffMs: this.options.backoffMs ?? 500,
        maxConcurrent: this.options.maxConcurrentPerBmc ?? 4, maxBodyBytes: this.options.maxBodyBytes ?? 1024 * 1024,
        trust: { insecure: this.options.insecure, pins: this.pins, onPinned: this.options.onPinned },
      });
      this.conns.set(key, c);
    }
    return c;
  }

  /**
   * GET /redfish/v1 without credentials (the service root is public, DSP0266 §13.3.1): the sweep's probe and the
   * first thing a session reads. NotRedfishError when something else answers; RedfishUnreachableError when nothing does.
   */
  async serviceRoot(host: string, port = 443, o: { timeoutMs?: number; retries?: number } = {}): Promise<ServiceRoot> {
    const reply = await this.http(host, port).request({ method: 'GET', path: ROOT, what: `GET ${ROOT}`, timeoutMs: o.timeoutMs, retries: o.retries });
    const key = `${host}:${port}`;
    if (reply.status !== 200) throw new NotRedfishError(key, `GET ${ROOT} answered HTTP ${reply.status}`);
    const ct = String(reply.headers['content-type'] ?? '');
    if (ct && !/json/i.test(ct)) throw new NotRedfishError(key, `GET ${ROOT} answered ${ct.split(';')[0]}, not JSON`);
    try {
      return decodeServiceRoot(parseJsonBounded(reply.body, 'service root'));
    } catch (err) {
      if (err instanceof RedfishDecodeError) throw new NotRedfishError(key, err.message);
      throw err;
    }
  }

  /** Log in (SessionService, or basic auth) and pick the ComputerSystem. */
  async session(host: string, opts: RedfishSessionOptions): Promise<RedfishSession> {
    const port = opts.port ?? 443;
    const root = await this.serviceRoot(host, port);
    const s = new RedfishSession(this, this.http(host, port), root, opts);
    await s.open();
    this.sessions.add(s);
    s.onClose = () => this.sessions.delete(s);
    return s;
  }

  async withSession<T>(host: string, opts: RedfishSessionOptions, fn: (s: RedfishSession) => Promise<T>): Promise<T> {
    const s = await this.session(host, opts);
    try { return await fn(s); } finally { await s.close(); }
  }

  /** Drop the connections of one BMC (after a sweep's probe found nothing there). */
  forget(host: string, port = 443): void {
    const key = `${host}:${port}`;
    this.conns.get(key)?.close();
    this.conns.delete(key);
  }

  /** Log out every session, then drop every connection. */
  async close(): Promise<void> {
    await Promise.all([...this.sessions].map((s) => s.close()));
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }
}

/** One logged-in conversation with one Redfish service, about one ComputerSystem. */
export class RedfishSession {
  auth: 'session' | 'basic' = 'session';
  private token: string | null = null;
  private sessionUri: string | null = null;
  private systemUri: string | null = null;
  /** The ComputerSystem this session drives ("/redfish/v1/Systems/1"), once opened. */
  get systemPath(): string | null { return this.systemUri; }
  private closed = false;
  onClose: (() => void) | null = null;

  constructor(private readonly client: RedfishClient, private readonly http: BmcHttp, readonly root: ServiceRoot, private readonly opts: RedfishSessionOptions) {}

  get host(): string { return this.http.host; }
  get key(): string { return this.http.key; }
  /** "1.15.0" */
  get redfishVersion(): string { return this.root.redfishVersion; }

  /** Login: POST Links.Sessions {UserName, Password} → X-Auth-Token; basic auth when the service has no session support. */
  async open(): Promise<void> {
    const mode = this.opts.auth ?? 'auto';
    if (mode !== 'basic') {
      const uri = this.root.sessions ?? (this.root.sessionService ? `${this.root.sessionService.replace(/\/$/, '')}/Sessions` : null);
      if (uri) {
        const r = await this.http.request({ method: 'POST', path: uri, what: 'login (SessionService)', json: { UserName: this.opts.user, Password: this.opts.password } });
        if (r.status === 401) throw new RedfishAuthError(this.key, this.opts.user, 'login (SessionService)');
        if (r.status === 403) throw new RedfishForbiddenError(this.key, 'login (SessionService)', errorDetail(r));
        const token = headerOne(r.headers['x-auth-token']);
        if ((r.status === 200 || r.status === 201) && token) {
          if (token.length > 4096) throw new RedfishMalformedError(this.key, 'login', 'X-Auth-Token longer than 4096 characters');
          this.token = token;
          this.sessionUri = this.sameServicePath(headerOne(r.headers.location)) ?? sessionIdFromBody(r);
          this.auth = 'session';
        } else if (mode === 'session') {
          throw new RedfishHttpError(this.key, r.status, 'login (SessionService)', token ? errorDetail(r) : 'no X-Auth-Token in the answer');
        } else {
          this.client.log.info({ bmc: this.key, status: r.status }, 'Redfish session login not available; using basic auth');
        }
      } else if (mode === 'session') {
        throw new RedfishHttpError(this.key, 404, 'login', 'the service root links no SessionService');
      }
    }
    if (!this.token) this.auth = 'basic';
    // the system, chosen now, so a session to a BMC with several systems fails at once with the list
    this.systemUri = await this.pickSystem();
  }

  private authHeaders(): Record<string, string> {
    if (this.token) return { 'x-auth-token': this.token };
    return { authorization: `Basic ${Buffer.from(`${this.opts.user}:${this.opts.password}`).toString('base64')}` };
  }

  /** A Location/link the BMC gave, as a path on this service; null if absent; refused if it points elsewhere. */
  private sameServicePath(loc: string | null): string | null {
    if (!loc) return null;
    if (loc.startsWith('/') && !loc.startsWith('//')) {
      if (!isLinkPath(loc)) throw new RedfishMalformedError(this.key, 'a Location header', `"${loc.slice(0, 80)}" is not a path a request may go to`);
      return loc;
    }
    let u: URL;
    try { u = new URL(loc); } catch { throw new RedfishMalformedError(this.key, 'a Location header', `"${loc.slice(0, 80)}" is not a URL`); }
    const port = Number(u.port || 443);
    if (u.protocol !== 'https:' || u.hostname.replace(/^\[|\]$/g, '') !== this.http.host || port !== this.http.port) {
      throw new RedfishMalformedError(this.key, 'a Location header', `"${loc.slice(0, 80)}" points away from this BMC; not followed`);
    }
    const path = u.pathname + u.search;
    if (!isLinkPath(path)) throw new RedfishMalformedError(this.key, 'a Location header', `"${loc.slice(0, 80)}" is not a path a request may go to`);
    return path;
  }

  /** An authenticated request; 401/403 and other errors become typed errors unless `accept` lists the status. */
  async call(spec: Omit<RequestSpec, 'headers'> & { accept?: number[] }): Promise<HttpReply> {
    if (this.closed) throw new RedfishHttpError(this.key, 0, spec.what, 'session closed');
    const r = await this.http.request({ ...spec, headers: this.authHeaders() });
    if (spec.accept?.includes(r.status)) return r;
    if (r.status === 401) throw new RedfishAuthError(this.key, this.opts.user, spec.what);
    if (r.status === 403) throw new RedfishForbiddenError(this.key, spec.what, errorDetail(r));
    if (r.status < 200 || r.status >= 300) throw new RedfishHttpError(this.key, r.status, spec.what, errorDetail(r));
    return r;
  }

  /** GET a resource and decode it; decode failures become RedfishMalformedError naming the field. */
  async get<T>(path: string, decode: (v: unknown) => T, resource: string): Promise<T> {
    const r = await this.call({ method: 'GET', path, what: `GET ${path}` });
    try {
      return decode(parseJsonBounded(r.body, resource));
    } catch (err) {
      if (err instanceof RedfishDecodeError) throw new RedfishMalformedError(this.key, `GET ${path}`, err.message);
      throw err;
    }
  }

  /** Links of every ComputerSystem the service has. */
  async systems(): Promise<string[]> {
    if (!this.root.systems) throw new NoSystemError(this.key, 'the service root links no Systems collection');
    return (await this.get(this.root.systems, (v) => decodeCollection(v, 'Systems'), 'Systems')).members;
  }

  private async pickSystem(): Promise<string> {
    const all = await this.systems();
    if (this.opts.systemId !== undefined) {
      const want = this.opts.systemId;
      const hit = all.find((m) => m.replace(/\/$/, '').split('/').pop() === want);
      if (!hit) throw new NoSystemError(this.key, `no system "${want}" (the service has ${all.map(lastSegment).join(', ') || 'none'})`);
      return hit;
    }
    if (all.length === 0) throw new NoSystemError(this.key, 'the Systems collection is empty');
    if (all.length > 1) throw new SeveralSystemsError(this.key, all.map(lastSegment));
    return all[0]!;
  }

  /** The ComputerSystem, read fresh. */
  async system(): Promise<ComputerSystem> {
    return this.get(this.systemUri!, decodeComputerSystem, 'ComputerSystem');
  }

  /** 'on' for On/PoweringOn/Paused, 'off' for Off/PoweringOff. */
  async powerStatus(): Promise<'on' | 'off'> {
    const s = await this.system();
    if (s.powerState === null) throw new RedfishMalformedError(this.key, `GET ${s.odataId}`, 'the system reports no PowerState');
    return s.powerState === 'Off' || s.powerState === 'PoweringOff' ? 'off' : 'on';
  }

  /** ResetType values the system allows (inline list, else its ActionInfo); null when it does not say. */
  async allowedResetTypes(sys?: ComputerSystem): Promise<string[] | null> {
    const s = sys ?? await this.system();
    const info = !s.reset.allowed && s.reset.actionInfo ? await this.get(s.reset.actionInfo, decodeActionInfo, 'ActionInfo') : null;
    return allowedResetTypes(s, info);
  }

  /**
   * ComputerSystem.Reset with `resetType`, only when the system allows it (a system that lists nothing allows the
   * DSP8010 types). Waits for a task monitor when the BMC answers 202.
   */
  async reset(resetType: string): Promise<void> {
    const s = await this.system();
    if (!s.reset.target) throw new RedfishHttpError(this.key, 0, 'ComputerSystem.Reset', 'the system has no Reset action');
    const allowed = await this.allowedResetTypes(s) ?? [...RESET_TYPES];
    if (!allowed.includes(resetType)) throw new ResetTypeNotAllowedError(this.key, resetType, allowed);
    const what = `ComputerSystem.Reset ${resetType}`;
    const r = await this.call({ method: 'POST', path: s.reset.target, what, json: { ResetType: resetType } });
    if (r.status === 202) await this.waitTask(r, what);
  }

  /** The ResetType a power word sends on this system (first allowed of RESET_FOR), or ResetTypeNotAllowedError. */
  async resetTypeFor(action: PowerWord): Promise<string> {
    const allowed = await this.allowedResetTypes() ?? [...RESET_TYPES];
    const pick = RESET_FOR[action].find((t) => allowed.includes(t));
    if (!pick) throw new ResetTypeNotAllowedError(this.key, RESET_FOR[action].join(' or '), allowed);
    return pick;
  }

  /** Power control with the core's words (on, off, cycle, reset, soft). */
  async power(action: PowerWord): Promise<void> {
    await this.reset(await this.resetTypeFor(action));
  }

  /** Boot override (PATCH Boot); a target the system does not list is refused before anything is sent. */
  async setBootOverride(o: BootOverride): Promise<void> {
    const s = await this.system();
    if (s.boot.allowedTargets && !s.boot.allowedTargets.includes(o.target)) {
      throw new RedfishHttpError(this.key, 0, `boot override ${o.target}`, `the system allows ${s.boot.allowedTargets.join(', ')}`);
    }
    const what = `PATCH Boot (${o.target}, ${o.enabled}${o.mode ? `, ${o.mode}` : ''})`;
    const r = await this.call({ method: 'PATCH', path: s.odataId, what, json: bootOverrideBody(o) });
    if (r.status === 202) await this.waitTask(r, what);
  }

  async getBoot(): Promise<BootSettings> {
    return (await this.system()).boot;
  }

  /** The system's UUID (SMBIOS form, lower-case), or null. */
  async systemGuid(): Promise<string | null> {
    return (await this.system()).uuid;
  }

  /** MACs of the system's EthernetInterfaces (the host's NICs, not the BMC's). */
  async macs(sys?: ComputerSystem): Promise<string[]> {
    const s = sys ?? await this.system();
    if (!s.ethernetInterfaces) return [];
    const members = (await this.get(s.ethernetInterfaces, (v) => decodeCollection(v, 'EthernetInterfaces'), 'EthernetInterfaces')).members;
    const out: string[] = [];
    for (const m of members.slice(0, 64)) {
      const e = await this.get(m, decodeEthernetInterface, 'EthernetInterface');
      const mac = e.mac ?? e.permanentMac;
      if (mac && !out.includes(mac)) out.push(mac);
    }
    return out;
  }

  /** FirmwareVersion of the manager that manages this system (Links.ManagedBy, else the first Manager). */
  async firmware(sys?: ComputerSystem): Promise<string | null> {
    const s = sys ?? await this.system();
    let uri = s.managedBy[0] ?? null;
    if (!uri && this.root.managers) uri = (await this.get(this.root.managers, (v) => decodeCollection(v, 'Managers'), 'Managers')).members[0] ?? null;
    if (!uri) return null;
    return (await this.get(uri, decodeManager, 'Manager')).firmwareVersion;
  }

  /** UUID, serial, model, manufacturer, MACs and the manager's firmware. */
  async identity(): Promise<SystemIdentity> {
    const s = await this.system();
    return { uuid: s.uuid, serial: s.serial, model: s.model, manufacturer: s.manufacturer, macs: await this.macs(s), firmware: await this.firmware(s) };
  }

  /**
   * Follow a task monitor (DSP0266 §12.2): GET the 202's Location until it stops answering 202 (or its Task reaches
   * a final state), at most taskTimeoutMs. A Location on another host is refused.
   */
  async waitTask(accepted: HttpReply, what: string): Promise<void> {
    const monitor = this.sameServicePath(headerOne(accepted.headers.location));
    if (!monitor) return; // 202 without a monitor: accepted, nothing to follow
    const timeoutMs = this.client.options.taskTimeoutMs ?? 120_000;
    const pollMs = this.client.options.taskPollMs ?? 1000;
    const started = Date.now();
    let last = 'Running';
    for (;;) {
      const r = await this.call({ method: 'GET', path: monitor, what: `task monitor of ${what}`, accept: [202, 404] });
      const task = r.body.length > 0 ? tryTask(r.body) : null;
      if (task?.state) last = task.state;
      if (r.status === 404) return; // some BMCs drop the monitor as soon as the task is done
      if (r.status !== 202) {
        if (task?.state && TASK_FINISHED.includes(task.state) && task.state !== 'Completed') throw new TaskFailedError(this.key, what, task.state, task.messages);
        if (!task?.state || TASK_FINISHED.includes(task.state)) return;
      } else if (task?.state && TASK_FINISHED.includes(task.state)) {
        if (task.state !== 'Completed') throw new TaskFailedError(this.key, what, task.state, task.messages);
        return;
      }
      const waited = Date.now() - started;
      if (waited >= timeoutMs) throw new TaskTimeoutError(this.key, what, monitor, waited, last);
      const ra = Number(headerOne(r.headers['retry-after']));
      const next = Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 10_000) : pollMs;
      await new Promise((res) => setTimeout(res, Math.max(0, Math.min(next, timeoutMs - waited))));
    }
  }

  /** Log out (DELETE the session); never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.token && this.sessionUri) {
      try {
        await this.http.request({ method: 'DELETE', path: this.sessionUri, what: 'logout', headers: this.authHeaders(), timeoutMs: 5000 });
      } catch (err) {
        this.client.log.debug({ bmc: this.key, err: (err as Error).message }, 'Redfish logout failed');
      }
    }
    this.closed = true;
    this.token = null;
    this.onClose?.();
  }
}

function headerOne(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v[0] ?? null : v;
}

function lastSegment(uri: string): string {
  return uri.replace(/\/$/, '').split('/').pop() ?? uri;
}

/** The BMC's own words for a failed request (Redfish error body), or ''. */
function errorDetail(r: HttpReply): string {
  if (r.body.length === 0) return '';
  try {
    const e = decodeErrorBody(parseJsonBounded(r.body, 'error', { maxBytes: 64 * 1024 }));
    if (!e) return '';
    return [e.message, ...e.extended].filter((x): x is string => !!x).join('; ').slice(0, 500);
  } catch {
    return '';
  }
}

function sessionIdFromBody(r: HttpReply): string | null {
  try {
    const v = parseJsonBounded(r.body, 'Session', { maxBytes: 64 * 1024 }) as Record<string, unknown>;
    const id = v['@odata.id'];
    return typeof id === 'string' && isLinkPath(id) && id.length < 2048 ? id : null;
  } catch {
    return null;
  }
}

function tryTask(body: Buffer): ReturnType<typeof decodeTask> | null {
  try { return decodeTask(parseJsonBounded(body, 'Task')); } catch { return null; }
}

/** Boot words of the core → Redfish targets. */
export const BOOT_TARGET_FOR = { pxe: 'Pxe', disk: 'Hdd', bios: 'BiosSetup', cdrom: 'Cd' } as const;
export type { BootMode };
