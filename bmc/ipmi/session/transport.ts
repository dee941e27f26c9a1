// One UDP socket shared by every BMC conversation. Datagrams are demultiplexed by remote address:port to the
// handlers subscribed for it; each handler then matches on session id / tag / rqSeq itself. A handler that
// throws is logged and the datagram dropped — one bad BMC never stops the others.
import dgram, { type Socket } from 'node:dgram';
import type { Logger } from 'pino';

export type DatagramHandler = (msg: Buffer) => void;
/** Creates a bound UDP socket (tests and the daemon may confine it to an interface). */
export type IpmiSocketFactory = () => Promise<Socket>;

export const defaultSocketFactory: IpmiSocketFactory = () => new Promise((resolve, reject) => {
  const s = dgram.createSocket({ type: 'udp4' });
  s.once('error', reject);
  s.bind(0, () => { s.off('error', reject); resolve(s); });
});

export class IpmiTransport {
  private socket: Socket | null = null;
  private opening: Promise<Socket> | null = null;
  private readonly handlers = new Map<string, Set<DatagramHandler>>();
  /** datagrams received from addresses nobody listens to, or dropped by a throwing handler */
  dropped = 0;
  /** after close(): a late send (a session's close, a retransmit timer) is dropped rather than opening a new socket */
  private closed = false;

  constructor(private readonly factory: IpmiSocketFactory, private readonly log: Logger) {}

  private async ensure(): Promise<Socket> {
    if (this.socket) return this.socket;
    this.opening ??= this.factory().then((s) => {
      s.on('message', (msg, rinfo) => this.dispatch(msg, `${rinfo.address}:${rinfo.port}`));
      s.on('error', (err) => this.log.warn({ err }, 'IPMI socket error'));
      this.socket = s;
      return s;
    });
    return this.opening;
  }

  private dispatch(msg: Buffer, key: string): void {
    const set = this.handlers.get(key);
    if (!set || set.size === 0) { this.dropped++; return; }
    for (const h of [...set]) {
      try { h(msg); } catch (err) { this.dropped++; this.log.debug({ err, from: key }, 'IPMI datagram dropped'); }
    }
  }

  /** Registers `handler` for datagrams from host:port; returns the function that removes it. */
  subscribe(host: string, port: number, handler: DatagramHandler): () => void {
    const key = `${host}:${port}`;
    let set = this.handlers.get(key);
    if (!set) { set = new Set(); this.handlers.set(key, set); }
    set.add(handler);
    return () => {
      const s = this.handlers.get(key);
      if (!s) return;
      s.delete(handler);
      if (s.size === 0) this.handlers.delete(key);
    };
  }

  async send(host: string, port: number, data: Buffer): Promise<void> {
    if (this.closed) return; // as a lost datagram: the caller's retries and timeouts decide
    // once the socket exists, dgram's send is called in the caller's turn (an `await` here would hold it until the
    // microtasks queued before it have run: a console keystroke's WebSocket frame is still being parsed then); the
    // datagram itself leaves on the next tick (dgram looks the address up first, an IP literal at once)
    const s = this.socket ?? await this.ensure();
    if (this.closed) return; // closed while the socket was being made
    await new Promise<void>((resolve) => {
      // send errors (EHOSTUNREACH, ENETUNREACH, a socket closed meanwhile) are treated like a lost datagram:
      // retries and timeouts decide
      try {
        s.send(data, port, host, (err) => { if (err) this.log.debug({ err, host }, 'IPMI send failed'); resolve(); });
      } catch (err) {
        this.log.debug({ err, host }, 'IPMI send failed');
        resolve();
      }
    });
  }

  /** Local port (after the first send), for diagnostics. */
  get localPort(): number | null { return this.socket ? this.socket.address().port : null; }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.socket ?? (this.opening ? await this.opening.catch(() => null) : null);
    this.socket = null;
    this.opening = null;
    this.handlers.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
