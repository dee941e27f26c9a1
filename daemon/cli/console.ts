// `rackseed console NODE`: a node's serial console (IPMI Serial-over-LAN through its BMC) through the daemon
// (RACKSEED_URL, RACKSEED_TOKEN) — the same console the UI shows, shared with it (one SOL session per node).
//   rackseed console NODE                 interactive: the terminal in raw mode, keystrokes to the node; the
//                                         console's recent output first. Escapes at the start of a line:
//                                         ~. leave   ~b send a break   ~t take over the keyboard   ~~ a literal ~
//   rackseed console NODE --log [--lines N] [--json] [--raw]   the stored log (kept across daemon restarts), no BMC
//                                         contact; control characters and escape sequences are shown visibly (ESC as
//                                         ^[, visible-controls.ts) so that a node cannot drive the terminal reading
//                                         its log; --raw prints them as the node sent them
// Standard input that is not a terminal is sent as typed; when it ends the console is left after --linger seconds
// (the output of what was sent keeps arriving meanwhile), so `printf 'uname -a\r' | rackseed console NODE` works.
// Input is paced: at most CONSOLE_PACE_BYTES (32 KiB) are sent before the daemon says the BMC took them (`drain` →
// `drained`, shared/console.ts), because the daemon refuses typing past 64 KiB waiting for the BMC; so
// `cat file | rackseed console NODE` delivers the whole file, and the linger starts once the BMC has taken it all.
// Exit codes: client.ts EXIT (2 usage, 3 unreachable, 4 token, 5 no such node, 6 no BMC matched / no credentials /
// handed over), 20 Serial-over-LAN held by another session (the message names it), 21 the BMC offers no SOL (or the
// node's serial line is down), 1 the BMC failed or the console ended by itself.
// Keystroke path: this short-lived process would run it cold (V8's interpreter) for its first hundreds of keystrokes,
// which showed as ~0.2 ms more per keystroke than later (bench/sol.ts, issue 18). So while nothing happens — from the
// WebSocket's upgrade, through the SOL activation, and whenever neither a keystroke nor output came for WARM_QUIET_MS
// — it exchanges up to CLI_WARM_UP_PINGS `ping` → `pong` messages with the daemon over the very connection the
// keystrokes take (no BMC contact), one at a time, and warms the escape reader and the output write on scratch data.
// A keystroke is never held back by it (at most it shares the connection with one small ping).
// RACKSEED_CONSOLE_WARM_UP_KEYS=0: none. A daemon on this host is reached through its local socket when it has one
// that this user may open (local-socket.ts; a cheaper round trip than TCP loopback), RACKSEED_LOCAL_SOCKET=0
// keeps TCP. Output goes to standard output with one write(2) when nothing waits in the
// stream's buffer (writeOut).
import { writeSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import WebSocket from 'ws';
import { CONSOLE_PACE_BYTES, type ConsoleErrorCode, type ConsoleLogTail, type ConsoleServerMessage } from '../../shared/console.ts';
import { CliError, DaemonClient, EXIT, resolveNode, runAction } from './client.ts';
import { visibleControls } from './visible-controls.ts';
import { localDaemonUrl } from './local-socket.ts';
import { consoleWsUrl } from '../api/console-ws-url.ts';

/** `ping` → `pong` exchanges of the idle warm-up (at most), and how long nothing must have happened before one */
const CLI_WARM_UP_PINGS = 2000;
const WARM_QUIET_MS = 100;
const PING = Buffer.from(JSON.stringify({ type: 'ping' }));
const NOTHING = Buffer.alloc(0);

function cliWarmUpPings(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.RACKSEED_CONSOLE_WARM_UP_KEYS;
  const n = v === undefined || v === '' ? CLI_WARM_UP_PINGS : Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.min(Math.floor(n), CLI_WARM_UP_PINGS) : CLI_WARM_UP_PINGS;
}

/**
 * Writes console output to standard output: with write(2) straight away while nothing waits in process.stdout's
 * buffer (as a C client does), else — or when the descriptor would block (EAGAIN on a non-blocking pipe) or fails —
 * through the stream, which keeps the order and reports errors as before. An empty buffer writes nothing.
 */
export function writeOut(data: Buffer): void {
  let off = 0;
  if (process.stdout.writableLength === 0) {
    try {
      while (off < data.length) off += writeSync(1, data, off, data.length - off);
      return;
    } catch { /* the rest through the stream */ }
  }
  if (off < data.length) process.stdout.write(off ? data.subarray(off) : data);
}

/** The escape reader's byte loop, warmed on a scratch reader (pure: nothing is sent or printed). */
function warmEscapes(n: number): void {
  const r = new EscapeReader();
  const one = Buffer.alloc(1);
  // mostly letters and line ends (the fast path), now and then `~` and a letter after a line end (the byte loop;
  // a command it may read is dropped with the scratch reader)
  for (let i = 0; i < n; i++) { one[0] = i % 40 === 39 ? 0x0d : i % 40 === 0 ? 0x7e : 0x61 + (i % 26); r.feed(one); }
}

/** Exit codes of a refused console (20/21 as `rackseed bmc` uses for the same BMC refusals). */
export const CONSOLE_EXIT: Record<ConsoleErrorCode, number> = {
  'sol-in-use': 20, 'sol-unavailable': 21, 'no-bmc': EXIT.CONFLICT, 'not-found': EXIT.NOT_FOUND, 'bmc-failed': EXIT.FAILED,
  'read-only': EXIT.FAILED, 'bad-message': EXIT.FAILED, 'input-dropped': EXIT.FAILED, 'not-open': EXIT.FAILED,
};

/**
 * Splits keyboard input into bytes for the node and escape commands (`~.`, `~b`, `~t`, `~~`), recognised only right
 * after a line end (CR or LF) or at the very start, like ssh's. Keeps its state across chunks.
 */
export class EscapeReader {
  private atLineStart = true;
  private tilde = false;
  feed(chunk: Buffer): { data: Buffer; commands: ('leave' | 'break' | 'take-over')[] } {
    // no `~` and none pending (nearly every keystroke): the chunk as it came, only the line-start state to keep
    if (!this.tilde && chunk.indexOf(0x7e) === -1) {
      if (chunk.length) { const last = chunk[chunk.length - 1]; this.atLineStart = last === 0x0d || last === 0x0a; }
      return { data: chunk, commands: [] };
    }
    const out: number[] = [];
    const commands: ('leave' | 'break' | 'take-over')[] = [];
    for (const c of chunk) {
      if (this.tilde) {
        this.tilde = false;
        if (c === 0x2e) { commands.push('leave'); continue; }
        if (c === 0x62 || c === 0x42) { commands.push('break'); continue; }
        if (c === 0x74 || c === 0x54) { commands.push('take-over'); continue; }
        if (c === 0x7e) { out.push(0x7e); this.atLineStart = false; continue; }
        out.push(0x7e); // not an escape: the ~ was meant for the node
      } else if (c === 0x7e && this.atLineStart) {
        this.tilde = true;
        continue;
      }
      out.push(c);
      this.atLineStart = c === 0x0d || c === 0x0a;
    }
    return { data: Buffer.from(out), commands };
  }
}

interface InteractiveOptions {
  linger: number;
  takeOver: boolean;
  /** where the console's WebSocket goes: the daemon's local socket (`unix:/path`) or RACKSEED_URL */
  base: string;
  /** the local socket failed before the WebSocket opened: resolve TRY_TCP, print nothing (the caller goes by TCP) */
  fallBack?: boolean;
}

/** interactive()'s answer when the local socket failed before the WebSocket opened (InteractiveOptions.fallBack) */
const TRY_TCP = -1;

async function interactive(client: DaemonClient, nodeId: string, nodeLabel: string, o: InteractiveOptions): Promise<number> {
  const ws = new WebSocket(consoleWsUrl(o.base, nodeId), {
    headers: { authorization: `Bearer ${client.o.token}`, ...(o.base.startsWith('unix:') ? { host: 'localhost' } : {}) },
    handshakeTimeout: 15_000,
  });
  // the idle warm-up (module comment)
  let warmLeft = cliWarmUpPings();
  if (warmLeft > 0) warmEscapes(warmLeft);
  let warmInFlight = false;
  let upgraded = false;
  let warmTimer: NodeJS.Timeout | null = null;
  let lastActivity = 0;
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  // notes carry text from the BMC (who holds SOL, why the console ended): shown, never obeyed by the terminal
  const note = (line: string): void => { const l = visibleControls(line); process.stderr.write(tty ? `\r\n[rackseed: ${l}]\r\n` : `[rackseed: ${l}]\n`); };
  return new Promise<number>((resolve) => {
    let code: number | null = null;
    let opened = false;
    let readOnlyShown = false;
    const escapes = new EscapeReader();
    // pacing (module comment): what stdin gave and is not sent yet, bytes sent since the last `drained`
    const queue: (Buffer | 'break' | 'take-over')[] = [];
    let sinceDrain = 0;
    let draining = false;
    let inputEnded = false;
    let lingering = false;
    const pump = (): void => {
      if (code !== null || ws.readyState !== WebSocket.OPEN) return;
      while (queue.length && !draining) {
        const head = queue[0]!;
        if (typeof head === 'string') { queue.shift(); ws.send(JSON.stringify({ type: head })); continue; }
        const room = CONSOLE_PACE_BYTES - sinceDrain;
        if (room <= 0) break;
        const part = head.length > room ? head.subarray(0, room) : head;
        if (part === head) queue.shift(); else queue[0] = head.subarray(room);
        ws.send(part, { binary: true });
        sinceDrain += part.length;
      }
      const full = sinceDrain >= CONSOLE_PACE_BYTES && queue.length > 0;
      if (!draining && (full || (inputEnded && queue.length === 0 && sinceDrain > 0))) {
        draining = true;
        ws.send(JSON.stringify({ type: 'drain' }));
      }
      if (draining || queue.length) { stdin.pause(); return; }
      if (!inputEnded) { stdin.resume(); return; }
      // all of standard input taken by the BMC: stay --linger seconds for the output
      if (!lingering) { lingering = true; setTimeout(() => finish(EXIT.OK), o.linger * 1000).unref(); }
    };
    const warmStep = (): void => {
      warmTimer = null;
      if (code !== null || warmLeft <= 0 || warmInFlight || ws.readyState !== WebSocket.OPEN) return;
      const quiet = performance.now() - lastActivity;
      if (quiet < WARM_QUIET_MS) { warmTimer = setTimeout(warmStep, WARM_QUIET_MS - quiet); warmTimer.unref(); return; }
      warmLeft--;
      warmInFlight = true;
      ws.send(PING, { binary: false });
    };
    const finish = (c: number): void => {
      if (code !== null) return;
      code = c;
      if (warmTimer) clearTimeout(warmTimer);
      if (tty) { try { stdin.setRawMode(false); } catch { /* closed */ } }
      stdin.pause();
      stdin.removeAllListeners('data');
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
      resolve(c);
    };
    ws.on('unexpected-response', (_req, res) => {
      if (o.fallBack) { res.resume(); finish(TRY_TCP); return; }
      const status = res.statusCode ?? 0;
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString('utf8'); });
      res.on('end', () => {
        let msg = body;
        try { msg = (JSON.parse(body) as { error?: string }).error ?? body; } catch { /* text */ }
        note(`the daemon refused the console (HTTP ${status}): ${msg}${status === 401 ? '; check RACKSEED_TOKEN' : ''}`);
        finish(status === 401 || status === 403 ? EXIT.UNAUTHORIZED : status === 404 ? EXIT.NOT_FOUND : status === 400 ? EXIT.INVALID : EXIT.FAILED);
      });
    });
    ws.on('error', (err) => {
      if (code !== null) return;
      if (o.fallBack && !upgraded) { finish(TRY_TCP); return; }
      note(`cannot reach the daemon at ${o.base}: ${err.message} (is \`rackseed serve\` running? set RACKSEED_URL)`);
      finish(EXIT.UNREACHABLE);
    });
    ws.on('close', () => {
      if (code === null && o.fallBack && !upgraded) { finish(TRY_TCP); return; }
      if (code === null) { note('the console connection closed'); finish(opened ? EXIT.FAILED : EXIT.UNREACHABLE); }
    });
    ws.on('open', () => { upgraded = true; warmStep(); });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) { lastActivity = performance.now(); writeOut(data); return; }
      let m: ConsoleServerMessage;
      try { m = JSON.parse(data.toString('utf8')) as ConsoleServerMessage; } catch { return; }
      if (m.type === 'pong') {
        warmInFlight = false;
        writeOut(NOTHING); // the output call, on nothing
        warmStep();
        return;
      }
      if (m.type === 'attached') {
        opened = true;
        const others = m.viewers.filter((v) => v.who !== m.you).map((v) => v.who);
        note(`console of ${nodeLabel} through BMC ${m.bmc}${others.length ? `, also watched by ${others.join(', ')}` : ''}${m.writer ? `; ${m.writer} is typing (~t takes over)` : ''} — ~. leaves`);
        if (o.takeOver) ws.send(JSON.stringify({ type: 'take-over' }));
        if (tty) stdin.setRawMode(true);
        stdin.on('data', (chunk: Buffer) => {
          lastActivity = performance.now();
          const { data: bytes, commands } = escapes.feed(chunk);
          if (bytes.length) queue.push(bytes);
          for (const c of commands) {
            if (c === 'leave') { note('left the console'); finish(EXIT.OK); return; }
            queue.push(c);
          }
          pump();
        });
        stdin.on('end', () => { inputEnded = true; pump(); });
        stdin.resume();
      } else if (m.type === 'writer') {
        if (m.you) note('you have the keyboard');
        else if (m.writer) { note(`${m.writer} is typing now (~t takes over)`); readOnlyShown = true; }
      } else if (m.type === 'error') {
        // a daemon that does not know `ping` (older): no warm-up, no message about it
        if (warmInFlight && (m.code === 'bad-message' || m.code === 'not-open') && !m.fatal) { warmInFlight = false; warmLeft = 0; return; }
        if (m.code === 'read-only') { if (!readOnlyShown) note(m.message); readOnlyShown = true; return; }
        note(m.message);
        if (m.fatal) finish(CONSOLE_EXIT[m.code] ?? EXIT.FAILED);
      } else if (m.type === 'drained') {
        draining = false;
        sinceDrain = 0;
        if (m.ok) pump(); // not ok: the console ended, its `closed` follows
      } else if (m.type === 'closed') {
        note(`the console ended${m.reason ? `: ${m.reason}` : ''}`);
        finish(EXIT.FAILED);
      }
    });
  });
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 3600) throw new InvalidArgumentError('must be a number of seconds from 0 to 3600');
  return n;
}

function lineCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 20000) throw new InvalidArgumentError('must be a whole number from 1 to 20000');
  return n;
}

export function consoleCommand(): Command {
  return new Command('console')
    .description("a node's serial console through its BMC (Serial-over-LAN), shared with the UI; ~. leaves (RACKSEED_URL, RACKSEED_TOKEN)")
    .argument('<node>', 'a node id, MAC or serial')
    .option('--log', 'print the stored console log instead (kept across daemon restarts; no BMC contact)', false)
    .option('--lines <n>', 'with --log: how many of the last lines', lineCount, 200)
    .option('--json', 'with --log: print JSON', false)
    .option('--raw', 'with --log: print control characters and escape sequences as the node sent them (they act on your terminal)', false)
    .option('--take-over', 'take the keyboard from whoever types now', false)
    .option('--linger <seconds>', 'when standard input is not a terminal: stay this long after it ends', positive, 2)
    .action(async (ref: string, o: { log: boolean; lines: number; json: boolean; raw: boolean; takeOver: boolean; linger: number }) => {
      if (o.raw && (!o.log || o.json)) {
        process.stderr.write('rackseed: --raw goes with --log (text output; the live console is always raw, --json escapes everything)\n');
        process.exitCode = EXIT.USAGE;
        return;
      }
      if (o.log) {
        await runAction(o.json, async () => {
          const client = DaemonClient.fromEnv();
          const node = await resolveNode(client, ref);
          return client.call<ConsoleLogTail>('GET', `/api/v1/nodes/${encodeURIComponent(node.id)}/console/log?lines=${o.lines}`);
        }, (v) => {
          if (!v.lines.length) return `the console log of ${ref} is empty (nothing printed while a console was open)`;
          const text = v.lines.join('\n');
          return o.raw ? text : visibleControls(text);
        });
        return;
      }
      try {
        if (o.json) throw new CliError('--json goes with --log (the live console is a terminal)', EXIT.USAGE);
        const client = DaemonClient.fromEnv();
        const [node, local] = await Promise.all([resolveNode(client, ref), localDaemonUrl(client)]);
        const run = (base: string, fallBack: boolean): Promise<number> => interactive(client, node.id, ref, { linger: o.linger, takeOver: o.takeOver, base, fallBack });
        let code = local ? await run(local, true) : TRY_TCP;
        if (code === TRY_TCP) code = await run(client.o.url, false);
        process.exitCode = code;
      } catch (err) {
        const e = err instanceof CliError ? err : new CliError((err as Error).message, EXIT.FAILED);
        process.stderr.write(`rackseed: ${e.message}\n`);
        process.exitCode = e.exitCode;
      }
    });
}
