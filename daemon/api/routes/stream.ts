// WS /api/v1/stream: every StreamMessage the core's bus publishes. The messages of one event-loop turn go out as one
// frame: a single message as a JSON object, several as a JSON array of them, in order (a DHCP storm publishes
// thousands of events a second; one frame and one write each cost the daemon and the browser). Authentication is
// done by access.ts before the upgrade (401 otherwise; the token may also come as `?token=`; Origin checked). Slow clients are dropped rather than buffered
// forever.
import type { FastifyInstance } from 'fastify';
import type { ApiServerOptions } from '../server.ts';

const MAX_BUFFERED = 4 * 1024 * 1024;

export function registerStreamRoute(app: FastifyInstance, o: ApiServerOptions): void {
  app.get('/api/v1/stream', { websocket: true, config: { tokenInQuery: true } }, (socket) => {
    let queue: string[] = [];
    let scheduled = false;
    const flush = (): void => {
      scheduled = false;
      const batch = queue;
      queue = [];
      if (batch.length === 0 || socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > MAX_BUFFERED) { socket.terminate(); return; }
      socket.send(batch.length === 1 ? batch[0]! : `[${batch.join(',')}]`);
    };
    const unsubscribe = o.core.bus.subscribe((msg) => {
      if (socket.readyState !== socket.OPEN) return;
      queue.push(JSON.stringify(msg));
      if (!scheduled) { scheduled = true; setImmediate(flush); }
    });
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
    socket.on('message', () => { /* clients do not send anything; ignored */ });
  });
}
