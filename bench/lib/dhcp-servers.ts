// The DHCP servers under test, each started the same way inside the server namespace of dhcp-topology.ts,
// in the foreground, killed by PID. Each one knows how to read back the leases it made durable, so the
// storm can check "every ACKed lease survives a kill -9" for all of them alike.
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import type { NetnsSandbox } from '../../test/helpers/netns.ts';
import { waitExit } from '../../test/helpers/netns.ts';
import { RELAYED_NET, SERVER_IF, type DhcpBenchNet } from './dhcp-topology.ts';

/**
 * rackseed: the DHCP server with its SQLite lease store only; rackseed-daemon: the server with the daemon's Core
 * (database, per-DORA history, boot policy) in a harness; rackseed-serve: `rackseed serve` itself (rackseed-serve-dhcp.ts,
 * same segment only: the daemon serves its interface's own subnet); kea: logging at WARN; kea-logged: logging as Debian ships it. Both with
 * multi-threading as the relayed rows have always run them (2 threads, queue 256). The same-segment rows name the
 * threading: kea-st / kea-logged-st single-threaded (Kea 2.2's default, as Debian ships it), kea-mt / kea-logged-mt
 * with 2 threads and a packet queue of 64.
 */
export type DhcpServerName = 'rackseed' | 'rackseed-daemon' | 'rackseed-serve' | 'kea' | 'kea-logged' | 'kea-st' | 'kea-mt' | 'kea-logged-st' | 'kea-logged-mt' | 'dnsmasq';

export interface RunningDhcpServer {
  name: DhcpServerName;
  /** one line: how it was configured, for the report */
  describe: string;
  process: ChildProcess;
  /** the last lines it printed, for error messages */
  output(): string;
  /** SIGKILL (kill -9) and wait for it to be gone */
  kill9(): Promise<void>;
  /** leases found in its durable store after it was killed: 12-hex-digit MAC → address */
  durableLeases(): Map<string, string>;
  /** remove its files */
  dispose(): void;
}

export interface StartOptions {
  sandbox: NetnsSandbox;
  serverNs: string;
  /** what to serve; default the relayed topology's */
  net?: DhcpBenchNet;
}

function capture(child: ChildProcess): () => string {
  let tail = '';
  const keep = (d: Buffer): void => { tail = (tail + d.toString()).slice(-4000); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}

function running(name: DhcpServerName, describe: string, child: ChildProcess, dir: string, read: () => Map<string, string>): RunningDhcpServer {
  const output = capture(child);
  return {
    name, describe, process: child, output,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (!(await waitExit(child, 5000))) throw new Error(`${name} (pid ${child.pid}) did not die after SIGKILL`);
    },
    durableLeases: read,
    dispose() { rmSync(dir, { recursive: true, force: true }); },
  };
}

/** First line of `cmd args` (a version banner), or "?" when it cannot run. */
function version(cmd: string, args: string[], pattern: RegExp): string {
  try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).match(pattern)?.[1] ?? '?'; } catch { return '?'; }
}

const macHex = (mac: string): string => mac.toLowerCase().replace(/[^0-9a-f]/g, '');

/** ISC Kea 4 (Debian kea-dhcp4-server): memfile leases, persist=true, UDP sockets on the server address. */
export function startKea(o: StartOptions): RunningDhcpServer {
  return startKeaWith(o, 'kea', false, 'mt256');
}

/**
 * Kea with the logging Debian's /etc/kea/kea-dhcp4.conf ships: severity INFO, pattern "%-5p %m\n", which writes two
 * lines per DORA naming the client's MAC (DHCP4_LEASE_ADVERT for the OFFER, DHCP4_LEASE_ALLOC for the ACK). They go
 * to a file here (Debian's systemd unit sends stdout to the journal), flushed after every line (Kea's default).
 * That log is Kea's per-client record of each exchange: the counterpart of the daemon's per-MAC history, so
 * `rackseed-daemon` is compared with this and `rackseed` (no history) with `kea` (logging at WARN: no per-exchange line).
 */
export function startKeaLogged(o: StartOptions): RunningDhcpServer {
  return startKeaWith(o, 'kea-logged', true, 'mt256');
}

/** Same-segment variants: single-threaded (Kea 2.2's default) or 2 threads with a packet queue of 64, at WARN or as Debian logs. */
export const startKeaSt = (o: StartOptions): RunningDhcpServer => startKeaWith(o, 'kea-st', false, 'st');
export const startKeaMt = (o: StartOptions): RunningDhcpServer => startKeaWith(o, 'kea-mt', false, 'mt64');
export const startKeaLoggedSt = (o: StartOptions): RunningDhcpServer => startKeaWith(o, 'kea-logged-st', true, 'st');
export const startKeaLoggedMt = (o: StartOptions): RunningDhcpServer => startKeaWith(o, 'kea-logged-mt', true, 'mt64');

const KEA_THREADING = {
  st: { 'enable-multi-threading': false },
  mt64: { 'enable-multi-threading': true, 'thread-pool-size': 2, 'packet-queue-size': 64 },
  mt256: { 'enable-multi-threading': true, 'thread-pool-size': 2, 'packet-queue-size': 256 },
} as const;

/**
 * Kea's configuration for `net`. Relayed: UDP sockets on the server's address (relayed traffic is unicast). Same
 * segment: raw sockets on the interface ("dhcp-socket-type": "raw"), which Kea needs to hear clients without an
 * address and to answer them as RFC 2131 §4.1 says (broadcast when the flag is set, else unicast to yiaddr at chaddr).
 */
export function keaConfig(net: DhcpBenchNet, threading: keyof typeof KEA_THREADING, leaseFile: string, logFile: string | null): object {
  return {
    Dhcp4: {
      'interfaces-config': net.topology === 'local'
        ? { interfaces: [SERVER_IF], 'dhcp-socket-type': 'raw' }
        : { interfaces: [`${SERVER_IF}/${net.serverAddr}`], 'dhcp-socket-type': 'udp' },
      'lease-database': { type: 'memfile', persist: true, name: leaseFile, 'lfc-interval': 0 },
      'multi-threading': KEA_THREADING[threading],
      'valid-lifetime': 3600,
      'renew-timer': 900,
      'rebind-timer': 1800,
      subnet4: [{
        id: 1, subnet: net.prefix, pools: [{ pool: `${net.poolFirst} - ${net.poolLast}` }],
        'option-data': [{ name: 'routers', data: net.router }],
      }],
      loggers: [logFile
        ? { name: 'kea-dhcp4', output_options: [{ output: logFile, pattern: '%-5p %m\n' }], severity: 'INFO', debuglevel: 0 }
        : { name: 'kea-dhcp4', output_options: [{ output: 'stdout' }], severity: 'WARN' }],
    },
  };
}

function startKeaWith({ sandbox, serverNs, net = RELAYED_NET }: StartOptions, name: DhcpServerName, logged: boolean, threading: keyof typeof KEA_THREADING): RunningDhcpServer {
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-kea-'));
  const leaseFile = join(dir, 'kea-leases4.csv');
  const cfg = join(dir, 'kea-dhcp4.json');
  writeFileSync(cfg, JSON.stringify(keaConfig(net, threading, leaseFile, logged ? join(dir, 'kea-dhcp4.log') : null), null, 2));
  const child = sandbox.spawn(serverNs, 'kea-dhcp4', ['-c', cfg], {
    env: { ...process.env, KEA_LOCKFILE_DIR: dir, KEA_PIDFILE_DIR: dir, KEA_LOGGER_DESTINATION: join(dir, 'kea.log') },
  });
  const threads = threading === 'st' ? 'single-threaded (Kea 2.2\'s default)'
    : threading === 'mt64' ? 'multi-threading on (2 threads, packet queue 64)' : 'multi-threading on (2 threads, as Kea ≥ 2.4 defaults to)';
  const describe = `kea-dhcp4 ${version('kea-dhcp4', ['-V'], /^(\S+)/)}, memfile persist=true (CSV append per lease, no fsync; lfc off), ${threads}, ${net.topology === 'local' ? 'raw sockets' : 'UDP sockets'}`;
  return running(name, logged ? `${describe}; logging as Debian's /etc/kea/kea-dhcp4.conf ships it (severity INFO: two lines per DORA naming the MAC, DHCP4_LEASE_ADVERT and DHCP4_LEASE_ALLOC; to a file, flushed per line)` : `${describe}; logging at WARN`, child, dir, () => {
    // address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,…; later lines win
    const leases = new Map<string, string>();
    if (!existsSync(leaseFile)) return leases;
    for (const line of readFileSync(leaseFile, 'utf8').split('\n').slice(1)) {
      const f = line.split(',');
      if (f.length < 10 || !f[1]) continue;
      const mac = macHex(f[1]);
      if (Number(f[3]) === 0 || f[9] === '2') leases.delete(mac); else leases.set(mac, f[0]);
    }
    return leases;
  });
}

/** dnsmasq in the foreground: DHCP only (port=0), no ping check, a range for the relay's subnet, a lease file. */
export function startDnsmasq({ sandbox, serverNs, net = RELAYED_NET }: StartOptions): RunningDhcpServer {
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-dnsmasq-'));
  const leaseFile = join(dir, 'dnsmasq.leases');
  const child = sandbox.spawn(serverNs, 'dnsmasq', [
    '--no-daemon', '--conf-file=/dev/null', '--port=0', '--no-ping', '--bind-interfaces', `--interface=${SERVER_IF}`,
    '--except-interface=lo', `--dhcp-range=${net.poolFirst},${net.poolLast},${net.subnetMask},1h`, `--dhcp-leasefile=${leaseFile}`,
    '--dhcp-lease-max=100000', '--dhcp-authoritative', '--quiet-dhcp', `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    '--log-facility=-',
  ]);
  const describe = `dnsmasq ${version('dnsmasq', ['-v'], /version (\S+)/)}, --no-ping, lease file (rewritten on every change), --dhcp-lease-max=100000, --quiet-dhcp`;
  return running('dnsmasq', describe, child, dir, () => {
    // expiry mac ip hostname clientid
    const leases = new Map<string, string>();
    if (!existsSync(leaseFile)) return leases;
    for (const line of readFileSync(leaseFile, 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f.length >= 3 && f[1]) leases.set(macHex(f[1]), f[2]);
    }
    return leases;
  });
}
