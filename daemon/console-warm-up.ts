// JIT warm-up of the serial console's whole serve path, run once by the daemon after it listens (daemon/daemon.ts).
//
// Why: V8 runs new code in its interpreter and optimises a function only after it has run many times, and it
// optimises for the hidden classes ("maps") of the objects it saw. A freshly started daemon therefore answered its
// first console's keystrokes slower than later ones (bench/sol.ts, issue 18: the console WebSocket's keystroke → echo
// ~0.7 ms fresh against ~0.4 ms after ~1500 keystrokes, ipmitool ~0.6 ms). Two earlier warm-ups (an in-memory BMC
// socket, and a WebSocket pair of their own) ran the same functions on objects of other shapes — datagram Buffers
// copied in JavaScript instead of made by the dgram binding, sockets of a `ws` server instead of fastify's — and the
// first real console deoptimised what they had optimised ("wrong map", `rackseed serve --trace-deopt`, stop 25).
//
// What: the daemon opens consoles on itself, end to end, with the objects a real console has:
//   - a WebSocket client (`ws`, as the CLI's) connects to the daemon's own API listener and its real console route
//     (daemon/api/routes/console.ts), with the daemon's own token, for a random one-time node id;
//   - while it runs, that id maps to a scratch ConsoleManager (logs in a temp folder, removed afterwards) whose link
//     is a scratch SOL console on a loopback UDP pair (bmc/ipmi/session/scratch-sol.ts: the real BmcSession,
//     SolConsole and IpmiTransport on a real dgram socket; the BMC side on 127.0.0.1 echoes every character);
//   - it types `keystrokes` keystrokes as binary frames, each waiting for its echo (a few are whole lines; every 64th
//     exchange is a `drain` → `drained`, as the paced CLI and UI do), half on a cipher-suite-17 console, half on 3;
//   - when the daemon has a local socket (daemon/api/local-socket.ts: the way `rackseed console` on this host comes),
//     the first half goes through it and the second through TCP, so that both kinds of connection are warm.
// So each keystroke goes frame → route → ConsoleManager → SolConsole → RMCP+ → UDP and back as a real one does.
// Nothing leaves loopback; no node, BMC, IpmiClient, console log of the data dir or event-bus message is touched.
// It gives way to real work: before every keystroke it asks `busy()` (daemon.ts: a netboot counter or a real console
// moved in the last second) and waits while it says yes, so it never shares the CPU with a console being typed in or
// a DHCP storm. It stops between keystrokes when `signal` aborts (the daemon closing).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { scratchSol, type ScratchSol } from '../bmc/ipmi/session/scratch-sol.ts';
import { solConsoleLink } from '../core/console/ipmi-opener.ts';
import { ConsoleManager } from '../core/console/manager.ts';
import { consoleWsUrl } from './api/console-ws-url.ts';

/**
 * Keystrokes of the daemon's warm-up. In-process CPU per keystroke fell from ~0.7 ms over the first 100 to
 * 0.10–0.17 ms after ~1100–1500, and a daemon that had served ~1500 real keystrokes answered a console it had never
 * opened at its steady latency (stop 25), hence 2000. What it costs is in its log line ("console warm-up done":
 * wallMs, cpuMs) and docs/BENCHMARKS.md (SOL).
 */
export const DEFAULT_CONSOLE_WARM_UP_KEYS = 2000;

const CHARS = [...'abcdefghijklmnopqrstuvwxyz0123456789'].map((c) => Buffer.from(c));
/** every LINE_EVERY-th keystroke types a whole line instead of one character (a pasted command) */
const LINE_EVERY = 64;
const LINE = Buffer.from('ls -l /dev/disk/by-path /sys/class/net\r');
/** every DRAIN_EVERY-th exchange is `drain` → `drained` (shared/console.ts) */
const DRAIN_EVERY = 64;
const DRAIN = JSON.stringify({ type: 'drain' });
/** an answer that has not come by then means the path is broken: stop */
const ANSWER_TIMEOUT_MS = 5000;

/**
 * How the warm-up gives way to real work: `busy()` says the daemon is serving (daemon.ts: a netboot counter or a real
 * console moved in the last second). It is asked before every keystroke; while it says yes the warm-up waits, so a
 * DHCP storm arriving right after the start — a rack powered on as RackSeed starts — never shares the CPU with it
 * (bench/dhcp.ts rackseed-serve: 62–73 µs of server CPU per DORA without the warm-up, 101–121 µs when it ran
 * during the storm, 2026-12-06).
 */
export interface WarmUpPacing { busy?: () => boolean }

/** Waits until `busy()` says no (checked every `pollMs`) or `signal` aborts; resolves with the ms waited. */
async function whileBusy(busy: () => boolean, signal?: AbortSignal, pollMs = 250): Promise<number> {
  const t0 = performance.now();
  while (busy() && !signal?.aborted) await new Promise((r) => setTimeout(r, pollMs));
  return performance.now() - t0;
}

export interface ConsoleWarmUpTarget {
  /** the daemon's API: `http://host:port` (a wildcard listen address replaced by loopback) or `unix:/path` */
  url: string;
  /** the daemon's local socket as `unix:/path` (daemon/api/local-socket.ts), or null: the first console goes there */
  localUrl?: string | null;
  /** the daemon's API token */
  token: string;
  /** the console route's one-time ids (ApiServerOptions.warmUpConsoles): this warm-up adds and removes its own */
  consoles: Map<string, ConsoleManager>;
}

export interface ConsoleWarmUpResult {
  /** keystrokes typed (binary frames), characters typed and echoed back over the WebSocket */
  keystrokes: number;
  typedBytes: number;
  echoedBytes: number;
  /** drain → drained exchanges */
  drains: number;
  /** datagrams both ways and characters the scratch BMCs took; refused/strangers: 0 unless something is wrong */
  bmc: { toBmc: number; fromBmc: number; typed: number; refused: number; strangers: number };
  /** wall time and this process's CPU time (user + system) while it ran, ms; time spent waiting for real work */
  wallMs: number;
  cpuMs: number;
  pausedMs: number;
  /** why it stopped early (the signal, a broken path), or null */
  stopped: string | null;
}

/** Runs the warm-up (module comment); resolves with what happened and never rejects. 0 keystrokes does nothing. */
export async function warmUpConsoles(target: ConsoleWarmUpTarget, keystrokes = DEFAULT_CONSOLE_WARM_UP_KEYS, signal?: AbortSignal, o: WarmUpPacing = {}): Promise<ConsoleWarmUpResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const r: ConsoleWarmUpResult = {
    keystrokes: 0, typedBytes: 0, echoedBytes: 0, drains: 0,
    bmc: { toBmc: 0, fromBmc: 0, typed: 0, refused: 0, strangers: 0 }, wallMs: 0, cpuMs: 0, pausedMs: 0, stopped: null,
  };
  if (keystrokes <= 0) return r;
  const logDir = mkdtempSync(join(tmpdir(), 'rackseed-console-warm-up-'));
  try {
    const half = Math.ceil(keystrokes / 2);
    for (const [suite, n, url] of [[17, half, target.localUrl ?? target.url], [3, keystrokes - half, target.url]] as const) {
      if (n > 0 && !r.stopped) await oneConsole({ ...target, url }, suite, n, logDir, r, signal, o);
    }
  } catch (err) {
    r.stopped ??= `failed: ${(err as Error).message}`;
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
  r.wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  r.cpuMs = (cpu.user + cpu.system) / 1000;
  return r;
}

async function oneConsole(target: ConsoleWarmUpTarget, suite: 17 | 3, n: number, logDir: string, r: ConsoleWarmUpResult, signal: AbortSignal | undefined, o: WarmUpPacing): Promise<void> {
  const id = `warm-up-${randomBytes(16).toString('hex')}`;
  let sol: ScratchSol | null = null;
  const manager = new ConsoleManager({
    logDir,
    open: async () => {
      sol = await scratchSol(suite);
      return solConsoleLink(sol.console, sol.session);
    },
  });
  target.consoles.set(id, manager);
  const unix = target.url.startsWith('unix:');
  const ws = new WebSocket(consoleWsUrl(target.url, id, suite === 17 ? 'cli' : 'ui'), {
    headers: { authorization: `Bearer ${target.token}`, ...(unix ? { host: 'localhost' } : {}) },
    handshakeTimeout: ANSWER_TIMEOUT_MS,
    perMessageDeflate: false,
  });
  // what the route sent: echoes (binary) counted; `attached`, `drained`, errors and the end wake the loop below
  let echoed = 0;
  let want = 0;
  let attached = false;
  let drained = 0;
  let ended: string | null = null;
  let wake: (() => void) | null = null;
  const poke = (): void => { const w = wake; wake = null; w?.(); };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) {
      if (attached) { echoed += data.length; r.echoedBytes += data.length; if (echoed >= want) poke(); }
      return;
    }
    let m: { type?: string; message?: string };
    try { m = JSON.parse(data.toString('utf8')) as typeof m; } catch { return; }
    if (m.type === 'attached') attached = true;
    else if (m.type === 'drained') drained++;
    else if (m.type === 'error' || m.type === 'closed') ended = `${m.type}: ${m.message ?? ''}`;
    poke();
  });
  ws.on('close', () => { ended ??= 'the WebSocket closed'; poke(); });
  ws.on('error', (err) => { ended ??= `WebSocket: ${err.message}`; poke(); });
  /** waits until `done()` or the console ended, or ANSWER_TIMEOUT_MS; true when done() */
  const until = async (done: () => boolean): Promise<boolean> => {
    if (done()) return true;
    const deadline = performance.now() + ANSWER_TIMEOUT_MS;
    while (!done() && !ended && performance.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => { wake = resolve; timer = setTimeout(resolve, deadline - performance.now()); });
      clearTimeout(timer);
    }
    return done();
  };
  try {
    if (!(await until(() => attached))) { r.stopped = `the warm-up console did not open: ${ended ?? 'no answer'}`; return; }
    for (let i = 0; i < n; i++) {
      if (o.busy) r.pausedMs += await whileBusy(o.busy, signal);
      if (signal?.aborted) { r.stopped = 'stopped: the daemon is closing'; return; }
      if (i % DRAIN_EVERY === DRAIN_EVERY - 1) {
        const before = drained;
        ws.send(DRAIN);
        if (!(await until(() => drained > before))) { r.stopped = `no drained answer: ${ended ?? 'timed out'}`; return; }
        r.drains++;
      }
      const data = i % LINE_EVERY === LINE_EVERY - 2 ? LINE : CHARS[i % CHARS.length]!;
      want += data.length;
      ws.send(data, { binary: true });
      r.keystrokes++;
      r.typedBytes += data.length;
      if (!(await until(() => echoed >= want))) { r.stopped = `no echo after ${r.keystrokes} keystrokes: ${ended ?? 'timed out'}`; return; }
    }
  } finally {
    // the last viewer leaving closes the scratch console (SOL deactivate, session close: unanswered, best effort)
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
      const closed = once(ws, 'close').catch(() => undefined);
      ws.close(1000);
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, ANSWER_TIMEOUT_MS))]);
    }
    await manager.close();
    target.consoles.delete(id);
    const s = sol as ScratchSol | null;
    if (s) {
      await s.close();
      for (const k of ['toBmc', 'fromBmc', 'typed', 'refused', 'strangers'] as const) r.bmc[k] += s.stats[k];
    }
  }
}
