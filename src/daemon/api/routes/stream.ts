// WS /api/v1/stream: every StreamMessage the core's bus publishes, one JSON per frame. Authentication is done
// by the onRequest hook before the upgrade (401 otherwise). Slow clients are dropped rather than buffered forever.
import type { FastifyInstance } from 'fastify';
import type { ApiServerOptions } from '../server.ts';

const MAX_BUFFERED = 4 * 1024 * 1024;

export function registerStreamRoute(app: FastifyInstance, o: ApiServerOptions): void {
  app.get('/api/v1/stream', { websocket: true }, (socket) => {
    const unsubscribe = o.core.bus.subscribe((msg) => {
      if (socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > MAX_BUFFERED) { socket.terminate(); return; }
      socket.send(JSON.stringify(msg));
    });
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
    socket.on('message', () => { /* clients do not send anything; ignored */ });
  });
}
