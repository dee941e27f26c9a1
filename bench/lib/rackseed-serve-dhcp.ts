// `rackseed serve` itself as a storm's DHCP server ("rackseed-serve"): the command a field engineer runs, started the
// way every launcher starts it — `node bin/rackseed.mjs serve --interface srv0 --mode authoritative --pool FIRST-LAST`
// in the server namespace — so the storm meets everything the daemon does beside DHCP: the precompiled daemon
// (dist/daemon when it is up to date, else the sources through tsx: said in the report), its Node flags (the execve
// of bin/daemon-node-flags.mjs), the API and UI listener, TFTP and HTTP boot beside DHCP, the foreign-DHCP survey at
// start and every minute, the random-MAC flood limit, the event log and the boot policy. The harness rows
// (rackseed, rackseed-daemon: bench/lib/rackseed-dhcp.ts) stay as the breakdown.
// Ready: GET /api/v1/services (unix socket, Bearer token) reports DHCP running. Ended with SIGKILL like every server
// of the bench; its leases are read back from the data directory's rackseed.db as a restarted daemon would.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_BIN, REPO_ROOT } from '../../lab/appliance.ts';
import { unixApi, waitFor } from '../../test/helpers/daemon-api.ts';
import { waitExit } from '../../test/helpers/netns.ts';
import type { ServicesStatus } from '../../shared/api.ts';
import type { ServerStarter } from './dhcp-bench-run.ts';
import type { RunningDhcpServer } from './dhcp-servers.ts';
import { LOCAL_NET, SERVER_IF } from './dhcp-topology.ts';
import { readDurableLeases } from './rackseed-lease-store.ts';

/** The daemon's start line when it runs the sources (bin/rackseed.mjs), for the report: null = dist/daemon. */
function fromSource(stderr: string): string | null {
  return /running the TypeScript sources through tsx: (.*?)(?: \(`npm run build:daemon`[^\n]*)?\n/.exec(stderr)?.[1] ?? null;
}

export const startRackseedServe: ServerStarter = async ({ sandbox, serverNs, net = LOCAL_NET }) => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-serve-'));
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  const sock = join(dir, 'api.sock');
  const token = randomBytes(24).toString('base64url');
  // extra node flags (RS_BENCH_NODE_FLAGS, e.g. `bench/run.ts --profile DIR`'s --cpu-prof): bin/rackseed.mjs keeps
  // them across its re-exec with the daemon's own flags
  const flags = (process.env.RS_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = sandbox.spawn(serverNs, process.execPath, [...flags, DAEMON_BIN, 'serve', '--interface', SERVER_IF, '--mode', 'authoritative',
    '--pool', `${net.poolFirst}-${net.poolLast}`, '--data', data, '--listen', `unix:${sock}`, '--http-port', '8080'],
  { cwd: REPO_ROOT, env: { ...process.env, RACKSEED_TOKEN: token, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-4000); });
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-8000); });
  const api = unixApi(sock, token);
  try {
    await waitFor('rackseed serve: DHCP running', 60_000, async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error('exited');
      const s = await api<ServicesStatus>('GET', '/api/v1/services');
      return s.status === 200 && s.body.dhcp.running ? true : null;
    });
  } catch (e) {
    child.kill('SIGKILL');
    await waitExit(child, 10_000);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`rackseed serve did not start DHCP within 60 s (${(e as Error).message}; exit ${child.exitCode ?? child.signalCode}): ${err.slice(-2000)}${out.slice(-1000)}`);
  }
  const source = fromSource(err);
  const server: RunningDhcpServer = {
    name: 'rackseed-serve',
    describe: `\`rackseed serve --interface ${SERVER_IF} --mode authoritative --pool …\` as a field engineer starts it (bin/rackseed.mjs: ` +
      `${source ? `the TypeScript sources through tsx, ${source}` : 'the precompiled daemon, dist/daemon'}; its Node flags; API on a unix socket; ` +
      'TFTP and HTTP boot beside DHCP; survey, flood limit, event log and boot policy as shipped)',
    process: child,
    output: () => `${err.slice(-2000)}${out.slice(-1000)}`,
    async kill9() {
      // profiling (RS_BENCH_GRACEFUL): SIGTERM, so --cpu-prof writes its file; the leases are then not a kill -9 test
      if (process.env.RS_BENCH_GRACEFUL === '1') child.kill('SIGTERM');
      else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (!(await waitExit(child, 30_000))) throw new Error(`rackseed serve (pid ${child.pid}) did not exit after ${process.env.RS_BENCH_GRACEFUL === '1' ? 'SIGTERM' : 'SIGKILL'}`);
    },
    durableLeases: () => readDurableLeases(join(data, 'rackseed.db')),
    dispose() { rmSync(dir, { recursive: true, force: true }); },
  };
  return server;
};
