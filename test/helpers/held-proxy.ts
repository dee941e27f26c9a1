// Test helper: an HTTP proxy in front of a real server (Ironic) that can hold ONE request — received in full from the
// client, not yet delivered — and deliver it late, at a moment the test chooses. It reproduces "the request was in
// flight when the daemon died and the server processed it only after the restarted daemon had looked": a kill -9 of
// the client while the request is held, then `deliverAfter()` forwards the held request right after the server has
// answered a chosen later request (the resumed job's lookup) and before that answer reaches the resumed client.
// Everything else is forwarded as it comes. Listens on host:0; `close()` stops it.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RequestMatch { method: string; path: RegExp }

export interface HeldProxy {
  url: string;
  /** Hold the first request matching `m`; resolves when it arrived (its body read in full). */
  hold(m: RequestMatch): Promise<void>;
  /**
   * When a request matching `trigger` arrives: forward it, then deliver the held request to the server and wait for
   * the server's answer to it (dropped: its client is gone), then give the trigger's answer to its client.
   * Resolves with the server's status for the held request.
   */
  deliverAfter(trigger: RequestMatch): Promise<number>;
  close(): Promise<void>;
}

interface Forwarded { status: number; headers: IncomingMessage['headers']; body: Buffer }

const matches = (m: RequestMatch, req: IncomingMessage): boolean => req.method === m.method && m.path.test(req.url ?? '');

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startHeldProxy(target: string, host = '127.0.0.1'): Promise<HeldProxy> {
  const t = new URL(target);
  const forward = (method: string, path: string, headers: IncomingMessage['headers'], body: Buffer): Promise<Forwarded> => new Promise((resolve, reject) => {
    const h = { ...headers, host: t.host, connection: 'close' };
    const r = request({ host: t.hostname, port: t.port, method, path, headers: h, agent: false }, (res) => {
      readBody(res).then((b) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }), reject);
    });
    r.on('error', reject);
    r.end(body);
  });
  let holdWant: RequestMatch | null = null;
  let onHeld: (() => void) | null = null;
  let held: { method: string; path: string; headers: IncomingMessage['headers']; body: Buffer } | null = null;
  let trigger: RequestMatch | null = null;
  let onDelivered: ((status: number) => void) | null = null;
  let onDeliverFailed: ((err: Error) => void) | null = null;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    if (holdWant && !held && matches(holdWant, req)) {
      held = { method: req.method!, path: req.url!, headers: req.headers, body };
      holdWant = null;
      onHeld?.();
      return; // never answered: the test kills the client
    }
    const answer = await forward(req.method!, req.url!, req.headers, body);
    if (trigger && held && matches(trigger, req)) {
      trigger = null;
      const h = held;
      held = null;
      try {
        const late = await forward(h.method, h.path, h.headers, h.body);
        onDelivered?.(late.status);
      } catch (err) { onDeliverFailed?.(err as Error); }
    }
    const headers = { ...answer.headers };
    delete headers['transfer-encoding'];
    delete headers.connection;
    res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) });
    res.end(answer.body);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => { if (!res.headersSent) { res.writeHead(502); res.end(err.message); } });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    hold: (m) => new Promise<void>((r) => { holdWant = m; onHeld = r; }),
    deliverAfter: (m) => new Promise<number>((resolve, reject) => {
      if (!held) { reject(new Error('held-proxy: nothing is held')); return; }
      trigger = m; onDelivered = resolve; onDeliverFailed = reject;
    }),
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
