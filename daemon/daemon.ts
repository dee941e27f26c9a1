// Starts the whole daemon in-process: core (store, lifecycle, jobs), API server, and the netboot services.
// Used by `rackseed serve` and by tests that want a daemon without a child process.
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { BootAdmission, NetworkConfig } from '../shared/api.ts';
import { Core } from '../core/core.ts';
import type { BiosIpxe } from '../core/boot/policy.ts';
import { ApiAuth } from './api/auth.ts';
import { buildApiServer } from './api/server.ts';
import { ServiceManager, defaultIpxeRoot } from './services.ts';
import type { BmcOpsPort } from './api/ports.ts';
import { IpmiClient } from '../bmc/ipmi/session/client.ts';
import { hostsForListen } from './api/access.ts';
import { nodeConsoles } from '../core/console/node-consoles.ts';
import { DEFAULT_CONSOLE_WARM_UP_KEYS, warmUpConsoles } from './console-warm-up.ts';
import type { ConsoleManager } from '../core/console/manager.ts';
import { resolve } from 'node:path';
import { openLocalSocket, type LocalSocket } from './api/local-socket.ts';

/** The daemon's base URL as this host reaches it: a wildcard listen address (0.0.0.0, ::) by loopback. */
function loopbackUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

/** Host part of a "HOST:PORT" listen address ("[::1]:8443" → "::1"); "127.0.0.1" when only a port is given. */
function listenHost(listen: string): string {
  const i = listen.lastIndexOf(':');
  return i > 0 ? listen.slice(0, i).replace(/^\[|\]$/g, '') : '127.0.0.1';
}

export interface DaemonOptions {
  dataDir: string | null;
  /** "HOST:PORT" or "unix:/path" */
  listen: string;
  logger: Logger;
  /** API token; null = generate and print once */
  token: string | null;
  uiDir: string | null;
  repoRoot: string;
  /** start the netboot services on this config at once (CLI --interface); null = API only */
  network: NetworkConfig | null;
  httpPort: number;
  safeMode: boolean;
  /** which PXE clients are booted (`--admit-all`: 'open'); absent: the default for the mode (shared/admission.ts) */
  admission?: BootAdmission;
  /** BIOS clients: boot in the ROM's iPXE (default) or chain the bundled undionly.kpxe first */
  biosIpxe?: BiosIpxe;
  /** Redfish BMCs: accept any TLS certificate, pin nothing (serve --redfish-insecure; lab networks only). Default: trust on first use */
  redfishInsecure?: boolean;
  /** wait-inventory timeout of inspect jobs (default 10 min; env RACKSEED_INSPECT_TIMEOUT_MS) */
  inspectTimeoutMs?: number;
  /** survey listen window in ms (default 3000) */
  surveyMs?: number;
  /** TFTP transfers on this many worker threads; 0 = on the main thread (default: defaultTftpWorkers()) */
  tftpWorkers?: number;
  /** host names besides the listen address that the Host header may carry (`--allow-host`, e.g. a jump host's DNS name) */
  allowHosts?: string[];
  /** where to print the token and login URL (default: stdout) */
  print?: (line: string) => void;
  /** also serve the API on `<data dir>/run/api-<hex>.sock` for this host's CLI when listening on TCP with a data dir
   * (daemon/api/local-socket.ts; default true) */
  localSocket?: boolean;
  /** keystrokes of the console path's JIT warm-up after start (daemon/console-warm-up.ts; default
   * DEFAULT_CONSOLE_WARM_UP_KEYS, 0 = none) */
  consoleWarmUpKeys?: number;
}

export interface RunningDaemon {
  core: Core;
  api: FastifyInstance;
  auth: ApiAuth;
  /** base URL of the API ("http://127.0.0.1:18080"), or the unix socket path */
  url: string;
  /** the local socket's path (daemon/api/local-socket.ts), null when there is none */
  localSocket: string | null;
  /** the console route's one-time warm-up ids (daemon/console-warm-up.ts): empty unless a warm-up runs */
  warmUpConsoleIds: Map<string, ConsoleManager>;
  close(): Promise<void>;
}

export const VERSION = '0.1.0';

export async function startDaemon(o: DaemonOptions): Promise<RunningDaemon> {
  const print = o.print ?? ((l: string) => process.stdout.write(l + '\n'));
  const ipmi = new IpmiClient({ logger: o.logger.child({ svc: 'ipmi' }) });
  const core = new Core({ dataDir: o.dataDir, logger: o.logger, ipmi, redfish: { insecure: o.redfishInsecure ?? false }, jobs: { inventoryTimeoutMs: o.inspectTimeoutMs } });
  const auth = new ApiAuth(o.token);
  const services = new ServiceManager(core, o.logger, { httpPort: o.httpPort, safeMode: o.safeMode, admission: o.admission, biosIpxe: o.biosIpxe, ipxeRoot: defaultIpxeRoot(o.repoRoot), surveyMs: o.surveyMs, tftpWorkers: o.tftpWorkers });
  const bmc: BmcOpsPort = {
    power: (id, action) => core.bmcOps.power(id, action),
    bootdev: (id, req) => core.bmcOps.bootdev(id, req),
    inspect: (id, opts) => core.runner.inspectNode(id, opts),
    discovery: (bmcs) => core.runner.discover(bmcs),
    sweep: (cidr, prefer) => core.sweeps.start(cidr, { prefer }),
  };
  // serial consoles (SOL through each node's BMC), their logs in <data dir>/console
  const consoles = nodeConsoles(core, ipmi, o.dataDir ? resolve(o.dataDir) : null);
  const allowedHosts = o.listen.startsWith('unix:') ? null : hostsForListen(listenHost(o.listen), o.allowHosts ?? []);
  // the console warm-up's one-time ids (daemon/console-warm-up.ts), served by the console route while it runs
  const warmUpConsoleIds = new Map<string, ConsoleManager>();
  let local: LocalSocket | null = null;
  const api = await buildApiServer({
    core, auth, services, bmc, logger: o.logger, version: VERSION, uiDir: o.uiDir, allowedHosts: () => allowedHosts, consoles: consoles.manager,
    warmUpConsoles: warmUpConsoleIds, localSocket: () => local?.path ?? null,
  });

  core.recover();
  // handed over and stopped (POST /api/v1/handoff/stop): no netboot service until the user starts them again
  const stopped = core.handoff.handoverStopped();
  if (o.network && stopped) {
    print(`RackSeed was handed over and stopped at ${new Date(stopped.at).toISOString()}: netboot services stay off on ${o.network.interface} `
      + 'until started again (rackseed services start, PUT /api/v1/config/network, or the UI)');
  }
  // services first, so that when the API answers, DHCP/TFTP/HTTP boot are already up
  if (o.network && !stopped) {
    try {
      await services.configure(o.network);
    } catch (err) {
      await services.stop();
      await api.close();
      await consoles.close();
      await ipmi.close();
      core.close();
      throw err;
    }
  }

  let url: string;
  if (o.listen.startsWith('unix:')) {
    const path = o.listen.slice(5);
    await api.listen({ path });
    url = `unix:${path}`;
  } else {
    const i = o.listen.lastIndexOf(':');
    const host = listenHost(o.listen);
    const port = Number(i >= 0 ? o.listen.slice(i + 1) : o.listen);
    await api.listen({ host, port });
    const addr = api.server.address();
    const realPort = typeof addr === 'object' && addr ? addr.port : port;
    url = `http://${host.includes(':') ? `[${host}]` : host}:${realPort}`;
    // this host's CLI: the same API on a unix socket in the private run folder (a cheaper round trip per keystroke)
    if (o.localSocket !== false && core.runDir) {
      local = await openLocalSocket(api.server, core.runDir, o.logger.child({ svc: 'api' }));
      if (local) o.logger.info({ path: local.path }, 'API also on a local socket for this host\'s rackseed CLI');
    }
  }
  if (!o.token) print(`RackSeed API token (this launch only): ${auth.token}`);
  print(`RackSeed is listening on ${url}`);
  if (!url.startsWith('unix:')) print(`Open the UI (one-time link): ${url}/login?code=${auth.issueLoginCode()}`);

  // JIT warm-up of the console path end to end, through this daemon's own listener (daemon/console-warm-up.ts): once,
  // after the services and the API are up, on a later event-loop turn, so it delays neither the start nor a request
  const warmUpKeys = o.consoleWarmUpKeys ?? DEFAULT_CONSOLE_WARM_UP_KEYS;
  const stopWarmUp = new AbortController();
  // it gives way to real work: while a netboot counter (a DHCP storm as the rack powers on) or a real console moved in
  // the last second
  const activity = (): number => services.activity() + consoles.manager.traffic;
  let lastActivity = activity();
  let lastChange = 0;
  const busy = (): boolean => {
    const n = activity();
    const now = performance.now();
    if (n !== lastActivity) { lastActivity = n; lastChange = now; }
    return lastChange > 0 && now - lastChange < 1000;
  };
  const target = { url: loopbackUrl(url), localUrl: local ? `unix:${local.path}` : null, token: auth.token, consoles: warmUpConsoleIds };
  const consoleWarmUp = warmUpKeys <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => warmUpConsoles(target, warmUpKeys, stopWarmUp.signal, { busy }))
    .then((r) => {
      const fields = {
        keystrokes: r.keystrokes, echoed: r.echoedBytes, drains: r.drains, cpuMs: Math.round(r.cpuMs), wallMs: Math.round(r.wallMs),
        pausedMs: Math.round(r.pausedMs), datagrams: r.bmc.toBmc + r.bmc.fromBmc, strangers: r.bmc.strangers,
      };
      if (stopWarmUp.signal.aborted) o.logger.debug({ ...fields, stopped: r.stopped }, 'console warm-up stopped: the daemon is closing');
      else if (r.stopped) o.logger.warn({ ...fields, stopped: r.stopped }, 'console warm-up stopped early (consoles work, their first keystrokes are slower)');
      else o.logger.info(fields, 'console warm-up done');
    });

  return {
    core, api, auth, url, warmUpConsoleIds, localSocket: local?.path ?? null,
    async close() {
      stopWarmUp.abort();
      await consoleWarmUp;
      await services.stop();
      await consoles.close(); // SOL deactivated on every BMC, so the next tool (or daemon) can take it
      // the local socket stops accepting now; its connections (which the HTTP server does not count) get a grace
      // while the API closes
      const localClosed = local?.close();
      await api.close();
      await localClosed;
      await ipmi.close();
      core.close();
    },
  };
}
