// The appliance: RackSeed's daemon, as root inside the appliance namespace, serving on prov0 only, with its
// API on a unix socket the host reaches directly (and through the forwarder on 127.0.0.1).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabApi } from './api-client.ts';
import { IFACES, NET, type LabNames } from './config.ts';
import { pidAlive, sleep, spawnDetached } from './processes.ts';

export const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const DAEMON_CLI = join(REPO_ROOT, 'src', 'daemon', 'cli', 'main.ts');

export interface DaemonOptions {
  mode: 'authoritative' | 'proxy';
  token: string;
  /** port of the HTTP boot server on prov0 (iPXE scripts, kernel, initrd) */
  httpPort?: number;
  /** extra arguments appended to `serve` */
  extraArgs?: string[];
}

export interface Daemon { pid: number; api: LabApi; log: string; dataDir: string }

export function daemonArgs(n: LabNames, o: DaemonOptions): string[] {
  const args = ['--import', 'tsx', DAEMON_CLI, 'serve',
    '--interface', IFACES.appProv, '--mode', o.mode,
    '--data', join(n.dir, 'appliance', 'data'),
    '--listen', `unix:${n.apiSocket}`];
  if (o.mode === 'authoritative') args.push('--pool', `${NET.pool.first}-${NET.pool.last}`);
  if (o.httpPort !== undefined) args.push('--http-port', String(o.httpPort));
  return [...args, ...(o.extraArgs ?? [])];
}

/** Start the daemon and wait (up to `timeoutMs`) until GET /api/v1/health answers on its socket. */
export async function startDaemon(n: LabNames, o: DaemonOptions, timeoutMs = 60_000): Promise<Daemon> {
  if (!existsSync(DAEMON_CLI)) throw new Error(`the daemon is missing: ${DAEMON_CLI} (src/daemon is another engineer's part)`);
  const dataDir = join(n.dir, 'appliance', 'data');
  mkdirSync(dataDir, { recursive: true });
  rmSync(n.apiSocket, { force: true });
  const log = join(n.dir, 'appliance', 'daemon.log');
  const pid = spawnDetached(n.appNs, process.execPath, daemonArgs(n, o), log, {
    cwd: REPO_ROOT, env: { ...process.env, RACKSEED_TOKEN: o.token, NO_COLOR: '1' },
  });
  const api = new LabApi(n.apiSocket, o.token);
  const until = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < until) {
    if (!pidAlive(pid)) throw new Error(`the daemon exited during start; see ${log}`);
    if (existsSync(n.apiSocket)) {
      try { await api.get('/api/v1/health'); return { pid, api, log, dataDir }; } catch (err) { last = err; }
    }
    await sleep(200);
  }
  throw new Error(`the daemon did not answer on ${n.apiSocket} within ${timeoutMs} ms (${String(last)}); see ${log}`);
}
