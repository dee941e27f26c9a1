// A node's serial console over the API (protocol in shared/console.ts):
//   WS  /api/v1/nodes/:id/console   the live console, through the core's ConsoleManager (one SOL session per node,
//                                   shared by every viewer; one writer; the log's tail first)
//   GET /api/v1/nodes/:id/console/log?lines=N   the stored log's last lines (no BMC contact)
// While the daemon's console warm-up runs (daemon/console-warm-up.ts), the WebSocket route also serves its one-time
// ids (o.warmUpConsoles), with the daemon's own token like any client, so that its keystrokes take this very code.
// Both are token routes like every other /api route: access.ts checks the token (header, cookie, or ?token= on the
// WebSocket, whose browser API cannot set headers), Host and Origin before the upgrade; nothing is opened on a refusal.
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from '@fastify/websocket';
import type { ConsoleClientMessage, ConsoleErrorCode, ConsoleLogTail, ConsoleServerMessage } from '../../../shared/console.ts';
import { CONSOLE_CLOSE } from '../../../shared/console.ts';
import { ConsoleClosedError, ConsoleReadOnlyError, type Attachment, type ConsoleManager } from '../../../core/console/manager.ts';
import { SolInUseError, SolUnavailableError, BmcError, SolInputOverflowError, SolConsoleClosedError } from '../../../bmc/ipmi/session/errors.ts';
import type { ApiServerOptions } from '../server.ts';
import { HttpError } from '../ports.ts';
import { ConsoleLogQuery, ConsoleWsQuery, IdParams } from '../schemas.ts';

/** What the viewer missed, sent on connect (the UI's terminal and the CLI show it before the live output). */
const BACKLOG_BYTES = 64 * 1024;
/** A viewer that does not read is dropped rather than buffered without end. */
const MAX_BUFFERED = 4 * 1024 * 1024;

/** The error message of a refused console, with its code (shared/console.ts). */
export function consoleError(err: unknown, nodePower: string | null): { code: ConsoleErrorCode; message: string } {
  const e = err as { statusCode?: number; message?: string };
  if (err instanceof SolInUseError) return { code: 'sol-in-use', message: err.message };
  if (err instanceof SolUnavailableError) {
    const hint = nodePower === 'off' ? ' (the node is powered off: its BMC connects the serial line only while it runs)' : '';
    return { code: 'sol-unavailable', message: err.message + hint };
  }
  if (err instanceof BmcError) return { code: 'bmc-failed', message: `the console could not be opened: ${err.message}` };
  if (e.statusCode === 404) return { code: 'not-found', message: e.message ?? 'no such node' };
  if (e.statusCode === 409 || e.statusCode === 503) return { code: 'no-bmc', message: e.message ?? 'no BMC' };
  return { code: 'bmc-failed', message: `the console could not be opened: ${e.message ?? String(err)}` };
}

let viewerSeq = 0;

/** `ip`: the peer's address, undefined on a unix socket (the daemon's local socket, `--listen unix:`) */
function viewerName(ip: string | undefined, client: string | undefined): string {
  const kind = client === 'cli' ? 'CLI' : client === 'ui' ? 'UI' : 'API client';
  return `${kind} ${++viewerSeq} at ${ip || 'this host (unix socket)'}`;
}

/** A text frame as a control message: the JSON object it holds, or `{type: 'invalid'}` (not JSON, not an object). */
function controlMessage(data: Buffer): ConsoleClientMessage {
  let parsed: unknown = null;
  try { parsed = JSON.parse(data.toString('utf8')); } catch { /* not JSON */ }
  return parsed !== null && typeof parsed === 'object' ? parsed as ConsoleClientMessage : { type: 'invalid' } as unknown as ConsoleClientMessage;
}

export function registerConsoleRoutes(app: FastifyInstance, o: ApiServerOptions): void {
  const { core } = o;
  const manager = (): ConsoleManager => {
    if (!o.consoles) throw new HttpError(503, 'serial consoles are not available in this daemon');
    return o.consoles;
  };

  app.get('/api/v1/nodes/:id/console/log', { schema: { params: IdParams, querystring: ConsoleLogQuery } }, async (req): Promise<ConsoleLogTail> => {
    const { id } = req.params as { id: string };
    if (!core.nodes.get(id)) throw new HttpError(404, `no node ${id}`);
    // a server built without consoles (tests of other parts) has no log: an empty one, not an error the UI would log
    if (!o.consoles) return { nodeId: id, lines: [], bytes: 0, viewers: [] };
    const m = o.consoles;
    const n = (req.query as { lines?: number }).lines ?? 200;
    const tail = m.tail(id);
    const lines = tail.toString('utf8').split(/\r?\n/);
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return { nodeId: id, lines: lines.slice(-n), bytes: tail.length, viewers: m.viewers(id) };
  });

  app.get('/api/v1/nodes/:id/console', { websocket: true, config: { tokenInQuery: true }, schema: { params: IdParams, querystring: ConsoleWsQuery } }, (socket: WebSocket, req) => {
    const { id } = req.params as { id: string };
    // the daemon's own warm-up (daemon/console-warm-up.ts): a one-time id served by a scratch manager, the rest alike
    const scratch = o.warmUpConsoles?.get(id) ?? null;
    // req.ip is read for the warm-up too: it caches the peer address on the socket (net's _peername), a hidden-class
    // change the warm-up's sockets must make as the real ones do, or the first real console deoptimises the stream code
    const ip = req.ip;
    const who = scratch ? 'warm-up' : viewerName(ip, (req.query as { client?: string }).client);
    const send = (m: ConsoleServerMessage): void => { if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m)); };
    const end = (code: number, reason: string): void => { if (socket.readyState === socket.OPEN) socket.close(code, reason.slice(0, 120)); };
    let attachment: Attachment | null = null;
    let live = false;
    let gone = false;

    socket.on('close', () => { gone = true; void attachment?.detach(); });
    socket.on('error', () => { gone = true; void attachment?.detach(); });
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      // binary frames are keystrokes; a text frame is a control message (JSON object), anything else a bad one
      const msg = isBinary ? null : controlMessage(data);
      if (msg?.type === 'ping') { send({ type: 'pong' }); return; } // no BMC contact, also before `attached`
      if (!attachment) {
        send({ type: 'error', code: 'not-open', message: 'the console is not open yet: keystrokes and breaks are taken after the `attached` message', fatal: false });
        return;
      }
      try {
        if (!msg) { attachment.write(data); return; }
        if (msg.type === 'take-over') attachment.takeOver();
        else if (msg.type === 'release') attachment.release();
        else if (msg.type === 'break') attachment.sendBreak();
        else if (msg.type === 'drain') void attachment.whenDrained().then((ok) => send({ type: 'drained', ok }));
        else send({ type: 'error', code: 'bad-message', message: 'text frames are JSON control messages ({"type":"take-over"|"release"|"break"|"drain"|"ping"}); keystrokes go in binary frames', fatal: false });
      } catch (err) {
        if (err instanceof ConsoleReadOnlyError) send({ type: 'error', code: 'read-only', message: err.message, fatal: false });
        else if (err instanceof SolInputOverflowError) send({ type: 'error', code: 'input-dropped', message: err.message, fatal: false });
        else if (err instanceof ConsoleClosedError || err instanceof SolConsoleClosedError) send({ type: 'error', code: 'not-open', message: err.message, fatal: false });
        else send({ type: 'error', code: 'bad-message', message: (err as Error).message, fatal: false });
      }
    });

    let m: ConsoleManager;
    try {
      m = scratch ?? manager();
      if (!scratch && !core.nodes.get(id)) throw new HttpError(404, `no node ${id}`);
    } catch (err) {
      const e = consoleError(err, null);
      send({ type: 'error', code: e.code, message: e.message, fatal: true });
      end(CONSOLE_CLOSE.refused, 'console refused');
      return;
    }
    m.attach(id, {
      who,
      // before `attached` is sent the output is already in the log, so the backlog below carries it
      onData: (d) => {
        if (!live || socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > MAX_BUFFERED) { socket.terminate(); return; }
        socket.send(d, { binary: true });
      },
      onClose: (reason) => { send({ type: 'closed', reason }); end(CONSOLE_CLOSE.ended, reason ?? 'console closed'); },
      onWriter: (writer, you) => { if (live) send({ type: 'writer', writer, you }); },
    }).then((a) => {
      attachment = a;
      if (gone) { void a.detach(); return; }
      const node = core.nodes.get(id);
      send({ type: 'attached', nodeId: id, you: who, writer: m.viewers(id).find((v) => v.writer)?.who ?? null, viewers: m.viewers(id), bmc: node?.bmc?.address ?? '' });
      const backlog = a.history(BACKLOG_BYTES);
      if (backlog.length) socket.send(backlog, { binary: true });
      live = true;
      if (!scratch) core.bus.record({ source: 'api', kind: 'console-open', mac: node?.mac ?? null, nodeId: id, message: `serial console opened by ${who} (${m.viewers(id).length} viewer(s))` });
    }, (err: unknown) => {
      const e = consoleError(err, core.nodes.get(id)?.power ?? null);
      send({ type: 'error', code: e.code, message: e.message, fatal: true });
      end(CONSOLE_CLOSE.refused, 'console refused');
    });
  });
}
