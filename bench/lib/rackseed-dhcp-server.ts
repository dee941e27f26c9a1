// RackSeed's authoritative DHCP server as its own process, for the storm: run inside the server namespace
//   ip netns exec NS node --import tsx bench/lib/rackseed-dhcp-server.ts '<RackseedServerConfig as JSON>'
// It serves the relay's subnet with the lease store the daemon uses (SQLite), prints "ready" once the socket
// is bound, and is meant to be ended with SIGKILL (the durability check); SIGTERM stops it cleanly, which is
// what a --cpu-prof run needs to write its profile.
import { appendFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { LeaseStore } from '../../netboot/dhcp/server/lease-store.ts';
import { createDhcpServer } from '../../netboot/dhcp/server/dhcp-server.ts';
import { createBoundUdpSocketFactory } from '../../netboot/net/bound-udp.ts';
import { openSqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import { openBenchLeaseStore } from './rackseed-lease-store.ts';
import { Core } from '../../core/core.ts';
import { createNetbootSink } from '../../core/netboot-sink.ts';
import { dirname } from 'node:path';

export interface RackseedServerConfig {
  dbPath: string;
  interface: string;
  serverIp: string;
  subnetMask: string;
  pool: { first: string; last: string };
  routers: string[];
  /** run with the daemon's Core (database, event sink, boot policy), as `rackseed serve` does */
  withDaemonCore?: boolean;
}

const cfg = JSON.parse(process.argv[2] ?? '') as RackseedServerConfig;
const logger = pino({ level: 'warn' });
// withDaemonCore: what `rackseed serve` runs — the core's database (leases in rackseed.db beside the nodes,
// events, jobs), the daemon's event sink (each DORA becomes one per-MAC history entry) and its boot policy.
const core = cfg.withDaemonCore ? new Core({ dataDir: dirname(cfg.dbPath), logger }) : null;
const leases = core ? { store: openSqliteLeaseStore(core.db), close: () => core.close() } : openBenchLeaseStore(cfg.dbPath);
if (process.env.RS_BENCH_DHCP_TRACE) traceStalls(process.env.RS_BENCH_DHCP_TRACE, leases.store);
const server = createDhcpServer({
  interface: cfg.interface, serverIp: cfg.serverIp, subnetMask: cfg.subnetMask, pool: cfg.pool, routers: cfg.routers,
  ...(core ? { events: createNetbootSink(core, (ip) => leases.store.byIp(ip)?.mac ?? null), bootPolicy: core.policy } : {}),
  leases: leases.store, warmUpLeases: () => openSqliteLeaseStore(':memory:'), ...(process.env.RS_BENCH_WARMUP ? { warmUpDoras: Number(process.env.RS_BENCH_WARMUP) } : {}), socketFactory: createBoundUdpSocketFactory(), logger,
  // A/B switch (RS_BENCH_LINK=0): every reply to a client without an address as a UDP broadcast from the socket
  ...(process.env.RS_BENCH_LINK === '0' ? { linkLayerReplies: false } : {}),
  // A/B switch (RS_BENCH_DRAIN=0): one datagram per read, as node delivers them
  ...(process.env.RS_BENCH_DRAIN === '0' ? { batchedReads: false } : {}),
  // A/B switch (RS_BENCH_BATCH_SENDS=0): one system call per reply
  ...(process.env.RS_BENCH_BATCH_SENDS === '0' ? { batchedSends: false } : {}),
});
await server.start();
// the event log's writer thread has started (a read waits for it), as it has long before a real storm reaches a daemon
core?.events.query({ limit: 1 });
if (process.env.RS_BENCH_DHCP_TRACE) traceLoad(process.env.RS_BENCH_DHCP_TRACE, () => server.counters().received);
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void server.stop().finally(() => { leases.close(); process.stdout.write(`${JSON.stringify(server.counters())}\n`, () => process.exit(0)); });
});

/**
 * Diagnostics (RS_BENCH_DHCP_TRACE=FILE): one line per stall of ≥ 2 ms — a lease-store commit or a GC pause —
 * with its time since the process started, appended to FILE as it happens (the kill -9 loses nothing).
 */
function traceStalls(file: string, store: LeaseStore): void {
  const line = (what: string, start: number, ms: number): void => { if (ms >= 2) appendFileSync(file, `${start.toFixed(1)} ${what} ${ms.toFixed(2)}\n`); };
  const commit = store.commit.bind(store);
  store.commit = () => { const t = performance.now(); commit(); line('commit', t, performance.now() - t); };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) line(`gc-${(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? '?'}`, e.startTime, e.duration);
  }).observe({ entryTypes: ['gc'] });
  appendFileSync(file, `${performance.now().toFixed(1)} start 0\n`);
}

/**
 * Diagnostics (RS_BENCH_DHCP_TRACE): every 50 ms while packets arrive, one line with the packets received in
 * that interval and the event loop's utilisation (1 = the server thread never waited): tells a slow server from
 * a slow load generator.
 */
function traceLoad(file: string, received: () => number): void {
  let last = received();
  let elu = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = received();
    const e = performance.eventLoopUtilization(elu);
    elu = performance.eventLoopUtilization();
    if (now !== last) appendFileSync(file, `${performance.now().toFixed(1)} load ${now - last} pkts elu ${e.utilization.toFixed(2)}\n`);
    last = now;
  }, 50);
  timer.unref();
}
