// Whole-appliance "hand over and stop" (issue 16 item 3), persisted: `rackseed serve --interface rs0` (authoritative)
// in a test namespace serves a real DHCP client (busybox udhcpc) and HTTP boot (curl); `rackseed stop` (the CLI,
// through the daemon's API) stops every netboot service — nothing answers DHCP, TFTP or HTTP on the provisioning NIC;
// the daemon is killed and started again with the same `--interface`: it prints that it stays stopped and still nothing
// answers (udhcpc gets no lease; no socket of RackSeed on 67/69/8080 in the namespace); `rackseed services status`
// says so; `rackseed services start` (PUT /api/v1/config/network) serves again and ends the stop, which a further
// restart keeps. The daemon runs as its own process, stopped by PID; namespaces torn down in `after`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unixApi, waitFor } from '../helpers/daemon-api.ts';
import { NetnsSandbox, canUseNetns, waitExit } from '../helpers/netns.ts';
import type { ServicesStatus } from '../../shared/api.ts';
import type { HandoverStopState } from '../../shared/handoff.ts';
import type { NodeEvent } from '../../shared/node.ts';

const sandbox = new NetnsSandbox();
const dir = mkdtempSync(join(tmpdir(), 'rs-handoff-stop-'));
const TOKEN = 'handoff-stop-test-token-0123456789';
const sock = join(dir, 'api.sock');
const NET = '10.237.46';
const MAC = '52:54:00:ee:46:07';
const api = unixApi(sock, TOKEN);
const daemons: ChildProcess[] = [];

after(async () => {
  for (const d of daemons) { if (d.exitCode === null && d.signalCode === null) { d.kill('SIGKILL'); await waitExit(d, 5000); } }
  await sandbox.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function serve(ns: string): { child: ChildProcess; out: () => string } {
  rmSync(sock, { force: true });
  const child = sandbox.spawn(ns, process.execPath, ['bin/rackseed.mjs', 'serve', '--interface', 'rs0', '--mode', 'authoritative',
    '--pool', `${NET}.50-${NET}.60`, '--override-foreign-dhcp', '--listen', `unix:${sock}`, '--data', join(dir, 'data'), '--http-port', '8080'], {
    cwd: process.cwd(), env: { ...process.env, RACKSEED_TOKEN: TOKEN, RACKSEED_LOG_JSON: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  daemons.push(child);
  let text = '';
  child.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
  return { child, out: () => text };
}

/** The CLI through the daemon (RACKSEED_URL = the unix socket), run inside the namespace. */
function cli(ns: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, 'bin/rackseed.mjs', ...args], {
      env: { ...process.env, RACKSEED_URL: `unix:${sock}`, RACKSEED_TOKEN: TOKEN }, timeout: 60_000,
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

async function up(ns: string): Promise<{ child: ChildProcess; out: () => string }> {
  const d = serve(ns);
  await waitFor('API', 60_000, async () => existsSync(sock) && (await api('GET', '/api/v1/health').catch(() => ({ status: 0 }))).status === 200 ? true : null);
  return d;
}

test('hand over and stop: nothing answers on the NIC, also after a daemon restart, until services are started again (CLI + API)', { timeout: 300_000 }, async () => {
  assert.ok(canUseNetns(), 'this test needs root (network namespaces)');
  const app = sandbox.addNamespace('hs');
  const seg = sandbox.addNamespace('hs');
  const client = sandbox.addNamespace('hs');
  sandbox.addBridge(seg, 'br0');
  sandbox.addVeth({ ns: app, name: 'rs0', cidr: `${NET}.1/24` }, { ns: seg, name: 'pa', bridge: 'br0' });
  sandbox.addVeth({ ns: client, name: 'eth0', mac: MAC }, { ns: seg, name: 'pc', bridge: 'br0' });
  const script = join(dir, 'udhcpc.sh');
  writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && echo "LEASE ip=$ip boot_file=$boot_file"\nexit 0\n');
  chmodSync(script, 0o755);
  /** A PXE-looking udhcpc: the lease line, or null when nobody answered (3 tries, 1 s apart). */
  const lease = (): string | null => {
    let out = '';
    try {
      out = sandbox.exec(client, 'busybox', ['udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '3', '-T', '1', '-s', script,
        '-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000'], 30_000);
    } catch { return null; }
    return /LEASE ip=\S+/.exec(out)?.[0] ?? null;
  };
  /** Sockets of anything on RackSeed's service ports in the appliance namespace (ss: DHCP 67, TFTP 69, HTTP 8080). */
  const listeners = (): string => sandbox.exec(app, 'ss', ['-Hlnup', '( sport = :67 or sport = :69 or sport = :8080 )']) + sandbox.exec(app, 'ss', ['-Hlntp', '( sport = :8080 )']);
  const httpAnswers = (): boolean => { try { sandbox.exec(client, 'curl', ['-sf', '--max-time', '3', `http://${NET}.1:8080/boot.ipxe?mac=${MAC}`]); return true; } catch { return false; } };

  let d = await up(app);
  assert.ok(lease(), `RackSeed leases before the stop: ${d.out().slice(-2000)}`);
  sandbox.exec(client, 'ip', ['addr', 'add', `${NET}.99/24`, 'dev', 'eth0']);
  assert.ok(httpAnswers(), 'HTTP boot answers before the stop');
  assert.match(listeners(), /:67\b[\s\S]*:69\b|:69\b[\s\S]*:67\b/, 'the probe sees RackSeed\'s DHCP and TFTP sockets while they run');

  const stop = await cli(app, ['stop']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /^handed over and stopped at \S+ \(0 node\(s\) owned by engines\); nothing runs: nothing of RackSeed answers on the provisioning NIC/);
  assert.equal(lease(), null, 'no DHCP answer after the stop');
  assert.equal(httpAnswers(), false, 'no HTTP boot after the stop');
  assert.equal(listeners().trim(), '', 'no socket of RackSeed on 67/69/8080');

  // restart with the same --interface: it stays stopped
  d.child.kill('SIGKILL');
  await waitExit(d.child, 10_000);
  d = await up(app);
  assert.match(d.out(), /RackSeed was handed over and stopped at \S+: netboot services stay off on rs0 until started again/);
  const st = (await api<ServicesStatus>('GET', '/api/v1/services')).body;
  assert.deepEqual([st.dhcp.running, st.proxy.running, st.tftp.running, st.http.running], [false, false, false, false]);
  assert.ok((await api<HandoverStopState>('GET', '/api/v1/handoff/stop')).body.stoppedAt, 'the stop is reported after the restart');
  assert.equal(lease(), null, 'no DHCP answer after the restart either');
  assert.equal(httpAnswers(), false);
  assert.equal(listeners().trim(), '');
  const status = await cli(app, ['services', 'status']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /nothing runs[^\n]*\nhanded over and stopped at \S+: services stay off until `rackseed services start`/);

  // the user starts services again: they answer, and the stop is over (a further restart serves at once)
  const start = await cli(app, ['services', 'start']);
  assert.equal(start.code, 0, start.stderr);
  assert.match(start.stdout, /running: DHCP, TFTP, HTTP boot on rs0/);
  sandbox.exec(client, 'ip', ['addr', 'flush', 'dev', 'eth0']);
  assert.ok(lease(), 'RackSeed leases again after services start');
  assert.equal((await api<HandoverStopState>('GET', '/api/v1/handoff/stop')).body.stoppedAt, null);
  const kinds = (await api<NodeEvent[]>('GET', '/api/v1/events?limit=500')).body.map((e) => e.kind);
  assert.ok(kinds.includes('handoff-stop') && kinds.includes('handoff-resume'), kinds.join(' '));
  d.child.kill('SIGKILL');
  await waitExit(d.child, 10_000);
  d = await up(app);
  assert.doesNotMatch(d.out(), /handed over and stopped/);
  assert.equal((await api<ServicesStatus>('GET', '/api/v1/services')).body.dhcp.running, true);
  d.child.kill('SIGTERM');
  assert.ok(await waitExit(d.child, 10_000));
});
