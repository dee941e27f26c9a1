// One HTTP request from a chosen loopback source address (127.0.0.0/8 is all local on Linux), so unit tests can play
// several machines of a segment against one server: fetch() cannot pick its source address.
import { request } from 'node:http';

export interface FromResponse { status: number; body: string; headers: Record<string, string | string[] | undefined> }

/** `method url` sent from `localAddress`, with `headers` and an optional body; resolves with status and body text. */
export function httpFrom(localAddress: string, method: string, url: string, headers: Record<string, string> = {}, body?: string | Uint8Array): Promise<FromResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
