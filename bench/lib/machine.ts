// The machine a benchmark ran on, and how busy it was: the doc records both with every figure.
import { cpus, loadavg, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';

export interface MachineInfo { nproc: number; cpuModel: string; memGiB: number; kernel: string; node: string }

export function machineInfo(): MachineInfo {
  let kernel = '';
  try { kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(); } catch { /* not fatal */ }
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel,
    node: process.version,
  };
}

/** 1-minute load average, rounded. */
export function load1(): number {
  return Math.round(loadavg()[0] * 100) / 100;
}
