// Decoders of the Redfish resources RackSeed reads (DMTF DSP0266 protocol, DSP8010 schemas): the service root, a
// collection, ComputerSystem, EthernetInterface, Manager, Task, ActionInfo and the error body. Each takes a value
// from parseJsonBounded() and returns a plain typed object, or throws RedfishDecodeError naming the field. Only the
// fields RackSeed uses are read; every string is length-checked, every link must be a path on the same service
// (never an absolute URL to another host), and unknown enum values are kept as written but never trusted for
// control: a reset is sent only with a ResetType the system lists (see allowedResetTypes).
import { RedfishDecodeError } from './errors.ts';

/** ComputerSystem.Reset types of DSP8010 (Resource.ResetType). */
export const RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'Nmi', 'ForceOn', 'PushPowerButton', 'PowerCycle', 'Suspend', 'Pause', 'Resume'] as const;
export type ResetType = (typeof RESET_TYPES)[number];

/** Boot.BootSourceOverrideTarget values of DSP8010 (ComputerSystem.BootSource). */
export const BOOT_TARGETS = ['None', 'Pxe', 'Floppy', 'Cd', 'Usb', 'Hdd', 'BiosSetup', 'Utilities', 'Diags', 'UefiShell', 'UefiTarget', 'SDCard', 'UefiHttp', 'RemoteDrive', 'UefiBootNext', 'Recovery'] as const;
export type BootTarget = (typeof BOOT_TARGETS)[number];
export type BootEnabled = 'Disabled' | 'Once' | 'Continuous';
export type BootMode = 'UEFI' | 'Legacy';

export type PowerState = 'On' | 'Off' | 'PoweringOn' | 'PoweringOff' | 'Paused';
const POWER_STATES: readonly string[] = ['On', 'Off', 'PoweringOn', 'PoweringOff', 'Paused'];

export type TaskState = 'New' | 'Starting' | 'Running' | 'Suspended' | 'Interrupted' | 'Pending' | 'Stopping' | 'Completed' | 'Killed' | 'Exception' | 'Service' | 'Cancelling' | 'Cancelled';
const TASK_STATES: readonly string[] = ['New', 'Starting', 'Running', 'Suspended', 'Interrupted', 'Pending', 'Stopping', 'Completed', 'Killed', 'Exception', 'Service', 'Cancelling', 'Cancelled'];
/** Task states after which the task will not change again. */
export const TASK_FINISHED: readonly TaskState[] = ['Completed', 'Killed', 'Exception', 'Cancelled'];

const MAX_STRING = 1024;
const MAX_LINK = 2048;
const MAX_MEMBERS = 10_000;
const MAX_LIST = 256;

/** A field reader over one JSON object that knows where it is (for the error's path). */
class Fields {
  constructor(readonly resource: string, readonly path: string, readonly o: Record<string, unknown>) {}

  static of(resource: string, v: unknown, path = ''): Fields {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new RedfishDecodeError(resource, path, `expected an object, got ${kind(v)}`);
    return new Fields(resource, path, v as Record<string, unknown>);
  }

  fail(key: string, reason: string): never { throw new RedfishDecodeError(this.resource, `${this.path}/${key}`, reason); }

  /** A string field; absent or null → null; `max` characters at most. */
  str(key: string, max = MAX_STRING): string | null {
    const v = this.o[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') this.fail(key, `expected a string, got ${kind(v)}`);
    if (v.length > max) this.fail(key, `string of ${v.length} characters (at most ${max})`);
    return v;
  }

  required(key: string, max = MAX_STRING): string {
    const v = this.str(key, max);
    if (v === null) this.fail(key, 'missing');
    return v;
  }

  num(key: string): number | null {
    const v = this.o[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `expected a number, got ${kind(v)}`);
    return v;
  }

  /** A nested object; absent or null → null. */
  obj(key: string): Fields | null {
    const v = this.o[key];
    if (v === undefined || v === null) return null;
    return Fields.of(this.resource, v, `${this.path}/${key}`);
  }

  /** An array field; absent or null → null; at most `max` entries. */
  arr(key: string, max = MAX_LIST): unknown[] | null {
    const v = this.o[key];
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v)) this.fail(key, `expected an array, got ${kind(v)}`);
    if (v.length > max) this.fail(key, `array of ${v.length} entries (at most ${max})`);
    return v;
  }

  /** A list of strings (AllowableValues). */
  strings(key: string): string[] | null {
    const a = this.arr(key);
    if (!a) return null;
    return a.map((x, i) => {
      if (typeof x !== 'string') this.fail(`${key}/${i}`, `expected a string, got ${kind(x)}`);
      if (x.length > MAX_STRING) this.fail(`${key}/${i}`, 'string too long');
      return x;
    });
  }

  /** `{"@odata.id": "/redfish/v1/…"}` at `key`; absent → null. */
  link(key: string): string | null {
    const f = this.obj(key);
    return f ? f.odataId() : null;
  }

  /** This object's own `@odata.id` (a path on the same service). */
  odataId(): string {
    return checkLink(this, '@odata.id', this.required('@odata.id', MAX_LINK));
  }
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

function checkLink(f: Fields, key: string, v: string): string {
  if (!v.startsWith('/') || v.startsWith('//')) f.fail(key, `link "${v.slice(0, 80)}" is not a path on this service`);
  if (!isLinkPath(v)) f.fail(key, `link "${v.slice(0, 80)}" has characters a link may not have`);
  return v;
}

/** A path on the service a request may be sent to: printable ASCII (RFC 3986), no backslash, no `..` segment. */
export function isLinkPath(v: string): boolean {
  return v.startsWith('/') && !v.startsWith('//') && /^[\x21-\x7e]+$/.test(v) && !v.includes('\\') && !/(^|\/)\.\.(\/|$)/.test(v);
}

/** Lower-case, dashed UUID; null for absent/empty; RedfishDecodeError when it is not a UUID. */
function uuidField(f: Fields, key: string): string | null {
  const v = f.str(key, 64);
  if (v === null || v.trim() === '') return null;
  const m = /^\{?([0-9a-fA-F]{8})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{12})\}?$/.exec(v.trim());
  if (!m) f.fail(key, `"${v}" is not a UUID`);
  return m.slice(1).join('-').toLowerCase();
}

/** Lower-case colon MAC; null for absent/empty; RedfishDecodeError when it is not a 48-bit MAC. */
export function normalizeMac(v: string): string | null {
  const hex = v.trim().toLowerCase().replace(/[:.-]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex)) return null;
  return hex.match(/../g)!.join(':');
}

function macField(f: Fields, key: string): string | null {
  const v = f.str(key, 64);
  if (v === null || v.trim() === '') return null;
  const mac = normalizeMac(v);
  if (!mac) f.fail(key, `"${v}" is not a MAC address`);
  return mac;
}

function enumField<T extends string>(f: Fields, key: string, values: readonly string[]): T | null {
  const v = f.str(key, 64);
  if (v === null) return null;
  if (!values.includes(v)) f.fail(key, `"${v}" is not one of ${values.join(', ')}`);
  return v as T;
}

// ---- service root ----

export interface ServiceRoot {
  /** e.g. "1.15.0" */
  redfishVersion: string;
  uuid: string | null;
  product: string | null;
  vendor: string | null;
  systems: string | null;
  managers: string | null;
  chassis: string | null;
  sessionService: string | null;
  /** where POST creates a session (Links.Sessions; DSP0266 §13.3.4) */
  sessions: string | null;
}

/**
 * GET /redfish/v1. A body that lacks a RedfishVersion of the form N.N.N is not a Redfish service root (the
 * client turns that into NotRedfishError).
 */
export function decodeServiceRoot(v: unknown): ServiceRoot {
  const f: Fields = Fields.of('service root', v);
  const version = f.str('RedfishVersion', 32);
  if (version === null) f.fail('RedfishVersion', 'missing: this is not a Redfish service root');
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(version)) f.fail('RedfishVersion', `"${version}" is not a Redfish version (N.N.N)`);
  const links = f.obj('Links');
  return {
    redfishVersion: version, uuid: uuidField(f, 'UUID'), product: f.str('Product'), vendor: f.str('Vendor'),
    systems: f.link('Systems'), managers: f.link('Managers'), chassis: f.link('Chassis'), sessionService: f.link('SessionService'),
    sessions: links?.link('Sessions') ?? null,
  };
}

// ---- collections ----

export interface Collection { members: string[]; count: number | null }

/** A resource collection (Systems, Managers, EthernetInterfaces, Sessions): the members' links. */
export function decodeCollection(v: unknown, resource = 'collection'): Collection {
  const f: Fields = Fields.of(resource, v);
  const raw = f.arr('Members', MAX_MEMBERS);
  if (raw === null) f.fail('Members', 'missing');
  const members = raw.map((m, i) => Fields.of(resource, m, `/Members/${i}`).odataId());
  const count = f.num('Members@odata.count');
  if (count !== null && (!Number.isInteger(count) || count < 0)) f.fail('Members@odata.count', `${count} is not a count`);
  return { members, count };
}

// ---- ComputerSystem ----

export interface BootSettings {
  target: string | null;
  enabled: BootEnabled | null;
  mode: BootMode | null;
  /** BootSourceOverrideTarget@Redfish.AllowableValues, when the system lists them */
  allowedTargets: string[] | null;
}

export interface ResetAction {
  /** where to POST {ResetType}; null when the system has no Reset action */
  target: string | null;
  /** ResetType@Redfish.AllowableValues, when listed inline */
  allowed: string[] | null;
  /** @Redfish.ActionInfo link: the allowed values are in that resource instead */
  actionInfo: string | null;
}

export interface ComputerSystem {
  odataId: string;
  id: string;
  name: string | null;
  uuid: string | null;
  serial: string | null;
  model: string | null;
  manufacturer: string | null;
  /** null when absent or not a DSP8010 value */
  powerState: PowerState | null;
  boot: BootSettings;
  reset: ResetAction;
  ethernetInterfaces: string | null;
  managedBy: string[];
}

export function decodeComputerSystem(v: unknown): ComputerSystem {
  const f: Fields = Fields.of('ComputerSystem', v);
  const odataId = f.odataId();
  const power = f.str('PowerState', 64);
  const boot = f.obj('Boot');
  const reset = f.obj('Actions')?.obj('#ComputerSystem.Reset') ?? null;
  const managedBy = (f.obj('Links')?.arr('ManagedBy') ?? []).map((m, i) => Fields.of('ComputerSystem', m, `/Links/ManagedBy/${i}`).odataId());
  const resetTarget = reset?.str('target', MAX_LINK) ?? null;
  const actionInfo = reset?.str('@Redfish.ActionInfo', MAX_LINK) ?? null;
  return {
    odataId, id: f.required('Id', 256), name: f.str('Name'), uuid: uuidField(f, 'UUID'), serial: f.str('SerialNumber'), model: f.str('Model'),
    manufacturer: f.str('Manufacturer'),
    powerState: power !== null && POWER_STATES.includes(power) ? power as PowerState : null,
    boot: {
      target: boot?.str('BootSourceOverrideTarget', 64) ?? null,
      enabled: boot ? enumField<BootEnabled>(boot, 'BootSourceOverrideEnabled', ['Disabled', 'Once', 'Continuous']) : null,
      mode: boot ? enumField<BootMode>(boot, 'BootSourceOverrideMode', ['UEFI', 'Legacy']) : null,
      allowedTargets: boot?.strings('BootSourceOverrideTarget@Redfish.AllowableValues') ?? null,
    },
    reset: {
      target: reset && resetTarget !== null ? checkLink(reset, 'target', resetTarget) : null,
      allowed: reset?.strings('ResetType@Redfish.AllowableValues') ?? null,
      actionInfo: reset && actionInfo !== null ? checkLink(reset, '@Redfish.ActionInfo', actionInfo) : null,
    },
    ethernetInterfaces: f.link('EthernetInterfaces'),
    managedBy,
  };
}

/** The ResetType values a system allows: the inline list, else the ActionInfo's, else null (the system does not say). */
export function allowedResetTypes(sys: ComputerSystem, info: ActionInfo | null): string[] | null {
  if (sys.reset.allowed) return sys.reset.allowed;
  return info?.parameters.find((p) => p.name === 'ResetType')?.allowableValues ?? null;
}

// ---- ActionInfo ----

export interface ActionInfo { parameters: { name: string; allowableValues: string[] | null }[] }

export function decodeActionInfo(v: unknown): ActionInfo {
  const f: Fields = Fields.of('ActionInfo', v);
  const params = f.arr('Parameters') ?? [];
  return {
    parameters: params.map((p, i) => {
      const pf = Fields.of('ActionInfo', p, `/Parameters/${i}`);
      return { name: pf.required('Name', 256), allowableValues: pf.strings('AllowableValues') };
    }),
  };
}

// ---- EthernetInterface ----

export interface EthernetInterface { odataId: string; id: string; mac: string | null; permanentMac: string | null }

export function decodeEthernetInterface(v: unknown): EthernetInterface {
  const f: Fields = Fields.of('EthernetInterface', v);
  return { odataId: f.odataId(), id: f.required('Id', 256), mac: macField(f, 'MACAddress'), permanentMac: macField(f, 'PermanentMACAddress') };
}

// ---- Manager ----

export interface Manager { odataId: string; id: string; firmwareVersion: string | null; model: string | null; managerType: string | null }

export function decodeManager(v: unknown): Manager {
  const f: Fields = Fields.of('Manager', v);
  return { odataId: f.odataId(), id: f.required('Id', 256), firmwareVersion: f.str('FirmwareVersion'), model: f.str('Model'), managerType: f.str('ManagerType', 64) };
}

// ---- Task ----

export interface Task { state: TaskState | null; percent: number | null; messages: string[] }

/** A Task resource (what a task monitor answers once it stops answering 202, or what some BMCs answer with 202). */
export function decodeTask(v: unknown): Task {
  const f: Fields = Fields.of('Task', v);
  const percent = f.num('PercentComplete');
  if (percent !== null && (percent < 0 || percent > 100)) f.fail('PercentComplete', `${percent} is not a percentage`);
  return {
    state: enumField<TaskState>(f, 'TaskState', TASK_STATES),
    percent,
    messages: (f.arr('Messages') ?? []).map((m, i) => Fields.of('Task', m, `/Messages/${i}`).str('Message') ?? '').filter((s) => s !== ''),
  };
}

// ---- error body (DSP0266 §9.6) ----

export interface RedfishErrorBody { code: string | null; message: string | null; extended: string[] }

/** The `error` object of a failed request; null when the body is not one (then only the status speaks). */
export function decodeErrorBody(v: unknown): RedfishErrorBody | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const e = (v as Record<string, unknown>).error;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return null;
  try {
    const f: Fields = Fields.of('error', e, '/error');
    const extended = (f.arr('@Message.ExtendedInfo') ?? []).map((m, i) => Fields.of('error', m, `/error/@Message.ExtendedInfo/${i}`).str('Message') ?? '').filter((s) => s !== '');
    return { code: f.str('code'), message: f.str('message'), extended };
  } catch {
    return null;
  }
}

// ---- requests (bodies RackSeed sends) ----

export interface BootOverride { target: BootTarget; enabled: Exclude<BootEnabled, 'Disabled'>; mode?: BootMode }

/** The PATCH body that sets a boot override (ComputerSystem.Boot). */
export function bootOverrideBody(o: BootOverride): { Boot: Record<string, string> } {
  const boot: Record<string, string> = { BootSourceOverrideTarget: o.target, BootSourceOverrideEnabled: o.enabled };
  if (o.mode) boot.BootSourceOverrideMode = o.mode;
  return { Boot: boot };
}
