// Ready images on the HTTP boot server, for the deploy agent (`wget -O - URL | dd`):
//   GET|HEAD /images/<sha256>.raw  → the raw bytes (Range → 206 / 416, ETag/If-Range, Content-Length, Accept-Ranges)
//   GET|HEAD /images/<sha256>.map  → its extent map; /images/<sha256>.data → its data ranges (image-extents-serving.ts:
//                                    what the agent deploys with, the zeros never cross the network)
// Only ready images, looked up by digest in the image library; the file is opened O_NOFOLLOW under the images
// folder (netboot/http/file-response.ts, shared with /files/). No token: the URL names 256 bits of the image's
// content, which the agent learns from its deploy command; the images are not secret from the provisioning network.
import type { FastifyInstance } from 'fastify';
import type { Core } from '../core/core.ts';
import { prepareFileResponse, sendFileResponse } from '../netboot/http/file-response.ts';
import { serveImageData, serveImageMap } from './image-extents-serving.ts';

const FILE = /^([0-9a-f]{64})\.(raw|map|data)$/;
/** 1 MiB reads: in bench/images.ts (8 clients, busy machine) 0.93× nginx against 0.77× with the default 64 KiB */
const READ_CHUNK = 1024 * 1024;

/** Register the image route on `app` (the HTTP boot server; ServiceManager's registerExtra). */
export async function registerImageServing(app: FastifyInstance, core: Core): Promise<void> {
  app.route({
    method: ['GET', 'HEAD'], url: '/images/:file', exposeHeadRoute: false,
    handler: async (req, reply) => {
      const m = FILE.exec((req.params as { file: string }).file);
      const img = m ? core.images.readyBySha256(m[1]!) : null;
      const dir = core.images.dir;
      if (!img || !dir) return reply.code(404).type('text/plain; charset=utf-8').send('no such image\n');
      if (m![2] === 'map') return serveImageMap(core, img, req, reply);
      if (m![2] === 'data') return serveImageData(core, img, dir, null, req, reply);
      const r = await prepareFileResponse(req, dir, `${img.id}.raw`, { readChunk: READ_CHUNK });
      if (r.status >= 400 && r.status !== 416) req.log.warn({ image: img.name, status: r.status }, 'image file could not be served');
      return sendFileResponse(reply, r);
    },
  });
}
