// The image library's routes (shared/api.ts header; records: shared/image.ts). The upload is the request
// body itself, streamed as application/octet-stream (the CLI and the UI read the file as the user: the root daemon
// never opens a path a client names), with its own body limit; every other route keeps the server's 1 MiB.
//   POST   /api/v1/images?name=NAME   → 201 ImageRecord (ready) when the import ended with the upload (raw, gzip, xz);
//                                       202 ImageRecord (importing) for a qcow2 once the upload is read: its check and
//                                       conversion go on (poll GET, or watch the 'image' stream messages);
//                                       400 {error, image} refused (format, corrupt, cannot boot) | 409 name taken | 413
//   GET    /api/v1/images             → ImageRecord[]
//   GET    /api/v1/images/:id         → ImageRecord (id or name)
//   DELETE /api/v1/images/:id         → ImageRecord as it was (an import in progress is stopped first)
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { ImageRecord } from '../../../shared/image.ts';
import { ImageError } from '../../../core/images/errors.ts';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../../core/images/library.ts';
import type { ApiServerOptions } from '../server.ts';

const NameQuery = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) });
const ImageParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

const isStream = (v: unknown): v is Readable => typeof v === 'object' && v !== null && typeof (v as Readable).pipe === 'function';

export async function registerImageRoutes(app: FastifyInstance, o: ApiServerOptions): Promise<void> {
  const { core } = o;

  // the upload route in its own scope: its content-type parser hands the body stream over unread
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    scope.post('/api/v1/images', { schema: { querystring: NameQuery }, bodyLimit: DEFAULT_MAX_UPLOAD_BYTES }, async (req, reply) => {
      if (!isStream(req.body)) throw new ImageError(415, 'send the image bytes as the request body with Content-Type: application/octet-stream');
      const { name } = req.query as { name: string };
      const length = req.headers['content-length'];
      const declared = typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : null;
      const started = core.images.startImport(name, req.body, declared);
      const rec = await started.received;
      if (rec.state === 'failed') return reply.code(rec.failure === 'invalid' ? 400 : 500).send({ error: rec.error, image: rec });
      return reply.code(rec.state === 'ready' ? 201 : 202).send(rec);
    });
  });

  app.get('/api/v1/images', async (): Promise<ImageRecord[]> => core.images.list());

  app.get('/api/v1/images/:id', { schema: { params: ImageParams } }, async (req): Promise<ImageRecord> => {
    const { id } = req.params as { id: string };
    const img = core.images.get(id);
    if (!img) throw new ImageError(404, `no image ${id}`);
    return img;
  });

  app.delete('/api/v1/images/:id', { schema: { params: ImageParams } }, async (req): Promise<ImageRecord> => core.images.remove((req.params as { id: string }).id));
}
