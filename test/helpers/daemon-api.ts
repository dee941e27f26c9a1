// Test helpers for talking to a daemon child process over its unix-socket API listener (`--listen unix:PATH`).
import { request } from 'node:http';

export type UnixApi = <T>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T }>;

/** A JSON client for the API on `socketPath`, authenticated with `token` (Bearer). Rejects only on socket errors. */
export function unixApi(socketPath: string, token: string): UnixApi {
  return <T>(method: string, path: string, body?: unknown) => new Promise<{ status: number; body: T }>((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, path, method, headers: { authorization: `Bearer ${token}`, ...(data ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let s = '';
      res.on('data', (c) => { s += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: s ? JSON.parse(s) as T : (undefined as T) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Polls `probe` every 200 ms until it returns non-null (a throw counts as null); fails after `ms` naming `what`. */
export async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
