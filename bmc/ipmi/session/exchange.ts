// One request/reply exchange over the shared transport: send, wait for a datagram that `match` accepts,
// retransmit with exponential backoff, give up with BmcUnreachableError. `match` returns undefined to ignore a
// datagram (stale, someone else's), a value to finish, or throws a BmcError to fail at once; any other error
// it throws (IpmiDecodeError from a garbled reply) drops that datagram and keeps waiting.
import type { Logger } from 'pino';
import type { IpmiTransport } from './transport.ts';
import { BmcError, BmcUnreachableError } from './errors.ts';

export interface RetryPolicy {
  /** wait for the first reply, ms */
  timeoutMs: number;
  /** retransmissions after the first try */
  retries: number;
  /** each retry waits `backoff` times longer than the one before */
  backoff: number;
}

export const DEFAULT_RETRY: RetryPolicy = { timeoutMs: 2000, retries: 3, backoff: 1.5 };

export interface ExchangeSpec<T> {
  transport: IpmiTransport;
  host: string;
  port: number;
  /** what is being asked, for the error message ("Open Session", "Get Chassis Status") */
  what: string;
  policy: RetryPolicy;
  log: Logger;
  /** builds the datagram for attempt 0, 1, … (a retry may need a new sequence number and IV) */
  build: (attempt: number) => Buffer;
  match: (msg: Buffer) => T | undefined;
}

export function exchange<T>(x: ExchangeSpec<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let attempt = 0;
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    const started = Date.now();
    const finish = (err: unknown, value?: T) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      unsubscribe();
      if (err) reject(err); else resolve(value as T);
    };
    const unsubscribe = x.transport.subscribe(x.host, x.port, (msg) => {
      if (done) return;
      let value: T | undefined;
      try {
        value = x.match(msg);
      } catch (err) {
        if (err instanceof BmcError) { finish(err); return; }
        x.log.debug({ host: x.host, what: x.what, err: (err as Error).message }, 'malformed IPMI reply dropped');
        return;
      }
      if (value !== undefined) finish(null, value);
    });
    const send = () => {
      if (done) return;
      let pkt: Buffer;
      try { pkt = x.build(attempt); } catch (err) { finish(err); return; }
      const wait = x.policy.timeoutMs * Math.pow(x.policy.backoff, attempt);
      // the timer starts once the datagram has left the socket: a send queued behind ARP resolution of other
      // hosts (a sweep over dead addresses fills the socket buffer) is not counted as the BMC's silence
      x.transport.send(x.host, x.port, pkt).then(() => {
        if (done) return;
        timer = setTimeout(() => {
          if (attempt >= x.policy.retries) { finish(new BmcUnreachableError(x.host, x.what, attempt + 1, Date.now() - started)); return; }
          attempt++;
          x.log.debug({ host: x.host, what: x.what, attempt }, 'no IPMI reply, retrying');
          send();
        }, wait);
      }, (err) => finish(err));
    };
    send();
  });
}
