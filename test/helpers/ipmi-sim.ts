// Test helper: one OpenIPMI `ipmi_sim` BMC on `address`:623 inside a test namespace (facts in
// ../shared/lab-notes.md). Writes lan.conf, NAME.emu and a fresh state dir into a temp folder, starts
// `ipmi_sim -c lan.conf -f NAME.emu -s state -n` through the sandbox (killed by PID at cleanup) and waits until
// the UDP port is bound. Power and boot device go through a chassis_control program; by default a small shell
// script that keeps them in files (`powerFile`: "0"/"1", `bootFile`: none|pxe|default|cdrom|bios), answering
// at once as ipmi_sim requires. The virtual rack passes its own program (one that starts/stops QEMU).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetnsSandbox } from './netns.ts';

export interface IpmiSimUser { id: number; name: string; password: string; privilege: 'user' | 'operator' | 'admin' }

export interface IpmiSimOptions {
  /** with `ns`: run inside that test namespace (killed by the sandbox too). Without both: run in the current
   * namespace — only for 127.0.0.1 and a high `port` (unit/fuzz tests without root). */
  sandbox?: NetnsSandbox;
  ns?: string;
  /** IPv4 address (already on an interface in `ns`) to serve UDP 623 on */
  address: string;
  user: string;
  password: string;
  /** 32 hex digits, as lan.conf's `guid` line takes it */
  guid: string;
  /** chassis_control program (path plus arguments); default: the file-state script this helper writes;
   * null: no chassis_control line (ipmi_sim keeps power state itself, Get Chassis Status forks nothing) */
  chassisControl?: string | null;
  /** more users (ids 3..); user 2 is `user`/`password` with admin */
  extraUsers?: IpmiSimUser[];
  port?: number;
  /** initial power state for the default chassis program; default off */
  powerOn?: boolean;
  /** SOL device for lan.conf's `sol` line, e.g. "telnet:127.0.0.1:5000" (ipmi_sim connects to it as a telnet
   * client, retrying every 10 s) or a tty; undefined: no SOL on this BMC */
  sol?: string;
}

export interface IpmiSim {
  stop(): Promise<void>;
  /** the ipmi_sim process (e.g. to SIGSTOP it: a BMC that stops answering, then SIGCONT) */
  pid: number | undefined;
  /** ipmi_sim's persistent state dir (wiped at start) */
  stateDir: string;
  /** folder holding lan.conf, the .emu and the chassis state files */
  dir: string;
  /** default chassis program only: "1" when the simulated chassis is on */
  powerFile: string;
  /** default chassis program only: the boot device ipmi_sim last set */
  bootFile: string;
  /** default chassis program only: one line per `set` call ("power 1", "boot pxe", "reset 1") */
  logFile: string;
  readPower(): string;
  readBoot(): string;
}

// No external commands (dirname, cat): ipmi_sim waits for this program on every Get Chassis Status, so each
// call is one fork of /bin/sh and nothing more.
const CHASSIS_SCRIPT = `#!/bin/sh
# ipmi_sim chassis_control: "get power boot" prints power:N / boot:DEV, "set power 1" etc. stores them.
d="\${0%/*}"
op="$1"; shift
if [ "$op" = get ]; then
  for k in "$@"; do
    case "$k" in
      power) p=0; [ -f "$d/power" ] && read -r p < "$d/power"; echo "power:$p" ;;
      boot) b=default; [ -f "$d/boot" ] && read -r b < "$d/boot"; echo "boot:$b" ;;
    esac
  done
  exit 0
fi
if [ "$op" = set ]; then
  while [ $# -ge 2 ]; do
    echo "$1 $2" >> "$d/log"
    case "$1" in
      power) echo "$2" > "$d/power" ;;
      boot) echo "$2" > "$d/boot" ;;
      shutdown) [ "$2" = 1 ] && echo 0 > "$d/power" ;;
    esac
    shift 2
  done
  exit 0
fi
exit 1
`;

export async function startIpmiSim(o: IpmiSimOptions): Promise<IpmiSim> {
  const port = o.port ?? 623;
  const dir = mkdtempSync(join(tmpdir(), 'rs-ipmi-sim-'));
  const stateDir = join(dir, 'state');
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir);
  const chassisDir = join(dir, 'chassis');
  mkdirSync(chassisDir);
  const script = join(chassisDir, 'chassis-control.sh');
  writeFileSync(script, CHASSIS_SCRIPT);
  chmodSync(script, 0o755);
  writeFileSync(join(chassisDir, 'power'), o.powerOn ? '1\n' : '0\n');
  writeFileSync(join(chassisDir, 'boot'), 'default\n');
  const program = o.chassisControl === undefined ? script : o.chassisControl;
  const auths = 'none md2 md5 straight';
  const users = [`user 2 true "${o.user}" "${o.password}" admin 10 ${auths}`,
    ...(o.extraUsers ?? []).map((u) => `user ${u.id} true "${u.name}" "${u.password}" ${u.privilege} 10 ${auths}`)];
  writeFileSync(join(dir, 'lan.conf'), [
    `name "rs-${o.address}"`,
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr ${o.address} ${port}`,
    '    priv_limit admin',
    `    allowed_auths_callback ${auths}`,
    `    allowed_auths_user ${auths}`,
    `    allowed_auths_operator ${auths}`,
    `    allowed_auths_admin ${auths}`,
    `    guid ${o.guid}`,
    '  endlan',
    ...(program === null ? [] : [`  chassis_control "${program}"`]),
    ...(o.sol ? [`  sol "${o.sol}" 115200`] : []),
    ...users,
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'bmc.emu'), [
    'mc_setbmc 0x20',
    'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr',
    'mc_enable 0x20',
    '',
  ].join('\n'));
  const args = ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', stateDir, '-n'];
  if (!o.ns && o.address !== '127.0.0.1') throw new Error('ipmi_sim outside a test namespace may only use 127.0.0.1');
  const child = o.sandbox && o.ns
    ? o.sandbox.spawn(o.ns, 'ipmi_sim', args, { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn('ipmi_sim', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const deadline = Date.now() + 5000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ipmi_sim exited (${child.exitCode}): ${stderr}`);
    const ss = ['ss', '-Hnlu', `sport = :${port}`];
    const out = o.ns ? execFileSync('ip', ['netns', 'exec', o.ns, ...ss], { encoding: 'utf8' }) : execFileSync(ss[0], ss.slice(1), { encoding: 'utf8' });
    if (out.includes(`${o.address}:${port}`)) break;
    if (Date.now() > deadline) throw new Error(`ipmi_sim did not bind ${o.address}:${port}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const read = (f: string) => { try { return readFileSync(f, 'utf8').trim(); } catch { return ''; } };
  return {
    dir, stateDir, pid: child.pid,
    powerFile: join(chassisDir, 'power'), bootFile: join(chassisDir, 'boot'), logFile: join(chassisDir, 'log'),
    readPower: () => read(join(chassisDir, 'power')),
    readBoot: () => read(join(chassisDir, 'boot')),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise<void>((r) => { const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } r(); }, 2000); child.once('exit', () => { clearTimeout(t); r(); }); });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Moves this process's main thread into network namespace `ns` (setns(2) through koffi), so that UDP sockets
 * created afterwards — the IPMI client's — live in the test namespace. Returns a function that moves back.
 * Child processes spawned meanwhile inherit the namespace too. Root only.
 */
export async function enterNetns(ns: string): Promise<() => void> {
  const koffi = (await import('koffi')).default;
  const libc = koffi.load('libc.so.6');
  const open = libc.func('int open(const char *path, int flags)');
  const setns = libc.func('int setns(int fd, int nstype)');
  const close = libc.func('int close(int fd)');
  const CLONE_NEWNET = 0x40000000;
  const home = open('/proc/self/ns/net', 0);
  const target = open(`/var/run/netns/${ns}`, 0);
  if (home < 0 || target < 0) throw new Error(`cannot open namespace files for ${ns}`);
  try {
    if (setns(target, CLONE_NEWNET) !== 0) throw new Error(`setns into ${ns} failed`);
  } finally { close(target); }
  return () => { setns(home, CLONE_NEWNET); close(home); };
}
