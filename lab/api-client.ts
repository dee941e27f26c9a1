// A small client for the daemon's API (shared/api.ts) over its unix socket — what the lab CLI and the
// end-to-end tests use. Bearer-token auth; JSON in and out.
import { request } from 'node:http';

export class ApiError extends Error {
  constructor(readonly status: number, readonly path: string, readonly body: string) {
    super(`${path}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

export class LabApi {
  constructor(readonly socketPath: string, readonly token: string) {}

  get<T>(path: string): Promise<T> { return this.call<T>('GET', path); }
  post<T>(path: string, body: unknown = {}): Promise<T> { return this.call<T>('POST', path, body); }
  put<T>(path: string, body: unknown): Promise<T> { return this.call<T>('PUT', path, body); }

  /** One request; resolves with the parsed JSON body (or the text when it is not JSON); 4xx/5xx reject. */
  call<T>(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath, path, method, timeout: timeoutMs,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 400) { reject(new ApiError(res.statusCode ?? 500, path, text)); return; }
          try { resolve(JSON.parse(text) as T); } catch { resolve(text as unknown as T); }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
