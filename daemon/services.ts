// The netboot services on the chosen interface, started in order: foreign-DHCP survey, then DHCP (authoritative)
// or proxyDHCP, TFTP (root: the bundled iPXE binaries) and the HTTP boot server (iPXE scripts from the core's boot
// policy, only the kernel/initrd of the discovery ramdisk (ramdisk-files.ts), and the agent routes), all on the interface's IPv4 address,
// UDP sockets confined to the interface (SO_BINDTODEVICE). configure() stops what runs and starts anew.
import { availableParallelism, networkInterfaces } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { BootAdmission, NetworkConfig, ServicesStatus, ServiceStatus, SurveyResult } from '../shared/api.ts';
import type { Core } from '../core/core.ts';
import type { BiosIpxe } from '../core/boot/policy.ts';
import { createNetbootSink } from '../core/netboot-sink.ts';
import { openSqliteLeaseStore, type SqliteLeaseStore } from '../core/leases/sqlite-lease-store.ts';
import { createDhcpServer, createProxyDhcpServer, startPeriodicSurvey, surveyDhcp, type DhcpService } from '../netboot/dhcp/server/index.ts';
import { createBoundUdpSocketFactory } from '../netboot/net/bound-udp.ts';
import type { UdpSocketFactory } from '../netboot/net/udp-socket.ts';
import { createTftpServer, type TftpServer } from '../netboot/tftp/server/tftp-server.ts';
import { createFilesystemHandler } from '../netboot/tftp/server/fs-handler.ts';
import { buildHttpBootServer } from '../netboot/http/http-boot.ts';
import { ramdiskDir } from '../agent/build/manifest.ts';
import { prepareRamdiskFiles, type RamdiskFiles } from './ramdisk-files.ts';
import { ForeignDhcpError, HttpError, type ServicesPort } from './api/ports.ts';
import { registerAgentRoutes } from './agent-routes.ts';
import { newClientLimitFromEnv } from '../netboot/dhcp/server/new-client-limit.ts';
import { registerImageServing } from './image-serving.ts';

/**
 * TFTP worker threads by default: 2 when the machine has at least 2 cores (a window of 16 blocks is one GSO send
 * and the kernel's per-packet work dominates, so a second core is what raises the aggregate: docs/BENCHMARKS.md),
 * else 0 (everything on the main thread).
 */
export function defaultTftpWorkers(): number {
  return availableParallelism() >= 2 ? 2 : 0;
}

export interface ServiceManagerOptions {
  /** HTTP boot port (default 80) */
  httpPort: number;
  /** TFTP root and /ipxe/* (default <repo>/.cache/resources/ipxe) */
  ipxeRoot: string;
  /** discovery ramdisk folder (default agent/build ramdiskDir()) */
  ramdiskRoot?: string;
  safeMode: boolean;
  /** BootPolicySettings.admission (`--admit-all`: 'open'); absent: the default for the mode (shared/admission.ts) */
  admission?: BootAdmission;
  /** BootPolicySettings.biosIpxe when the network config does not set it (default "rom") */
  biosIpxe?: BiosIpxe;
  /** survey listen window (default 3000 ms) */
  surveyMs?: number;
  /** TFTP transfers on this many worker threads; 0 = main thread (default defaultTftpWorkers()) */
  tftpWorkers?: number;
  /** re-survey while serving, every this many ms (default 60 000; 0 = never) */
  surveyIntervalMs?: number;
  /** UDP socket factory (default: SO_BINDTODEVICE-bound) */
  socketFactory?: UdpSocketFactory;
}

const idle = (detail: string): ServiceStatus => ({ running: false, detail, counters: {} });

interface Running {
  cfg: NetworkConfig;
  dhcp: DhcpService | null;
  proxy: DhcpService | null;
  tftp: TftpServer | null;
  http: FastifyInstance | null;
  leases: SqliteLeaseStore | null;
  /** /files/ root: only the ramdisk's kernel and initrd */
  files: RamdiskFiles | null;
  httpCounters: Record<string, number>;
  detail: { dhcp: string; proxy: string; tftp: string; http: string };
}

/** IPv4 address and netmask of `iface`, or null. */
function ipv4Of(iface: string): { address: string; netmask: string } | null {
  const a = networkInterfaces()[iface]?.find((x) => x.family === 'IPv4');
  return a ? { address: a.address, netmask: a.netmask } : null;
}

export class ServiceManager implements ServicesPort {
  private survey_: SurveyResult | null = null;
  private running: Running | null = null;
  private lastError: string | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private periodic: { stop(): void } | null = null;
  private readonly factory: UdpSocketFactory;
  /** configure()/stop() run one at a time, in call order: a second PUT /config/network while the first is still
   * surveying must not leave the first one's servers running beside the second's */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly core: Core, private readonly log: Logger, private readonly o: ServiceManagerOptions) {
    this.factory = o.socketFactory ?? createBoundUdpSocketFactory();
  }

  status(): ServicesStatus {
    const r = this.running;
    if (!r) {
      const why = this.lastError ?? 'not configured';
      return { config: this.core.config.network(), dhcp: idle(why), proxy: idle(why), tftp: idle(why), http: idle(why) };
    }
    return {
      config: r.cfg,
      admission: this.core.policy.admission(),
      dhcp: r.dhcp ? { running: true, detail: r.detail.dhcp, counters: r.dhcp.counters() } : idle(r.cfg.mode === 'proxy' ? 'proxy mode: the site DHCP assigns addresses' : r.detail.dhcp),
      proxy: r.proxy ? { running: true, detail: r.detail.proxy, counters: r.proxy.counters() } : idle(r.cfg.mode === 'authoritative' ? 'authoritative mode' : r.detail.proxy),
      tftp: r.tftp ? { running: true, detail: r.detail.tftp, counters: { ...r.tftp.counters() } } : idle(r.detail.tftp),
      http: r.http ? { running: true, detail: r.detail.http, counters: { ...r.httpCounters } } : idle(r.detail.http),
    };
  }

  /**
   * A number that moves whenever a netboot service does something (the sum of every running service's counters:
   * DHCP/proxyDHCP packets, TFTP and HTTP requests); 0 when none runs. The daemon's warm-ups give way while it moves.
   */
  activity(): number {
    const r = this.running;
    if (!r) return 0;
    const sum = (c: Record<string, number> | undefined): number => { let n = 0; for (const v of Object.values(c ?? {})) n += v; return n; };
    return sum(r.dhcp?.counters()) + sum(r.proxy?.counters()) + sum(r.tftp?.counters() as Record<string, number> | undefined) + sum(r.httpCounters as Record<string, number>);
  }

  lastSurvey(): SurveyResult | null {
    return this.survey_;
  }

  /** One survey on `iface` (default: the configured one). Must not run while our own DHCP server runs on it. */
  async survey(iface?: string): Promise<SurveyResult> {
    const name = iface ?? this.core.config.network()?.interface;
    if (!name) throw new HttpError(400, 'no interface given and none configured');
    if (!networkInterfaces()[name]) throw new HttpError(400, `no interface ${name}`);
    if (this.running?.cfg.interface === name && (this.running.dhcp || this.running.proxy)) {
      throw new HttpError(409, `DHCP is being served on ${name}; the survey runs before serving (PUT /api/v1/config/network re-surveys)`);
    }
    return this.runSurvey(name);
  }

  private async runSurvey(name: string): Promise<SurveyResult> {
    let foreign;
    try {
      foreign = await surveyDhcp({ interface: name, timeoutMs: this.o.surveyMs ?? 3000, socketFactory: this.factory, logger: this.log.child({ svc: 'survey', interface: name }) });
    } catch (err) {
      throw new HttpError(503, `survey on ${name} failed: ${(err as Error).message}`);
    }
    const own = ipv4Of(name)?.address;
    const others = foreign.filter((f) => f.serverId !== own);
    const result: SurveyResult = { interface: name, at: Date.now(), foreign: others, proposal: others.length ? 'proxy' : 'authoritative' };
    this.survey_ = result;
    this.core.bus.record({
      source: 'survey', kind: 'survey', mac: null, nodeId: null, level: result.foreign.length ? 'warn' : 'info',
      message: result.foreign.length ? `foreign DHCP server(s) on ${name}: ${result.foreign.map((f) => f.serverId).join(', ')}; proposing proxy mode` : `no foreign DHCP server on ${name}`,
      detail: { interface: name, foreign: result.foreign },
    });
    return result;
  }

  /** Stop what runs and start the services for `cfg`. Calls are serialized: each waits for the ones before it. */
  configure(cfg: NetworkConfig): Promise<ServicesStatus> {
    return this.exclusive(() => this.configureNow(cfg));
  }

  /** Stop every service (reconfiguration, daemon shutdown); waits for a configure() in progress. */
  stop(): Promise<void> {
    return this.exclusive(() => this.stopNow());
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async configureNow(cfg: NetworkConfig): Promise<ServicesStatus> {
    const addr = ipv4Of(cfg.interface);
    if (!networkInterfaces()[cfg.interface]) throw new HttpError(400, `no interface ${cfg.interface}`);
    if (!addr) throw new HttpError(400, `interface ${cfg.interface} has no IPv4 address`);
    if (cfg.mode === 'authoritative' && !cfg.pool) throw new HttpError(400, 'authoritative mode needs a pool {first, last}');
    await this.stopNow();
    const log = this.log.child({ interface: cfg.interface });
    const survey = await this.runSurvey(cfg.interface);
    if (cfg.mode === 'authoritative' && survey.foreign.length > 0 && !cfg.override) {
      this.lastError = `refused: foreign DHCP server on ${cfg.interface}`;
      throw new ForeignDhcpError(survey);
    }
    this.core.config.setNetwork(cfg);
    const sink = createNetbootSink(this.core, (ip) => this.running?.leases?.byIp(ip)?.mac ?? null);
    const r: Running = {
      cfg, dhcp: null, proxy: null, tftp: null, http: null, leases: null, files: null, httpCounters: { scripts: 0, downloads: 0 },
      detail: { dhcp: '', proxy: '', tftp: '', http: '' },
    };
    this.running = r;
    const countingSink: typeof sink = (e) => {
      if (e.source === 'http') { const k = e.kind === 'script' ? 'scripts' : 'downloads'; r.httpCounters[k] = (r.httpCounters[k] ?? 0) + 1; }
      sink(e);
    };
    const ramdiskRoot = this.o.ramdiskRoot ?? ramdiskDir();
    const files = prepareRamdiskFiles(ramdiskRoot, this.core.runDir ?? undefined);
    r.files = files;
    this.core.bootSettings = {
      serverIp: addr.address, httpPort: this.o.httpPort, safeMode: this.o.safeMode, admission: this.o.admission, biosIpxe: cfg.biosIpxe ?? this.o.biosIpxe ?? 'rom',
      ramdisk: files.ramdisk,
    };
    if (!this.core.bootSettings.ramdisk) log.warn({ ramdiskRoot }, 'no discovery ramdisk built (npm run build:ramdisk): nodes will be told to wait');
    const ipxeBundled = existsSync(join(this.o.ipxeRoot, 'manifest.json'));
    if (!ipxeBundled) log.warn({ ipxeRoot: this.o.ipxeRoot }, 'no iPXE binaries bundled (npm run setup, or npm run build): firmware PXE clients will get "file not found" over TFTP');
    const failures: string[] = [];
    // HTTP first: DHCP answers point at it
    try {
      const app = await buildHttpBootServer({
        logger: log.child({ svc: 'http-boot' }, { level: 'warn' }),
        scriptFor: (req) => this.core.policy.scriptFor({ mac: req.mac, ip: req.ip }),
        filesRoot: files.root, ipxeRoot: this.o.ipxeRoot,
        baseUrl: this.o.httpPort === 80 ? `http://${addr.address}` : `http://${addr.address}:${this.o.httpPort}`,
        onEvent: countingSink,
        registerExtra: async (a) => { await registerAgentRoutes(a, this.core); await registerImageServing(a, this.core); },
      });
      await app.listen({ host: addr.address, port: this.o.httpPort });
      r.http = app;
      r.detail.http = `http://${addr.address}:${this.o.httpPort}`;
    } catch (err) { r.detail.http = `failed: ${(err as Error).message}`; failures.push(`HTTP: ${(err as Error).message}`); }
    try {
      const tftp = createTftpServer({ socketFactory: this.factory, interface: cfg.interface, handler: createFilesystemHandler(this.o.ipxeRoot), logger: log.child({ svc: 'tftp' }), onEvent: countingSink,
        transferWorkers: this.o.tftpWorkers ?? defaultTftpWorkers() });
      await tftp.start();
      r.tftp = tftp;
      r.detail.tftp = `${addr.address}:69 root ${this.o.ipxeRoot}${ipxeBundled ? '' : ' (empty: no iPXE binaries bundled; npm run setup)'}`;
    } catch (err) { r.detail.tftp = `failed: ${(err as Error).message}`; failures.push(`TFTP: ${(err as Error).message}`); }
    try {
      if (cfg.mode === 'authoritative') {
        r.leases = openSqliteLeaseStore(this.core.db);
        const dhcp = createDhcpServer({
          interface: cfg.interface, serverIp: addr.address, subnetMask: addr.netmask, pool: cfg.pool!, leases: r.leases,
          warmUpLeases: () => openSqliteLeaseStore(':memory:'),
          bootPolicy: this.core.policy, socketFactory: this.factory, logger: log.child({ svc: 'dhcp' }), events: countingSink,
          // random-MAC floods: rate under pressure, reserve for known nodes (RACKSEED_DHCP_* settings, docs/SECURITY.md)
          newClientLimit: newClientLimitFromEnv(),
        });
        await dhcp.start();
        r.dhcp = dhcp;
        r.detail.dhcp = `authoritative on ${cfg.interface}, pool ${cfg.pool!.first}–${cfg.pool!.last}`;
      } else {
        const proxy = createProxyDhcpServer({ interface: cfg.interface, serverIp: addr.address, bootPolicy: this.core.policy, socketFactory: this.factory, logger: log.child({ svc: 'proxydhcp' }), events: countingSink });
        await proxy.start();
        r.proxy = proxy;
        r.detail.proxy = `proxyDHCP on ${cfg.interface} (67, 4011)`;
      }
    } catch (err) {
      const d = `failed: ${(err as Error).message}`;
      if (cfg.mode === 'authoritative') r.detail.dhcp = d; else r.detail.proxy = d;
      failures.push(`DHCP: ${(err as Error).message}`);
    }
    this.lastError = failures.length ? failures.join('; ') : null;
    this.core.bus.record({
      source: 'api', kind: 'services', mac: null, nodeId: null, level: failures.length ? 'error' : 'info',
      message: failures.length ? `services on ${cfg.interface} started with failures: ${failures.join('; ')}` : `serving ${cfg.mode} DHCP, TFTP and HTTP boot on ${cfg.interface} (${addr.address})`,
    });
    log.info({ mode: cfg.mode, serverIp: addr.address, failures }, 'netboot services configured');
    const every = this.o.surveyIntervalMs ?? 60_000;
    if (every > 0) {
      let last = survey.foreign.map((f) => f.serverId).sort().join(',');
      this.periodic = startPeriodicSurvey({
        interface: cfg.interface, timeoutMs: this.o.surveyMs ?? 3000, socketFactory: this.factory, intervalMs: every,
        onResult: (servers) => {
          const foreign = servers.filter((f) => f.serverId !== addr.address);
          this.survey_ = { interface: cfg.interface, at: Date.now(), foreign, proposal: foreign.length ? 'proxy' : 'authoritative' };
          const now = foreign.map((f) => f.serverId).sort().join(',');
          if (now === last) return;
          last = now;
          this.core.bus.record({
            source: 'survey', kind: 'survey-change', mac: null, nodeId: null, level: foreign.length ? 'warn' : 'info', detail: { interface: cfg.interface, foreign },
            message: foreign.length ? `foreign DHCP server(s) now answer on ${cfg.interface}: ${now}${cfg.mode === 'authoritative' ? ' — two DHCP servers on one segment; switch to proxy mode' : ''}` : `no foreign DHCP server on ${cfg.interface} any more`,
          });
        },
        onError: (err) => log.warn({ err: (err as Error).message }, 'periodic survey failed'),
      });
    }
    this.ticker = setInterval(() => this.core.bus.publish({ type: 'services', payload: this.status() }), 2000);
    this.ticker.unref();
    const s = this.status();
    this.core.bus.publish({ type: 'services', payload: s });
    return s;
  }

  private async stopNow(): Promise<void> {
    if (this.ticker) { clearInterval(this.ticker); this.ticker = null; }
    if (this.periodic) { this.periodic.stop(); this.periodic = null; }
    const r = this.running;
    this.running = null;
    if (!r) return;
    await Promise.allSettled([r.dhcp?.stop(), r.proxy?.stop(), r.tftp?.stop(), r.http ? closeHttp(r.http) : undefined]);
    try { r.leases?.commit(); } catch { /* db closing */ }
    try { r.files?.dispose(); } catch (err) { this.log.warn({ err: (err as Error).message }, 'could not remove the /files/ folder'); }
  }
}

/** How long stop() lets HTTP responses in flight finish before cutting their connections. */
const HTTP_CLOSE_GRACE_MS = 2000;

/**
 * Close the HTTP boot server; connections still open after the grace period are destroyed. A node powered off in the
 * middle of a kernel download leaves a response that would otherwise hold close() (and a reconfiguration) for as long
 * as TCP retransmits to a peer that is gone.
 */
async function closeHttp(app: FastifyInstance): Promise<void> {
  const t = setTimeout(() => app.server.closeAllConnections(), HTTP_CLOSE_GRACE_MS);
  try { await app.close(); } finally { clearTimeout(t); }
}

/** Default TFTP/iPXE root under the repository. */
export function defaultIpxeRoot(repoRoot: string): string {
  return join(repoRoot, '.cache', 'resources', 'ipxe');
}
