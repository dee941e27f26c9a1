// SOL keystroke → echo latency (issue 18 benchmark; goal: RackSeed's console ≤ 1.0× ipmitool's latency).
// One ipmi_sim BMC on 127.0.0.1 (lanplus) whose SOL serial line is played by this bench and echoes every character
// back at once (a tty with echo on). A client types one character and waits until it comes back; next character.
// Clients, in rotating order each round, the same characters and the same count each:
//   daemon-ws   the path the UI runs: `rackseed serve` (bin/rackseed.mjs, its Node flags, a data dir holding one node
//               whose BMC is this ipmi_sim; credentials set through PUT /api/v1/bmc/credentials), the console
//               WebSocket /api/v1/nodes/:id/console opened as the browser opens it (session cookie from the printed
//               login URL, Origin = the daemon's origin; access.ts checks token, Host and Origin as for the UI)
//   daemon-cli  `rackseed console NODE` (RACKSEED_URL/RACKSEED_TOKEN, Bearer token) in a pty, through the same daemon:
//               RACKSEED_URL is the daemon's loopback TCP address, and the CLI, as on any same-host use, types through
//               the daemon's local socket (<data dir>/run/api-<hex>.sock, daemon/api/local-socket.ts; checked every round
//               from the viewer's name the daemon lists)
//   daemon-cli-tcp  breakdown, in a phase of its own after steady (so that it does not change the rounds above):
//               `rackseed console` with RACKSEED_LOCAL_SOCKET=0 (the CLI ↔ daemon hop over TCP loopback, as a CLI on
//               another host goes), alternating with daemon-cli, each a fresh CLI process on the daemon warm by then
//   ipmitool    `ipmitool -I lanplus -C 3 sol activate` in a pty (the reference)
//   core        breakdown only: the core's ConsoleManager in this process (no daemon, no WebSocket)
//   pty floor   breakdown only, measured once before the rounds: `cat` (C) and a Node echo program in the same pty
//               setup — what the pty and `script` cost by themselves, to read the CLI's figures against ipmitool's
// Before timing, each client types a sacrificial character (ipmi_sim keeps the previous console's last SOL sequence
// number and may drop a new console's first packet as a retransmission), a sync marker it waits for (so the log
// backlog a daemon viewer gets first cannot be taken for an echo), checks that nothing echoes locally (the serial
// line's echo off for one character), then types 5 unmeasured characters.
// Each fresh keystroke is also split where the character reaches the serial line (FakeSerial.lastDataAt, this
// process's clock): typed → serial line (a client's way in) and serial line → echo (its way out), per client.
// Two phases, both reported:
//   fresh   the rounds above, from a daemon just started, once its console warm-up has ended (it types 2000 keystrokes
//           end to end through its own listener, console route, SOL and a loopback UDP BMC right after it listens:
//           daemon/console-warm-up.ts, ~1 s; its log line says what it took and the report quotes it), so that the
//           first consoles a user opens are measured, not consoles racing the daemon's start
//   steady  then each client once more (same rotation): STEADY_WARM unmeasured characters, then STEADY_KEYS measured
//           — the daemon's hot path optimised by V8 as in a daemon that has been serving consoles for a while (a
//           probe of rackseed serve showed keystroke → echo falling from ~1.0 ms over the first 100 characters to
//           ~0.43 ms after 1500-2000 at load ~4, issue 18). ipmitool (C) has no such warm-up; it is measured the same way.
//   npm run bench -- --only sol            200 characters per client (4 rounds) + steady 1500/300; writes the doc's section
//   npm run bench -- --only sol --quick    30 per client (2 rounds) + steady 300/60, doc untouched
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchReport, SummaryRow } from './lib/bench-types.ts';
import { load1, machineInfo } from './lib/machine.ts';
import { coreConsole, daemonWebSocket, ptyCommand, ptyEcho, type ConsoleClient } from './lib/sol-clients.ts';
import { startIpmiSim } from '../test/helpers/ipmi-sim.ts';
import { FakeSerial } from '../test/helpers/telnet-serial.ts';
import { freePort } from '../test/helpers/ui/daemon.ts';
import { addNode, withCore } from '../test/helpers/ui/seed.ts';
import { IpmiClient } from '../bmc/ipmi/session/client.ts';
import { ConsoleManager } from '../core/console/manager.ts';
import { ipmiConsoleOpener } from '../core/console/ipmi-opener.ts';
import { SESSION_COOKIE } from '../daemon/api/auth.ts';
import type { ConsoleLogTail } from '../shared/console.ts';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
const RACKSEED = join(REPO, 'bin', 'rackseed.mjs');
const CHARS = 'abcdefghijklmnopqrstuvwxyz';
const USER = 'admin';
const PASSWORD = 'secret';

type CaseName = 'daemon-ws' | 'daemon-cli' | 'ipmitool' | 'core';
const CASES: CaseName[] = ['daemon-ws', 'daemon-cli', 'ipmitool', 'core'];
type ClientName = CaseName | 'daemon-cli-tcp';
/** the cases whose console is the daemon's (the bench waits for it to close between them) */
const viaDaemon = (x: ClientName): boolean => x.startsWith('daemon-');
const LABEL: Record<ClientName, string> = {
  'daemon-ws': 'RackSeed daemon, console WebSocket as the UI opens it',
  'daemon-cli': 'RackSeed daemon, `rackseed console NODE` in a pty (through the daemon\'s local socket, as on the same host)',
  'daemon-cli-tcp': 'breakdown: the same with RACKSEED_LOCAL_SOCKET=0 (CLI ↔ daemon over TCP loopback)',
  ipmitool: '`ipmitool -I lanplus -C 3 sol activate` in a pty',
  core: 'breakdown: core ConsoleManager in the bench process (no daemon, no WebSocket)',
};

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const median = (xs: number[]): number => sorted(xs)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]): number => sorted(xs)[Math.floor(xs.length * 0.9)]!;
const ms = (x: number): string => `${x.toFixed(2)} ms`;
/** Steady phase: unmeasured characters first, then measured ones (per client; --quick: 300 / 60). */
const STEADY_WARM = 1500;
const STEADY_KEYS = 300;
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

/**
 * Each keystroke's latency split where the character reaches the serial line (FakeSerial.lastDataAt, this process's
 * clock): `to` = typed → on the serial line (the client, the daemon, the BMC inbound), `back` = serial line → echo
 * seen (the BMC, the daemon, the client outbound). Both legs hold the same ipmi_sim for every client.
 */
interface Legs { serial: FakeSerial; to: number[]; back: number[] }

/** Types `n` characters one at a time, each time waiting until it came back; the latencies in ms (and their legs). */
async function measure(c: ConsoleClient, n: number, legs?: Legs): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const ch = CHARS[i % CHARS.length]!;
    const from = c.out.length;
    const t0 = process.hrtime.bigint();
    c.send(ch);
    if (!(await c.out.waitFor(ch, from, 10_000))) throw new Error(`no echo of "${ch}" within 10 s; last output: ${JSON.stringify(c.out.tail(200))}`);
    const t1 = process.hrtime.bigint();
    out.push(Number(t1 - t0) / 1e6);
    const at = legs?.serial.lastDataAt ?? 0n;
    if (legs && at > t0 && at < t1) { legs.to.push(Number(at - t0) / 1e6); legs.back.push(Number(t1 - at) / 1e6); }
  }
  return out;
}

/** Sacrificial character, sync marker, no-local-echo check (module comment). */
async function prepare(c: ConsoleClient, serial: FakeSerial, tag: string): Promise<void> {
  const z = c.out.length;
  c.send('z');
  await c.out.waitFor('z', z, 1500);
  const marker = `<${tag}>`;
  const from = c.out.length;
  c.send(marker);
  if (!(await c.out.waitFor(marker, from, 10_000))) throw new Error(`${tag}: the sync marker did not come back within 10 s: ${JSON.stringify(c.out.tail(300))}`);
  serial.echo = false;
  try {
    const at = c.out.length;
    c.send('Q');
    if (await c.out.waitFor('Q', at, 400)) throw new Error(`${tag}: "Q" came back with the serial line's echo off — something echoes locally, the figures would not be end to end; output: ${JSON.stringify(c.out.tail(300))}, serial got ${JSON.stringify(serial.received.subarray(-40).toString('latin1'))}`);
  } finally {
    serial.echo = true;
  }
}

/** Retries `fn` while the BMC still holds the previous client's SOL payload (released asynchronously). */
async function whenSolFree<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 8 || !/already active|in use|sol-in-use/i.test((err as Error).message)) throw new Error(`${what}: ${(err as Error).message}`);
      await sleep(750);
    }
  }
}

interface Daemon { base: string; token: string; loginUrl: string; child: ChildProcess; output: () => string }

/** `rackseed serve` as a user starts it (bin/rackseed.mjs), API only on 127.0.0.1, on `data`. */
async function startServe(data: string, token: string): Promise<Daemon> {
  const port = await freePort();
  const child = spawn(process.execPath, [RACKSEED, 'serve', '--listen', `127.0.0.1:${port}`, '--data', data],
    { cwd: REPO, env: { ...process.env, RACKSEED_TOKEN: token, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-20_000); });
  child.stderr!.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-20_000); });
  const end = Date.now() + 120_000;
  for (;;) {
    const m = /(http:\/\/\S+\/login\?code=[A-Za-z0-9_-]+)/.exec(out);
    if (m) return { base: `http://127.0.0.1:${port}`, token, loginUrl: m[1]!, child, output: () => out };
    if (child.exitCode !== null || Date.now() > end) {
      if (child.exitCode === null) child.kill('SIGKILL');
      throw new Error(`rackseed serve did not start (exit ${child.exitCode}): ${out.slice(-2000)}`);
    }
    await sleep(100);
  }
}

/**
 * Waits for the daemon's console warm-up to end (its log line, daemon/console-warm-up.ts; it starts as the daemon
 * listens and takes about a second) and says what it took: the fresh phase measures the first consoles a user opens
 * after starting RackSeed, not consoles that race its start-up.
 */
async function warmUpLine(d: Daemon): Promise<string> {
  const end = Date.now() + 60_000;
  for (;;) {
    const line = d.output().split('\n').find((l) => l.includes('"console warm-up'));
    if (line) {
      const f = JSON.parse(line) as { msg: string; keystrokes?: number; wallMs?: number; cpuMs?: number; pausedMs?: number; stopped?: string };
      return `daemon's ${f.msg}: ${f.keystrokes} keystrokes, ${f.wallMs} ms wall, ${f.cpuMs} ms CPU${f.stopped ? `, stopped: ${f.stopped}` : ''}`;
    }
    if (process.env.RACKSEED_CONSOLE_WARM_UP_KEYS === '0') return 'daemon\'s console warm-up off (RACKSEED_CONSOLE_WARM_UP_KEYS=0)';
    if (Date.now() > end) throw new Error(`the daemon did not log the end of its console warm-up within 60 s: ${d.output().slice(-2000)}`);
    await sleep(50);
  }
}

async function stopServe(d: Daemon): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  const exited = new Promise((r) => d.child.once('exit', r));
  d.child.kill('SIGTERM');
  const t = setTimeout(() => d.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

async function api(d: Daemon, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(d.base + path, {
    method, headers: { authorization: `Bearer ${d.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The browser's login: the one-time URL the daemon printed gives the session cookie. */
async function loginCookie(d: Daemon): Promise<string> {
  const res = await fetch(d.loginUrl, { redirect: 'manual' });
  const c = res.headers.getSetCookie().find((x) => x.startsWith(`${SESSION_COOKIE}=`));
  if (!c) throw new Error(`the login URL gave no ${SESSION_COOKIE} cookie (HTTP ${res.status})`);
  return c.split(';')[0]!;
}

/** Waits until the daemon's console of `nodeId` has no viewer left (then it deactivates SOL on the BMC). */
async function daemonConsoleIdle(d: Daemon, nodeId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const t = await api(d, 'GET', `/api/v1/nodes/${nodeId}/console/log?lines=1`) as ConsoleLogTail;
    if (t.viewers.length === 0) return;
    await sleep(100);
  }
  throw new Error('the daemon still lists console viewers 10 s after the bench left');
}

/**
 * Checks that the CLI took the path its case names, from the viewer the daemon lists (daemon/api/routes/console.ts:
 * "CLI n at this host (unix socket)" through the local socket, "CLI n at 127.0.0.1" over TCP).
 */
async function cliPath(d: Daemon, nodeId: string, name: 'daemon-cli' | 'daemon-cli-tcp'): Promise<void> {
  const t = await api(d, 'GET', `/api/v1/nodes/${nodeId}/console/log?lines=1`) as ConsoleLogTail;
  const who = t.viewers.map((v) => v.who).join(', ');
  const want = name === 'daemon-cli' ? /^CLI \d+ at this host \(unix socket\)$/ : /^CLI \d+ at 127\.0\.0\.1$/;
  if (!t.viewers.some((v) => want.test(v.who))) throw new Error(`${name}: the daemon lists the viewers ${JSON.stringify(who)}, not the CLI on the path this case measures`);
}

export async function runSolBench(opts: BenchContext & { keys?: number }): Promise<BenchReport> {
  const n = opts.keys ?? (opts.quick ? 30 : 200);
  const rounds = opts.quick ? 2 : 4;
  const perRound = Math.ceil(n / rounds);
  const port = 41000 + (process.pid % 10000);
  const bmcAddress = `127.0.0.1:${port}`;
  const loadStart = load1();
  const serial = new FakeSerial();
  serial.echo = true;
  await serial.listen(port + 1);
  const sim = await startIpmiSim({ address: '127.0.0.1', port, user: USER, password: PASSWORD, guid: '00112233445566778899aabbccddeeff', sol: `telnet:127.0.0.1:${port + 1}` });
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-sol-'));
  const data = join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  const client = new IpmiClient({ timeoutMs: 1000, retries: 3 });
  const mgr = new ConsoleManager({ logDir: join(dir, 'core-console'), open: ipmiConsoleOpener(client, () => ({ address: bmcAddress, user: USER, password: PASSWORD })) });
  mkdirSync(join(dir, 'core-console'), { mode: 0o700 });
  const r: Record<CaseName, number[]> = { 'daemon-ws': [], 'daemon-cli': [], ipmitool: [], core: [] };
  const st: Record<CaseName, number[]> = { 'daemon-ws': [], 'daemon-cli': [], ipmitool: [], core: [] };
  /** the fresh rounds' keystrokes split at the serial line (Legs) */
  const legs = Object.fromEntries(CASES.map((x) => [x, { serial, to: [], back: [] }])) as unknown as Record<CaseName, Legs>;
  /** the socket phase: fresh CLI processes on the warm daemon, through the local socket and over TCP */
  const sock: Record<'daemon-cli' | 'daemon-cli-tcp', number[]> = { 'daemon-cli': [], 'daemon-cli-tcp': [] };
  /** the socket phase's pairs, in order: [local socket median, TCP median] of each pair of consoles */
  const sockPairs: [number, number][] = [];
  const sockRounds = opts.quick ? 1 : 6;
  const warmKeys = opts.quick ? 300 : STEADY_WARM;
  const steadyKeys = opts.quick ? 60 : STEADY_KEYS;
  let daemon: Daemon | null = null;
  let warmUp = '';
  const floor: Record<'c' | 'node', number[]> = { c: [], node: [] };
  try {
    for (let k = 0; k < 50 && !serial.sock; k++) await sleep(100);
    if (!serial.sock) throw new Error('ipmi_sim did not connect its SOL serial line within 5 s');
    // the node as discovery leaves it matched to this BMC, seeded through the daemon's own Core before it starts
    const nodeId = await withCore(data, (core) => addNode(core, { mac: '52:54:00:50:1b:01', serial: 'SN-SOL-BENCH', bmc: bmcAddress, inventory: false }));
    daemon = await startServe(data, randomBytes(24).toString('base64url'));
    const d = daemon;
    await api(d, 'PUT', '/api/v1/bmc/credentials', { user: USER, password: PASSWORD });
    const cookie = await loginCookie(d);
    opts.log(`sol: rackseed serve pid ${d.child.pid} on ${d.base}, node ${nodeId} → BMC ${bmcAddress}; ${perRound} characters per client per round, ${rounds} rounds`);
    warmUp = await warmUpLine(d);
    opts.log(`sol: ${warmUp}`);

    const open: Record<ClientName, () => Promise<ConsoleClient>> = {
      'daemon-ws': () => daemonWebSocket(d.base, cookie, nodeId),
      'daemon-cli': () => ptyCommand(`${process.execPath} ${RACKSEED} console ${nodeId}`, /console of \S+ through BMC/,
        { ...process.env, RACKSEED_URL: d.base, RACKSEED_TOKEN: d.token, NO_COLOR: '1', RACKSEED_LOCAL_SOCKET: '' }),
      'daemon-cli-tcp': () => ptyCommand(`${process.execPath} ${RACKSEED} console ${nodeId}`, /console of \S+ through BMC/,
        { ...process.env, RACKSEED_URL: d.base, RACKSEED_TOKEN: d.token, NO_COLOR: '1', RACKSEED_LOCAL_SOCKET: '0' }),
      ipmitool: () => ptyCommand(`ipmitool -I lanplus -C 3 -H 127.0.0.1 -p ${port} -U ${USER} -P ${PASSWORD} sol activate`, /SOL Session operational/),
      core: () => coreConsole(mgr, 'bench-node'),
    };
    // the pty floor (breakdown): what the pty and `script` cost by themselves, with a C and a Node echo program
    for (const kind of ['c', 'node'] as const) {
      const c = await ptyEcho(kind);
      try {
        await measure(c, 5);
        floor[kind] = await measure(c, n);
      } finally {
        await c.close();
      }
    }
    opts.log(`sol: pty floor: C echo ${median(floor.c).toFixed(2)}, Node echo ${median(floor.node).toFixed(2)} ms`);
    for (let round = 0; round < rounds; round++) {
      const order = CASES.map((_, i) => CASES[(i + round) % CASES.length]!);
      for (const name of order) {
        const c = await whenSolFree(name, open[name]);
        try {
          await prepare(c, serial, `${name}-${round}`);
          if (name === 'daemon-cli') await cliPath(d, nodeId, name);
          await measure(c, 5);
          r[name].push(...await measure(c, perRound, legs[name]));
        } finally {
          await c.close();
        }
        if (viaDaemon(name)) await daemonConsoleIdle(d, nodeId);
      }
      opts.log(`sol: round ${round + 1}/${rounds}: ${CASES.map((x) => `${x} ${median(r[x]).toFixed(2)}`).join(', ')} ms (medians so far), load ${load1().toFixed(1)}`);
    }
    for (const name of CASES.map((_, i) => CASES[(i + rounds) % CASES.length]!)) {
      const c = await whenSolFree(name, open[name]);
      try {
        await prepare(c, serial, `${name}-steady`);
        await measure(c, warmKeys);
        st[name].push(...await measure(c, steadyKeys));
      } finally {
        await c.close();
      }
      if (viaDaemon(name)) await daemonConsoleIdle(d, nodeId);
    }
    opts.log(`sol: steady (after ${warmKeys} unmeasured): ${CASES.map((x) => `${x} ${median(st[x]).toFixed(2)}`).join(', ')} ms, load ${load1().toFixed(1)}`);
    // the socket phase (module comment): what the local socket saves a fresh `rackseed console`, on equal terms
    for (let round = 0; round < sockRounds * 2; round++) {
      const pair = { 'daemon-cli': 0, 'daemon-cli-tcp': 0 };
      // local socket first then TCP, and the other way in the next round; each pair compared on its own
      for (const name of round % 2 ? ['daemon-cli-tcp', 'daemon-cli'] as const : ['daemon-cli', 'daemon-cli-tcp'] as const) {
        const c = await whenSolFree(name, open[name]);
        try {
          await prepare(c, serial, `${name}-socket-${round}`);
          await cliPath(d, nodeId, name);
          await measure(c, 5);
          const xs = await measure(c, perRound);
          pair[name] = median(xs);
          sock[name].push(...xs);
        } finally {
          await c.close();
        }
        await daemonConsoleIdle(d, nodeId);
      }
      sockPairs.push([pair['daemon-cli'], pair['daemon-cli-tcp']]);
    }
    opts.log(`sol: socket phase: daemon-cli (local socket) ${median(sock['daemon-cli']).toFixed(2)}, daemon-cli-tcp ${median(sock['daemon-cli-tcp']).toFixed(2)} ms; local socket faster in ${sockPairs.filter(([u, t]) => u < t).length} of ${sockPairs.length} pairs, load ${load1().toFixed(1)}`);
  } catch (err) {
    if (daemon) opts.log(`sol: daemon output tail: ${daemon.output().slice(-1500)}`);
    throw err;
  } finally {
    if (daemon) await stopServe(daemon);
    await mgr.close();
    await client.close();
    await sim.stop();
    serial.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const loadEnd = load1();
  const mi = machineInfo();
  const ref = median(r.ipmitool);
  const sref = median(st.ipmitool);
  const factor = (x: CaseName): number => median(r[x]) / ref; // latency as a multiple of ipmitool's
  const sfactor = (x: CaseName): number => median(st[x]) / sref;
  const verdict = (f: number): string => (f <= 1 ? 'met' : '**missed**');
  const rows: SummaryRow[] = (['daemon-ws', 'daemon-cli'] as const).flatMap((x) => {
    const path = x === 'daemon-ws' ? 'rackseed serve, console WebSocket (the UI\'s path)' : 'rackseed serve, `rackseed console` in a pty';
    return [{
      bench: 'sol',
      case: `keystroke → echo, fresh daemon, median of ${r[x].length}: ${path}`,
      rackseed: ms(median(r[x])), reference: `${ms(ref)} (ipmitool sol activate)`,
      ratio: ref / median(r[x]),
      goal: `≤ 1.0× ipmitool's latency: ${factor(x).toFixed(2)}×, ${verdict(factor(x))}`,
    }, {
      bench: 'sol',
      case: `keystroke → echo, steady (after ${warmKeys}), median of ${st[x].length}: ${path}`,
      rackseed: ms(median(st[x])), reference: `${ms(sref)} (ipmitool sol activate)`,
      ratio: sref / median(st[x]),
      goal: `≤ 1.0× ipmitool's latency: ${sfactor(x).toFixed(2)}×, ${verdict(sfactor(x))}`,
    }];
  });
  const markdown = [
    'Keystroke → echo through one ipmi_sim BMC (127.0.0.1, lanplus, cipher suite 3) whose SOL serial line echoes every',
    'character at once. A client types one character, waits until it comes back, types the next. Subject: the daemon as',
    '`rackseed serve` runs it (bin/rackseed.mjs, API on 127.0.0.1, a data dir with one node matched to that BMC, BMC',
    'credentials set through `PUT /api/v1/bmc/credentials`). Same characters and count for every client, in rotating',
    `order over ${rounds} rounds; each client first types a sacrificial character, a sync marker it waits for, and one`,
    'character with the serial echo off to prove nothing echoes locally, then 5 unmeasured characters (bench/sol.ts).',
    '',
    `Fresh: the ${rounds} rounds from a daemon just started, once its console warm-up (daemon/console-warm-up.ts, started as it`,
    `listens) has ended — ${warmUp}. Steady: afterwards each client once more, ${warmKeys} characters`,
    `unmeasured, then ${steadyKeys} measured (V8 has optimised the daemon's hot path by then; bench/sol.ts header).`,
    '',
    '| client | path | fresh median | fresh p90 | fresh ÷ ipmitool | steady median | steady p90 | steady ÷ ipmitool |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...CASES.map((x) => `| ${x} | ${LABEL[x]} | ${ms(median(r[x]))} | ${ms(p90(r[x]))} | ${x === 'ipmitool' ? '1.00×' : `${factor(x).toFixed(2)}×`} | ${ms(median(st[x]))} | ${ms(p90(st[x]))} | ${x === 'ipmitool' ? '1.00×' : `${sfactor(x).toFixed(2)}×`} |`),
    `| pty floor, C | breakdown: \`cat\` in the same pty setup (no console at all) | ${ms(median(floor.c))} | ${ms(p90(floor.c))} | | | | |`,
    `| pty floor, Node | breakdown: a Node program echoing stdin to stdout in the same pty setup | ${ms(median(floor.node))} | ${ms(p90(floor.node))} | | | | |`,
    '',
    'Where `rackseed console`\'s time goes (fresh medians, ms): ipmitool minus the C floor is what ipmitool adds to the',
    `pty (its own work, the BMC, the serial line): ${(ref - median(floor.c)).toFixed(2)}; \`rackseed console\` minus the Node floor is what`,
    `the CLI's connection, the daemon, the BMC and the serial line add: ${(median(r['daemon-cli']) - median(floor.node)).toFixed(2)}; the UI's path (no pty, no CLI): ${median(r['daemon-ws']).toFixed(2)}. The CLI is a`,
    'second process between the terminal and the BMC (issue 18 asks for it "through the daemon"): every keystroke and',
    'every echo crosses one more process and one more socket than with ipmitool, which talks to the BMC itself. That',
    'socket is the daemon\'s local unix socket on the same host (daemon/api/local-socket.ts). Socket phase, after steady:',
    `${sockRounds * 2} fresh \`rackseed console\` processes each way on the daemon warm by then, alternating: through the local socket`,
    `${ms(median(sock['daemon-cli']))}, over TCP loopback (RACKSEED_LOCAL_SOCKET=0) ${ms(median(sock['daemon-cli-tcp']))} (medians of ${sock['daemon-cli'].length});`,
    `in ${sockPairs.filter(([u, t]) => u < t).length} of ${sockPairs.length} pairs (one console each way) the local socket's median was the lower, by a median ${ms(median(sockPairs.map(([u, t]) => t - u)))}.`,
    '',
    'Each fresh keystroke split where the character reaches the serial line (the echoing end, in this process): typed →',
    'serial line is the client\'s way in (pty, CLI, daemon, BMC inbound), serial line → echo its way out. The BMC and the',
    'serial line are the same for every client, so the differences between rows are the clients\' own.',
    '',
    '| client | typed → serial line (median) | serial line → echo (median) | ÷ ipmitool\'s, in | ÷ ipmitool\'s, out |',
    '|---|---:|---:|---:|---:|',
    ...CASES.map((x) => `| ${x} | ${ms(median(legs[x].to))} | ${ms(median(legs[x].back))} | ${(median(legs[x].to) / median(legs.ipmitool.to)).toFixed(2)}× | ${(median(legs[x].back) / median(legs.ipmitool.back)).toFixed(2)}× |`),
    '',
    `Goal (issue 18): keystroke → echo through RackSeed's console ≤ 1.0× ipmitool's. Through the daemon's WebSocket (the UI's`,
    `path): fresh ${factor('daemon-ws').toFixed(2)}× — ${verdict(factor('daemon-ws'))}, steady ${sfactor('daemon-ws').toFixed(2)}× — ${verdict(sfactor('daemon-ws'))}; through \`rackseed console\` in a pty (the same`,
    `process-in-a-pty setup as ipmitool): fresh ${factor('daemon-cli').toFixed(2)}× — ${verdict(factor('daemon-cli'))}, steady ${sfactor('daemon-cli').toFixed(2)}× — ${verdict(sfactor('daemon-cli'))}. The daemon-ws client is this bench's`,
    'process reading the WebSocket directly (as a browser would, without a terminal); ipmitool and `rackseed console` go',
    'through a pty and util-linux `script` both ways. The `core` row is a breakdown (the console manager and SOL without',
    'the daemon, its WebSocket and the CLI), not the user\'s path.',
    '',
    `${r['daemon-ws'].length} + ${st['daemon-ws'].length} measured characters per client. 1-min load ${loadStart.toFixed(2)} at start, ${loadEnd.toFixed(2)} at the end, on ${mi.nproc} cores (${mi.cpuModel}).`,
    'Command: `npm run bench -- --only sol` (as root).',
  ].join('\n');
  return { rows, markdown };
}
