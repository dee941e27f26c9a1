// The appliance: RackSeed's daemon, as root inside the appliance namespace, serving on prov0 only. Its API
// listens on 127.0.0.1:API_PORT inside that namespace (so it prints a one-time login link), and a relay
// there (lab/relay.ts) serves it on a unix socket the host reaches directly (and through the forwarder).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabApi } from './api-client.ts';
import { IFACES, NET, type LabNames } from './config.ts';
import { pidAlive, sleep, spawnDetached } from './processes.ts';

export const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const DAEMON_CLI = join(REPO_ROOT, 'daemon', 'cli', 'main.ts');
/** The root entry point: tsx without its compile cache (which any local user can plant code in), install checked. */
export const DAEMON_BIN = join(REPO_ROOT, 'bin', 'rackseed.mjs');
/** For the other root processes the lab starts through `node --import tsx`: no tsx compile cache (bin/rackseed.mjs). */
const NO_TSX_CACHE = { TSX_DISABLE_CACHE: '1' };

export interface DaemonOptions {
  mode: 'authoritative' | 'proxy';
  token: string;
  /** port of the HTTP boot server on prov0 (iPXE scripts, kernel, initrd) */
  httpPort?: number;
  /** extra arguments appended to `serve` */
  extraArgs?: string[];
}

export interface Daemon { pid: number; relayPid: number; api: LabApi; log: string; dataDir: string }

/** The daemon's API port on 127.0.0.1 inside the appliance namespace (namespaced: never seen by the host). */
export const API_PORT = 8443;
export const RELAY = join(REPO_ROOT, 'lab', 'relay.ts');

export function daemonArgs(n: LabNames, o: DaemonOptions): string[] {
  const args = [DAEMON_BIN, 'serve',
    '--interface', IFACES.appProv, '--mode', o.mode,
    '--data', join(n.dir, 'appliance', 'data'),
    '--listen', `127.0.0.1:${API_PORT}`];
  if (o.mode === 'authoritative') args.push('--pool', `${NET.pool.first}-${NET.pool.last}`);
  if (o.httpPort !== undefined) args.push('--http-port', String(o.httpPort));
  return [...args, ...(o.extraArgs ?? [])];
}

/** Start the daemon and wait (up to `timeoutMs`) until GET /api/v1/health answers on its socket. */
export async function startDaemon(n: LabNames, o: DaemonOptions, timeoutMs = 60_000): Promise<Daemon> {
  if (!existsSync(DAEMON_CLI)) throw new Error(`the daemon is missing: ${DAEMON_CLI} (daemon is another engineer's part)`);
  const dataDir = join(n.dir, 'appliance', 'data');
  mkdirSync(dirname(dataDir), { recursive: true });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 }); // the daemon refuses a data dir others can write (core/safe-path.ts)
  rmSync(n.apiSocket, { force: true });
  const log = join(n.dir, 'appliance', 'daemon.log');
  const pid = spawnDetached(n.appNs, process.execPath, daemonArgs(n, o), log, {
    cwd: REPO_ROOT, env: { ...process.env, ...NO_TSX_CACHE, RACKSEED_TOKEN: o.token, NO_COLOR: '1' },
  });
  const relayPid = spawnDetached(n.appNs, process.execPath, ['--import', 'tsx', RELAY, n.apiSocket, `127.0.0.1:${API_PORT}`],
    join(n.dir, 'appliance', 'relay.log'), { cwd: REPO_ROOT, env: { ...process.env, ...NO_TSX_CACHE } });
  const api = new LabApi(n.apiSocket, o.token);
  const until = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < until) {
    if (!pidAlive(pid)) throw new Error(`the daemon exited during start; see ${log}`);
    if (!pidAlive(relayPid)) throw new Error(`the API relay exited during start; see ${join(n.dir, 'appliance', 'relay.log')}`);
    if (existsSync(n.apiSocket)) {
      try { await api.get('/api/v1/health'); return { pid, relayPid, api, log, dataDir }; } catch (err) { last = err; }
    }
    await sleep(200);
  }
  throw new Error(`the daemon did not answer on ${n.apiSocket} within ${timeoutMs} ms (${String(last)}); see ${log}`);
}
