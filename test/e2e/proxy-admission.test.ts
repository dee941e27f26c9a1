// Issue 20 item 5 acceptance — do no harm on a production segment. RackSeed runs in proxy mode (default admission:
// allowlist) beside the site's DHCP server (dnsmasq), and ONE QEMU machine nobody allowed (SeaBIOS + QEMU's iPXE ROM,
// e1000, TCG, -m 512, no BMC, no disk) PXE-boots on the segment, as a site server rebooting would:
//   1. it is listed as `seen` (one history event), RackSeed sends it no boot answer (proxy offer/ack counters stay 0,
//      no proxyDHCP reply in its history), serves it nothing over TFTP or HTTP, and the machine is still running after
//      its PXE ROM gave up ("No bootable device" from SeaBIOS);
//   2. control, so that 1 cannot pass by accident: the engineer allows it (POST /api/v1/nodes/:id/allow), the machine
//      is reset through its QEMU monitor, and now it boots the discovery ramdisk from RackSeed and reports its
//      inventory — and since RackSeed did not power it on, RackSeed leaves it running (no poweroff command).
// A second test runs the same rule on the virtual rack (lab/, ipmi_sim BMCs) with real firmware: in proxy mode a
// discovery job through one BMC boots exactly the machine behind it (its PXE UUID, option 97, is that BMC's System
// GUID) and powers it off afterwards, while a machine its owner powered on at the same time stays `seen` and running.
// Everything runs in network namespaces the tests create; every process is killed by PID in `after`/`finally`, even
// on failure.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NetnsSandbox, canUseNetns } from '../helpers/netns.ts';
import { unixApi, waitFor } from '../helpers/daemon-api.ts';
import { NET as LAB_NET } from '../../lab/config.ts';
import { Lab, type RackNode } from '../../lab/rack.ts';
import type { BmcInfo, Job, ServicesStatus } from '../../shared/api.ts';
import type { NodeEvent, NodeSummary } from '../../shared/node.ts';

const NET = '10.238.5';
const APPLIANCE = `${NET}.1`;
const SITE = `${NET}.2`;
const MAC = '52:54:00:38:05:01';
const UUID = '5e1f0a8c-7d2b-4c3e-9a41-38050000a001';
const TOKEN = 'proxy-admission-test-token-0123456789';

const isRoot = process.getuid?.() === 0 && canUseNetns();
const sandbox = new NetnsSandbox();
const dir = mkdtempSync(join(tmpdir(), 'rs-proxy-admission-'));
after(async () => { await sandbox.cleanup(); rmSync(dir, { recursive: true, force: true }); });

const sock = join(dir, 'api.sock');
const api = unixApi(sock, TOKEN);
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

/** Send one HMP command to QEMU's monitor socket. */
function monitor(path: string, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect(path, () => { c.write(`${command}\n`); setTimeout(() => { c.end(); resolve(); }, 300); });
    c.on('error', reject);
  });
}

function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

test('proxy mode beside the site DHCP: an unknown PXE client is listed as seen, never booted, and stays powered on', {
  skip: isRoot ? false : 'needs root (network namespaces, QEMU taps)', timeout: 240_000,
}, async (t) => {
  const started = Date.now();
  const mark = (what: string) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  // site: the segment (bridge), the site's DHCP server and the machine; app: RackSeed's NIC on the same segment
  const site = sandbox.addNamespace('adm-site');
  const app = sandbox.addNamespace('adm-app');
  sandbox.addBridge(site, 'br0', `${SITE}/24`);
  sandbox.addVeth({ ns: app, name: 'rs0', cidr: `${APPLIANCE}/24` }, { ns: site, name: 'p-app', bridge: 'br0' });
  sandbox.exec(site, 'ip', ['tuntap', 'add', 'dev', 'tap0', 'mode', 'tap']);
  sandbox.exec(site, 'ip', ['link', 'set', 'tap0', 'master', 'br0']);
  sandbox.exec(site, 'ip', ['link', 'set', 'tap0', 'up']);
  // IPv6 router advertisements, or iPXE waits 13–16 s for IPv6 on every boot (lab-notes.md)
  sandbox.exec(site, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
  writeFileSync(join(dir, 'radvd.conf'), 'interface br0 { AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; AdvDefaultLifetime 0; prefix fd00:238:5::/64 { AdvOnLink on; AdvAutonomous on; }; };\n');
  sandbox.spawn(site, 'radvd', ['-n', '-C', join(dir, 'radvd.conf'), '-p', join(dir, 'radvd.pid'), '-m', 'stderr']);
  sandbox.spawn(site, 'dnsmasq', ['--keep-in-foreground', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--bind-interfaces', '--interface=br0',
    '--except-interface=lo', '--no-ping', `--dhcp-range=${NET}.50,${NET}.90,255.255.255.0,1h`, `--dhcp-leasefile=${join(dir, 'site.leases')}`,
    `--pid-file=${join(dir, 'dnsmasq.pid')}`]);

  // RackSeed, proxy mode, default admission (no --safe-mode, nothing allowed)
  const daemon = sandbox.spawn(app, process.execPath, ['--import', 'tsx', 'daemon/cli/main.ts', 'serve', '--interface', 'rs0', '--mode', 'proxy',
    '--listen', `unix:${sock}`, '--data', join(dir, 'data'), '--http-port', '8080'], {
    cwd: process.cwd(), env: { ...process.env, RACKSEED_TOKEN: TOKEN, RACKSEED_LOG_JSON: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let daemonLog = '';
  daemon.stdout?.on('data', (d: Buffer) => { daemonLog += d.toString(); });
  daemon.stderr?.on('data', (d: Buffer) => { daemonLog += d.toString(); });
  const status = await waitFor('proxyDHCP running', 60_000, async () => {
    if (!existsSync(sock)) return null;
    const st = (await api<ServicesStatus>('GET', '/api/v1/services')).body;
    return st.proxy.running && st.http.running && st.tftp.running ? st : null;
  }).catch((err: Error) => { throw new Error(`${err.message}\ndaemon log:\n${daemonLog.slice(-3000)}`); });
  assert.equal(status.config?.mode, 'proxy');
  if (status.admission !== undefined) assert.equal(status.admission, 'allowlist', 'the default in proxy mode, as the services report it');
  mark('RackSeed serving proxyDHCP, TFTP and HTTP beside dnsmasq');

  // the machine: nobody allowed it, it has no BMC; a site server powered on by its owner
  const mon = join(dir, 'monitor.sock');
  const qemu = sandbox.spawn(site, 'qemu-system-x86_64', ['-accel', 'tcg', '-machine', 'pc', '-m', '512', '-smp', '1', '-nographic',
    '-monitor', `unix:${mon},server,nowait`, '-boot', 'n', '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no',
    '-device', `e1000,netdev=n0,mac=${MAC}`, '-smbios', `type=1,manufacturer=Site,product=Production Server,serial=SITE-0001,uuid=${UUID}`]);
  let con = '';
  qemu.stdout?.on('data', (d: Buffer) => { con += d.toString('latin1'); });
  qemu.stderr?.on('data', (d: Buffer) => { con += d.toString('latin1'); });
  const events = async () => (await api<NodeEvent[]>('GET', `/api/v1/events?mac=${MAC}&limit=1000`)).body;
  const nodeOf = async () => (await api<NodeSummary[]>('GET', '/api/v1/nodes')).body.find((n) => n.mac === MAC) ?? null;
  const timeline = (evs: NodeEvent[]) => evs.map((e) => `${e.source}:${e.kind}`).join(' ');

  try {
    // 1. the PXE ROM asks, gets its address from dnsmasq and nothing from RackSeed, and gives up
    await waitFor('the PXE ROM gave up', 90_000, async () => (/No bootable device/.test(plain(con)) ? true : null))
      .catch((err: Error) => { throw new Error(`${err.message}\nconsole:\n${plain(con).slice(-2000)}`); });
    mark('SeaBIOS: no bootable device (the PXE ROM gave up)');
    const console1 = plain(con);
    assert.match(console1, new RegExp(`net0: ${NET.replace(/\./g, '\\.')}\\.(5\\d|[6-8]\\d|90)/`), 'the site DHCP (dnsmasq) gave it an address');
    assert.doesNotMatch(console1, /boot\.ipxe|undionly|rackseed/i, 'RackSeed named no boot file');
    assert.ok(alive(qemu), 'the machine is still powered on');

    const seen = await nodeOf();
    assert.ok(seen, 'RackSeed lists the machine');
    assert.equal(seen.state, 'seen');
    assert.equal(seen.poweredOnByRackSeed, false);
    assert.equal(seen.uuid, UUID, 'with the PXE UUID it sent (option 97), to recognise it by');
    const evs1 = await events();
    const seenEvents = evs1.filter((e) => e.kind === 'seen');
    assert.equal(seenEvents.length, 1, `one "seen" event however often it asked: ${timeline(evs1)}`);
    assert.equal(seenEvents[0]!.message, 'PXE client seen, not booted (proxy mode: only allowed machines boot)');
    assert.ok(evs1.some((e) => e.source === 'dhcp' && e.kind === 'proxy-discover'), `RackSeed heard its DISCOVERs: ${timeline(evs1)}`);
    assert.ok(!evs1.some((e) => e.source === 'dhcp' && /offer|ack/.test(e.kind)), `no proxyDHCP answer: ${timeline(evs1)}`);
    assert.ok(!evs1.some((e) => e.source === 'tftp' || e.source === 'http'), `no TFTP or HTTP: ${timeline(evs1)}`);
    const st1 = (await api<ServicesStatus>('GET', '/api/v1/services')).body;
    assert.equal(st1.proxy.counters.offer ?? 0, 0, `proxyDHCP offers sent: ${JSON.stringify(st1.proxy.counters)}`);
    assert.equal(st1.proxy.counters.ack ?? 0, 0, `proxyDHCP acks sent: ${JSON.stringify(st1.proxy.counters)}`);
    assert.equal(st1.tftp.counters.rrq ?? 0, 0, `TFTP: ${JSON.stringify(st1.tftp.counters)}`);
    assert.deepEqual(st1.http.counters, { scripts: 0, downloads: 0 });
    // still on a while later (SeaBIOS waits 60 s before it retries; RackSeed has nothing to power it off with anyway)
    await new Promise((r) => setTimeout(r, 5000));
    assert.ok(alive(qemu), 'still powered on 5 s after the PXE ROM gave up');
    assert.equal((await nodeOf())?.state, 'seen');
    mark('listed as seen, served nothing, still running');

    // 2. control: allowed, the same machine boots from RackSeed (so part 1 did not pass because nothing could boot)
    const allowed = await api<NodeSummary>('POST', `/api/v1/nodes/${seen.id}/allow`, {});
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.state, 'discovered');
    con = '';
    await monitor(mon, 'system_reset');
    const reported = await waitFor('inventory after allow', 120_000, async () => {
      const n = await nodeOf();
      return n?.state === 'available' ? n : null;
    }).catch(async (err: Error) => { throw new Error(`${err.message}; events: ${timeline(await events())}\nconsole:\n${plain(con).slice(-2500)}`); });
    mark('allowed and reset: booted the discovery ramdisk, inventory received');
    assert.equal(reported.serial, 'SITE-0001');
    const evs2 = await events();
    assert.ok(evs2.some((e) => e.source === 'dhcp' && /^proxy-(offer|ack)$/.test(e.kind)), `proxyDHCP answered it now: ${timeline(evs2)}`);
    assert.ok(evs2.some((e) => e.source === 'http' && e.kind === 'download'), `the kernel/initrd were served: ${timeline(evs2)}`);
    assert.ok(evs2.some((e) => e.kind === 'left-running'), `RackSeed says it leaves the machine running: ${timeline(evs2)}`);
    // RackSeed did not power it on: the agent is never told to power off; the machine keeps running in the ramdisk
    await waitFor('the agent asked for its next command', 30_000, async () => (/rackseed-agent: .*inventory posted/.test(plain(con)) ? true : null));
    await new Promise((r) => setTimeout(r, 8000));
    assert.ok(alive(qemu), 'still powered on after its inventory');
    assert.doesNotMatch(plain(con), /rackseed-agent: .*powering off/);
    assert.ok(!(await events()).some((e) => e.source === 'agent' && e.kind === 'command'), 'no poweroff command was sent');
    mark('left running after the inventory (RackSeed did not power it on)');
  } finally {
    try { qemu.kill('SIGKILL'); } catch { /* gone */ }
    try { daemon.kill('SIGTERM'); } catch { /* gone */ }
  }
});

test('proxy mode on the virtual rack: discovery through a BMC boots the machine behind it, not the one its owner powered on', {
  skip: isRoot ? false : 'needs root (network namespaces, QEMU taps)', timeout: 300_000,
}, async (t) => {
  const started = Date.now();
  const mark = (what: string) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  const lab = await Lab.up({ nodes: [{ firmware: 'bios', nic: 'e1000', pxe: 'rom' }, { firmware: 'bios', nic: 'e1000', pxe: 'rom' }], daemon: { mode: 'proxy' }, siteDhcp: true });
  try {
    const [target, bystander] = lab.nodes as [RackNode, RackNode];
    const nodeOf = async (rn: RackNode) => (await lab.api.get<NodeSummary[]>('/api/v1/nodes')).find((n) => n.mac === rn.identity.mac) ?? null;
    const evsOf = (rn: RackNode) => lab.api.get<NodeEvent[]>(`/api/v1/events?mac=${encodeURIComponent(rn.identity.mac)}&limit=1000`);
    mark(`lab up (RackSeed in proxy mode beside dnsmasq), admission: ${(await lab.api.get<ServicesStatus>('/api/v1/services')).admission ?? 'not reported by this daemon'}`);
    await lab.api.put('/api/v1/bmc/credentials', { user: lab.bmcUser, password: lab.bmcPassword });
    await lab.api.post('/api/v1/bmc/sweep', { cidr: LAB_NET.bmcNetwork });
    await waitFor('the sweep finds the target BMC with its GUID', 60_000, async () => {
      const b = await lab.api.get<BmcInfo[]>('/api/v1/bmcs');
      return b.some((x) => x.address === target.bmcAddress && x.guid) ? true : null;
    });

    // the bystander's owner powers it on (not RackSeed), at the same time as RackSeed's discovery through the target's BMC
    lab.pxeBoot(bystander);
    const [job] = await lab.api.post<Job[]>('/api/v1/discovery', { bmcs: [target.bmcAddress] });
    assert.ok(job);
    // the bystander's PXE ROM gives up while the target boots (checked now: the lab's QEMU runs with -no-reboot, so
    // SeaBIOS's own retry 60 s later would end the process)
    await waitFor('the bystander\'s PXE ROM gave up', 90_000, async () => (/No bootable device/.test(plain(lab.console(bystander))) ? true : null));
    assert.notEqual(lab.qemuPid(bystander), null, 'the bystander is still powered on after its PXE ROM gave up');
    assert.equal((await nodeOf(bystander))?.state, 'seen');
    mark('bystander: PXE ROM gave up, listed as seen, still powered on');
    const done = await waitFor('the discovery job', 180_000, async () => {
      const j = (await lab.api.get<Job[]>('/api/v1/jobs')).find((x) => x.id === job.id);
      if (j?.status === 'failed') throw new Error(`discovery failed: ${j.error}`);
      return j?.status === 'done' ? j : null;
    }).catch(async (err: Error) => { throw new Error(`${err.message}; target events: ${(await evsOf(target)).map((e) => e.kind).join(' ')}`); });
    mark('discovery job done');
    const n = (await nodeOf(target))!;
    assert.equal(done.nodeId, n.id);
    assert.equal(n.state, 'available');
    assert.equal(n.bmc?.address, target.bmcAddress);
    assert.equal(n.power, 'off');
    assert.equal(n.poweredOnByRackSeed, false, 'powered off by the job: the mark is cleared');
    const tk = (await evsOf(target)).map((e) => `${e.source}:${e.kind}`);
    assert.ok(tk.includes('job:admitted'), `admitted because RackSeed powered its BMC on: ${tk.join(' ')}`);
    assert.ok(!tk.includes('lifecycle:seen'), `never turned away: ${tk.join(' ')}`);
    assert.equal(lab.qemuPid(target), null, 'the machine RackSeed powered on is off again');

    const b = await waitFor('the bystander listed', 30_000, async () => nodeOf(bystander));
    assert.equal(b.state, 'seen');
    const bk = (await evsOf(bystander)).map((e) => `${e.source}:${e.kind}`);
    assert.ok(!bk.some((k) => /^dhcp:proxy-(offer|ack)$|^tftp:|^http:/.test(k)), `the bystander was served nothing: ${bk.join(' ')}`);
    const jobs = await lab.api.get<Job[]>('/api/v1/jobs');
    assert.ok(!jobs.some((j) => j.bmcAddress === bystander.bmcAddress), 'RackSeed never drove the bystander\'s BMC');
    assert.ok(!bk.some((k) => k.startsWith('bmc:') || k.startsWith('agent:')), `no power or agent command for the bystander: ${bk.join(' ')}`);
    mark('target discovered and powered off; bystander seen, served nothing, never touched');
  } finally {
    await lab.down({ removeDir: true });
  }
});
