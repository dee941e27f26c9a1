// Maps thrown errors to `{ error }` JSON replies: validation → 400, HttpError → its status, IllegalTransitionError → 409,
// ForeignDhcpError → 409 with the survey, errors with a statusCode (core's CoreError) → that status, anything else → 500 (logged; message kept generic).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IllegalTransitionError } from '../../core/lifecycle.ts';
import { ForeignDhcpError, HttpError } from './ports.ts';

export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const e = err as { statusCode?: number; validation?: unknown; message?: string; code?: string };
  if (err instanceof ForeignDhcpError) return reply.code(409).send({ error: err.message, survey: err.survey });
  if (err instanceof HttpError) return reply.code(err.statusCode).send({ error: err.message });
  if (err instanceof IllegalTransitionError) return reply.code(409).send({ error: err.message });
  if (e.validation) return reply.code(400).send({ error: e.message ?? 'invalid request' });
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode !== 500 && e.statusCode < 600) {
    return reply.code(e.statusCode).send({ error: e.message ?? 'bad request' });
  }
  req.log.error({ err }, 'request failed');
  return reply.code(500).send({ error: 'internal error' });
}
