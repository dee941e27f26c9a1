// A client of OpenStack Ironic's REST API (the bare metal service, https://docs.openstack.org/api-ref/baremetal/) on
// Node's fetch — no `baremetal` CLI. What RackSeed's hand-off needs: version negotiation, nodes, ports, provision
// state changes, reading back. Auth: `noauth` (Bifrost's default) or HTTP basic (Metal3's Ironic).
//
// Microversions: `GET /` names the range the server speaks ([min_version, version]); every later request carries
// `X-OpenStack-Ironic-API-Version: <negotiated>` = min(server max, IRONIC_API_NEWEST). A server whose max is below
// IRONIC_API_OLDEST is refused with an error naming both. Every IronicError states the microversion in use.
//
// Errors: Ironic answers `{"error_message": "<JSON string>"}` whose inner object has `faultstring` (or, from the
// version middleware, `description`); IronicError carries that text, the HTTP status, the method and path — never a
// password (the client never puts one in a message; Ironic masks driver_info passwords on read).

/** The oldest microversion RackSeed can work with: 1.22 (node names, ports' pxe_enabled, manage/provide, heartbeat-era API). */
export const IRONIC_API_OLDEST = '1.22';
/** The newest microversion RackSeed knows the shapes of (Ironic 21.4, Debian 12, speaks 1.82). */
export const IRONIC_API_NEWEST = '1.82';

export type IronicAuth = { kind: 'none' } | { kind: 'basic'; user: string; password: string };

export interface IronicClientOptions {
  /** e.g. http://10.0.0.5:6385 (no trailing /v1) */
  url: string;
  auth: IronicAuth;
  /** per-request timeout (default 30 s) */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The node fields RackSeed reads back (a subset of Ironic's node object). */
export interface IronicNode {
  uuid: string;
  name: string | null;
  driver: string;
  driver_info: Record<string, unknown>;
  properties: Record<string, unknown>;
  extra: Record<string, unknown>;
  provision_state: string;
  target_provision_state: string | null;
  power_state: string | null;
  target_power_state: string | null;
  last_error: string | null;
  maintenance: boolean;
  maintenance_reason: string | null;
}

export interface IronicPort {
  uuid: string;
  address: string;
  node_uuid: string;
  pxe_enabled: boolean;
}

export interface IronicVersions { min: string; max: string }

/** A JSON patch operation (RFC 6902) as Ironic's PATCH takes it. */
export interface JsonPatchOp { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown }

export type IronicErrorKind = 'unreachable' | 'auth' | 'version' | 'not-found' | 'conflict' | 'refused' | 'server' | 'timeout';

export class IronicError extends Error {
  constructor(
    message: string,
    readonly kind: IronicErrorKind,
    /** HTTP status; 0 when no answer */
    readonly status: number,
    /** Ironic's own text (faultstring), when it sent one */
    readonly ironicMessage: string | null = null,
  ) {
    super(message);
    this.name = 'IronicError';
  }
}

/** Compare "1.22" and "1.82" numerically (-1, 0, 1). */
export function compareMicroversion(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number) as [number, number];
  const [bm, bn] = b.split('.').map(Number) as [number, number];
  return am !== bm ? Math.sign(am - bm) : Math.sign(an - bn);
}

/** The microversion to use against a server speaking `v`, or null when the server is too old for RackSeed. */
export function chooseMicroversion(v: IronicVersions): string | null {
  if (compareMicroversion(v.max, IRONIC_API_OLDEST) < 0) return null;
  return compareMicroversion(v.max, IRONIC_API_NEWEST) < 0 ? v.max : IRONIC_API_NEWEST;
}

/** Ironic's error text out of a response body (`error_message` is itself a JSON string, or plain text). */
export function ironicFault(body: string): string | null {
  let outer: unknown;
  try { outer = JSON.parse(body); } catch { return body.trim() ? body.trim().slice(0, 500) : null; }
  const em = (outer as { error_message?: unknown } | null)?.error_message;
  if (typeof em !== 'string') return typeof em === 'object' && em !== null ? faultOf(em) : null;
  try { return faultOf(JSON.parse(em)) ?? em; } catch { return em; }
}

function faultOf(o: unknown): string | null {
  if (typeof o !== 'object' || o === null) return null;
  const r = o as { faultstring?: unknown; description?: unknown; title?: unknown };
  if (typeof r.faultstring === 'string') return r.faultstring;
  if (typeof r.description === 'string') return r.description;
  return typeof r.title === 'string' ? r.title : null;
}

const NODE_FIELDS = ['uuid', 'name', 'driver', 'driver_info', 'properties', 'extra', 'provision_state', 'target_provision_state',
  'power_state', 'target_power_state', 'last_error', 'maintenance', 'maintenance_reason'];

export class IronicClient {
  readonly url: string;
  private version: string | null = null;
  private readonly f: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly o: IronicClientOptions) {
    this.url = o.url.replace(/\/+$/, '').replace(/\/v1$/, '');
    this.f = o.fetch ?? fetch;
    this.timeoutMs = o.timeoutMs ?? 30_000;
  }

  /** The negotiated microversion (after negotiate()), or null. */
  get microversion(): string | null {
    return this.version;
  }

  /**
   * `GET /` (unauthenticated in Ironic), choose the microversion, then one authenticated `GET /v1/nodes?limit=1`
   * so wrong credentials fail here, before anything is written. Returns the server's range and the choice.
   */
  async negotiate(): Promise<{ versions: IronicVersions; microversion: string }> {
    const root = await this.send('GET', '/', undefined, { versioned: false, authenticated: false });
    const dv = (root as { default_version?: { version?: unknown; min_version?: unknown } }).default_version;
    if (typeof dv?.version !== 'string' || typeof dv.min_version !== 'string') {
      throw new IronicError(`${this.url}/ does not look like an Ironic API (no default_version in its answer)`, 'server', 200);
    }
    const versions = { min: dv.min_version, max: dv.version };
    const mv = chooseMicroversion(versions);
    if (!mv) {
      throw new IronicError(`Ironic at ${this.url} speaks API ${versions.min}–${versions.max}; RackSeed needs microversion ${IRONIC_API_OLDEST} or newer`, 'version', 200);
    }
    this.version = mv;
    await this.send('GET', '/v1/nodes?limit=1&fields=uuid');
    return { versions, microversion: mv };
  }

  async getNode(ident: string): Promise<IronicNode | null> {
    try {
      return await this.send('GET', `/v1/nodes/${encodeURIComponent(ident)}?fields=${NODE_FIELDS.join(',')}`) as IronicNode;
    } catch (err) {
      if (err instanceof IronicError && err.kind === 'not-found') return null;
      throw err;
    }
  }

  async createNode(body: Record<string, unknown>): Promise<IronicNode> {
    return await this.send('POST', '/v1/nodes', body) as IronicNode;
  }

  async patchNode(uuid: string, ops: JsonPatchOp[]): Promise<IronicNode> {
    return await this.send('PATCH', `/v1/nodes/${encodeURIComponent(uuid)}`, ops) as IronicNode;
  }

  async deleteNode(uuid: string): Promise<void> {
    await this.send('DELETE', `/v1/nodes/${encodeURIComponent(uuid)}`);
  }

  /** Ports with this MAC (Ironic matches the address case-insensitively): at most one, Ironic keeps MACs unique. */
  async portsByAddress(mac: string): Promise<IronicPort[]> {
    const r = await this.send('GET', `/v1/ports?address=${encodeURIComponent(mac)}&fields=uuid,address,node_uuid,pxe_enabled`) as { ports: IronicPort[] };
    return r.ports;
  }

  async portsOfNode(uuid: string): Promise<IronicPort[]> {
    const r = await this.send('GET', `/v1/ports?node=${encodeURIComponent(uuid)}&fields=uuid,address,node_uuid,pxe_enabled`) as { ports: IronicPort[] };
    return r.ports;
  }

  async createPort(body: { address: string; node_uuid: string; pxe_enabled: boolean }): Promise<IronicPort> {
    return await this.send('POST', '/v1/ports', body) as IronicPort;
  }

  async patchPort(uuid: string, ops: JsonPatchOp[]): Promise<IronicPort> {
    return await this.send('PATCH', `/v1/ports/${encodeURIComponent(uuid)}`, ops) as IronicPort;
  }

  async deletePort(uuid: string): Promise<void> {
    await this.send('DELETE', `/v1/ports/${encodeURIComponent(uuid)}`);
  }

  /** `PUT /v1/nodes/ID/states/provision {target}` (202; the change runs in the conductor: poll getNode). */
  async setProvisionState(uuid: string, target: 'manage' | 'provide' | 'inspect' | 'abort'): Promise<void> {
    await this.send('PUT', `/v1/nodes/${encodeURIComponent(uuid)}/states/provision`, { target });
  }

  /** `PUT /v1/nodes/ID/states/power {target}` (202; poll getNode until target_power_state is null). */
  async setPowerState(uuid: string, target: 'power on' | 'power off' | 'rebooting'): Promise<void> {
    await this.send('PUT', `/v1/nodes/${encodeURIComponent(uuid)}/states/power`, { target });
  }

  /** One request; JSON in and out. Maps failures to IronicError (see the header). */
  private async send(method: string, path: string, body?: unknown, o: { versioned?: boolean; authenticated?: boolean } = {}): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (o.versioned !== false) {
      if (!this.version) throw new Error('IronicClient: negotiate() first');
      headers['x-openstack-ironic-api-version'] = this.version;
    }
    if (o.authenticated !== false && this.o.auth.kind === 'basic') {
      headers.authorization = 'Basic ' + Buffer.from(`${this.o.auth.user}:${this.o.auth.password}`, 'utf8').toString('base64');
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    const where = `${method} ${path.split('?')[0]}`;
    const mv = this.version ? ` (microversion ${this.version})` : '';
    let res: Response;
    try {
      res = await this.f(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') throw new IronicError(`Ironic at ${this.url} did not answer ${where} within ${Math.round(this.timeoutMs / 1000)} s`, 'timeout', 0);
      const why = e.cause?.code ?? e.cause?.message ?? e.message;
      throw new IronicError(`Ironic at ${this.url} is unreachable (${why})`, 'unreachable', 0);
    }
    const text = await res.text();
    if (res.ok) {
      if (!text) return null;
      try { return JSON.parse(text); } catch { throw new IronicError(`Ironic at ${this.url} answered ${where} with something that is not JSON`, 'server', res.status); }
    }
    const fault = ironicFault(text);
    const said = fault ? `: ${fault}` : '';
    if (res.status === 401 || res.status === 403) {
      const hint = this.o.auth.kind === 'none' ? 'it wants credentials (HTTP basic: give a user and a password)' : 'the user or password is wrong';
      throw new IronicError(`Ironic at ${this.url} refused ${where} with HTTP ${res.status}: ${hint}${said}`, 'auth', res.status, fault);
    }
    if (res.status === 406) throw new IronicError(`Ironic at ${this.url} refused${mv} ${where}${said}`, 'version', res.status, fault);
    if (res.status === 404) throw new IronicError(`Ironic at ${this.url}: ${where} not found${mv}${said}`, 'not-found', res.status, fault);
    if (res.status === 409) throw new IronicError(`Ironic at ${this.url} refused ${where}${mv}${said}`, 'conflict', res.status, fault);
    if (res.status >= 400 && res.status < 500) throw new IronicError(`Ironic at ${this.url} refused ${where}${mv} (HTTP ${res.status})${said}`, 'refused', res.status, fault);
    throw new IronicError(`Ironic at ${this.url} failed ${where}${mv} (HTTP ${res.status})${said}`, 'server', res.status, fault);
  }
}
