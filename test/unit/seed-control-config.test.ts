// The control node's first-boot configuration (core/seed/control-config.ts) checked by the real parts that read it:
// Debian's Ironic (its oslo.config option registry loads the generated ironic.conf: every option known, every choice
// valid), Debian's python3-bcrypt (verifies the htpasswd hash Ironic's http_basic checks), the deploy service's own
// user-data check (what the config drive accepts) and the yaml package (the write_files and runcmd cloud-init reads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkUserData } from '../../core/deploy/config-drive.ts';
import {
  controlDnsmasqConf, controlIronicConf, controlIronicUrl, controlPasswordHash, controlUserData, type ControlConfigParams,
} from '../../core/seed/control-config.ts';
import { ironicInstalled, SYSTEM_PYTHON } from '../helpers/ironic.ts';

const PASSWORD = 'seed-S3cret-password-xyz';
const params = (): ControlConfigParams => ({
  provisioning: { mac: '52:54:00:AA:00:01', cidr: '10.0.0.2/24' },
  bmc: { mac: '52:54:00:aa:01:01', cidr: '10.0.1.2/24' },
  dhcpRange: { start: '10.0.0.100', end: '10.0.0.199', netmask: '255.255.255.0' },
  ironic: { user: 'rackseed', passwordHash: controlPasswordHash(PASSWORD, 4) },
  ramdisk: { kernelUrl: 'http://10.0.0.1:8081/ramdisk/vmlinuz', initrdUrl: 'http://10.0.0.1:8081/ramdisk/initrd.img' },
});

test('user_data: a #cloud-config the config drive accepts, with the files and commands cloud-init runs', () => {
  const ud = controlUserData(params());
  assert.ok(ud.startsWith('#cloud-config\n'));
  assert.doesNotThrow(() => checkUserData(ud));
  assert.ok(Buffer.byteLength(ud) < 64 * 1024, 'fits the config drive limit');
  const doc = parse(ud) as { write_files: { path: string; content: string }[]; runcmd: string[][] };
  const paths = doc.write_files.map((f) => f.path);
  for (const p of ['/etc/ironic/ironic.conf', '/etc/ironic/htpasswd', '/etc/systemd/system/rackseed-ironic.service', '/etc/systemd/system/rackseed-dnsmasq.service', '/usr/local/sbin/rackseed-seed-net']) assert.ok(paths.includes(p), p);
  const net = doc.write_files.find((f) => f.path === '/usr/local/sbin/rackseed-seed-net')!.content;
  assert.match(net, /52:54:00:aa:00:01 10\.0\.0\.2\/24/, 'the provisioning MAC is lower-cased, the address static');
  assert.match(net, /52:54:00:aa:01:01 10\.0\.1\.2\/24/, 'the second NIC on the BMC network');
  assert.ok(!ud.includes(PASSWORD), 'the password itself is never on the config drive, only its bcrypt hash');
  const cmds = doc.runcmd.map((c) => c.join(' '));
  assert.ok(cmds.some((c) => c.includes('ironic-dbsync') && c.includes('create_schema')));
  assert.ok(cmds.some((c) => c.includes('http://10.0.0.1:8081/ramdisk/vmlinuz')), 'the ramdisk comes from the laptop, on site');
  assert.ok(!cmds.some((c) => /deb\.debian\.org|apt-get|pip /.test(c)), 'nothing fetched from outside the site');
  // found on the first lab-control boot: nginx refused to start without /var/log/nginx, and could not have read
  // Ironic's 0700 home; both are set before nginx is enabled
  const nginxAt = cmds.findIndex((c) => c.includes('enable') && c.includes('nginx.service'));
  assert.ok(cmds.findIndex((c) => c.includes('/var/log/nginx')) in cmds && cmds.findIndex((c) => c.includes('/var/log/nginx')) < nginxAt, 'the nginx log folder exists before nginx starts');
  assert.ok(cmds.findIndex((c) => c.startsWith('chmod 0755 /var/lib/ironic /var/lib/ironic/httpboot')) in cmds, 'the HTTP root is reachable by nginx');
  assert.equal(controlIronicUrl(params()), 'http://10.0.0.2:6385');
});

test('bad parameters are refused with the reason', () => {
  assert.throws(() => controlUserData({ ...params(), provisioning: { mac: 'zz', cidr: '10.0.0.2/24' } }), /not a MAC address: zz/);
  assert.throws(() => controlUserData({ ...params(), provisioning: { mac: '52:54:00:aa:00:01', cidr: '10.0.0.300/24' } }), /not an IPv4 address with a prefix/);
  assert.throws(() => controlUserData({ ...params(), ironic: { user: 'rackseed', passwordHash: PASSWORD } }), /bcrypt hash/);
  assert.throws(() => controlUserData({ ...params(), ramdisk: { kernelUrl: 'file:///etc/passwd', initrdUrl: 'http://x/y' } }), /not an http\(s\) URL/);
  assert.throws(() => controlPasswordHash('short'), /at least 12/);
});

test('Debian\'s python3-bcrypt verifies the htpasswd hash (what Ironic\'s http_basic does)', () => {
  const hash = controlPasswordHash(PASSWORD, 4);
  const check = (pw: string) => execFileSync(SYSTEM_PYTHON, ['-c', 'import bcrypt,sys; print(bcrypt.checkpw(sys.argv[1].encode(), sys.argv[2].encode()))', pw, hash], { encoding: 'utf8' }).trim();
  assert.equal(check(PASSWORD), 'True');
  assert.equal(check(`${PASSWORD}x`), 'False');
});

test('Debian\'s Ironic loads the generated ironic.conf: every option registered, every value valid', () => {
  assert.ok(ironicInstalled(), 'Debian\'s Ironic is needed (scripts/setup.sh test installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'rs-seedconf-'));
  try {
    const conf = join(dir, 'ironic.conf');
    writeFileSync(conf, controlIronicConf(params()));
    const py = `
import sys
from ironic.conf import CONF
from ironic.common import driver_factory
from oslo_db import options as db_options
db_options.set_defaults(CONF)
CONF(['--config-file', sys.argv[1]], project='ironic')
import json
out = {
  'auth': CONF.auth_strategy, 'rpc': CONF.rpc_transport, 'dhcp': CONF.dhcp.dhcp_provider, 'hostsdir': CONF.dnsmasq.dhcp_hostsdir,
  'deploy': CONF.default_deploy_interface, 'hw': CONF.enabled_hardware_types, 'boot': CONF.enabled_boot_interfaces,
  'db': CONF.database.connection, 'http_url': CONF.deploy.http_url, 'port': CONF.api.port,
}
# the interfaces each hardware type would get: loads the drivers' entry points as the conductor does at start
for hw in CONF.enabled_hardware_types:
    driver_factory.get_hardware_type(hw)
print(json.dumps(out))`;
    const out = JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', py, conf], { encoding: 'utf8', timeout: 60_000 })) as Record<string, unknown>;
    assert.deepEqual(out, {
      auth: 'http_basic', rpc: 'none', dhcp: 'dnsmasq', hostsdir: '/etc/dnsmasq.d/ironic/hosts', deploy: 'ramdisk', hw: ['ipmi', 'redfish'],
      boot: ['pxe', 'ipxe'], db: 'sqlite:////var/lib/ironic/ironic.sqlite', http_url: 'http://10.0.0.2:8080', port: 6385,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dnsmasq.conf: answers only the hosts Ironic writes (known hosts), TFTP on, no DNS', () => {
  const c = controlDnsmasqConf(params());
  // a dynamic range, only for the hosts Ironic knows: its host files carry no address (a static range refused them)
  assert.match(c, /^dhcp-range=10\.0\.0\.100,10\.0\.0\.199,255\.255\.255\.0,10m$/m);
  assert.match(c, /^dhcp-ignore=tag:!known$/m);
  assert.match(c, /^port=0$/m);
  assert.match(c, /^dhcp-hostsdir=\/etc\/dnsmasq\.d\/ironic\/hosts$/m);
  assert.match(c, /^enable-tftp$/m);
  // as Ironic's user (its hosts files, the TFTP root and the lease file are in Ironic's 0700 home): as dnsmasq's
  // default user it failed at the first lab-control boot, "TFTP directory /var/lib/ironic/tftpboot inaccessible"
  assert.match(c, /^user=ironic$/m);
  assert.match(c, /^group=ironic$/m);
  // Debian's dnsmasq checks the syntax of the file it would run with
  if (execFileSync('sh', ['-c', 'command -v dnsmasq || true'], { encoding: 'utf8' }).trim()) {
    const dir = mkdtempSync(join(tmpdir(), 'rs-dnsmasq-'));
    try {
      const f = join(dir, 'd.conf');
      writeFileSync(f, c.replace(/\/etc\/dnsmasq\.d\/ironic|\/var\/lib\/ironic/g, dir));
      const out = execFileSync('dnsmasq', ['--test', `--conf-file=${f}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.ok(out !== undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
