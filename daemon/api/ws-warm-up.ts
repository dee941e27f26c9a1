// JIT warm-up of the WebSocket frame code the console WebSocket uses, run once by the daemon after start, right
// after the console path's own warm-up (core/console/warm-up.ts; daemon/daemon.ts runs both).
//
// Why: that warm-up types its keystrokes straight into the ConsoleManager, so the `ws` library's frame code a real
// console goes through first — the server's Receiver (a browser's masked frames: parsing, unmasking, 'message') and
// its Sender (each echo as a binary frame) — was still cold in a fresh daemon: bench/sol.ts (issue 18) measured the
// console WebSocket's keystroke → echo at 0.89 ms fresh against 0.55 ms steady, ipmitool 0.77 ms.
//
// What: one WebSocket server and one client of the same `ws` module @fastify/websocket serves the API with (one copy
// in node_modules; the same server options: maxPayload 64 KiB, no compression), on 127.0.0.1 and an ephemeral port,
// for the warm-up's duration only. The client sends `frames` one-byte binary frames, each echoed back as the console
// route echoes output (binary), waiting for each echo; every 64th is a text frame `{"type":"drain"}` answered with
// `{"type":"drained","ok":true}`, as the paced CLI and UI exchange them. A connection without the random path this
// run chose is refused before the upgrade; nothing else is served, and the port is closed when it ends.
// Limit: its sockets are not the API's (fastify's http server), so the first real console deoptimises what it
// optimised ("wrong map"); core/console/warm-up.ts's header says what was measured and what would fix it.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import WebSocket, { WebSocketServer } from 'ws';
import { whileBusy, type WarmUpPacing } from '../../core/console/warm-up-pacing.ts';

export const DEFAULT_WS_WARM_UP_FRAMES = 2000;
const TEXT_EVERY = 64;
const ECHO_TIMEOUT_MS = 5000;
const DRAIN = JSON.stringify({ type: 'drain' });
const DRAINED = JSON.stringify({ type: 'drained', ok: true });

export interface WsWarmUpResult { frames: number; wallMs: number; cpuMs: number; stopped: string | null; pausedMs: number }

/** Exchanges `frames` frames (module comment), giving way while `o.busy()` says so; never rejects (a failure is reported in `stopped`). 0 does nothing. */
export async function warmUpWebSocketFrames(frames = DEFAULT_WS_WARM_UP_FRAMES, signal?: AbortSignal, o: WarmUpPacing = {}): Promise<WsWarmUpResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const r: WsWarmUpResult = { frames: 0, wallMs: 0, cpuMs: 0, stopped: null, pausedMs: 0 };
  if (frames <= 0) return r;
  const path = `/warm-up/${randomBytes(16).toString('hex')}`;
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024, verifyClient: (info: { req: { url?: string } }) => info.req.url === path });
  let client: WebSocket | null = null;
  try {
    await once(server, 'listening');
    server.on('connection', (socket) => {
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) socket.send(data, { binary: true });
        else if (data.toString('utf8') === DRAIN) socket.send(DRAINED);
      });
    });
    const { port } = server.address() as { port: number };
    const c = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
    client = c;
    await once(c, 'open');
    let wake: (() => void) | null = null;
    c.on('message', () => { const w = wake; wake = null; w?.(); });
    const one = Buffer.alloc(1);
    for (let i = 0; i < frames; i++) {
      if (o.busy) r.pausedMs += await whileBusy(o.busy, signal);
      if (signal?.aborted) { r.stopped = 'stopped: the daemon is closing'; break; }
      const echo = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), ECHO_TIMEOUT_MS);
        wake = () => { clearTimeout(t); resolve(true); };
      });
      if (i % TEXT_EVERY === TEXT_EVERY - 1) c.send(DRAIN);
      else { one[0] = 0x61 + (i % 26); c.send(one, { binary: true }); }
      if (!(await echo)) { r.stopped = `no echo of frame ${i + 1} within ${ECHO_TIMEOUT_MS} ms`; break; }
      r.frames++;
    }
  } catch (err) {
    r.stopped ??= `failed: ${(err as Error).message}`;
  } finally {
    client?.terminate();
    for (const s of server.clients) s.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  r.wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  r.cpuMs = (cpu.user + cpu.system) / 1000;
  return r;
}
