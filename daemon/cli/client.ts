// The CLI's client of a running daemon: every `rackseed` verb that acts on the fleet (nodes, images, deploy, hand-off,
// …) goes through the daemon's API, so the CLI, the UI and scripts share one interface.
//   RACKSEED_URL    http://HOST:PORT (default http://127.0.0.1:8080, where `npm run lab` puts the UI) or unix:/path
//   RACKSEED_TOKEN  the daemon's API token (printed by `rackseed serve` / `npm run lab`); required
// Exit codes (stable, for scripts) are EXIT below; `--json` prints one JSON document on stdout.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { jsonVisible } from './visible-controls.ts';

export const EXIT = {
  OK: 0,
  /** the operation ran and failed (a node ended in a failed state, a job failed) */
  FAILED: 1,
  USAGE: 2,
  /** no daemon at RACKSEED_URL */
  UNREACHABLE: 3,
  /** 401/403: no or wrong RACKSEED_TOKEN */
  UNAUTHORIZED: 4,
  /** 404: no such node, image, … */
  NOT_FOUND: 5,
  /** 409: the state does not allow it (node busy, wrong state, name taken) */
  CONFLICT: 6,
  /** 400: the daemon refused the input (validation) */
  INVALID: 7,
  /** --wait gave up */
  TIMEOUT: 8,
} as const;

/** An error that ends the command with `exitCode` and prints `message` (to stderr, or as `{ error }` with --json). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number, readonly detail?: unknown) {
    super(message);
  }
}

export interface ApiResponse<T> { status: number; body: T }

export interface DaemonClientOptions {
  url: string;
  token: string;
}

/** Where the daemon is, from the environment; a missing token is a usage error that says where to find it. */
export function clientOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DaemonClientOptions {
  const url = env.RACKSEED_URL?.trim() || 'http://127.0.0.1:8080';
  const token = env.RACKSEED_TOKEN?.trim();
  if (!token) {
    throw new CliError('RACKSEED_TOKEN is not set: export the API token that `rackseed serve` (or `npm run lab`) printed', EXIT.USAGE);
  }
  return { url: url.replace(/\/+$/, ''), token };
}

function exitFor(status: number): number {
  if (status === 401 || status === 403) return EXIT.UNAUTHORIZED;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 409) return EXIT.CONFLICT;
  if (status === 400 || status === 413 || status === 415) return EXIT.INVALID;
  return EXIT.FAILED;
}

/** A JSON client of the daemon's API. Non-2xx answers become a CliError carrying the daemon's `error` text. */
export class DaemonClient {
  constructor(readonly o: DaemonClientOptions) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): DaemonClient {
    return new DaemonClient(clientOptionsFromEnv(env));
  }

  /** `body`: a JSON value, or a Readable streamed as-is (with `contentType`, e.g. an image upload). */
  async call<T>(method: string, path: string, body?: unknown, opts: { contentType?: string; headers?: Record<string, string> } = {}): Promise<T> {
    const res = await this.raw(method, path, body, opts);
    const text = await readAll(res);
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try { parsed = JSON.parse(text); } catch { parsed = text; }
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const error = typeof parsed === 'object' && parsed !== null && 'error' in parsed ? String((parsed as { error: unknown }).error) : `HTTP ${status}`;
      throw new CliError(status === 401 ? `the daemon refused the token (${error}); check RACKSEED_TOKEN` : error, exitFor(status), parsed);
    }
    return parsed as T;
  }

  /** The raw response (for streaming downloads); rejects only when the daemon cannot be reached. */
  raw(method: string, path: string, body?: unknown, opts: { contentType?: string; headers?: Record<string, string> } = {}): Promise<IncomingMessage> {
    const stream = isReadable(body) ? body : null;
    const data = stream || body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { authorization: `Bearer ${this.o.token}`, ...opts.headers };
    if (data) { headers['content-type'] = 'application/json'; headers['content-length'] = String(data.length); }
    if (stream) headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    const target = this.o.url.startsWith('unix:')
      ? { socketPath: this.o.url.slice(5), path, headers: { ...headers, host: 'localhost' } }
      : (() => { const u = new URL(this.o.url + path); return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || 80, path: u.pathname + u.search, headers }; })();
    return new Promise((resolve, reject) => {
      const req = httpRequest({ ...target, method }, (res) => {
        // an error answer while a streamed body is still being sent (a refused upload): once the answer is read, stop
        // sending — the daemon would otherwise read and drop the rest of the file, and a sender that gave up would hang
        if (stream && (res.statusCode ?? 0) >= 300) res.once('end', () => { stream.unpipe(req); stream.destroy(); req.destroy(); });
        resolve(res);
      });
      req.on('error', (err) => reject(new CliError(`cannot reach the daemon at ${this.o.url}: ${(err as Error).message} (is \`rackseed serve\` running? set RACKSEED_URL)`, EXIT.UNREACHABLE)));
      if (stream) stream.pipe(req);
      else req.end(data);
    });
  }
}

function isReadable(v: unknown): v is Readable {
  return typeof v === 'object' && v !== null && typeof (v as Readable).pipe === 'function' && typeof (v as Readable).on === 'function';
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/**
 * Run a CLI action: print its result (JSON with `--json`, else the human text), map errors to exit codes.
 * `human` may return null to print nothing.
 */
export async function runAction<T>(json: boolean, action: () => Promise<T>, human: (v: T) => string | null): Promise<void> {
  try {
    const v = await action();
    // jsonVisible: the same JSON with DEL/C1/bidi characters escaped too (text from nodes must not drive the terminal)
    if (json) process.stdout.write(jsonVisible(v) + '\n');
    else { const text = human(v); if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n'); }
    process.exitCode = process.exitCode ?? EXIT.OK;
  } catch (err) {
    const e = err instanceof CliError ? err : new CliError((err as Error).message, EXIT.FAILED);
    if (json) process.stdout.write(jsonVisible({ error: e.message, exitCode: e.exitCode, detail: e.detail }) + '\n');
    process.stderr.write(`rackseed: ${e.message}\n`);
    process.exitCode = e.exitCode;
  }
}

/** Resolve NODE (an id, a MAC in any notation, or a serial number) against the daemon's node list. */
export async function resolveNode<N extends { id: string; mac: string; serial?: string | null }>(client: DaemonClient, ref: string): Promise<N> {
  const nodes = await client.call<N[]>('GET', '/api/v1/nodes');
  const mac = ref.toLowerCase().replace(/[-.]/g, ':');
  const hits = nodes.filter((n) => n.id === ref || n.mac.toLowerCase() === mac || (n.serial ?? null) === ref);
  if (hits.length === 0) throw new CliError(`no node ${ref} (give its id, MAC or serial; \`rackseed nodes\` lists them)`, EXIT.NOT_FOUND);
  if (hits.length > 1) throw new CliError(`${ref} names ${hits.length} nodes (${hits.map((n) => n.id).join(', ')}); give the id`, EXIT.USAGE);
  return hits[0]!;
}
