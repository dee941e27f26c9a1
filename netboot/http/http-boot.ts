// HTTP boot server (DESIGN.md "Boot flow"): iPXE scripts per node, kernels/initrds/images, iPXE binaries, and a
// hook for the core to mount the agent API on the same listener.
//   GET /boot.ipxe                   → script that re-requests itself with ?mac=…&uuid=…&serial=… (chain-self)
//   GET /boot.ipxe?mac=…[&uuid&serial&platform&arch&chip] → scriptFor(request) (null → 404)
//   GET|HEAD /files/*                → files under filesRoot (Range, ETag/304, 416; traversal → 403)
//   GET|HEAD /ipxe/*                 → iPXE binaries under ipxeRoot (same rules)
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { NetbootEventSink } from '../boot-policy.ts';
import { prepareFileResponse, sendFileResponse } from './file-response.ts';
import { renderChainSelfScript } from './scripts/chain-self.ts';

/** Who asked for a boot script; fields come from iPXE settings (chain-self.ts). Empty values are null. */
export interface BootScriptRequest {
  /** lower-case colon form */
  mac: string;
  uuid: string | null;
  serial: string | null;
  /** iPXE ${platform}: "pcbios", "efi" … */
  platform: string | null;
  /** iPXE ${buildarch}: "i386", "x86_64", "arm64" … */
  arch: string | null;
  /** iPXE ${netX/chip}: NIC driver, "undionly" when chained through the firmware's PXE stack */
  chip: string | null;
  /** client address as seen by the server */
  ip: string;
}

export interface HttpBootOptions {
  logger: Logger;
  /** the per-node decision: an iPXE script, or null → 404. May be async. Called once per script request. */
  scriptFor: (request: BootScriptRequest) => string | null | Promise<string | null>;
  /** root for /files/* (kernels, initrds, images) */
  filesRoot: string;
  /** root for /ipxe/* (iPXE binaries; .cache/resources/ipxe after scripts/build.sh) */
  ipxeRoot: string;
  /** base URL clients reach this server at, e.g. "http://10.0.0.1:8080"; default: from the Host header */
  baseUrl?: string;
  onEvent?: NetbootEventSink;
  /** mount more routes (the agent API) on the same server; runs after the boot routes */
  registerExtra?: (app: FastifyInstance) => void | Promise<void>;
}

const MAC = /^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

/** "52-54-00-AB-CD-EF" / "525400abcdef" / "52:54:00:ab:cd:ef" → "52:54:00:ab:cd:ef"; null if not a MAC. */
export function normalizeMac(s: string): string | null {
  const m = MAC.exec(s.trim());
  return m ? [m[1], m[3], m[4], m[5], m[6], m[7]].join(':').toLowerCase() : null;
}

/** A fastify instance with the boot routes (and registerExtra's); call listen() yourself. */
export async function buildHttpBootServer(o: HttpBootOptions): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: o.logger as FastifyBaseLogger });
  await app.register(async (scope) => registerBootRoutes(scope, o));
  if (o.registerExtra) await o.registerExtra(app);
  return app;
}

/** The boot routes as a plugin body, for mounting on an existing fastify instance. */
export async function registerBootRoutes(app: FastifyInstance, o: HttpBootOptions): Promise<void> {
  const emit = (kind: string, ip: string, message: string, detail: Record<string, unknown>, level?: 'info' | 'warn' | 'error') => {
    try {
      o.onEvent?.({ source: 'http', kind, mac: null, ip, message, detail, level });
    } catch (err) {
      o.logger.warn({ err: (err as Error).message }, 'http: event sink threw');
    }
  };

  app.get('/boot.ipxe', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const str = (k: string) => (typeof q[k] === 'string' && q[k] !== '' ? q[k]! : null);
    if (q.mac === undefined) {
      const bootUrl = `${o.baseUrl ?? `http://${req.host}`}/boot.ipxe`;
      emit('script', req.ip, 'chain-self script (asking the client who it is)', { script: 'chain-self' });
      return reply.type('text/plain; charset=utf-8').send(renderChainSelfScript({ bootUrl, retrySeconds: 5 }));
    }
    const mac = normalizeMac(q.mac);
    if (!mac) return reply.code(400).type('text/plain').send('bad mac\n');
    const request: BootScriptRequest = {
      mac, uuid: str('uuid'), serial: str('serial'), platform: str('platform'), arch: str('arch'), chip: str('chip'), ip: req.ip,
    };
    const script = await o.scriptFor(request);
    if (script === null) {
      emit('script', req.ip, `no boot script for ${mac}`, { ...request, status: 404 });
      return reply.code(404).type('text/plain').send('no boot script for this node\n');
    }
    emit('script', req.ip, `boot script for ${mac}`, { ...request, status: 200, firstLine: script.split('\n')[1] ?? '' });
    return reply.type('text/plain; charset=utf-8').send(script);
  });

  const files = (root: string, area: string) => async (req: FastifyRequest, reply: FastifyReply) => {
    const rel = (req.params as Record<string, string>)['*'] ?? '';
    const started = Date.now();
    const r = await prepareFileResponse(req, root, rel);
    const level = r.status === 403 ? 'warn' : r.status >= 400 ? 'info' : undefined;
    emit('download', req.ip, `${req.method} /${area}/${rel} → ${r.status}`, { file: `${area}/${rel}`, status: r.status, bytes: r.bytes, range: r.range, ms: Date.now() - started }, level);
    return sendFileResponse(reply, r);
  };
  // HEAD is routed explicitly so its Content-Length is the file's, not fastify's empty-body length.
  app.route({ method: ['GET', 'HEAD'], url: '/files/*', exposeHeadRoute: false, handler: files(o.filesRoot, 'files') });
  app.route({ method: ['GET', 'HEAD'], url: '/ipxe/*', exposeHeadRoute: false, handler: files(o.ipxeRoot, 'ipxe') });
}
