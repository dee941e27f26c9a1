// RackSeed's authoritative DHCP server as its own process, for the storm: run inside the server namespace
//   ip netns exec NS node --import tsx bench/lib/rackseed-dhcp-server.ts '<RackseedServerConfig as JSON>'
// It serves the relay's subnet with the lease store the daemon uses (SQLite), prints "ready" once the socket
// is bound, and is meant to be ended with SIGKILL (the durability check); SIGTERM stops it cleanly, which is
// what a --cpu-prof run needs to write its profile.
import { pino } from 'pino';
import { createDhcpServer } from '../../src/netboot/dhcp/server/dhcp-server.ts';
import { createBoundUdpSocketFactory } from '../../src/netboot/net/bound-udp.ts';
import { openBenchLeaseStore } from './rackseed-lease-store.ts';

export interface RackseedServerConfig {
  dbPath: string;
  interface: string;
  serverIp: string;
  subnetMask: string;
  pool: { first: string; last: string };
  routers: string[];
}

const cfg = JSON.parse(process.argv[2] ?? '') as RackseedServerConfig;
const logger = pino({ level: 'warn' });
const leases = openBenchLeaseStore(cfg.dbPath);
const server = createDhcpServer({
  interface: cfg.interface, serverIp: cfg.serverIp, subnetMask: cfg.subnetMask, pool: cfg.pool, routers: cfg.routers,
  leases: leases.store, socketFactory: createBoundUdpSocketFactory(), logger,
});
await server.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void server.stop().finally(() => { leases.close(); process.stdout.write(`${JSON.stringify(server.counters())}\n`, () => process.exit(0)); });
});
