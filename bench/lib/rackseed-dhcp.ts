// Starts RackSeed's DHCP server (bench/lib/rackseed-dhcp-server.ts) in the server namespace of the storm
// topology, as a separate process, and reads its SQLite lease store back after the kill -9.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../../bin/daemon-node-flags.mjs';
import { waitExit } from '../../test/helpers/netns.ts';
import type { ServerStarter } from './dhcp-bench-run.ts';
import type { RunningDhcpServer } from './dhcp-servers.ts';
import { RELAYED_NET, SERVER_IF } from './dhcp-topology.ts';
import type { RackseedServerConfig } from './rackseed-dhcp-server.ts';
import { readDurableLeases } from './rackseed-lease-store.ts';

const SERVER_MAIN = fileURLToPath(new URL('./rackseed-dhcp-server.ts', import.meta.url));

/** Extra node flags for the server process, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/x'] (RS_BENCH_NODE_FLAGS). */
function nodeFlags(): string[] {
  return (process.env.RS_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
}

const starter = (withDaemonCore: boolean): ServerStarter => async ({ sandbox, serverNs, net = RELAYED_NET }) => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-rackseed-'));
  const dbPath = join(dir, 'rackseed.db');
  const cfg: RackseedServerConfig = {
    dbPath, interface: SERVER_IF, serverIp: net.serverAddr, subnetMask: net.subnetMask,
    pool: { first: net.poolFirst, last: net.poolLast }, routers: [net.router], withDaemonCore,
  };
  // as the daemon runs it: with the Node flags bin/rackseed.mjs gives `rackseed serve` (bin/daemon-node-flags.mjs)
  const daemonFlags = withDaemonCore ? DAEMON_NODE_FLAGS : [];
  const child = sandbox.spawn(serverNs, process.execPath, [...daemonFlags, ...nodeFlags(), '--import', 'tsx', SERVER_MAIN, JSON.stringify(cfg)]);
  let tail = '';
  const keep = (d: Buffer): void => { tail = (tail + d.toString()).slice(-4000); };
  child.stderr?.on('data', keep);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`RackSeed DHCP server not ready within 20 s: ${tail}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => { keep(d); if (tail.includes('ready\n')) { clearTimeout(timer); resolve(); } });
    child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`RackSeed DHCP server exited (${code ?? sig}): ${tail}`)); });
  });
  const server: RunningDhcpServer = {
    name: withDaemonCore ? 'rackseed-daemon' : 'rackseed',
    describe: withDaemonCore
      ? 'RackSeed as `rackseed serve` runs it: the same server with the Core\'s database (leases beside nodes, jobs, events), the daemon\'s event sink (each DORA is one per-MAC history entry, written to events.db by the event-log thread), boot policy and Node flags (bin/daemon-node-flags.mjs)'
      : 'RackSeed createDhcpServer (netboot/dhcp/server), SO_BINDTODEVICE socket, SQLite lease store only, own process',
    process: child,
    output: () => tail,
    async kill9() {
      if (process.env.RS_BENCH_GRACEFUL === '1') child.kill('SIGTERM'); // profiling: let --cpu-prof write its file
      else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (!(await waitExit(child, 10_000))) throw new Error(`rackseed (pid ${child.pid}) did not exit`);
    },
    durableLeases: () => readDurableLeases(dbPath),
    dispose() { rmSync(dir, { recursive: true, force: true }); },
  };
  return server;
};

/** The DHCP server with its own SQLite lease store (the server alone). */
export const startRackseed = starter(false);
/** The DHCP server as the daemon runs it (Core database, event sink, boot policy). */
export const startRackseedDaemon = starter(true);
