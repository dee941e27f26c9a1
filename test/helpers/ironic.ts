// Test helper: a real OpenStack Ironic from Debian's packages (ironic-api, ironic-conductor, python3-ironic; facts in
// ../shared/lab-notes.md "A real OpenStack Ironic from Debian"), run as ONE process — `/usr/bin/ironic` with
// `rpc_transport = none` — on a SQLite database in a fresh temp folder, listening on `host:port`. Auth `noauth`
// (Bifrost's default) or `http_basic` (what Metal3 runs; a bcrypt htpasswd written with Debian's python3-bcrypt).
// Hardware types ipmi + redfish (python3-sushy) + fake-hardware; cleaning off; dhcp provider none. It runs in the caller's network namespace: a
// test that entered its own (ipmi-sim.ts enterNetns; children inherit it), or 127.0.0.1 with a high port.
// `stop()` kills it by PID and removes the folder.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's interpreter: a pyenv shim first on PATH cannot import ironic. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface IronicOptions {
  host: string;
  port: number;
  auth: { kind: 'noauth' } | { kind: 'http_basic'; user: string; password: string };
  /** seconds Ironic retries a failing ipmitool command (default 60; tests shorten the wrong-password case) */
  ipmiRetrySec?: number;
  /** seconds between Ironic's power-state syncs (default 10) */
  syncPowerSec?: number;
}

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

export function ironicConf(dir: string, o: IronicOptions): string {
  const url = `http://${o.host}:${o.port}`;
  return `[DEFAULT]
auth_strategy = ${o.auth.kind}
${o.auth.kind === 'http_basic' ? `http_basic_auth_user_file = ${join(dir, 'htpasswd')}\n` : ''}enabled_hardware_types = ipmi,redfish,fake-hardware
enabled_power_interfaces = ipmitool,redfish,fake
enabled_management_interfaces = ipmitool,redfish,fake
enabled_boot_interfaces = pxe,ipxe,fake
enabled_deploy_interfaces = direct,ramdisk,fake
enabled_network_interfaces = noop
default_network_interface = noop
enabled_inspect_interfaces = no-inspect,fake
enabled_vendor_interfaces = ipmitool,redfish,no-vendor,fake
enabled_console_interfaces = no-console,fake
enabled_raid_interfaces = no-raid,fake
enabled_bios_interfaces = no-bios,fake
rpc_transport = none
host = rackseed-test-ironic
state_path = ${join(dir, 'state')}
tempdir = ${join(dir, 'tmp')}
use_stderr = true
debug = false
[api]
host_ip = ${o.host}
port = ${o.port}
[database]
connection = sqlite:///${join(dir, 'ironic.sqlite')}
[dhcp]
dhcp_provider = none
[conductor]
automated_clean = false
sync_power_state_interval = ${o.syncPowerSec ?? 10}
force_power_state_during_sync = false
[ipmi]
command_retry_timeout = ${o.ipmiRetrySec ?? 60}
min_command_interval = 1
[pxe]
tftp_root = ${join(dir, 'tftp')}
tftp_master_path = ${join(dir, 'tftp-master')}
images_path = ${join(dir, 'images')}
instance_master_path = ${join(dir, 'master-images')}
[deploy]
http_root = ${join(dir, 'http')}
http_url = http://${o.host}:1
[service_catalog]
endpoint_override = ${url}
[oslo_concurrency]
lock_path = ${join(dir, 'lock')}
`;
}

/** Write the config, create the schema, start `/usr/bin/ironic`, wait until `GET /` answers (≈ 3 s on an idle machine). */
export async function startIronic(o: IronicOptions): Promise<IronicProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'rs-ironic-'));
  for (const d of ['state', 'tmp', 'tftp', 'tftp-master', 'images', 'master-images', 'http', 'lock']) mkdirSync(join(dir, d));
  if (o.auth.kind === 'http_basic') {
    const hash = execFileSync(SYSTEM_PYTHON, ['-c', 'import bcrypt,sys; print(bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt(4)).decode())'],
      { input: o.auth.password, encoding: 'utf8' }).trim();
    writeFileSync(join(dir, 'htpasswd'), `${o.auth.user}:${hash}\n`, { mode: 0o600 });
  }
  const conf = join(dir, 'ironic.conf');
  writeFileSync(conf, ironicConf(dir, o));
  // python-requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's verify=False (requests#3829), so the
  // redfish driver's redfish_verify_ca false would still check a BMC's self-signed certificate: Ironic runs without
  // them, as under systemd
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'REQUESTS_CA_BUNDLE' && k !== 'CURL_CA_BUNDLE'));
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
