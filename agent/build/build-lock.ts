// A build lock shared by the ramdisk build and the lab image builds: an O_EXCL file holding our PID, so concurrent
// builds of the same output (setup.sh and a test, say) wait for each other. A lock whose process is gone is taken
// over; a live holder past `timeoutMs` is an error naming its PID.

import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';

/** Take the lock at `path`; resolves to its release. `log` hears once that we wait, and for whom. */
export async function buildLock(path: string, log: (msg: string) => void, timeoutMs = 600_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => { try { unlinkSync(path); } catch { /* gone */ } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = NaN;
    try { holder = Number(readFileSync(path, 'utf8')); } catch { continue; }
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      try { unlinkSync(path); } catch { /* another waiter took it over */ }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`build lock ${path} held by PID ${holder} for too long`);
    if (!told) { log(`waiting for another build (PID ${holder}, ${path})`); told = true; }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}
