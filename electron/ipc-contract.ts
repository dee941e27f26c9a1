// The IPC surface between the Electron preload (renderer side) and main: one channel per message, each with a
// pure argument validator. No Electron import here, so it is unit-testable with plain Node
// (test/unit/electron-ipc.test.ts) and its types can be shared with the renderer (`window.rackseed`).
//
// Contract: main answers a channel only when (1) the channel is listed in IPC_CHANNELS, (2) the sending frame's
// URL has the daemon's origin (isTrustedSender), and (3) validateInvoke accepts the arguments. Anything else is
// refused with an Error whose message names the reason; the handler never runs.

/** How the renderer reaches the daemon. `token` is the per-launch API token (Bearer / `?token=` on the stream). */
export interface Connection { baseUrl: string; token: string }

/** Static facts about the desktop shell. */
export interface AppInfo { version: string; platform: string; electron: string }

/** A file the renderer asks main to save through a native dialog (the renderer has no file system access). */
export interface ExportRequest {
  /** plain file name, no directory parts, ≤ 128 chars, e.g. "inventory.csv" */
  suggestedName: string;
  format: 'csv' | 'json';
  /** ≤ 16 MiB of text */
  content: string;
}

/** Result of saveExport: the chosen path, or null when the user cancelled. */
export type ExportResult = { savedTo: string | null };

/** What the preload exposes on `window.rackseed` — exactly one method per channel. */
export interface RackseedBridge {
  getConnection(): Promise<Connection>;
  getAppInfo(): Promise<AppInfo>;
  saveExport(req: ExportRequest): Promise<ExportResult>;
}

export const IPC_CHANNELS = {
  getConnection: 'rackseed:get-connection',
  getAppInfo: 'rackseed:get-app-info',
  saveExport: 'rackseed:save-export',
} as const satisfies Record<keyof RackseedBridge, string>;

export type IpcChannel = (typeof IPC_CHANNELS)[keyof typeof IPC_CHANNELS];

/** Argument tuples per channel, as main receives them after validation. */
export interface IpcArgs {
  'rackseed:get-connection': [];
  'rackseed:get-app-info': [];
  'rackseed:save-export': [ExportRequest];
}

export type Validated = { [C in IpcChannel]: { ok: true; channel: C; args: IpcArgs[C] } }[IpcChannel];
export type Rejected = { ok: false; reason: string };

const MAX_EXPORT_BYTES = 16 * 1024 * 1024;
const CHANNEL_SET: ReadonlySet<string> = new Set(Object.values(IPC_CHANNELS));

export function isIpcChannel(channel: unknown): channel is IpcChannel {
  return typeof channel === 'string' && CHANNEL_SET.has(channel);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** null when `name` is a safe bare file name, else the reason. */
function fileNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'suggestedName must be a string';
  if (name.length === 0 || name.length > 128) return 'suggestedName must be 1–128 characters';
  if (/[/\\\0]/.test(name) || name === '.' || name === '..') return 'suggestedName must be a bare file name';
  if (/[\x00-\x1f]/.test(name)) return 'suggestedName must not contain control characters';
  return null;
}

function validateExport(arg: unknown): ExportRequest | string {
  if (!isPlainObject(arg)) return 'saveExport expects one object argument';
  const keys = Object.keys(arg).sort().join(',');
  if (keys !== 'content,format,suggestedName') return `saveExport: unexpected fields (${keys})`;
  const nameProblem = fileNameProblem(arg.suggestedName);
  if (nameProblem) return nameProblem;
  if (arg.format !== 'csv' && arg.format !== 'json') return 'format must be "csv" or "json"';
  if (typeof arg.content !== 'string') return 'content must be a string';
  if (arg.content.length > MAX_EXPORT_BYTES) return 'content is larger than 16 MiB';
  return { suggestedName: arg.suggestedName as string, format: arg.format, content: arg.content };
}

/**
 * Validate one `ipcRenderer.invoke(channel, ...args)` as main receives it. Pure: no Electron, no I/O.
 * Returns the typed, copied arguments, or `{ ok: false, reason }` for an unknown channel or malformed arguments.
 */
export function validateInvoke(channel: unknown, args: readonly unknown[]): Validated | Rejected {
  if (!isIpcChannel(channel)) return { ok: false, reason: `unknown IPC channel ${JSON.stringify(String(channel)).slice(0, 80)}` };
  if (!Array.isArray(args)) return { ok: false, reason: 'arguments must be an array' };
  switch (channel) {
    case 'rackseed:get-connection':
    case 'rackseed:get-app-info':
      if (args.length !== 0) return { ok: false, reason: `${channel} takes no arguments` };
      return { ok: true, channel, args: [] };
    case 'rackseed:save-export': {
      if (args.length !== 1) return { ok: false, reason: `${channel} takes exactly one argument` };
      const v = validateExport(args[0]);
      if (typeof v === 'string') return { ok: false, reason: v };
      return { ok: true, channel, args: [v] };
    }
  }
}

/**
 * True when an IPC message comes from a frame showing the daemon's UI: same origin (scheme, host, port) as
 * `daemonBaseUrl`. Frames from any other origin (a navigated-away page, an injected iframe) are refused.
 */
export function isTrustedSender(frameUrl: string | null | undefined, daemonBaseUrl: string): boolean {
  if (!frameUrl) return false;
  try {
    const frame = new URL(frameUrl);
    const daemon = new URL(daemonBaseUrl);
    if (frame.protocol !== 'http:' && frame.protocol !== 'https:') return false;
    return frame.origin === daemon.origin;
  } catch {
    return false;
  }
}

/** The Content-Security-Policy main adds to every response for the window (the bundle also carries it as a meta tag). */
export function contentSecurityPolicy(): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
