// The Node flags `rackseed serve` runs with, and the re-exec that applies them (bin/rackseed.mjs). Every launcher
// — a shell, `npm run serve`, the desktop app's pkexec wrapper, the lab, the benchmarks — starts the daemon as
// `node bin/rackseed.mjs serve …`, so bin/rackseed.mjs replaces its own process image (execve(2): same PID, same
// file descriptors and environment) with `node <DAEMON_NODE_FLAGS> <the caller's node flags> bin/rackseed.mjs …`.
//
// Both flags are about the daemon's resident memory (issue 19: ≤ 150 MB with 1,000 nodes; docs/BENCHMARKS.md,
// "1,000-node hall", has the profile). V8 sizes an isolate's heap when the isolate is made; v8.setFlagsFromString
// after start has no effect, hence a launcher flag.
// - --max-semi-space-size=2: Node's default lets each semi-space grow to 16 MB, and loading the daemon's TypeScript
//   grows the main isolate's new space to its 32 MB maximum, which then stays resident; the flag holds for tsx's
//   loader thread too. Idle daemon: ~185 MB RSS without it, ~140 MB with it.
// - --heap-growing-percent=20: the old generation may grow to 1.2 × what the last full GC kept (V8 otherwise picks
//   up to ~4× for a small heap). With small semi-spaces more short-lived objects reach the old generation; without
//   this cap the 1,000-node hall peaked at 184–244 MB with ~26 MB live, with it at 153–175 MB.
// The DHCP hot path (bench/dhcp.ts rackseed-daemon, which runs with these flags): three interleaved rounds at load
// 8–9 gave medians of 124 vs 113 µs server CPU per DORA (the default runs spread 86–155 µs): maybe ~10 % more, not
// settled at that load. A 1 MB semi-space cost ~25 % more CPU per DORA, hence 2.
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=20'];

/**
 * The CPU profiler flag the caller gave node (`--cpu-prof`, `--prof`), or null. These profilers sample on SIGPROF
 * from a setitimer(ITIMER_PROF) timer, and that timer survives execve(2) while the signal handler does not: the
 * re-executed image would be killed by the next SIGPROF ("Profiling timer expired") before it could install its
 * own. So a profiled `rackseed serve` is not re-executed (it runs with Node's default heap flags). Pure.
 * @param {{ execArgv: string[], nodeOptions?: string }} p
 * @returns {string | null}
 */
export function profilerFlag(p) {
  return callerNodeArgs(p).find((a) => a === '--cpu-prof' || a === '--prof') ?? null;
}

/** The node flags the caller gave: node's own arguments, then NODE_OPTIONS. */
function callerNodeArgs(p) {
  return [...p.execArgv, ...(p.nodeOptions ?? '').split(/\s+/)];
}

/**
 * The argv to execve for `rackseed serve`, or null when there is nothing to do: another subcommand (short-lived),
 * not Linux, the flag already given (in node's own arguments — which is also how the re-executed process
 * knows it is done — or in NODE_OPTIONS), or a CPU profiler running (profilerFlag). Pure.
 * @param {{ execPath: string, execArgv: string[], argv: string[], nodeOptions?: string, platform: string }} p
 * @returns {string[] | null}
 */
export function daemonReexecArgv(p) {
  if (p.platform !== 'linux' || p.argv[2] !== 'serve') return null;
  const given = callerNodeArgs(p).some((a) => a.startsWith('--max-semi-space-size'));
  if (given || profilerFlag(p)) return null;
  return [p.execPath, ...DAEMON_NODE_FLAGS, ...p.execArgv, ...p.argv.slice(1)];
}

/**
 * Re-execute this process with DAEMON_NODE_FLAGS when daemonReexecArgv says so; returns only when it did not
 * (nothing to do, or execve failed: then the daemon runs with Node's defaults, and says so on stderr).
 * libc's execve through koffi (a dependency the netboot sockets use already): Node 20 has no process.execve.
 */
export async function reexecWithDaemonFlags() {
  const p = { execPath: process.execPath, execArgv: process.execArgv, argv: process.argv, nodeOptions: process.env.NODE_OPTIONS, platform: process.platform };
  const argv = daemonReexecArgv(p);
  if (!argv) {
    const prof = p.argv[2] === 'serve' ? profilerFlag(p) : null;
    if (prof) process.stderr.write(`rackseed: ${prof}: not re-executing with ${DAEMON_NODE_FLAGS.join(' ')} (the profiler's SIGPROF timer would end the new image); running with Node's defaults\n`);
    return;
  }
  try {
    const { default: koffi } = await import('koffi');
    const libc = koffi.load('libc.so.6');
    const fcntl = libc.func('int fcntl(int fd, int cmd, int arg)');
    const execve = libc.func('int execve(const char *path, const char **argv, const char **envp)');
    // Node marks stdin/stdout/stderr close-on-exec; the new image must keep them (the desktop's heartbeat is stdin)
    const F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;
    for (const fd of [0, 1, 2]) {
      const flags = fcntl(fd, F_GETFD, 0);
      if (flags >= 0 && (flags & FD_CLOEXEC)) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
    execve(process.execPath, [...argv, null], [...env, null]);
    process.stderr.write(`rackseed: could not re-execute with ${DAEMON_NODE_FLAGS.join(' ')} (errno ${koffi.errno()}); running with Node's defaults (more memory)\n`);
  } catch (err) {
    process.stderr.write(`rackseed: could not re-execute with ${DAEMON_NODE_FLAGS.join(' ')} (${err instanceof Error ? err.message : err}); running with Node's defaults (more memory)\n`);
  }
}
