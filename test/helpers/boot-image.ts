// Boot a disk image in QEMU (TCG) straight from its disk, with a config drive ISO as a second virtio disk,
// inside a network namespace of its own (only lo; so nothing the guest does can leave it), and wait for
// console lines. The guest gets one NIC on QEMU's user-mode network with restrict=on: QEMU's built-in DHCP
// answers it, nothing is routed anywhere, and one guestfwd rule sends TCP 10.0.2.100:80 to a small
// receiver (QEMU runs it per connection, stdin/stdout being the connection) that records HTTP requests —
// the phone-home target. The VM is killed by its PID as soon as every expected line was seen, on timeout,
// and in any case by the sandbox cleanup.
import { copyFileSync, createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsSandbox, waitExit } from './netns.ts';

export const PHONE_HOME_HOST = '10.0.2.100';

/** Per connection: read one HTTP request from stdin, append it as a JSON line to argv[2], answer 200. */
const RECEIVER = `
const fs = require('node:fs');
const chunks = [];
let done = false;
const finish = () => {
  if (done) return; done = true;
  const raw = Buffer.concat(chunks).toString('latin1');
  const [head, ...rest] = raw.split('\\r\\n\\r\\n');
  const [line, ...headers] = head.split('\\r\\n');
  const [method, url] = line.split(' ');
  fs.appendFileSync(process.argv[2], JSON.stringify({ at: Date.now(), method, url, headers, body: rest.join('\\r\\n\\r\\n') }) + '\\n');
  process.stdout.write('HTTP/1.0 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\n{}', () => process.exit(0));
};
process.stdin.on('data', (d) => {
  chunks.push(d);
  const raw = Buffer.concat(chunks).toString('latin1');
  const i = raw.indexOf('\\r\\n\\r\\n');
  if (i < 0) return;
  const m = /content-length:\\s*(\\d+)/i.exec(raw.slice(0, i));
  if (Buffer.byteLength(raw.slice(i + 4), 'latin1') >= (m ? Number(m[1]) : 0)) finish();
});
process.stdin.on('end', finish);
setTimeout(finish, 10000);
`;

export interface BootSpec {
  name: string;
  work: string;
  disk: string;
  diskFormat: 'raw' | 'qcow2';
  configDrive: string;
  firmware: 'bios' | 'uefi';
  machine: 'pc' | 'q35';
  memMiB: number;
  smp: number;
  mac: string;
  /** every pattern must match a console line before the VM is stopped */
  expect: RegExp[];
  /** also wait for this many phone-home requests */
  phoneHomes?: number;
  timeoutMs: number;
}

export interface BootResult {
  console: string;
  /** the line each expected pattern matched, and when (ms from QEMU start) */
  lines: { line: string; atMs: number }[];
  phoneHomes: { atMs: number; method: string; url: string; body: string }[];
}

export async function bootImage(sandbox: NetnsSandbox, ns: string, s: BootSpec): Promise<BootResult> {
  const receiver = join(s.work, 'receiver.cjs');
  if (!existsSync(receiver)) writeFileSync(receiver, RECEIVER);
  const requests = join(s.work, `${s.name}.requests.jsonl`);
  writeFileSync(requests, '');
  const firmware: string[] = [];
  if (s.firmware === 'uefi') {
    const vars = join(s.work, `${s.name}-OVMF_VARS.fd`);
    copyFileSync('/usr/share/OVMF/OVMF_VARS.fd', vars);
    firmware.push('-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd', '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
  }
  const args = [
    '-accel', 'tcg', '-machine', s.machine, '-m', String(s.memMiB), '-smp', String(s.smp), '-nographic', '-monitor', 'none', '-no-reboot',
    ...firmware,
    // snapshot=on: writes go to a temporary overlay, the cached image stays as built
    '-drive', `file=${s.disk},format=${s.diskFormat},if=none,id=d0,snapshot=on`, '-device', 'virtio-blk-pci,drive=d0,serial=RS-ROOT-DISK',
    '-drive', `file=${s.configDrive},format=raw,if=none,id=d1,readonly=on`, '-device', 'virtio-blk-pci,drive=d1,serial=RS-CONFIG-DRIVE',
    '-netdev', `user,id=n0,restrict=on,guestfwd=tcp:${PHONE_HOME_HOST}:80-cmd:${process.execPath} ${receiver} ${requests}`,
    '-device', `virtio-net-pci,netdev=n0,mac=${s.mac},romfile=`,
  ];
  const log = createWriteStream(join(s.work, `${s.name}.console.log`));
  const started = Date.now();
  const vm = sandbox.spawn(ns, 'qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let pending = '';
  const lines: { line: string; atMs: number }[] = new Array(s.expect.length);
  const onData = (d: Buffer): void => {
    log.write(d);
    const str = d.toString('utf8');
    text += str;
    pending += str;
    let i;
    while ((i = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, i).replace(/\r$/, '');
      pending = pending.slice(i + 1);
      s.expect.forEach((re, k) => { if (!lines[k] && re.test(line)) lines[k] = { line, atMs: Date.now() - started }; });
    }
  };
  vm.stdout?.on('data', onData);
  vm.stderr?.on('data', onData);
  const phoneHomes = (): BootResult['phoneHomes'] => readFileSync(requests, 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l) as { at: number; method: string; url: string; body: string })
    .map((r) => ({ atMs: r.at - started, method: r.method, url: r.url, body: r.body }));
  try {
    const deadline = started + s.timeoutMs;
    for (;;) {
      const seen = s.expect.every((_, k) => lines[k]) && phoneHomes().length >= (s.phoneHomes ?? 0);
      if (seen) break;
      if (vm.exitCode !== null || vm.signalCode !== null) throw new Error(`${s.name}: QEMU exited (${vm.exitCode ?? vm.signalCode}) before the expected lines; console tail:\n${text.slice(-3000)}`);
      if (Date.now() > deadline) {
        const missing = s.expect.filter((_, k) => !lines[k]).map(String).join(', ');
        throw new Error(`${s.name}: not seen within ${s.timeoutMs / 1000} s: ${missing || 'the phone-home request'}; console tail:\n${text.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    if (vm.exitCode === null && vm.signalCode === null && vm.pid) {
      try { process.kill(vm.pid, 'SIGTERM'); } catch { /* gone */ }
      if (!(await waitExit(vm, 5000))) { try { process.kill(vm.pid, 'SIGKILL'); } catch { /* gone */ } }
    }
    await new Promise<void>((r) => log.end(() => r()));
  }
  return { console: text, lines, phoneHomes: phoneHomes() };
}
