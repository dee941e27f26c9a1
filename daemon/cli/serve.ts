// `rackseed serve`: the daemon — API (+ UI) on --listen, and, with --interface, the netboot services.
import { Command, InvalidArgumentError, Option } from 'commander';
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { pino, destination, type Logger } from 'pino';
import { startDaemon } from '../daemon.ts';
import { ForeignDhcpError } from '../api/ports.ts';
import { UnsafePathError } from '../../core/safe-path.ts';
import { BIOS_IPXE_CHOICES, type BiosIpxe } from '../../core/boot/policy.ts';
import { REPO_ROOT as REPO } from '../../agent/build/manifest.ts';

export interface ServeOptions {
  interface?: string;
  mode: 'authoritative' | 'proxy';
  pool?: string;
  data: string;
  listen: string;
  httpPort: number;
  overrideForeignDhcp: boolean;
  safeMode: boolean;
  biosIpxe: BiosIpxe;
  tftpWorkers?: number;
  allowHost: string[];
  admitAll: boolean;
  redfishInsecure: boolean;
}

function makeLogger(): Logger {
  const level = process.env.RACKSEED_LOG_LEVEL ?? 'info';
  if (process.stdout.isTTY && !process.env.RACKSEED_LOG_JSON) {
    return pino({ level, redact: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'], transport: { target: 'pino-pretty', options: { destination: 2 } } });
  }
  return pino({ level, redact: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'] }, destination(2));
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the daemon: API and UI, and with --interface the DHCP/TFTP/HTTP boot services on that NIC only')
    .option('--interface <if>', 'provisioning NIC; without it only the API starts (configure later through the UI)')
    .addOption(new Option('--mode <mode>', 'DHCP mode').choices(['authoritative', 'proxy']).default('authoritative'))
    .option('--pool <first-last>', 'authoritative mode: address pool, e.g. 10.0.0.100-10.0.0.199')
    .option('--data <dir>', 'data directory (database, secret key)', join(homedir(), '.local', 'share', 'rackseed'))
    .option('--listen <host:port|unix:/path>', 'API listen address', '127.0.0.1:8443')
    .option('--http-port <port>', 'HTTP boot server port', (v) => Number.parseInt(v, 10), 80)
    .option('--override-foreign-dhcp', 'serve authoritative DHCP even when another DHCP server answers', false)
    .option('--safe-mode', 'boot only allowed machines in any mode (the default in proxy mode): other PXE clients are listed as seen and answered nothing', false)
    .option('--redfish-insecure', 'Redfish BMCs: accept any TLS certificate and pin none (default: pin each BMC\'s certificate on first use and refuse a changed one); isolated lab networks only', false)
    .option('--admit-all', 'boot every PXE client even beside another DHCP server (proxy mode), the site\'s own machines too', false)
    .addOption(new Option('--bios-ipxe <which>', 'iPXE for BIOS clients: "rom" boots in whichever iPXE asked (the NIC ROM\'s); '
      + '"bundled" chains our TFTP undionly.kpxe first when the client\'s iPXE is not it').choices([...BIOS_IPXE_CHOICES]).default('rom'))
    .option('--allow-host <name>', 'a host name (besides the listen address) browsers may use to reach the UI/API, e.g. a jump host\'s DNS name; repeatable',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--tftp-workers <n>', 'TFTP transfers on N worker threads, 0 = on the main thread (default: 2 on a machine with 2 or more cores; started by the first transfer, ended after 60 s without one)', parseWorkers)
    .action(async (o: ServeOptions) => {
      const log = makeLogger();
      let d;
      try {
        d = await startDaemon({
        dataDir: resolve(o.data), listen: o.listen, logger: log, token: process.env.RACKSEED_TOKEN ?? null,
        uiDir: join(REPO, 'dist', 'renderer'), repoRoot: REPO,
        network: o.interface ? {
          interface: o.interface, mode: o.mode, pool: o.pool ? parsePool(o.pool) : null, override: o.overrideForeignDhcp,
        } : null,
        httpPort: o.httpPort, safeMode: o.safeMode, biosIpxe: o.biosIpxe, tftpWorkers: o.tftpWorkers, allowHosts: o.allowHost, admission: o.admitAll ? 'open' : undefined, redfishInsecure: o.redfishInsecure,
        inspectTimeoutMs: process.env.RACKSEED_INSPECT_TIMEOUT_MS ? Number(process.env.RACKSEED_INSPECT_TIMEOUT_MS) : undefined,
        // keystrokes of the console path's warm-up after start (daemon/console-warm-up.ts); 0 = none (measurements)
        consoleWarmUpKeys: process.env.RACKSEED_CONSOLE_WARM_UP_KEYS ? Number(process.env.RACKSEED_CONSOLE_WARM_UP_KEYS) : undefined,
      });
      } catch (err) {
        if (err instanceof UnsafePathError) {
          process.stderr.write(`rackseed: refusing to start: ${err.message}\n`);
          process.exit(2);
        }
        if (err instanceof ForeignDhcpError) {
          process.stderr.write(`rackseed: refusing to start authoritative DHCP on ${o.interface}: another DHCP server answers there ` +
            `(${err.survey.foreign.map((f) => `${f.serverId}${f.offered ? ` offering ${f.offered}` : ''}`).join(', ')}).\n` +
            `  Run beside it with --mode proxy (it keeps assigning addresses; RackSeed only adds boot information),\n` +
            `  or, if you are sure, take over with --override-foreign-dhcp.\n`);
          process.exit(2);
        }
        throw err;
      }
      const stop = async (sig: string) => { log.info({ sig }, 'stopping'); await d.close(); process.exit(0); };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}

function parseWorkers(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new InvalidArgumentError('must be a whole number from 0 to 64');
  return n;
}

function parsePool(s: string): { first: string; last: string } {
  const m = /^(\d+\.\d+\.\d+\.\d+)-(\d+\.\d+\.\d+\.\d+)$/.exec(s.trim());
  if (!m) throw new Error(`--pool must be FIRST-LAST, e.g. 10.0.0.100-10.0.0.199 (got ${s})`);
  return { first: m[1]!, last: m[2]! };
}
