// Test helper: a real OpenStack Ironic from Debian's packages (ironic-api, ironic-conductor, python3-ironic; facts in
// ../shared/lab-notes.md "A real OpenStack Ironic from Debian"; config and files from lab/ironic.ts, which the lab
// runs too), run as ONE process — `/usr/bin/ironic` with
// `rpc_transport = none` — on a SQLite database in a fresh temp folder, listening on `host:port`. Auth `noauth`
// (Bifrost's default) or `http_basic` (what Metal3 runs; a bcrypt htpasswd written with Debian's python3-bcrypt).
// Hardware types ipmi + redfish (python3-sushy) + fake-hardware; cleaning off; dhcp provider none. It runs in the caller's network namespace: a
// test that entered its own (ipmi-sim.ts enterNetns; children inherit it), or 127.0.0.1 with a high port.
// `stop()` kills it by PID and removes the folder.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_PYTHON, ironicEnv, writeIronicFiles, type IronicConfOptions } from '../../lab/ironic.ts';

export { SYSTEM_PYTHON, ironicConf } from '../../lab/ironic.ts';

export type IronicOptions = IronicConfOptions;

export interface IronicProcess {
  url: string;
  dir: string;
  child: ChildProcess;
  /** what Ironic printed so far (its log goes to stderr) */
  log(): string;
  stop(): Promise<void>;
}

/** True when Debian's Ironic is installed (scripts/setup.sh test). */
export function ironicInstalled(): boolean {
  try { execFileSync(SYSTEM_PYTHON, ['-c', 'import ironic, ironicclient'], { stdio: 'ignore' }); return true; } catch { return false; }
}

/** Write the config, create the schema, start `/usr/bin/ironic`, wait until `GET /` answers (≈ 3 s on an idle machine). */
export async function startIronic(o: IronicOptions): Promise<IronicProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'rs-ironic-'));
  const conf = writeIronicFiles(dir, o);
  const env = ironicEnv();
  const run = (cmd: string, args: string[]): ChildProcess => spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  const db = run('/usr/bin/ironic-dbsync', ['--config-file', conf, 'create_schema']);
  let dbErr = '';
  db.stderr?.on('data', (d: Buffer) => { dbErr += d.toString(); });
  const code = await new Promise<number | null>((r) => db.once('exit', (c) => r(c)));
  if (code !== 0) { rmSync(dir, { recursive: true, force: true }); throw new Error(`ironic-dbsync failed (${code}): ${dbErr.slice(-2000)}`); }
  const child = run('/usr/bin/ironic', ['--config-file', conf]);
  let log = '';
  child.stderr?.on('data', (d: Buffer) => { log += d.toString(); if (log.length > 2_000_000) log = log.slice(-1_000_000); });
  const url = `http://${o.host}:${o.port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise<void>((r) => { const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } r(); }, 3000); child.once('exit', () => { clearTimeout(t); r(); }); });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // ~3 s on an idle machine; Python's imports take far longer on a loaded one (30 s was not enough at load 14 on 2 cores)
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) { const l = log; await stop(); throw new Error(`ironic exited (${child.exitCode}): ${l.slice(-3000)}`); }
    try {
      const res = await fetch(url + '/', { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) { const l = log; await stop(); throw new Error(`ironic did not answer on ${url}: ${l.slice(-3000)}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, dir, child, log: () => log, stop };
}
