// The browser side of a node's console WebSocket (protocol: shared/console.ts). Output arrives as binary frames,
// control messages as JSON text; keystrokes go out as binary (UTF-8), take-over/release/break as JSON. The session
// cookie authenticates in a browser; in Electron the token goes in the query (browsers cannot set WS headers).
// Input is paced like `rackseed console` paces piped stdin (daemon/cli/console.ts): at most CONSOLE_PACE_BYTES
// (32 KiB) go out before the daemon says the BMC took them (`drain` → `drained`), because the daemon refuses typing
// past 64 KiB waiting for the BMC — so a large paste reaches the node whole, in parts, instead of being refused.
// Control messages queue behind the input typed before them (a break after a paste follows the paste).
import { CONSOLE_PACE_BYTES, type ConsoleClientMessage, type ConsoleServerMessage } from '../../shared/console.ts';
import type { ApiConnection } from './connection.ts';

export function consoleUrl(conn: ApiConnection, nodeId: string): string {
  const u = new URL(`${conn.baseUrl}/api/v1/nodes/${encodeURIComponent(nodeId)}/console`);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.searchParams.set('client', 'ui');
  if (conn.token) u.searchParams.set('token', conn.token);
  return u.href;
}

export interface ConsoleHandlers {
  onOutput(bytes: Uint8Array): void;
  onMessage(m: ConsoleServerMessage): void;
  /** the socket closed (code 4000: refused, 4001: the console ended, others: the connection dropped) */
  onClose(code: number): void;
  /** bytes typed or pasted that wait for the BMC to take earlier ones (0: all sent) — a large paste's progress */
  onSending?(bytes: number): void;
}

export class ConsoleSocket {
  private readonly ws: WebSocket;
  private readonly encoder = new TextEncoder();
  /** input not sent yet (pacing, module comment) */
  private readonly queue: (Uint8Array | ConsoleClientMessage)[] = [];
  private queuedBytes = 0;
  /** bytes sent since the last `drained` */
  private sinceDrain = 0;
  private draining = false;
  /** what onSending last heard (keystrokes sent at once never call it) */
  private reported = 0;

  constructor(conn: ApiConnection, nodeId: string, private readonly h: ConsoleHandlers) {
    this.ws = new WebSocket(consoleUrl(conn, nodeId));
    this.ws.binaryType = 'arraybuffer';
    this.ws.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer) { h.onOutput(new Uint8Array(ev.data)); return; }
      let m: ConsoleServerMessage;
      try { m = JSON.parse(String(ev.data)) as ConsoleServerMessage; } catch { return; /* not ours */ }
      if (m.type === 'drained') {
        this.draining = false;
        this.sinceDrain = 0;
        if (m.ok) this.pump(); else this.drop(); // not ok: the console ended, its `closed` follows
      }
      h.onMessage(m);
    };
    this.ws.onclose = (ev) => { this.drop(); h.onClose(ev.code); };
  }

  /** keystrokes (or a paste) as the terminal produced them; sent in paced parts (module comment) */
  type(text: string): void {
    const b = this.encoder.encode(text);
    if (b.length === 0 || this.ws.readyState !== WebSocket.OPEN) return;
    this.queue.push(b);
    this.queuedBytes += b.length;
    this.pump();
  }

  control(m: ConsoleClientMessage): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.queue.push(m);
    this.pump();
  }

  /** bytes typed that wait to be sent */
  get sending(): number { return this.queuedBytes; }

  private pump(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    while (this.queue.length && !this.draining) {
      const head = this.queue[0]!;
      if (!(head instanceof Uint8Array)) { this.queue.shift(); this.ws.send(JSON.stringify(head)); continue; }
      const room = CONSOLE_PACE_BYTES - this.sinceDrain;
      if (room <= 0) {
        // the BMC may still hold up to CONSOLE_PACE_BYTES of ours: ask to hear when it took them
        this.draining = true;
        this.ws.send(JSON.stringify({ type: 'drain' } satisfies ConsoleClientMessage));
        break;
      }
      const part = head.length > room ? head.subarray(0, room) : head;
      if (part === head) this.queue.shift(); else this.queue[0] = head.subarray(room);
      this.ws.send(part);
      this.sinceDrain += part.length;
      this.queuedBytes -= part.length;
    }
    this.report();
  }

  private report(): void {
    if (this.queuedBytes === this.reported) return;
    this.reported = this.queuedBytes;
    this.h.onSending?.(this.queuedBytes);
  }

  /** forgets input not sent (the console ended or the socket closed) */
  private drop(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.draining = false;
    this.report();
  }

  close(): void { this.drop(); this.ws.close(1000); }
}
