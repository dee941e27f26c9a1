// Summarise a V8 .cpuprofile (node --cpu-prof): self time per function and per file, biggest first.
//   node --import tsx bench/lib/cpuprofile-summary.ts FILE.cpuprofile [TOP]
// Used to tell the DHCP server's owner where a storm's time goes.
import { readFileSync } from 'node:fs';

interface CpuNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: CpuNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface ProfileLine { name: string; selfMs: number; share: number }

export function summarise(profile: CpuProfile): { totalMs: number; byFunction: ProfileLine[]; byFile: ProfileLine[] } {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const ms = self.get(n.id) ?? 0;
    if (!ms) continue;
    total += ms;
    const url = n.callFrame.url.replace(/^file:\/\/.*?\/(src|bench|node_modules|test)\//, '$1/');
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
    byFn.set(fn, (byFn.get(fn) ?? 0) + ms);
    const file = url || n.callFrame.functionName;
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
  }
  const lines = (m: Map<string, number>): ProfileLine[] => [...m].map(([name, ms]) => ({ name, selfMs: Math.round(ms), share: Math.round((ms / total) * 1000) / 10 })).sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: Math.round(total), byFunction: lines(byFn), byFile: lines(byFile) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const top = Number(process.argv[3] ?? 25);
  const s = summarise(JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as CpuProfile);
  process.stdout.write(`total sampled ${s.totalMs} ms\n\nby function (self):\n`);
  for (const l of s.byFunction.slice(0, top)) process.stdout.write(`${String(l.share).padStart(5)} %  ${String(l.selfMs).padStart(6)} ms  ${l.name}\n`);
  process.stdout.write('\nby file (self):\n');
  for (const l of s.byFile.slice(0, top)) process.stdout.write(`${String(l.share).padStart(5)} %  ${String(l.selfMs).padStart(6)} ms  ${l.name}\n`);
}
