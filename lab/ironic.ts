// The lab's OpenStack Ironic (issue 16: `npm run lab` ends with a real Ironic to hand nodes to). Debian's Ironic 21.4
// (ironic-api + ironic-conductor as ONE `/usr/bin/ironic` with rpc_transport = none, SQLite; ../shared/lab-notes.md
// "A real OpenStack Ironic from Debian"), in its own namespace `rslab-<id>-ironic` whose ironic0 (10.242.0.2) sits on
// the rack's BMC bridge: it reaches every BMC (ipmitool, sushy), and the appliance's bmc0 reaches its API at
// http://10.242.0.2:6385 — the hand-off target the lab registers with the daemon. A relay in that namespace serves the
// API on a unix socket (lab/relay.ts) for the host forwarder on 127.0.0.1:${RACKSEED_IRONIC_PORT:-6385}, so
// `openstack baremetal node list` works from the host. Auth `noauth` (Bifrost's default) or `http_basic` (Metal3's;
// a bcrypt htpasswd written with Debian's python3-bcrypt). Every process is recorded in the lab state and stopped by
// PID on teardown (lab/teardown.ts), with the namespace.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './appliance.ts';
import { IFACES, NET, type LabNames } from './config.ts';
import { run, sleep, spawnDetached, tryRun } from './processes.ts';
import { startForwarder, type Forwarder } from './forwarder.ts';
import type { Lab } from './rack.ts';

/** Debian's interpreter: a pyenv shim first on PATH cannot import ironic. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface IronicConfOptions {
  host: string;
  port: number;
  auth: { kind: 'noauth' } | { kind: 'http_basic'; user: string; password: string };
  /** seconds Ironic retries a failing ipmitool command (default 60) */
  ipmiRetrySec?: number;
  /** seconds between Ironic's power-state syncs (default 10) */
  syncPowerSec?: number;
}

/**
 * ironic.conf for one standalone process in `dir`: hardware types ipmi, redfish (python3-sushy) and fake-hardware,
 * cleaning off, no DHCP provider, noop network, SQLite, writable state folders under `dir`.
 */
export function ironicConf(dir: string, o: IronicConfOptions): string {
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
host = rackseed-ironic
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

/** Make Ironic's folders under `dir`, its htpasswd (basic auth) and ironic.conf; returns the conf's path. */
export function writeIronicFiles(dir: string, o: IronicConfOptions): string {
  for (const d of ['state', 'tmp', 'tftp', 'tftp-master', 'images', 'master-images', 'http', 'lock']) mkdirSync(join(dir, d), { recursive: true });
  if (o.auth.kind === 'http_basic') {
    const hash = execFileSync(SYSTEM_PYTHON, ['-c', 'import bcrypt,sys; print(bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt(4)).decode())'],
      { input: o.auth.password, encoding: 'utf8' }).trim();
    writeFileSync(join(dir, 'htpasswd'), `${o.auth.user}:${hash}\n`, { mode: 0o600 });
  }
  const conf = join(dir, 'ironic.conf');
  writeFileSync(conf, ironicConf(dir, o));
  return conf;
}

/**
 * python-requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's verify=False (requests#3829), so the
 * redfish driver's redfish_verify_ca false would still check a BMC's self-signed certificate: Ironic runs without them,
 * as under systemd.
 */
export function ironicEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'REQUESTS_CA_BUNDLE' && k !== 'CURL_CA_BUNDLE'));
}

export interface LabIronic {
  /** Ironic's URL inside the lab (what the daemon hands over to) */
  url: string;
  auth: IronicConfOptions['auth'];
  pid: number;
  relayPid: number;
  log: string;
}

/** Ironic in `n.ironicNs` on br-bmc; resolves when its API answers through the relay socket (≈ 3 s idle, minutes loaded). */
export async function startLabIronic(n: LabNames, auth: IronicConfOptions['auth'], record: (p: { ironic?: number; ironicRelay?: number }) => void): Promise<LabIronic> {
  const dir = join(n.dir, 'ironic');
  mkdirSync(dir, { recursive: true });
  run(null, 'ip', ['netns', 'add', n.ironicNs]);
  run(null, 'ip', ['-n', n.ironicNs, 'link', 'set', 'lo', 'up']);
  // veth: ironic0 (10.242.0.2) in Ironic's namespace ↔ ironic-bmc on the rack's br-bmc
  const tmp = `rsi${process.pid.toString(16).slice(-6)}`;
  run(null, 'ip', ['link', 'add', tmp, 'type', 'veth', 'peer', 'name', `${tmp}p`]);
  run(null, 'ip', ['link', 'set', tmp, 'netns', n.ironicNs]);
  run(null, 'ip', ['link', 'set', `${tmp}p`, 'netns', n.rackNs]);
  run(null, 'ip', ['-n', n.ironicNs, 'link', 'set', tmp, 'name', 'ironic0']);
  run(null, 'ip', ['-n', n.ironicNs, 'addr', 'add', `${NET.ironic}/${NET.bmcPrefix}`, 'dev', 'ironic0']);
  run(null, 'ip', ['-n', n.ironicNs, 'link', 'set', 'ironic0', 'up']);
  run(null, 'ip', ['-n', n.rackNs, 'link', 'set', `${tmp}p`, 'name', 'ironic-bmc']);
  run(null, 'ip', ['-n', n.rackNs, 'link', 'set', 'ironic-bmc', 'master', IFACES.bmcBridge]);
  run(null, 'ip', ['-n', n.rackNs, 'link', 'set', 'ironic-bmc', 'up']);

  const o: IronicConfOptions = { host: NET.ironic, port: NET.ironicPort, auth };
  const conf = writeIronicFiles(dir, o);
  run(n.ironicNs, '/usr/bin/ironic-dbsync', ['--config-file', conf, 'create_schema'], 180_000);
  const log = join(dir, 'ironic.log');
  const pid = spawnDetached(n.ironicNs, '/usr/bin/ironic', ['--config-file', conf], log, { env: ironicEnv() });
  record({ ironic: pid });
  const relayPid = spawnDetached(n.ironicNs, process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'lab', 'relay.ts'), n.ironicSocket, `${NET.ironic}:${NET.ironicPort}`],
    join(dir, 'relay.log'), { cwd: REPO_ROOT, env: { ...process.env, TSX_DISABLE_CACHE: '1' } });
  record({ ironic: pid, ironicRelay: relayPid });
  const url = `http://${NET.ironic}:${NET.ironicPort}`;
  // Python's imports take long on a loaded machine (30 s was not enough at load 14 on 2 cores)
  const deadline = Date.now() + 180_000;
  for (;;) {
    const out = tryRun(n.ironicNs, 'curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', `${url}/`], 10_000);
    if (out?.trim() === '200') break;
    if (Date.now() > deadline) throw new Error(`the lab's Ironic did not answer on ${url} (log: ${log})`);
    await sleep(500);
  }
  return { url, auth, pid, relayPid, log };
}

/** True when Debian's Ironic is installed (scripts/setup.sh test). */
export function ironicInstalled(): boolean {
  try { execFileSync(SYSTEM_PYTHON, ['-c', 'import ironic'], { stdio: 'ignore' }); return true; } catch { return false; }
}

export interface LabIronicUp { ironic: LabIronic; forwarder: Forwarder; hostUrl: string; user: string | null; password: string | null }

/**
 * The host forwarder of Ironic's API: 127.0.0.1:`port` (0: any free port) → the relay socket. A port already taken
 * (another lab, an Ironic on this machine) is refused with how to pick another one.
 */
export async function startIronicForwarder(port: number, socketPath: string): Promise<Forwarder> {
  try {
    return await startForwarder(port, socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new Error(`127.0.0.1:${port} is taken (another lab, or an Ironic on this machine?): give the lab Ironic's API another host port, `
      + `e.g. RACKSEED_IRONIC_PORT=${port === NET.ironicPort ? 16385 : port + 1} npm run lab (or --ironic-port PORT; 0 picks a free one)`);
  }
}

/** The lines `npm run lab` prints beside the UI's link: where Ironic's API is on the host, and how to point `openstack` at it. */
export function ironicBanner(up: Pick<LabIronicUp, 'hostUrl' | 'user' | 'password'> & { ironic: Pick<LabIronic, 'url'> }, authKind: 'none' | 'basic'): string[] {
  return [
    `Ironic API:  ${up.hostUrl}  (in the lab: ${up.ironic.url}, ${authKind === 'basic' ? `HTTP basic, user ${up.user}` : 'noauth'}; the daemon's hand-off target)`,
    authKind === 'basic'
      ? `             export OS_ENDPOINT=${up.hostUrl} OS_AUTH_TYPE=http_basic OS_USERNAME=${up.user} OS_PASSWORD=${up.password}; openstack baremetal node list`
      : `             export OS_ENDPOINT=${up.hostUrl} OS_AUTH_TYPE=none; openstack baremetal node list`,
  ];
}

/**
 * What `npm run lab` does after the rack is up: forward Ironic's API to 127.0.0.1:`port` (first, so a taken port
 * fails before Ironic's slow start), start the lab's Ironic (auth `none` or `basic`: user `rackseed-lab`, a fresh
 * password), record its PIDs with the lab, and register it with the daemon as the hand-off target (PUT
 * /api/v1/engines: the UI's hand-off dialog offers it).
 */
export async function bringUpLabIronic(lab: Lab, authKind: 'none' | 'basic', port: number): Promise<LabIronicUp> {
  const user = authKind === 'basic' ? 'rackseed-lab' : null;
  const password = authKind === 'basic' ? randomBytes(12).toString('base64url') : null;
  const auth: IronicConfOptions['auth'] = authKind === 'basic' ? { kind: 'http_basic', user: user!, password: password! } : { kind: 'noauth' };
  const forwarder = await startIronicForwarder(port, lab.names.ironicSocket);
  try {
    const ironic = await startLabIronic(lab.names, auth, (p) => lab.recordPids(p));
    await lab.api.put('/api/v1/engines', { kind: 'ironic', url: ironic.url, ...(authKind === 'basic' ? { auth: 'basic', user, password } : { auth: 'none' }) });
    return { ironic, forwarder, hostUrl: `http://127.0.0.1:${forwarder.port}`, user, password };
  } catch (err) {
    await forwarder.close();
    throw err;
  }
}
