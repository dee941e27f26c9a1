// The browser side of a node's console WebSocket (protocol: shared/console.ts). Output arrives as binary frames,
// control messages as JSON text; keystrokes go out as binary (UTF-8), take-over/release/break as JSON. The session
// cookie authenticates in a browser; in Electron the token goes in the query (browsers cannot set WS headers).
import type { ConsoleClientMessage, ConsoleServerMessage } from '../../shared/console.ts';
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
}

export class ConsoleSocket {
  private readonly ws: WebSocket;
  private readonly encoder = new TextEncoder();

  constructor(conn: ApiConnection, nodeId: string, h: ConsoleHandlers) {
    this.ws = new WebSocket(consoleUrl(conn, nodeId));
    this.ws.binaryType = 'arraybuffer';
    this.ws.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer) { h.onOutput(new Uint8Array(ev.data)); return; }
      try { h.onMessage(JSON.parse(String(ev.data)) as ConsoleServerMessage); } catch { /* not ours */ }
    };
    this.ws.onclose = (ev) => h.onClose(ev.code);
  }

  /** keystrokes as the terminal produced them */
  type(text: string): void { if (this.ws.readyState === WebSocket.OPEN) this.ws.send(this.encoder.encode(text)); }

  control(m: ConsoleClientMessage): void { if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m)); }

  close(): void { this.ws.close(1000); }
}
