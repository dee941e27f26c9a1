// The console clients bench/sol.ts times, each behind one small interface: what it prints (an EchoStream) and a
// way to type one character. Kept apart from the timing loop so that every client is measured the same way.
//   daemonWebSocket  the WebSocket /api/v1/nodes/:id/console of a running `rackseed serve`, opened as the UI's
//                    browser opens it (session cookie from the login URL, Origin = the daemon's own origin)
//   ptyCommand       a terminal program (`ipmitool sol activate`, `rackseed console NODE`) in a pty (util-linux
//                    `script`): keystrokes into the pty, its output read back
//   coreConsole      the core's ConsoleManager in this process (no daemon, no WebSocket): a breakdown only
//   ptyEcho          a program that only echoes its input (C `cat`, or Node) in the same pty setup: the floor that
//                    the pty and `script` alone cost, a breakdown only
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import WebSocket from 'ws';
import type { ConsoleServerMessage } from '../../shared/console.ts';
import type { ConsoleManager } from '../../core/console/manager.ts';

/** Everything a client printed, with a wait for a string to appear that wakes on arrival (no polling). */
export class EchoStream {
  private text = '';
  private wake: (() => void) | null = null;
  push(s: string): void {
    this.text += s;
    const w = this.wake;
    this.wake = null;
    w?.();
  }
  get length(): number { return this.text.length; }
  tail(n = 400): string { return this.text.slice(-n); }
  /** what arrived from offset `from` on */
  since(from: number): string { return this.text.slice(from); }
  /** true as soon as `s` occurs in what arrived after offset `from`; false after `ms` */
  async waitFor(s: string, from: number, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.text.includes(s, from)) {
      const left = end - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(() => { this.wake = null; r(); }, left);
        this.wake = () => { clearTimeout(t); r(); };
      });
    }
    return true;
  }
}

export interface ConsoleClient {
  out: EchoStream;
  /** types one character (or a few) */
  send(s: string): void;
  /** leaves the console (SOL is released by whoever held it) */
  close(): Promise<void>;
}

/** The daemon's console WebSocket, as the UI's browser opens it: session cookie and the daemon's own Origin. */
export async function daemonWebSocket(base: string, cookie: string, nodeId: string): Promise<ConsoleClient> {
  const url = `${base.replace(/^http/, 'ws')}/api/v1/nodes/${encodeURIComponent(nodeId)}/console?client=ui`;
  const ws = new WebSocket(url, { headers: { cookie, origin: base } });
  const out = new EchoStream();
  const msgs: ConsoleServerMessage[] = [];
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  ws.on('message', (d: Buffer, binary: boolean) => {
    if (binary) out.push(d.toString('latin1'));
    else msgs.push(JSON.parse(d.toString('utf8')) as ConsoleServerMessage);
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the daemon's console WebSocket did not attach within 20 s: ${JSON.stringify(msgs)}`)), 20_000);
    const done = (err?: Error): void => { clearTimeout(t); if (err) reject(err); else resolve(); };
    ws.once('unexpected-response', (_q, res) => done(new Error(`the daemon refused the console WebSocket: HTTP ${res.statusCode}`)));
    ws.once('error', (e) => done(e));
    ws.on('message', () => {
      const err = msgs.find((m) => m.type === 'error' && m.fatal);
      if (err && err.type === 'error') done(new Error(`console refused (${err.code}): ${err.message}`));
      else if (msgs.some((m) => m.type === 'attached')) done();
    });
  });
  return {
    out,
    send: (s) => ws.send(Buffer.from(s, 'latin1'), { binary: true }),
    async close() {
      ws.close(1000);
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
    },
  };
}

/**
 * `cmd` (a shell command line) in a pty through util-linux `script`; ready when its output matches `ready`.
 * `~.` after a line end leaves both ipmitool and `rackseed console`.
 */
export async function ptyCommand(cmd: string, ready: RegExp, env: NodeJS.ProcessEnv = process.env, leave: 'escape' | 'signal' = 'escape'): Promise<ConsoleClient> {
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
  const out = new EchoStream();
  child.stdout.on('data', (d: Buffer) => out.push(d.toString('latin1')));
  child.stderr.on('data', (d: Buffer) => out.push(d.toString('latin1')));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const end = Date.now() + 30_000;
  // all of it: a console's backlog (the log's tail, up to 64 KiB) may follow the ready line in the same moment
  while (!ready.test(out.since(0))) {
    if (child.exitCode !== null || Date.now() > end) {
      if (child.exitCode === null) child.kill('SIGKILL');
      throw new Error(`${cmd.split(' ').slice(0, 3).join(' ')} did not open the console: ${out.tail(600).replace(/\s+/g, ' ')}`);
    }
    await out.waitFor('\n', out.length, 200);
  }
  // Both programs print their banner first and only then switch the terminal to raw mode: a key typed in between
  // is echoed by the pty itself (and held in its line buffer), which would look like a sub-millisecond echo.
  while (!rawMode(child.pid!)) {
    if (child.exitCode !== null || Date.now() > end) {
      if (child.exitCode === null) child.kill('SIGKILL');
      throw new Error(`${cmd.split(' ').slice(0, 3).join(' ')} did not put its terminal in raw mode (echo off): ${out.tail(600).replace(/\s+/g, ' ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    out,
    send: (s) => { child.stdin.write(s); },
    async close() {
      // `~.` leaves a console client; a plain echo program (the pty floor) is ended by a signal to `script`
      if (leave === 'escape') child.stdin.write('\r~.'); else child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** True when the pty of `script`'s child has echo and canonical mode off (stty -F on the child's standard input). */
function rawMode(scriptPid: number): boolean {
  try {
    const kid = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').trim().split(/\s+/)[0];
    if (!kid) return false;
    const tty = readlinkSync(`/proc/${kid}/fd/0`);
    if (!tty.startsWith('/dev/pts/')) return false;
    const flags = execFileSync('stty', ['-F', tty, '-a'], { encoding: 'utf8' }).split(/\s+/);
    return flags.includes('-echo') && flags.includes('-icanon');
  } catch {
    return false; // not started yet, or gone (the caller notices the exit)
  }
}

/** The core's console manager in this process: a viewer attached to `nodeId` (the manager's opener decides the BMC). */
export async function coreConsole(mgr: ConsoleManager, nodeId: string): Promise<ConsoleClient> {
  const out = new EchoStream();
  const a = await mgr.attach(nodeId, { who: 'bench', onData: (d) => out.push(d.toString('latin1')), onClose: () => undefined });
  return { out, send: (s) => a.write(s), close: () => a.detach() };
}

/** The pty floor (breakdown only): `cat` (C) or a few lines of Node that echo stdin to stdout, raw, in the same pty setup. */
export function ptyEcho(kind: 'c' | 'node'): Promise<ConsoleClient> {
  const cmd = kind === 'c'
    ? "sh -c 'stty raw -echo; echo ECHO-READY; exec cat'"
    : `${process.execPath} -e "process.stdin.setRawMode(true); console.log('ECHO-READY'); process.stdin.on('data', (d) => process.stdout.write(d))"`;
  return ptyCommand(cmd, /ECHO-READY/, process.env, 'signal');
}
