// How a JIT warm-up (the daemon's console warm-up, daemon/console-warm-up.ts) gives way to real work.
/**
 * How a warm-up gives way to real work: `busy()` says the daemon is serving (the daemon: a netboot counter moved in
 * the last second, or a real console moved, daemon/daemon.ts). It is asked before every keystroke; while it says yes the warm-up waits, so a
 * DHCP storm arriving right after the start — a rack powered on as RackSeed starts — never shares the CPU with it
 * (bench/dhcp.ts rackseed-serve: 62–73 µs of server CPU per DORA without the warm-up, 101–121 µs when it ran
 * during the storm, 2026-12-06).
 */
export interface WarmUpPacing { busy?: () => boolean }

/** Waits until `busy()` says no (checked every `pollMs`, default 250) or `signal` aborts; resolves with the ms waited. */
export async function whileBusy(busy: () => boolean, signal?: AbortSignal, pollMs = 250): Promise<number> {
  const t0 = performance.now();
  while (busy() && !signal?.aborted) await new Promise((r) => setTimeout(r, pollMs));
  return performance.now() - t0;
}
