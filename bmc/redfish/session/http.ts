// HTTPS to one BMC: a keep-alive agent whose connections are checked against the certificate pinned for that BMC
// *before* the request is handed a socket (so no header, no credential leaves for a certificate we do not trust),
// a cap on requests in flight, a timeout per attempt, retries with exponential backoff for what is safe to retry,
// and bodies read only up to a size cap.
//
// Why node:https and not the global fetch: Node 20's fetch is undici inside, and the only way to see a self-signed
// peer certificate before the request is sent is an undici Agent with a custom `connect` — which Node does not
// export (it would take the `undici` package as a second copy of the HTTP stack). http.Agent's createConnection
// with a callback does the same job with what Node ships (README.md, "Dependencies").
import https from 'node:https';
import tls from 'node:tls';
import { isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { Limiter } from '../../ipmi/session/limiter.ts';
import { CertificateChangedError, RedfishMalformedError, RedfishUnreachableError } from './errors.ts';

/** Where certificate fingerprints are pinned, keyed "host:port" (the core: SQLite; the CLI: a file). */
export interface TlsPinStore {
  get(key: string): string | null;
  set(key: string, sha256: string): void;
}

/** In-memory pins (tests, one-shot tools). */
export class MemoryPinStore implements TlsPinStore {
  readonly pins = new Map<string, string>();
  get(key: string): string | null { return this.pins.get(key) ?? null; }
  set(key: string, sha256: string): void { this.pins.set(key, sha256); }
}

export interface TrustOptions {
  /** accept any certificate and pin nothing — only when the user asked for it (CLI --insecure) */
  insecure?: boolean;
  pins: TlsPinStore;
  /** a certificate was seen for the first time and pinned (show it to the user) */
  onPinned?: (host: string, port: number, sha256: string) => void;
}

export interface HttpOptions {
  trust: TrustOptions;
  log: Logger;
  /** per attempt, ms (default 10 000) */
  timeoutMs: number;
  /** retries after the first attempt for idempotent requests and for connections that never carried a request (default 2) */
  retries: number;
  /** first backoff, ms; doubles per retry (default 500) */
  backoffMs: number;
  /** requests in flight to this BMC (default 4: BMCs are small) */
  maxConcurrent: number;
  /** largest body read, bytes (default 1 MiB) */
  maxBodyBytes: number;
}

export interface HttpReply { status: number; headers: IncomingHttpHeaders; body: Buffer }

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  /** what is being asked, for errors ("GET /redfish/v1/Systems/1", "login") */
  what: string;
  headers?: Record<string, string>;
  json?: unknown;
  /** GET/DELETE are retried after any failure; others only when no byte of the request was sent */
  timeoutMs?: number;
  /** retries for this request instead of the BMC's default (the sweep's probe: 0) */
  retries?: number;
}

/** Thrown inside an attempt: `sent` says whether the request may have reached the BMC. */
class AttemptError extends Error {
  constructor(message: string, readonly sent: boolean, readonly final: Error | null = null, readonly stale = false) { super(message); }
}

const RETRY_STATUS = new Set([502, 503, 504]);

/** Colon-separated upper-case hex, as `openssl x509 -fingerprint -sha256` prints it. */
export function formatFingerprint(fp: string): string {
  return fp.toUpperCase();
}

export class BmcHttp {
  private readonly agent: https.Agent;
  private readonly limiter: Limiter;
  private closed = false;

  constructor(readonly host: string, readonly port: number, private readonly o: HttpOptions) {
    this.limiter = new Limiter(o.maxConcurrent);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: o.maxConcurrent, keepAliveMsecs: 1000 });
    // http.Agent calls createConnection(options, callback) and, when it returns nothing, waits for the callback
    (this.agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, cb: (err: Error | null, s?: tls.TLSSocket) => void): undefined => {
      this.connect(cb);
      return undefined;
    };
  }

  get key(): string { return `${this.host}:${this.port}`; }

  /** Open a TLS connection and check the peer certificate against the pin (trust on first use). */
  private connect(cb: (err: Error | null, s?: tls.TLSSocket) => void): void {
    let done = false;
    const finish = (err: Error | null, s?: tls.TLSSocket) => { if (!done) { done = true; cb(err, s); } };
    const sock = tls.connect({
      host: this.host, port: this.port, rejectUnauthorized: false,
      servername: isIP(this.host) ? undefined : this.host, ALPNProtocols: ['http/1.1'],
    });
    sock.setTimeout(this.o.timeoutMs, () => sock.destroy(new Error(`TLS connect timed out after ${this.o.timeoutMs} ms`)));
    sock.once('error', (err) => finish(err));
    sock.once('secureConnect', () => {
      sock.setTimeout(0);
      if (this.o.trust.insecure) { finish(null, sock); return; }
      const cert = sock.getPeerCertificate();
      const presented = cert?.fingerprint256 ? formatFingerprint(cert.fingerprint256) : null;
      if (!presented) { sock.destroy(); finish(new Error('the BMC presented no certificate')); return; }
      const pinned = this.o.trust.pins.get(this.key);
      if (pinned === null) {
        this.o.trust.pins.set(this.key, presented);
        this.o.log.info({ bmc: this.key, sha256: presented }, 'Redfish BMC certificate pinned (trust on first use)');
        this.o.trust.onPinned?.(this.host, this.port, presented);
      } else if (pinned !== presented) {
        sock.destroy();
        finish(new CertificateChangedError(this.key, pinned, presented));
        return;
      }
      finish(null, sock);
    });
  }

  /** One request with retries; resolves with any HTTP status (the caller judges it). */
  request(spec: RequestSpec): Promise<HttpReply> {
    if (this.closed) return Promise.reject(new RedfishUnreachableError(this.key, spec.what, 0, 'client closed'));
    return this.limiter.run(async () => {
      const idempotent = spec.method === 'GET' || spec.method === 'DELETE';
      let lastErr = '';
      const retries = spec.retries ?? this.o.retries;
      let staleRetried = false;
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) await sleep(this.o.backoffMs * 2 ** (attempt - 1));
        try {
          const reply = await this.attempt(spec);
          if (RETRY_STATUS.has(reply.status) && attempt < retries && idempotent) {
            lastErr = `HTTP ${reply.status}`;
            const ra = Number(reply.headers['retry-after']);
            if (Number.isFinite(ra) && ra > 0) await sleep(Math.min(ra * 1000, 10_000));
            continue;
          }
          return reply;
        } catch (err) {
          if (!(err instanceof AttemptError)) throw err;
          if (err.final) throw err.final;
          // a kept-alive connection the BMC had closed (it restarted, or timed the socket out): the request never
          // reached it, so once more on a fresh connection, whatever the retry budget
          if (err.stale && !staleRetried) { staleRetried = true; attempt--; continue; }
          lastErr = err.message;
          this.o.log.debug({ bmc: this.key, what: spec.what, attempt, err: err.message }, 'Redfish request failed');
          if (err.sent && !idempotent) throw new RedfishUnreachableError(this.key, spec.what, attempt + 1, `${err.message}; not retried: the BMC may have acted on it`);
        }
      }
      throw new RedfishUnreachableError(this.key, spec.what, retries + 1, lastErr);
    });
  }

  private attempt(spec: RequestSpec): Promise<HttpReply> {
    return new Promise<HttpReply>((resolve, reject) => {
      const body = spec.json === undefined ? undefined : Buffer.from(JSON.stringify(spec.json));
      const headers: Record<string, string> = { accept: 'application/json', 'odata-version': '4.0', ...spec.headers };
      if (body) { headers['content-type'] = 'application/json'; headers['content-length'] = String(body.length); }
      let sent = false;
      let settled = false;
      const fail = (e: AttemptError) => { if (!settled) { settled = true; clearTimeout(timer); req.destroy(); reject(e); } };
      const req = https.request({ host: this.host, port: this.port, method: spec.method, path: spec.path, headers, agent: this.agent });
      const ms = spec.timeoutMs ?? this.o.timeoutMs;
      const timer = setTimeout(() => fail(new AttemptError(`no answer within ${ms} ms`, sent)), ms);
      req.on('socket', () => { sent = true; });
      req.on('error', (err) => {
        if (err instanceof CertificateChangedError) { fail(new AttemptError(err.message, false, err)); return; }
        const code = (err as NodeJS.ErrnoException).code;
        const stale = req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
        fail(new AttemptError(code ? `${code}: ${err.message}` : err.message, sent && !stale, null, stale));
      });
      req.on('response', (res) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.o.maxBodyBytes) {
          fail(new AttemptError('', true, new RedfishMalformedError(this.key, spec.what, `body of ${declared} bytes is larger than the ${this.o.maxBodyBytes} bytes accepted`)));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.o.maxBodyBytes) {
            fail(new AttemptError('', true, new RedfishMalformedError(this.key, spec.what, `body larger than the ${this.o.maxBodyBytes} bytes accepted`)));
            return;
          }
          chunks.push(c);
        });
        res.on('error', (err) => fail(new AttemptError(err.message, true)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      req.end(body);
    });
  }

  /** Drop idle connections; requests after this fail. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
