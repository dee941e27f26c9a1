// JIT warm-up of the serial console's serve path, run once by the daemon after it started (daemon/daemon.ts).
//
// Why: V8 runs new code in its interpreter and optimises a function only after it has run many times. A freshly
// started daemon therefore answered its first console's keystrokes slower than later ones — bench/sol.ts (issue 18):
// keystroke → echo through the console WebSocket 0.82 ms fresh against 0.29 ms once ~1500 keystrokes had gone
// through, with ipmitool at 0.70 ms; the first console a field engineer opens after starting RackSeed is exactly that.
// The DHCP server does the same for its storm (netboot/dhcp/server/warm-up.ts).
//
// What: `keystrokes` synthetic keystrokes (a few of them multi-character lines, and a `drain` wait now and then, as
// the paced CLI asks) go through the very code real consoles use: ConsoleManager.attach → Attachment.write →
// solConsoleLink → SolConsole (sequence numbers, acks) → BmcSession.sendPayload (SOL payload, RMCP+ AES-CBC + HMAC,
// IpmiTransport.send); and back IpmiTransport dispatch → BmcSession.onPayload (HMAC check, decryption, sequence
// window) → SolConsole.receive (ack, delivery, the console's ack) → the manager's data handler → the viewer and the
// node's console log. The BMC is played in memory with scratch keys (bmc/ipmi/session/scratch-sol.ts: it echoes each
// character as a tty does); the manager, its node ("warm-up") and its log are scratch ones in a temp folder removed
// afterwards. Half the keystrokes run on a cipher-suite-17 session, half on suite 3 (the two RackSeed speaks).
// Nothing reaches the network, no BMC is contacted, the daemon's ConsoleManager, its logs, viewers, IpmiClient and
// event bus are not touched, no counter changes. Each keystroke waits for its echo, and each datagram is delivered
// on a later event-loop turn, so a real request arriving meanwhile is served between keystrokes.
// Cost: see DEFAULT_CONSOLE_WARM_UP_KEYS. Effect measured so far (docs/BENCHMARKS.md, SOL, 2026-12-06): the fresh
// daemon's keystroke → echo over the console WebSocket moved at most ~10 %, inside the noise; what stayed cold is the
// WebSocket side (ws's frames), which daemon/api/ws-warm-up.ts warms right after this one (the daemon runs both).
// Why it helps so little (found 2026-12-06 with `rackseed serve --trace-deopt` after both warm-ups had finished): the
// first real console deoptimises nearly everything they optimised, "wrong map" — the objects differ in shape from
// the warm-up's. Datagrams from a real dgram socket are Buffers made in C++ (another hidden class than the
// Buffer.from copies the in-memory socket hands over; rinfo too), so isRmcpPlus, decodeRmcpPlus, acceptSeq,
// sendPayload… deopt; and the API's sockets come from fastify's http server, not ws-warm-up's own, so Socket.read,
// Readable.read, Writable.write, ws's Sender.send… deopt. V8 then re-optimises only after ~1000+ real keystrokes
// (the console WebSocket fresh 0.57–0.78 ms, ipmitool 0.58–0.72 in the same runs; after 1500 keystrokes through the
// real path on another node, 0.38–0.51 ms on a node never opened before). The fix is a warm-up through the real objects: a scratch BMC on a loopback UDP socket
// and a WebSocket to the daemon's own listener and console route (issue 18's note, stop 25).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scratchSol, type ScratchSolStats } from '../../bmc/ipmi/session/scratch-sol.ts';
import { solConsoleLink } from './ipmi-opener.ts';
import { ConsoleManager, type Attachment } from './manager.ts';
import { whileBusy, type WarmUpPacing } from './warm-up-pacing.ts';

/**
 * Keystrokes of the daemon's warm-up, and what they cost (2-core AMD EPYC, Node 20, at 1-min load 3.8–5.7 while a CI
 * run went on, 2026-12-05): in `rackseed serve` 490–510 ms of CPU over 570 ms of wall time (its debug log line
 * "console warm-up done" says both); idle RSS after it 135–136 MB against 129–132 MB without it. In-process, CPU per
 * keystroke falls from ~0.68 ms over the first 100 to 0.10–0.17 ms after ~1100–1500 (bench/sol.ts showed the
 * daemon's keystroke → echo settling after ~1500), hence 2000. The V8 flag --always-sparkplug instead (baseline code
 * for everything at once, no optimisation) left the first hundreds of keystrokes about as slow (~0.8, 0.43, 0.44 ms
 * CPU per keystroke over the first three hundreds) and the idle daemon 8–10 MB larger, so a warm-up it is.
 */
export const DEFAULT_CONSOLE_WARM_UP_KEYS = 2000;

const WARM_UP_NODE = 'warm-up';
/** keystrokes as the console WebSocket hands them to Attachment.write: Buffers (binary frames), never strings */
const CHARS = [...'abcdefghijklmnopqrstuvwxyz0123456789'].map((c) => Buffer.from(c));
/** every LINE_EVERY-th keystroke types a whole line instead of one character (a pasted command) */
const LINE_EVERY = 64;
const LINE = Buffer.from('ls -l /dev/disk/by-path /sys/class/net\r');
/** every DRAIN_EVERY-th keystroke waits for whenDrained, as the paced CLI and UI ask */
const DRAIN_EVERY = 256;
/** a keystroke whose echo has not come back by then means the path is broken: stop */
const ECHO_TIMEOUT_MS = 5000;

export interface ConsoleWarmUpResult {
  /** keystrokes typed (writes), and the characters echoed back to the viewer */
  keystrokes: number;
  typedBytes: number;
  echoedBytes: number;
  /** what the scratch BMCs saw (datagrams both ways, characters, refused datagrams) */
  bmc: ScratchSolStats;
  /** wall time and this process's CPU time (user + system) while it ran, ms */
  wallMs: number;
  cpuMs: number;
  /** why it stopped early (the signal, a broken path), or null */
  stopped: string | null;
  /** time spent waiting for the daemon's real work (WarmUpPacing.busy) */
  pausedMs: number;
}


/**
 * Types `keystrokes` synthetic keystrokes through the console serve path (module comment) and resolves with what
 * happened; never rejects (a failure is reported in `stopped`). Stops between keystrokes when `signal` aborts
 * (the daemon closing). 0 does nothing.
 */
export async function warmUpConsolePath(keystrokes = DEFAULT_CONSOLE_WARM_UP_KEYS, signal?: AbortSignal, o: WarmUpPacing = {}): Promise<ConsoleWarmUpResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const bmc: ScratchSolStats = { toBmc: 0, fromBmc: 0, typed: 0, refused: 0 };
  const r: ConsoleWarmUpResult = { keystrokes: 0, typedBytes: 0, echoedBytes: 0, bmc, wallMs: 0, cpuMs: 0, stopped: null, pausedMs: 0 };
  if (keystrokes <= 0) return r;
  const logDir = mkdtempSync(join(tmpdir(), 'rackseed-console-warm-up-'));
  try {
    const half = Math.ceil(keystrokes / 2);
    for (const [suite, n] of [[17, half], [3, keystrokes - half]] as const) {
      if (n > 0 && !r.stopped) await oneConsole(suite, n, logDir, r, signal, o);
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

async function oneConsole(suite: 17 | 3, n: number, logDir: string, r: ConsoleWarmUpResult, signal: AbortSignal | undefined, o: WarmUpPacing): Promise<void> {
  let sol: Awaited<ReturnType<typeof scratchSol>> | null = null;
  const manager = new ConsoleManager({
    logDir,
    open: async () => {
      sol = await scratchSol(suite);
      return solConsoleLink(sol.console, sol.session);
    },
  });
  let echoed = 0;
  let want = 0;
  let wake: (() => void) | null = null;
  let ended: string | null = null;
  const attachment: Attachment = await manager.attach(WARM_UP_NODE, {
    who: 'warm-up',
    onData: (d) => { echoed += d.length; r.echoedBytes += d.length; if (echoed >= want) wake?.(); },
    onClose: (reason) => { ended = reason ?? 'closed'; wake?.(); },
    onWriter: () => undefined,
  });
  try {
    for (let i = 0; i < n; i++) {
      if (o.busy) r.pausedMs += await whileBusy(o.busy, signal);
      if (signal?.aborted) { r.stopped = 'stopped: the daemon is closing'; return; }
      const data = i % LINE_EVERY === LINE_EVERY - 1 ? LINE : CHARS[i % CHARS.length]!;
      want += data.length;
      const echo = new Promise<void>((resolve) => { wake = resolve; });
      attachment.write(data);
      r.keystrokes++;
      r.typedBytes += data.length;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, ECHO_TIMEOUT_MS); });
      if (echoed < want && !ended) await Promise.race([echo, late]);
      clearTimeout(timer);
      wake = null;
      if (ended) { r.stopped = `the scratch console ended: ${ended}`; return; }
      if (echoed < want) { r.stopped = `no echo within ${ECHO_TIMEOUT_MS} ms after ${r.keystrokes} keystrokes`; return; }
      if (i % DRAIN_EVERY === DRAIN_EVERY - 1) await attachment.whenDrained();
    }
  } finally {
    await attachment.detach(); // the last viewer: the manager closes the link (SOL deactivate, session close)
    await manager.close();
    const s = sol as Awaited<ReturnType<typeof scratchSol>> | null;
    if (s) {
      await s.close();
      for (const k of ['toBmc', 'fromBmc', 'typed', 'refused'] as const) r.bmc[k] += s.stats[k];
    }
  }
}
