// Clocks for the boot-chain bench (bench/boot-chain.ts): when a QEMU process started (from /proc), and the
// milestones a VM's serial console shows, timestamped on arrival on the host.
//
// Every boot path's clock starts at its QEMU process's start time (/proc/PID/stat field 22), so the three paths
// share one start point whether QEMU was spawned by the bench or by ipmi_sim's chassis-control script.
// Guest lines `rackseed-init: [U s]` / `rackseed-agent: [U s]` carry the guest's uptime U; under TCG the guest
// clock follows the host's, so the kernel started at (arrival − U) on the host clock (the smallest such
// value over all lines is used: arrival only ever lags).
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    try { ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { ticksPerSecond = 100; }
  }
  return ticksPerSecond;
}

/**
 * Wall-clock time (ms since the epoch) at which process `pid` started, to 1/CLK_TCK s (10 ms); null when the
 * process is gone or /proc cannot be read. Boot time is taken as now − /proc/uptime (10 ms resolution), not
 * /proc/stat btime (whole seconds).
 */
export function processStartMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: fields after it start after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(rest[19]); // field 22 overall; rest[0] is field 3
    if (!Number.isFinite(startTicks)) return null;
    const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const bootMs = Date.now() - uptimeS * 1000;
    return bootMs + (startTicks / clockTicks()) * 1000;
  } catch {
    return null;
  }
}

/** Milestones seen on a serial console, each as host ms since the epoch (null: not seen). */
export interface ConsoleMarks {
  /** iPXE printed "… initrd… ok": kernel and initrd are downloaded */
  loaded: number | null;
  /** the guest kernel started (derived from the uptime stamps, see above) */
  kernel: number | null;
  /** first `rackseed-init:` line (the ramdisk's /init runs) */
  init: number | null;
  /** first `rackseed-agent:` line */
  agent: number | null;
  /** the agent holds a DHCP lease (`rackseed-agent: [U s] IFACE has …`) */
  agentLease: number | null;
  /** the agent's "inventory posted" line */
  posted: number | null;
}

/** Feed console bytes as they arrive; `marks()` gives the milestones so far. */
export class ConsoleWatch {
  private text = '';
  private pending = '';
  private loadedAt: number | null = null;
  private kernelAt: number | null = null;
  private readonly lines: string[] = [];
  private readonly uptimes = new Map<'init' | 'agent' | 'agentLease' | 'posted', number>();

  feed(chunk: string, at = Date.now()): void {
    this.text += chunk;
    if (this.loadedAt === null && /initrd\S*\.\.\.[^\n]*?\bok\b/.test(this.text)) this.loadedAt = at;
    if (this.text.length > 1 << 20) this.text = this.text.slice(-4096);
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      if (this.lines.length < 20_000) this.lines.push(`${new Date(at).toISOString()} ${line.replace(/\r/g, '')}`);
      const m = /rackseed-(init|agent): \[([\d.]+)s\] (.*)/.exec(line);
      if (!m) continue;
      const up = Number(m[2]) * 1000;
      const start = at - up;
      if (this.kernelAt === null || start < this.kernelAt) this.kernelAt = start;
      const first = (k: 'init' | 'agent' | 'agentLease' | 'posted'): void => { if (!this.uptimes.has(k)) this.uptimes.set(k, up); };
      if (m[1] === 'init') first('init');
      else {
        first('agent');
        if (/^\S+ has /.test(m[3])) first('agentLease');
        if (m[3].startsWith('inventory posted')) first('posted');
      }
    }
  }

  /** The console so far, one line each, prefixed with the host time it arrived (ISO). */
  stamped(): string {
    return this.lines.join('\n');
  }

  marks(): ConsoleMarks {
    const k = this.kernelAt;
    const at = (key: 'init' | 'agent' | 'agentLease' | 'posted'): number | null => {
      const up = this.uptimes.get(key);
      return k === null || up === undefined ? null : k + up;
    };
    return { loaded: this.loadedAt, kernel: k, init: at('init'), agent: at('agent'), agentLease: at('agentLease'), posted: at('posted') };
  }
}

/**
 * Follow a file that another process appends to (a VM's console.log), handing new text to `onText` every
 * `intervalMs`. Returns a stop function that reads what is left once more.
 */
export function tailFile(path: string, onText: (text: string, at: number) => void, intervalMs = 50): () => void {
  let offset = 0;
  const buf = Buffer.alloc(1 << 16);
  const poll = (): void => {
    let fd: number;
    try { fd = openSync(path, 'r'); } catch { return; }
    try {
      if (statSync(path).size < offset) offset = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        onText(buf.subarray(0, n).toString('latin1'), Date.now());
      }
    } finally { closeSync(fd); }
  };
  const timer = setInterval(poll, intervalMs);
  return () => { clearInterval(timer); poll(); };
}

/** Median of the non-null values (null when there are none). */
export function median(xs: Array<number | null | undefined>): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}
