// Ready images on the HTTP boot server, for the deploy agent (`wget -O - URL | dd`):
//   GET|HEAD /images/<sha256>.raw  → the raw bytes (Range → 206 / 416, ETag/If-Range, Content-Length, Accept-Ranges)
//   GET|HEAD /images/<sha256>.map  → its extent map; /images/<sha256>.data → its data ranges (image-extents-serving.ts:
//                                    what the agent deploys with, the zeros never cross the network)
// Only ready images, looked up by digest in the image library; the file is opened O_NOFOLLOW under the images
// folder (netboot/http/file-response.ts, shared with /files/). No token: the URL names 256 bits of the image's
// content, which the agent learns from its deploy command; the images are not secret from the provisioning network.
// Bodies go out with sendfile(2) from worker threads (netboot/http/sendfile/): the main thread parses the request
// and writes the headers, the kernel moves the bytes from the page cache, and the TCP work of many concurrent
// downloads runs beside the main thread, which stays free for DHCP and the API (docs/BENCHMARKS.md "Image serving").
// Without workers (one core, not Linux, `sendWorkers: 0`) the body is streamed in 1 MiB reads on the main thread.
import { availableParallelism } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Core } from '../core/core.ts';
import { prepareFileResponse, sendFileResponse } from '../netboot/http/file-response.ts';
import { FileSendPool } from '../netboot/http/sendfile/send-pool.ts';
import { sendFileResponseOffloaded } from '../netboot/http/sendfile/http-offload.ts';
import { serveImageData, serveImageMap } from './image-extents-serving.ts';

const FILE = /^([0-9a-f]{64})\.(raw|map|data)$/;
/** 1 MiB reads for the streamed fallback: in bench/images.ts (8 clients, busy machine) 0.93× nginx against 0.77× with the default 64 KiB */
const READ_CHUNK = 1024 * 1024;

export interface ImageServingOptions {
  /** sendfile worker threads (default: 2 with at least 2 cores, else 0 = stream on the main thread) */
  sendWorkers?: number;
  /** end a download that made no progress for this long (default 300 000 ms) */
  stallMs?: number;
}

/** Workers by default: one per core up to 2, as nginx's `worker_processes auto` on the laptops this runs on. */
export function defaultImageSendWorkers(): number {
  return availableParallelism() >= 2 ? 2 : 0;
}

/** Register the image route on `app` (the HTTP boot server; ServiceManager's registerExtra). The workers end with `app`. */
export async function registerImageServing(app: FastifyInstance, core: Core, o: ImageServingOptions = {}): Promise<void> {
  const pool = new FileSendPool(o.sendWorkers ?? defaultImageSendWorkers(), { stallMs: o.stallMs });
  app.addHook('onClose', async () => { await pool.close(); });
  app.route({
    method: ['GET', 'HEAD'], url: '/images/:file', exposeHeadRoute: false,
    handler: async (req, reply) => {
      const m = FILE.exec((req.params as { file: string }).file);
      const img = m ? core.images.readyBySha256(m[1]!) : null;
      const dir = core.images.dir;
      if (!img || !dir) return reply.code(404).type('text/plain; charset=utf-8').send('no such image\n');
      if (m![2] === 'map') return serveImageMap(core, img, req, reply);
      if (m![2] === 'data') return serveImageData(core, img, dir, pool, req, reply);
      const r = await prepareFileResponse(req, dir, `${img.id}.raw`, { deferBody: true });
      if (r.status >= 400 && r.status !== 416) req.log.warn({ image: img.name, status: r.status }, 'image file could not be served');
      if (!r.file) return sendFileResponse(reply, r);
      const route = await sendFileResponseOffloaded(req, reply, r, pool, { readChunk: READ_CHUNK });
      if (route.via === 'worker' && !route.outcome.ok && !route.outcome.clientAborted) {
        req.log.warn({ image: img.name, sent: route.outcome.bytes, of: r.bytes, reason: route.outcome.reason }, 'image download ended early');
      }
      return reply;
    },
  });
}
