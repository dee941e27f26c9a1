// BMC discovery over a CIDR: for every address, an ASF presence ping and a session-less Get Channel
// Authentication Capabilities (rate-limited, bounded concurrency); an address that answers either is a BMC.
// With credentials, a session then reads Get Device ID (vendor) and Get System GUID. Results are reported as
// they are found — through `onFound` and as an async iterator — not at the end.
import ipaddr from 'ipaddr.js';
import { IpmiClient } from './client.ts';
import { defaultSocketFactory } from './transport.ts';
import type { RetryPolicy } from './exchange.ts';
import { BmcError } from './errors.ts';
import type { ChannelAuthCapabilities } from '../app-commands.ts';

export interface SweepCredentials { user: string; password: string; cipher?: number; allowInsecure?: boolean }

export interface SweepOptions {
  /** e.g. "10.0.40.0/24"; at most 65 536 addresses (prefix ≥ 16) */
  cidr: string;
  port?: number;
  /** new addresses probed per second (default 200) */
  ratePerSec?: number;
  /** addresses probed at once (default 32) */
  concurrency?: number;
  /** probe reply timeout (default 500 ms) and retransmissions (default 1) */
  probeTimeoutMs?: number;
  probeRetries?: number;
  credentials?: SweepCredentials;
  onFound?: (r: SweepResult) => void;
  signal?: AbortSignal;
}

export interface SweepResult {
  address: string;
  /** answered the ASF presence ping */
  asf: boolean;
  /** '2.0' when RMCP+ is supported, '1.5' when only IPMI 1.5, null when only the ping answered */
  ipmiVersion: '2.0' | '1.5' | null;
  /** IPMI 1.5 auth types offered (none, md2, md5, password, oem) */
  authTypes: string[];
  anonymousLogin: boolean;
  channel: number | null;
  /** with credentials only */
  manufacturerId?: number;
  vendor?: string | null;
  productId?: number;
  firmware?: string;
  /** SMBIOS-style UUID (matches the node's DMI UUID) */
  guid?: string;
  /** suite the session used */
  cipherSuite?: number;
  /** why the authenticated part failed (wrong password, …); the BMC is still reported */
  error?: { code: string; message: string };
}

/** Every host address of a CIDR (network and broadcast excluded below /31). */
export function cidrHosts(cidr: string): string[] {
  const prefix = ipaddr.IPv4.parseCIDR(cidr)[1];
  if (prefix < 16) throw new Error(`refusing to sweep ${cidr}: more than 65536 addresses`);
  const base = ipaddr.IPv4.networkAddressFromCIDR(cidr).toByteArray().reduce((a, b) => a * 256 + b, 0);
  const size = 2 ** (32 - prefix);
  const out: string[] = [];
  const [first, last] = prefix >= 31 ? [0, size - 1] : [1, size - 2];
  for (let i = first; i <= last; i++) {
    const n = base + i;
    out.push([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
  }
  return out;
}

/** Sweeps `cidr`; resolves with every BMC found once all addresses are done. */
export async function sweepAll(client: IpmiClient, opts: SweepOptions): Promise<SweepResult[]> {
  const all: SweepResult[] = [];
  for await (const r of sweep(client, opts)) all.push(r);
  return all;
}

/**
 * Sweeps `cidr`, yielding each BMC as soon as it is found (and calling `onFound`). Probes go out on a socket of
 * their own: datagrams to dead addresses wait in the kernel for ARP (about 3 s) and fill that socket's send
 * buffer, which must not stall the sessions on `client`'s socket. Sessions (with credentials) use `client`.
 */
export async function* sweep(client: IpmiClient, opts: SweepOptions): AsyncGenerator<SweepResult> {
  const hosts = cidrHosts(opts.cidr);
  const factory = client.options.socketFactory ?? defaultSocketFactory;
  const prober = new IpmiClient({
    ...client.options, keepaliveMs: 0, maxConcurrent: Math.max(2 * (opts.concurrency ?? 32), 2),
    socketFactory: async () => {
      const s = await factory();
      // room for the datagrams parked behind ARP (the kernel caps this at net.core.wmem_max)
      try { s.setSendBufferSize(4 * 1024 * 1024); } catch { /* keep the default */ }
      return s;
    },
  });
  try {
    yield* run(client, prober, hosts, opts);
  } finally {
    await prober.close();
  }
}

async function* run(client: IpmiClient, prober: IpmiClient, hosts: string[], opts: SweepOptions): AsyncGenerator<SweepResult> {
  const port = opts.port ?? 623;
  const gap = 1000 / (opts.ratePerSec ?? 200);
  const policy: RetryPolicy = { timeoutMs: opts.probeTimeoutMs ?? 500, retries: opts.probeRetries ?? 1, backoff: 1.5 };
  const ready: SweepResult[] = [];
  let wake: (() => void) | null = null;
  let next = 0;
  let nextStart = Date.now();
  let running = 0;
  let finished = false;
  const notify = () => { const w = wake; wake = null; w?.(); };

  const probe = async (address: string): Promise<SweepResult | null> => {
    const [pong, caps] = await Promise.all([
      prober.ping(address, port, policy).catch(() => null),
      prober.channelAuthCapabilities(address, port, policy).catch((e: unknown) => (e instanceof BmcError && e.code === 'command-failed' ? 'answered' as const : null)),
    ]);
    if (!pong && !caps) return null;
    const c: ChannelAuthCapabilities | null = caps && caps !== 'answered' ? caps : null;
    const r: SweepResult = {
      address, asf: !!pong,
      ipmiVersion: c ? (c.ipmi20 ? '2.0' : '1.5') : null,
      authTypes: c?.authTypes ?? [], anonymousLogin: c?.anonymousLogin ?? false, channel: c?.channel ?? null,
    };
    if (opts.credentials && c?.ipmi20) {
      try {
        await client.withSession(address, { ...opts.credentials, port }, async (s) => {
          const d = await s.deviceId();
          Object.assign(r, { manufacturerId: d.manufacturerId, vendor: d.manufacturerName, productId: d.productId, firmware: d.firmwareRevision });
          r.guid = await s.systemGuid();
          r.cipherSuite = s.suite?.id;
        });
      } catch (e) {
        r.error = e instanceof BmcError ? { code: e.code, message: e.message } : { code: 'error', message: (e as Error).message };
      }
    }
    return r;
  };

  const pump = () => {
    while (running < (opts.concurrency ?? 32) && next < hosts.length && !opts.signal?.aborted) {
      const now = Date.now();
      if (now < nextStart) { setTimeout(pump, nextStart - now); return; }
      nextStart = Math.max(now, nextStart) + gap;
      const address = hosts[next++];
      running++;
      probe(address).then((r) => {
        if (r) { opts.onFound?.(r); ready.push(r); }
      }, () => undefined).finally(() => {
        running--;
        if ((next >= hosts.length || opts.signal?.aborted) && running === 0) finished = true;
        notify();
        pump();
      });
    }
    if (hosts.length === 0) { finished = true; notify(); }
  };
  pump();
  while (true) {
    if (ready.length > 0) { yield ready.shift()!; continue; }
    if (finished) return;
    await new Promise<void>((r) => { wake = r; });
  }
}
