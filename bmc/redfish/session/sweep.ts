// The Redfish half of a BMC sweep: `GET /redfish/v1` (unauthenticated, DSP0266 §13.3.1) on 443/tcp of every address
// of a CIDR, bounded concurrency and rate. An address whose answer is a Redfish service root is a Redfish BMC; with
// credentials a session then reads the system's UUID, serial, model, MACs and the manager's firmware. Results are
// yielded as they are found. Connections to addresses that answered nothing are dropped at once.
import { cidrHosts } from '../../ipmi/session/sweep.ts';
import { BmcError } from './errors.ts';
import type { RedfishClient, SystemIdentity } from './client.ts';

export interface RedfishSweepOptions {
  cidr: string;
  port?: number;
  /** addresses probed at once (default 32) */
  concurrency?: number;
  /** new addresses per second (default 200) */
  ratePerSec?: number;
  /** probe timeout, ms (default 1500; a closed port answers at once with a reset) */
  probeTimeoutMs?: number;
  credentials?: { user: string; password: string };
  signal?: AbortSignal;
}

export interface RedfishSweepResult {
  address: string;
  port: number;
  redfishVersion: string;
  product: string | null;
  vendor: string | null;
  /** SHA-256 of the certificate pinned for it (null with an insecure client) */
  fingerprint: string | null;
  /** with credentials */
  system?: SystemIdentity;
  error?: { code: string; message: string };
}

export async function* redfishSweep(client: RedfishClient, o: RedfishSweepOptions): AsyncGenerator<RedfishSweepResult> {
  const hosts = cidrHosts(o.cidr);
  const port = o.port ?? 443;
  const gap = 1000 / (o.ratePerSec ?? 200);
  const ready: RedfishSweepResult[] = [];
  let wake: (() => void) | null = null;
  let next = 0;
  let running = 0;
  let nextStart = Date.now();
  let finished = hosts.length === 0;
  const notify = () => { const w = wake; wake = null; w?.(); };

  const probe = async (address: string): Promise<RedfishSweepResult | null> => {
    let root;
    try {
      root = await client.serviceRoot(address, port, { timeoutMs: o.probeTimeoutMs ?? 1500, retries: 0 });
    } catch (err) {
      // a certificate that changed is a Redfish BMC worth reporting; anything else is "no Redfish here"
      if (err instanceof BmcError && err.code === 'certificate-changed') {
        return { address, port, redfishVersion: '?', product: null, vendor: null, fingerprint: client.pins.get(`${address}:${port}`), error: { code: err.code, message: err.message } };
      }
      client.forget(address, port);
      return null;
    }
    const r: RedfishSweepResult = {
      address, port, redfishVersion: root.redfishVersion, product: root.product, vendor: root.vendor, fingerprint: client.pins.get(`${address}:${port}`),
    };
    if (o.credentials) {
      try {
        r.system = await client.withSession(address, { ...o.credentials, port }, (s) => s.identity());
      } catch (err) {
        r.error = err instanceof BmcError ? { code: err.code, message: err.message } : { code: 'error', message: (err as Error).message };
      }
    }
    return r;
  };

  const pump = () => {
    while (running < (o.concurrency ?? 32) && next < hosts.length && !o.signal?.aborted) {
      const now = Date.now();
      if (now < nextStart) { setTimeout(pump, nextStart - now); return; }
      nextStart = Math.max(now, nextStart) + gap;
      const address = hosts[next++]!;
      running++;
      probe(address).then((r) => { if (r) ready.push(r); }, () => undefined).finally(() => {
        running--;
        if ((next >= hosts.length || o.signal?.aborted) && running === 0) finished = true;
        notify();
        pump();
      });
    }
  };
  pump();
  while (true) {
    if (ready.length > 0) { yield ready.shift()!; continue; }
    if (finished) return;
    await new Promise<void>((r) => { wake = r; });
  }
}
