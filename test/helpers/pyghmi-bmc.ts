// Test helper: a BMC served by Debian's python3-pyghmi (its IpmiServer/Bmc classes) with a chosen cipher suite
// policy — see pyghmi-bmc.py beside this file. It binds UDP on 127.0.0.1 (a free port unless one is given), so
// it needs no root and no namespace; IPMI is unicast, nothing leaves loopback. Started with
// /usr/bin/python3 (the Debian interpreter that has pyghmi), stopped by PID.
//
// Also `pyghmiRead()`: the same BMC read by pyghmi's own client (pyghmi.ipmi.command.Command), an independent
// reference for what our client reads.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'pyghmi-bmc.py');
export const PYTHON = '/usr/bin/python3';

export interface PyghmiBmcOptions {
  /** accepted cipher suites in preference order, from 0, 3, 17 (e.g. [0] = cipher-0-only, [17, 3]); 'stock' =
   * pyghmi's own sessions unchanged (every Open Session answered with suite 3's algorithms) */
  suites: number[] | 'stock';
  user: string;
  password: string;
  /** system GUID (UUID string); default random */
  guid?: string;
  /** UDP port on 127.0.0.1; default 0 = any free port */
  port?: number;
}

export interface PyghmiBmc {
  address: '127.0.0.1';
  port: number;
  pid: number;
  /** lines the peer printed after "ready": "session suite 17", "refused open session (1, 1, 1)", "power on", … */
  events: string[];
  /** resolves with the first event (already seen or future) matching `re`; rejects after `ms` */
  waitForEvent(re: RegExp, ms?: number): Promise<string>;
  /** resolves with events[from .. from+count) once that many have arrived (stdout is read asynchronously) */
  waitForEvents(from: number, count: number, ms?: number): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startPyghmiBmc(o: PyghmiBmcOptions): Promise<PyghmiBmc> {
  const args = [SCRIPT, '--address', '127.0.0.1', '--port', String(o.port ?? 0), '--user', o.user, '--suites', o.suites === 'stock' ? 'stock' : o.suites.join(',')];
  if (o.guid) args.push('--guid', o.guid);
  const child: ChildProcess = spawn(PYTHON, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYGHMI_BMC_PASSWORD: o.password },
  });
  const events: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let stderr = '';
  let buf = '';
  let port = -1;
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const m = /^ready (\d+)$/.exec(line);
      if (m) { port = Number(m[1]); continue; }
      events.push(line);
      for (const w of [...waiters]) if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  });
  const deadline = Date.now() + 10_000;
  while (port < 0) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`pyghmi-bmc.py exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`pyghmi-bmc.py did not become ready: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    address: '127.0.0.1', port, pid: child.pid!, events,
    waitForEvent(re, ms = 5000) {
      const seen = events.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { re, resolve: (l: string) => { clearTimeout(t); resolve(l); } };
        const t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); reject(new Error(`no event ${re} within ${ms} ms; events: ${events.join(' | ')}; stderr: ${stderr}`)); }, ms);
        waiters.push(w);
      });
    },
    async waitForEvents(from, count, ms = 5000) {
      const until = Date.now() + ms;
      while (events.length < from + count) {
        if (Date.now() > until) throw new Error(`expected ${count} events after #${from} within ${ms} ms; events: ${events.join(' | ')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return events.slice(from, from + count);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      process.kill(child.pid!, 'SIGTERM');
      const t = setTimeout(() => { try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 2000);
      await gone;
      clearTimeout(t);
    },
  };
}

export interface PyghmiReading {
  /** negotiated integrity hash of pyghmi's session: 'sha256' (suite 17) or 'sha1' (suite 3) */
  hash: string;
  power: 'on' | 'off';
  /** Get Device ID response data (after the completion code), hex */
  deviceIdHex: string;
  bootdev: string;
}

// pyghmi's client tries SHA-256 (suite 17) first and falls back to SHA-1 (suite 3) when Open Session is refused.
const READ_PY = `
import json, os, sys
from pyghmi.ipmi.command import Command
c = Command(bmc='127.0.0.1', port=int(sys.argv[1]), userid=sys.argv[2], password=os.environ['PYGHMI_PASSWORD'], keepalive=False)
if len(sys.argv) > 3:
    c.set_power(sys.argv[3], wait=False)
out = {'hash': c.ipmi_session.currhashlib().name, 'power': c.get_power()['powerstate'],
       'deviceIdHex': bytes(c.xraw_command(netfn=6, command=1)['data']).hex(), 'bootdev': c.get_bootdev()['bootdev']}
c.ipmi_session.logout()
print(json.dumps(out))
`;

/** Reads a BMC on 127.0.0.1:`port` with pyghmi's own client (optionally setting power first). */
export function pyghmiRead(port: number, user: string, password: string, setPower?: 'on' | 'off'): PyghmiReading {
  const r = spawnSync(PYTHON, ['-c', READ_PY, String(port), user, ...(setPower ? [setPower] : [])], {
    encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYGHMI_PASSWORD: password },
  });
  if (r.status !== 0) throw new Error(`pyghmi client failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PyghmiReading;
}
