// A small Redfish service playing one node's BMC in the virtual rack (lab only, never in the product). It serves what
// a provisioning tool uses (DSP0266 / DSP8010 resources), over HTTPS with a self-signed certificate:
//
//   GET  /redfish, /redfish/v1/ (public), /redfish/v1/odata (public)
//   POST /redfish/v1/SessionService/Sessions {UserName, Password} → 201, X-Auth-Token, Location; DELETE it to log out
//   GET  /redfish/v1/SessionService, …/Sessions[/ID]
//   GET  /redfish/v1/Systems, /redfish/v1/Systems/1 (PowerState, Boot, UUID, SerialNumber, Model, ETag)
//   PATCH /redfish/v1/Systems/1 {Boot: {BootSourceOverrideTarget, BootSourceOverrideEnabled, BootSourceOverrideMode}}
//   POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset {ResetType}   (only the listed ResetTypes)
//   GET  /redfish/v1/Systems/1/ResetActionInfo (when resetInfo: 'actioninfo'), …/EthernetInterfaces[/N]
//   GET  /redfish/v1/Managers[/1] (FirmwareVersion), /redfish/v1/Chassis[/1], task monitors (taskMs)
//
// Everything but the service root needs X-Auth-Token or basic auth with the lab's BMC user. The power and boot
// side is a PowerBackend (power.ts): the real QEMU node through chassis-control.sh, or an in-memory fake.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { LabBoot, LabBootTarget, LabPowerAction, PowerBackend } from './power.ts';

export interface LabSystemIdentity {
  uuid: string;
  serial: string;
  model?: string;
  manufacturer?: string;
  /** the node's NIC MACs */
  macs: string[];
  /** the BMC's firmware version (Manager) */
  firmware?: string;
}

export interface LabRedfishOptions {
  user: string;
  password: string;
  identity: LabSystemIdentity;
  power: PowerBackend;
  /** ComputerSystems in the collection (default 1; more for the several-systems case: the others are inert) */
  systems?: number;
  /** ResetType@Redfish.AllowableValues (default On, ForceOff, GracefulShutdown, ForceRestart, PowerCycle) */
  resetTypes?: string[];
  /** where the allowed ResetTypes are listed: inline (default) or in an ActionInfo resource */
  resetInfo?: 'inline' | 'actioninfo';
  /** Reset and PATCH answer 202 with a task monitor that completes after this many ms (Infinity: never); null: 204 at once */
  taskMs?: number | null;
  /** false: no SessionService (basic auth only) */
  sessions?: boolean;
  /** tests: answer a request here instead (return true when answered) */
  intercept?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean;
}

const DEFAULT_RESETS = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'];
const BOOT_TARGETS: LabBootTarget[] = ['None', 'Pxe', 'Hdd', 'Cd', 'BiosSetup'];
const RESET_ACTION: Record<string, LabPowerAction> = { On: 'on', ForceOn: 'on', ForceOff: 'off', GracefulShutdown: 'shutdown', ForceRestart: 'reset', GracefulRestart: 'reset', PowerCycle: 'cycle' };
const MAX_BODY = 64 * 1024;

interface Task { id: string; doneAt: number; what: string }

export class LabRedfishBmc {
  private server: https.Server | null = null;
  private readonly tokens = new Map<string, string>(); // token → session id
  private readonly tasks = new Map<string, Task>();
  private etag = 1;
  /** "METHOD path" of every request, in order (tests read it) */
  readonly requests: string[] = [];
  /** sessions created and deleted (tests: logout happened) */
  readonly sessionLog: { created: number; deleted: number } = { created: 0, deleted: 0 };

  constructor(readonly o: LabRedfishOptions) {}

  /** Listen on host:port (0 = any free port). Resolves with the port. */
  listen(host: string, port: number, tls: { key: Buffer | string; cert: Buffer | string }): Promise<number> {
    this.server = https.createServer({ key: tls.key, cert: tls.cert, keepAlive: true }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve((this.server!.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) { resolve(); return; }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  get activeSessions(): number { return this.tokens.size; }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => { size += c.length; if (size <= MAX_BODY) chunks.push(c); });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      this.requests.push(`${req.method} ${req.url}`);
      if (size > MAX_BODY) { this.error(res, 413, 'Base.1.0.GeneralError', 'request body too large'); return; }
      if (this.o.intercept?.(req, res, body)) return;
      this.route(req, res, body).catch((err: unknown) => this.error(res, 500, 'Base.1.0.InternalError', (err as Error).message));
    });
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const data = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'odata-version': '4.0', 'content-length': String(Buffer.byteLength(data)), ...headers });
    res.end(data);
  }

  private error(res: ServerResponse, status: number, id: string, message: string, headers: Record<string, string> = {}): void {
    this.send(res, status, { error: { code: id, message, '@Message.ExtendedInfo': [{ MessageId: id, Message: message }] } }, headers);
  }

  private authorized(req: IncomingMessage): boolean {
    const token = req.headers['x-auth-token'];
    if (typeof token === 'string' && this.tokens.has(token)) return true;
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && auth.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      return this.credentialsOk(u ?? '', p.join(':'));
    }
    return false;
  }

  private credentialsOk(user: unknown, password: unknown): boolean {
    if (typeof user !== 'string' || typeof password !== 'string') return false;
    const a = Buffer.from(`${user}\0${password}`);
    const b = Buffer.from(`${this.o.user}\0${this.o.password}`);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async route(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/redfish') { this.send(res, 200, { v1: '/redfish/v1/' }); return; }
    if (method === 'GET' && path === '/redfish/v1') { this.send(res, 200, this.root()); return; }
    if (method === 'GET' && path === '/redfish/v1/odata') { this.send(res, 200, this.odata()); return; }
    const sessionsUri = '/redfish/v1/SessionService/Sessions';
    if (method === 'POST' && path === sessionsUri && this.o.sessions !== false) { this.login(res, body); return; }
    if (!this.authorized(req)) {
      this.error(res, 401, 'Base.1.0.NoValidSession', 'authentication required', { 'www-authenticate': 'Basic realm="RackSeed Lab BMC"' });
      return;
    }
    const sys = /^\/redfish\/v1\/Systems\/(\d+)(\/.*)?$/.exec(path);
    if (sys) { await this.system(req, res, Number(sys[1]), sys[2] ?? '', body); return; }
    if (method === 'GET') {
      switch (path) {
        case '/redfish/v1/Systems': this.send(res, 200, collection('/redfish/v1/Systems', 'ComputerSystemCollection', 'Computer System Collection', Array.from({ length: this.o.systems ?? 1 }, (_, i) => `/redfish/v1/Systems/${i + 1}`))); return;
        case '/redfish/v1/Managers': this.send(res, 200, collection('/redfish/v1/Managers', 'ManagerCollection', 'Manager Collection', ['/redfish/v1/Managers/1'])); return;
        case '/redfish/v1/Managers/1': this.send(res, 200, this.manager()); return;
        case '/redfish/v1/Chassis': this.send(res, 200, collection('/redfish/v1/Chassis', 'ChassisCollection', 'Chassis Collection', ['/redfish/v1/Chassis/1'])); return;
        case '/redfish/v1/Chassis/1': this.send(res, 200, { '@odata.id': '/redfish/v1/Chassis/1', '@odata.type': '#Chassis.v1_14_0.Chassis', Id: '1', Name: 'Lab chassis', ChassisType: 'RackMount', SerialNumber: this.o.identity.serial }); return;
        case '/redfish/v1/SessionService': this.send(res, 200, { '@odata.id': '/redfish/v1/SessionService', '@odata.type': '#SessionService.v1_1_8.SessionService', Id: 'SessionService', Name: 'Session Service', ServiceEnabled: true, SessionTimeout: 600, Sessions: { '@odata.id': sessionsUri } }); return;
        case sessionsUri: this.send(res, 200, collection(sessionsUri, 'SessionCollection', 'Session Collection', [...this.tokens.values()].map((id) => `${sessionsUri}/${id}`))); return;
      }
      const sess = /^\/redfish\/v1\/SessionService\/Sessions\/([\w-]+)$/.exec(path);
      if (sess && [...this.tokens.values()].includes(sess[1]!)) { this.send(res, 200, { '@odata.id': path, '@odata.type': '#Session.v1_3_0.Session', Id: sess[1], Name: 'User Session', UserName: this.o.user }); return; }
      const mon = /^\/redfish\/v1\/TaskService\/TaskMonitors\/([\w-]+)$/.exec(path);
      if (mon && this.tasks.has(mon[1]!)) { this.taskMonitor(res, this.tasks.get(mon[1]!)!); return; }
    }
    if (method === 'DELETE') {
      const sess = /^\/redfish\/v1\/SessionService\/Sessions\/([\w-]+)$/.exec(path);
      const token = sess ? [...this.tokens.entries()].find(([, id]) => id === sess[1])?.[0] : undefined;
      if (token) { this.tokens.delete(token); this.sessionLog.deleted++; res.writeHead(204).end(); return; }
    }
    this.error(res, 404, 'Base.1.0.ResourceMissingAtURI', `no resource at ${path}`);
  }

  private login(res: ServerResponse, body: Buffer): void {
    let v: { UserName?: unknown; Password?: unknown };
    try { v = JSON.parse(body.toString('utf8')) as typeof v; } catch { this.error(res, 400, 'Base.1.0.MalformedJSON', 'the request body is not JSON'); return; }
    if (!v || !this.credentialsOk(v.UserName, v.Password)) { this.error(res, 401, 'Base.1.0.NoValidSession', 'invalid user name or password'); return; }
    const token = randomBytes(24).toString('hex');
    const id = randomUUID();
    this.tokens.set(token, id);
    this.sessionLog.created++;
    const uri = `/redfish/v1/SessionService/Sessions/${id}`;
    this.send(res, 201, { '@odata.id': uri, '@odata.type': '#Session.v1_3_0.Session', Id: id, Name: 'User Session', UserName: this.o.user }, { 'x-auth-token': token, location: uri });
  }

  private root(): unknown {
    const r: Record<string, unknown> = {
      '@odata.id': '/redfish/v1/', '@odata.type': '#ServiceRoot.v1_11_0.ServiceRoot', Id: 'RootService', Name: 'RackSeed Lab Redfish Service',
      RedfishVersion: '1.11.0', UUID: serviceUuid(this.o.identity.uuid), Product: 'RackSeed Lab BMC', Vendor: 'RackSeed',
      Systems: { '@odata.id': '/redfish/v1/Systems' }, Managers: { '@odata.id': '/redfish/v1/Managers' }, Chassis: { '@odata.id': '/redfish/v1/Chassis' },
      Links: {},
    };
    if (this.o.sessions !== false) {
      r.SessionService = { '@odata.id': '/redfish/v1/SessionService' };
      r.Links = { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } };
    }
    return r;
  }

  private odata(): unknown {
    return { '@odata.context': '/redfish/v1/$metadata', value: ['Systems', 'Managers', 'Chassis', 'SessionService'].map((n) => ({ name: n, kind: 'Singleton', url: `/redfish/v1/${n}` })) };
  }

  private manager(): unknown {
    return {
      '@odata.id': '/redfish/v1/Managers/1', '@odata.type': '#Manager.v1_10_0.Manager', Id: '1', Name: 'Lab BMC', ManagerType: 'BMC',
      FirmwareVersion: this.o.identity.firmware ?? 'rackseed-lab-1.0', Model: 'RackSeed Lab BMC',
      Links: { ManagerForServers: [{ '@odata.id': '/redfish/v1/Systems/1' }] },
    };
  }

  private async system(req: IncomingMessage, res: ServerResponse, n: number, sub: string, body: Buffer): Promise<void> {
    if (n < 1 || n > (this.o.systems ?? 1)) { this.error(res, 404, 'Base.1.0.ResourceMissingAtURI', `no system ${n}`); return; }
    const base = `/redfish/v1/Systems/${n}`;
    const method = req.method ?? 'GET';
    if (sub === '' && method === 'GET') {
      this.send(res, 200, await this.systemBody(n), { etag: `W/"${this.etag}"` });
      return;
    }
    if (sub === '' && method === 'PATCH') { await this.patchBoot(req, res, body); return; }
    if (sub === '/Actions/ComputerSystem.Reset' && method === 'POST') { await this.reset(res, body); return; }
    if (sub === '/ResetActionInfo' && method === 'GET') {
      this.send(res, 200, { '@odata.id': `${base}/ResetActionInfo`, '@odata.type': '#ActionInfo.v1_1_2.ActionInfo', Id: 'ResetActionInfo', Name: 'Reset Action Info', Parameters: [{ Name: 'ResetType', Required: true, DataType: 'String', AllowableValues: this.resetTypes() }] });
      return;
    }
    if (sub === '/EthernetInterfaces' && method === 'GET') {
      this.send(res, 200, collection(`${base}/EthernetInterfaces`, 'EthernetInterfaceCollection', 'Ethernet Interface Collection', this.o.identity.macs.map((_, i) => `${base}/EthernetInterfaces/${i + 1}`)));
      return;
    }
    const eth = /^\/EthernetInterfaces\/(\d+)$/.exec(sub);
    if (eth && method === 'GET') {
      const mac = this.o.identity.macs[Number(eth[1]) - 1];
      if (!mac) { this.error(res, 404, 'Base.1.0.ResourceMissingAtURI', 'no such interface'); return; }
      this.send(res, 200, { '@odata.id': `${base}/EthernetInterfaces/${eth[1]}`, '@odata.type': '#EthernetInterface.v1_6_0.EthernetInterface', Id: eth[1], Name: `NIC ${eth[1]}`, MACAddress: mac.toUpperCase(), PermanentMACAddress: mac.toUpperCase(), Status: { State: 'Enabled', Health: 'OK' } });
      return;
    }
    this.error(res, method === 'GET' ? 404 : 405, method === 'GET' ? 'Base.1.0.ResourceMissingAtURI' : 'Base.1.0.OperationNotAllowed', `${method} ${base}${sub} is not supported`);
  }

  private resetTypes(): string[] { return this.o.resetTypes ?? DEFAULT_RESETS; }

  private async systemBody(n: number): Promise<unknown> {
    const base = `/redfish/v1/Systems/${n}`;
    const primary = n === 1;
    const power = primary ? await this.o.power.power() : 'Off';
    const boot: LabBoot = primary ? await this.o.power.boot() : { target: 'None', enabled: 'Disabled', mode: 'Legacy' };
    const reset: Record<string, unknown> = { target: `${base}/Actions/ComputerSystem.Reset` };
    if ((this.o.resetInfo ?? 'inline') === 'inline') reset['ResetType@Redfish.AllowableValues'] = this.resetTypes();
    else reset['@Redfish.ActionInfo'] = `${base}/ResetActionInfo`;
    return {
      '@odata.id': base, '@odata.type': '#ComputerSystem.v1_13_0.ComputerSystem', Id: String(n), Name: primary ? 'Lab node' : `Lab node ${n}`,
      SystemType: 'Physical', Manufacturer: this.o.identity.manufacturer ?? 'RackSeed Lab', Model: this.o.identity.model ?? 'Virtual Node',
      SerialNumber: primary ? this.o.identity.serial : `${this.o.identity.serial}-${n}`, UUID: primary ? this.o.identity.uuid : randomUUIDFrom(this.o.identity.uuid, n),
      PowerState: power, Status: { State: 'Enabled', Health: 'OK' },
      Boot: {
        BootSourceOverrideTarget: boot.target, BootSourceOverrideEnabled: boot.enabled, BootSourceOverrideMode: boot.mode,
        'BootSourceOverrideTarget@Redfish.AllowableValues': BOOT_TARGETS,
      },
      EthernetInterfaces: { '@odata.id': `${base}/EthernetInterfaces` },
      Links: { ManagedBy: [{ '@odata.id': '/redfish/v1/Managers/1' }], Chassis: [{ '@odata.id': '/redfish/v1/Chassis/1' }] },
      Actions: { '#ComputerSystem.Reset': reset },
    };
  }

  private json(res: ServerResponse, body: Buffer): Record<string, unknown> | null {
    try {
      const v = JSON.parse(body.toString('utf8')) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* below */ }
    this.error(res, 400, 'Base.1.0.MalformedJSON', 'the request body is not a JSON object');
    return null;
  }

  private async patchBoot(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const ifMatch = req.headers['if-match'];
    if (typeof ifMatch === 'string' && ifMatch !== '*' && ifMatch !== `W/"${this.etag}"` && ifMatch !== `"${this.etag}"`) {
      this.error(res, 412, 'Base.1.0.PreconditionFailed', 'the ETag does not match the current resource'); return;
    }
    const v = this.json(res, body);
    if (!v) return;
    const b = v.Boot as Record<string, unknown> | undefined;
    if (!b || typeof b !== 'object') { this.error(res, 400, 'Base.1.0.PropertyMissing', 'only Boot can be changed'); return; }
    const cur = await this.o.power.boot();
    const next: LabBoot = { ...cur };
    if (b.BootSourceOverrideTarget !== undefined) {
      if (!BOOT_TARGETS.includes(b.BootSourceOverrideTarget as LabBootTarget)) { this.error(res, 400, 'Base.1.0.PropertyValueNotInList', `BootSourceOverrideTarget ${String(b.BootSourceOverrideTarget)} is not one of ${BOOT_TARGETS.join(', ')}`); return; }
      next.target = b.BootSourceOverrideTarget as LabBootTarget;
    }
    if (b.BootSourceOverrideEnabled !== undefined) {
      if (!['Disabled', 'Once', 'Continuous'].includes(b.BootSourceOverrideEnabled as string)) { this.error(res, 400, 'Base.1.0.PropertyValueNotInList', `BootSourceOverrideEnabled ${String(b.BootSourceOverrideEnabled)} is not allowed`); return; }
      next.enabled = b.BootSourceOverrideEnabled as LabBoot['enabled'];
    } else if (b.BootSourceOverrideTarget !== undefined && next.enabled === 'Disabled') {
      next.enabled = 'Once';
    }
    if (b.BootSourceOverrideMode !== undefined) {
      if (!['UEFI', 'Legacy'].includes(b.BootSourceOverrideMode as string)) { this.error(res, 400, 'Base.1.0.PropertyValueNotInList', `BootSourceOverrideMode ${String(b.BootSourceOverrideMode)} is not allowed`); return; }
      next.mode = b.BootSourceOverrideMode as LabBoot['mode'];
    }
    if (next.target === 'None') next.enabled = 'Disabled';
    await this.o.power.setBoot(next);
    this.etag++;
    this.done(res, 'boot override');
  }

  private async reset(res: ServerResponse, body: Buffer): Promise<void> {
    const v = this.json(res, body);
    if (!v) return;
    const t = v.ResetType;
    if (typeof t !== 'string' || !this.resetTypes().includes(t) || !RESET_ACTION[t]) {
      this.error(res, 400, 'Base.1.0.ActionParameterValueNotInList', `ResetType ${String(t)} is not one of ${this.resetTypes().join(', ')}`);
      return;
    }
    await this.o.power.act(RESET_ACTION[t]!);
    this.etag++;
    this.done(res, `reset ${t}`);
  }

  /** 204 at once, or 202 with a task monitor when taskMs is set (the action itself has already happened). */
  private done(res: ServerResponse, what: string): void {
    if (this.o.taskMs === undefined || this.o.taskMs === null) { res.writeHead(204, { 'odata-version': '4.0' }).end(); return; }
    const id = randomBytes(6).toString('hex');
    this.tasks.set(id, { id, doneAt: Date.now() + this.o.taskMs, what });
    const monitor = `/redfish/v1/TaskService/TaskMonitors/${id}`;
    this.send(res, 202, taskBody(id, 'Running', what), { location: monitor, 'retry-after': '1' });
  }

  private taskMonitor(res: ServerResponse, t: Task): void {
    if (Date.now() < t.doneAt) { this.send(res, 202, taskBody(t.id, 'Running', t.what), { 'retry-after': '1' }); return; }
    this.send(res, 200, taskBody(t.id, 'Completed', t.what));
  }
}

function taskBody(id: string, state: string, what: string): unknown {
  return { '@odata.id': `/redfish/v1/TaskService/Tasks/${id}`, '@odata.type': '#Task.v1_4_3.Task', Id: id, Name: what, TaskState: state, PercentComplete: state === 'Completed' ? 100 : 50, Messages: [] };
}

function collection(id: string, type: string, name: string, members: string[]): unknown {
  return { '@odata.id': id, '@odata.type': `#${type}.${type}`, Name: name, Members: members.map((m) => ({ '@odata.id': m })), 'Members@odata.count': members.length };
}

/** The service's own UUID: derived from the node's, different from it (a BMC is not its host). */
function serviceUuid(uuid: string): string {
  return randomUUIDFrom(uuid, 0);
}

function randomUUIDFrom(uuid: string, n: number): string {
  const hex = uuid.replace(/-/g, '');
  const tail = ((parseInt(hex.slice(-4), 16) + 0x1111 * (n + 1)) & 0xffff).toString(16).padStart(4, '0');
  const h = hex.slice(0, 28) + tail;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
