// Real network-boot firmware against our servers (QEMU, -accel tcg, one VM at a time, killed by PID):
//  1. OVMF's own PXE client (virtio-net, romfile=) beside dnsmasq with our proxyDHCP: the firmware takes
//     its address from dnsmasq and asks OUR TFTP address for the boot file we named (a TFTP RRQ arrives).
//  2. SeaBIOS + QEMU's iPXE ROM (e1000) with our authoritative server: iPXE is told
//     http://…/boot.ipxe (user class "iPXE") and fetches it over HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NetnsSandbox, canUseNetns, waitExit } from '../helpers/netns.ts';
import { createDhcpServer, createProxyDhcpServer, defaultBootAnswer, type DhcpService } from '../../netboot/dhcp/server/index.ts';
import { createBoundUdpSocketFactory } from '../../netboot/net/bound-udp.ts';
import { openSqliteLeaseStore } from '../../core/leases/sqlite-lease-store.ts';
import type { BootPolicy } from '../../netboot/boot-policy.ts';
import { EventLog, tempDir } from '../fixtures/dhcp/interop.ts';
import { silentLogger } from '../fixtures/dhcp/test-client.ts';

const OUR_IP = '10.234.0.1';
const SITE_IP = '10.234.0.2';
const HTTP_BASE = `http://${OUR_IP}:8080`;
const sandbox = new NetnsSandbox();
const dir = tempDir('firmware');
let ours = '';
let site = '';
const policy: BootPolicy = { dhcpBoot: (req) => defaultBootAnswer(req, { serverIp: OUR_IP, httpBaseUrl: HTTP_BASE }) };

before(() => {
  assert.ok(canUseNetns(), 'interop tests need root and iproute2 (network namespaces)');
  ours = sandbox.addNamespace('dhcpq-ours');
  site = sandbox.addNamespace('dhcpq-site');
  sandbox.addBridge(ours, 'br0', `${OUR_IP}/24`);
  sandbox.addVeth({ ns: site, name: 'eth0', cidr: `${SITE_IP}/24` }, { ns: ours, name: 'p-site', bridge: 'br0' });
  sandbox.exec(ours, 'ip', ['tuntap', 'add', 'dev', 'tap0', 'mode', 'tap']);
  sandbox.exec(ours, 'ip', ['link', 'set', 'tap0', 'master', 'br0']);
  sandbox.exec(ours, 'ip', ['link', 'set', 'tap0', 'up']);
  // IPv6 router advertisements on the bridge, or iPXE waits 13–16 s for IPv6 (lab-notes.md)
  sandbox.exec(ours, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
  writeFileSync(join(dir, 'radvd.conf'), 'interface br0 { AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; prefix fd00:234::/64 { AdvOnLink on; AdvAutonomous on; }; };\n');
  sandbox.spawn(ours, 'radvd', ['-n', '-C', join(dir, 'radvd.conf'), '-p', join(dir, 'radvd.pid'), '-m', 'stderr']);
});

after(async () => {
  await sandbox.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function startQemu(args: string[]): ChildProcess {
  return sandbox.spawn(ours, 'qemu-system-x86_64', ['-accel', 'tcg', '-m', '256', '-smp', '1', '-nographic', '-monitor', 'none', '-no-reboot', '-boot', 'n',
    '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', ...args]);
}

async function stopQemu(q: ChildProcess): Promise<void> {
  q.kill('SIGKILL');
  await waitExit(q, 5000);
}

test('OVMF firmware PXE beside dnsmasq: address from dnsmasq, boot file from our proxyDHCP', async () => {
  const dnsmasq = sandbox.spawn(site, 'dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '--no-ping', '--bind-interfaces', '--interface=eth0', '--except-interface=lo',
    '--port=0', '--dhcp-range=10.234.0.100,10.234.0.150,2m', `--pid-file=${join(dir, 'dnsmasq.pid')}`, `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`]);
  const log = new EventLog();
  const factory = createBoundUdpSocketFactory({ netns: ours });
  const proxy: DhcpService = createProxyDhcpServer({ interface: 'br0', serverIp: OUR_IP, bootPolicy: policy, socketFactory: factory, logger: silentLogger, events: log.sink });
  await proxy.start();
  // a TFTP port that only records read requests (and refuses them, so the firmware gives up quickly)
  const tftp = await factory({ port: 69, interface: 'br0', reuseAddr: true });
  let rrq: { file: string; from: string } | null = null;
  tftp.on('message', (msg, from) => {
    if (msg.readUInt16BE(0) !== 1 || rrq) return;
    rrq = { file: msg.toString('latin1', 2, msg.indexOf(0, 2)), from: from.address };
    const err = Buffer.concat([Buffer.from([0, 5, 0, 1]), Buffer.from('test ends here\0')]);
    tftp.send(err, from.port, from.address);
  });
  copyFileSync('/usr/share/OVMF/OVMF_VARS.fd', join(dir, 'vars.fd'));
  const q = startQemu(['-machine', 'pc', '-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd',
    '-drive', `if=pflash,format=raw,unit=1,file=${join(dir, 'vars.fd')}`, '-device', 'virtio-net-pci,netdev=n0,romfile=,mac=52:54:00:34:00:01']);
  try {
    const ok = await log.until(() => rrq !== null, 90_000);
    assert.ok(ok, `a TFTP read request reached us (proxy events: ${log.events.map((e) => e.kind).join(',')})`);
    const got = rrq as unknown as { file: string; from: string };
    assert.equal(got.file, 'ipxe.efi', 'the file our proxy named (arch 7)');
    assert.match(got.from, /^10\.234\.0\.(1[0-4]\d|150)$/, 'from the address dnsmasq assigned');
    assert.ok(log.of('52:54:00:34:00:01', 'proxy-offer').length >= 1);
  } finally {
    await stopQemu(q);
    tftp.close();
    await proxy.stop();
    dnsmasq.kill('SIGTERM');
    await waitExit(dnsmasq, 3000);
  }
});

test('SeaBIOS iPXE ROM with the authoritative server: iPXE fetches boot.ipxe over HTTP', async () => {
  const www = join(dir, 'www');
  sandbox.exec(ours, 'mkdir', ['-p', www]);
  writeFileSync(join(www, 'boot.ipxe'), '#!ipxe\necho rackseed test\npoweroff\n');
  const http = sandbox.spawn(ours, '/usr/bin/python3', ['-m', 'http.server', '8080', '--bind', OUR_IP, '--directory', www]);
  let httpLog = '';
  http.stderr?.on('data', (d: Buffer) => { httpLog += d.toString(); });
  const log = new EventLog();
  const store = openSqliteLeaseStore(join(dir, 'leases.db'));
  const server = createDhcpServer({
    interface: 'br0', serverIp: OUR_IP, subnetMask: '255.255.255.0', pool: { first: '10.234.0.160', last: '10.234.0.170' }, routers: [OUR_IP],
    leases: store, bootPolicy: policy, socketFactory: createBoundUdpSocketFactory({ netns: ours }), logger: silentLogger, events: log.sink,
  });
  await server.start();
  const q = startQemu(['-machine', 'pc', '-device', 'e1000,netdev=n0,mac=52:54:00:34:00:02']);
  try {
    const ok = await log.until(() => /GET \/boot\.ipxe/.test(httpLog), 90_000);
    assert.ok(ok, `iPXE fetched boot.ipxe (events: ${log.events.map((e) => `${e.kind}:${e.ip}`).join(',')}; http: ${httpLog})`);
    const ack = log.of('52:54:00:34:00:02', 'ack')[0];
    assert.ok(ack, 'our server ACKed iPXE');
    assert.equal(ack.detail?.bootFile, `${HTTP_BASE}/boot.ipxe`);
    assert.match(ack.ip ?? '', /^10\.234\.0\.1[67]\d$/);
  } finally {
    await stopQemu(q);
    await server.stop();
    store.close();
  }
});
