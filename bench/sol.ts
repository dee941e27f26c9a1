// SOL keystroke → echo latency (issue 18): one ipmi_sim BMC on 127.0.0.1 whose SOL line is served by this
// bench and echoes every character back at once (a tty with echo on). RackSeed: the core console manager
// (core/console, SOL through bmc/ipmi) — a viewer types one character and waits for it to come back. Reference:
// `ipmitool -I lanplus -C 3 sol activate` on the same BMC, in a pty (util-linux `script`), one character into
// the pty, waiting for it on ipmitool's output. Same characters, same count, alternating rounds.
// (Not yet through the daemon's WebSocket: that route is not built.)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext, BenchReport, SummaryRow } from './lib/bench-types.ts';
import { load1, machineInfo } from './lib/machine.ts';
import { startIpmiSim } from '../test/helpers/ipmi-sim.ts';
import { FakeSerial } from '../test/helpers/telnet-serial.ts';
import { IpmiClient } from '../bmc/ipmi/session/client.ts';
import { ConsoleManager } from '../core/console/manager.ts';
import { ipmiConsoleOpener } from '../core/console/ipmi-opener.ts';

const CHARS = 'abcdefghijklmnopqrstuvwxyz';

function median(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; }
function p90(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length * 0.9)]!; }

/** Types `n` characters one at a time through `send`, each time waiting until `seen()` grew past it. */
async function measure(n: number, send: (c: string) => void, seen: () => string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = CHARS[i % CHARS.length]!;
    const before = seen().length;
    const t0 = process.hrtime.bigint();
    send(c);
    const end = Date.now() + 10_000;
    while (!seen().slice(before).includes(c)) {
      if (Date.now() > end) throw new Error(`no echo of ${c} within 10 s`);
      await new Promise((r) => setImmediate(r));
    }
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

export async function runSolBench(opts: BenchContext & { keys?: number }): Promise<BenchReport> {
  const n = opts.keys ?? (opts.quick ? 30 : 200);
  const port = 41000 + (process.pid % 10000);
  const serial = new FakeSerial();
  serial.echo = true;
  await serial.listen(port + 1);
  const sim = await startIpmiSim({ address: '127.0.0.1', port, user: 'admin', password: 'secret', guid: '00112233445566778899aabbccddeeff', sol: `telnet:127.0.0.1:${port + 1}` });
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-sol-'));
  const client = new IpmiClient({ timeoutMs: 1000, retries: 3 });
  const r = { rackseed: [] as number[], ipmitool: [] as number[] };
  try {
    for (let k = 0; k < 20 && !serial.sock; k++) await new Promise((res) => setTimeout(res, 100));
    for (let round = 0; round < 2; round++) {
      // RackSeed
      const mgr = new ConsoleManager({ logDir: dir, open: ipmiConsoleOpener(client, () => ({ address: `127.0.0.1:${port}`, user: 'admin', password: 'secret' })) });
      let text = '';
      const a = await mgr.attach('bench', { who: 'bench', onData: (d) => { text += d.toString('latin1'); }, onClose: () => undefined });
      await measure(5, (c) => a.write(c), () => text); // warm-up, unmeasured
      r.rackseed.push(...await measure(n / 2, (c) => a.write(c), () => text));
      await a.detach();
      await mgr.close();
      // ipmitool in a pty
      const cmd = `ipmitool -I lanplus -C 3 -H 127.0.0.1 -p ${port} -U admin -P secret sol activate`;
      const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString('latin1'); });
      const end = Date.now() + 15_000;
      while (!out.includes('SOL Session operational')) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`ipmitool sol activate did not start: ${out}`);
        await new Promise((res) => setTimeout(res, 20));
      }
      // ipmi_sim keeps the previous console's last SOL sequence number: ipmitool's first packet may be taken
      // for a retransmission and its character dropped — one sacrificial character first
      child.stdin.write('z');
      await new Promise((res) => setTimeout(res, 1500));
      await measure(5, (c) => child.stdin.write(c), () => out);
      r.ipmitool.push(...await measure(n / 2, (c) => child.stdin.write(c), () => out));
      child.stdin.write('\r~.');
      await new Promise<void>((res) => { const t = setTimeout(() => { child.kill('SIGKILL'); res(); }, 5000); child.once('exit', () => { clearTimeout(t); res(); }); });
      opts.log(`sol: round ${round + 1}: RackSeed median ${median(r.rackseed).toFixed(2)} ms, ipmitool median ${median(r.ipmitool).toFixed(2)} ms`);
    }
  } finally {
    await client.close();
    await sim.stop();
    serial.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const mi = machineInfo();
  const rows: SummaryRow[] = [{
    bench: 'sol', case: `keystroke → echo, median of ${r.rackseed.length} (ipmi_sim, echoing serial line)`,
    rackseed: `${median(r.rackseed).toFixed(2)} ms`, reference: `${median(r.ipmitool).toFixed(2)} ms (ipmitool sol activate)`,
    ratio: median(r.ipmitool) / median(r.rackseed), goal: '≤ 1.0× ipmitool\'s latency',
  }];
  const markdown = [
    `Keystroke → echo through one ipmi_sim BMC (127.0.0.1) whose SOL line echoes every character: RackSeed's core console`,
    `manager (SOL in bmc/ipmi) vs \`ipmitool -I lanplus -C 3 sol activate\` in a pty, ${r.rackseed.length} characters each, alternating rounds.`,
    '',
    '| client | median | p90 |',
    '|---|---|---|',
    `| RackSeed console | ${median(r.rackseed).toFixed(2)} ms | ${p90(r.rackseed).toFixed(2)} ms |`,
    `| ipmitool sol activate | ${median(r.ipmitool).toFixed(2)} ms | ${p90(r.ipmitool).toFixed(2)} ms |`,
    '',
    `Load ${load1().toFixed(1)} on ${mi.nproc} cores (${mi.cpuModel}). Command: \`npm run bench -- --only sol\`.`,
  ].join('\n');
  return { rows, markdown };
}
