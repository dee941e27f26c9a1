// Every iPXE script kind the core's boot policy serves at /boot.ipxe, rendered through CoreBootPolicy.scriptFor and
// compared whole. The expected texts were captured from the policy's own former renderer (core/boot/ipxe-script.ts,
// deleted) before the core moved onto the typed templates of netboot/http/scripts/, so they pin what VMs boot today:
// kernel/initrd URLs, kernel arguments, retry, exit. The random agent token and node id are the only variables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Core } from '../../core/core.ts';
import type { BootPolicySettings } from '../../core/boot/policy.ts';
import { createNetbootSink } from '../../core/netboot-sink.ts';
import type { BootRequest } from '../../netboot/boot-policy.ts';

const log = pino({ level: 'silent' });
const RAMDISK = { kernelPath: '/files/vmlinuz-6.1.0-56-amd64', initrdPath: '/files/initrd-6.1.0-56-amd64.img' };
const BIOS_MAC = '52:54:00:00:00:01';
const UEFI_MAC = '52:54:00:00:00:02';
const BIOS_IP = '10.230.0.50';
const UEFI_IP = '10.230.0.51';

/** A core whose first two nodes PXE-booted as BIOS (arch 0) and UEFI (arch 7) clients. */
function coreWith(settings: Partial<BootPolicySettings>): Core {
  const core = new Core({ dataDir: null, logger: log });
  core.bootSettings = { serverIp: '10.230.0.1', httpPort: 8080, safeMode: false, admission: 'open', ramdisk: RAMDISK, ...settings };
  const pxe = (mac: string, arch: number): BootRequest => ({ mac, arch, vendorClass: `PXEClient:Arch:0000${arch}:UNDI:002001`, userClass: null, uuid: null, interface: 'br0' });
  assert.equal(core.policy.dhcpBoot(pxe(BIOS_MAC, 0))?.bootFile, 'undionly.kpxe');
  assert.equal(core.policy.dhcpBoot(pxe(UEFI_MAC, 7))?.bootFile, 'ipxe.efi');
  assert.equal(core.nodes.getByMac(BIOS_MAC)!.firmware, 'bios');
  assert.equal(core.nodes.getByMac(UEFI_MAC)!.firmware, 'uefi');
  // their DHCP exchanges left them at these addresses (the boot script's token goes only there)
  createNetbootSink(core)({ source: 'dhcp', kind: 'ack', mac: BIOS_MAC, ip: BIOS_IP, message: 'DHCPACK' });
  createNetbootSink(core)({ source: 'dhcp', kind: 'ack', mac: UEFI_MAC, ip: UEFI_IP, message: 'DHCPACK' });
  return core;
}

/** The script with the node's fresh token and id replaced by <TOKEN> and <NODE>; checks the token's hash was stored. */
function placeholders(core: Core, mac: string, script: string): string {
  const node = core.nodes.getByMac(mac)!;
  const token = /rackseed\.token=(\S+)/.exec(script)?.[1];
  if (token) assert.equal(core.intake.tokens.grantOf(token)?.nodeId, node.id);
  return (token ? script.split(token).join('<TOKEN>') : script).split(node.id).join('<NODE>');
}

const lines = (...l: string[]) => [...l, ''].join('\n');

/** The discovery script as captured; `base` is the HTTP base URL. */
const discovery = (base: string, mac: string, preamble: string[] = []) => lines(
  '#!ipxe',
  ...preamble,
  `echo RackSeed: discovery ramdisk for node <NODE> (${mac})`,
  `kernel ${base}/files/vmlinuz-6.1.0-56-amd64 initrd=initrd.img console=tty0 console=ttyS0,115200n8 loglevel=5 rackseed.url=${base} rackseed.token=<TOKEN> rackseed.node=<NODE> rackseed.mac=${mac} || goto retry`,
  `initrd --name initrd.img ${base}/files/initrd-6.1.0-56-amd64.img || goto retry`,
  'boot || goto retry',
  ':retry',
  'echo RackSeed: boot failed, retrying in 5 s',
  'sleep 5',
  `chain --replace ${base}/boot.ipxe?mac=${mac} || reboot`,
);

const BUNDLED = [
  'iseq ${platform} pcbios || goto discovery',
  'iseq ${netX/chip} undionly || goto discovery-bundled',
  'goto discovery',
  ':discovery-bundled',
  'echo RackSeed: chaining the bundled tftp://10.230.0.1/undionly.kpxe (this iPXE drives ${netX/chip})',
  'chain --autofree tftp://10.230.0.1/undionly.kpxe || goto discovery',
  ':discovery',
];

test('discovery script, BIOS and UEFI nodes, biosIpxe "rom" (and unset), ports 8080 and 80', () => {
  for (const biosIpxe of ['rom', undefined] as const) {
    for (const [port, base] of [[8080, 'http://10.230.0.1:8080'], [80, 'http://10.230.0.1']] as const) {
      const core = coreWith({ httpPort: port, ...(biosIpxe ? { biosIpxe } : {}) });
      assert.equal(placeholders(core, BIOS_MAC, core.policy.scriptFor({ mac: BIOS_MAC, ip: '10.230.0.50' })), discovery(base, BIOS_MAC));
      assert.equal(placeholders(core, UEFI_MAC, core.policy.scriptFor({ mac: '52-54-00-00-00-02', ip: UEFI_IP })), discovery(base, UEFI_MAC));
      // found by its address (the one its DHCP exchange left it at) when iPXE sends no ?mac=
      assert.equal(placeholders(core, BIOS_MAC, core.policy.scriptFor({ mac: null, ip: '10.230.0.50' })), discovery(base, BIOS_MAC));
      core.close();
    }
  }
});

test('discovery script, biosIpxe "bundled": the chain-to-undionly preamble, the same for BIOS and UEFI nodes (iPXE checks ${platform})', () => {
  const core = coreWith({ biosIpxe: 'bundled' });
  assert.equal(placeholders(core, BIOS_MAC, core.policy.scriptFor({ mac: BIOS_MAC, ip: BIOS_IP })), discovery('http://10.230.0.1:8080', BIOS_MAC, BUNDLED));
  assert.equal(placeholders(core, UEFI_MAC, core.policy.scriptFor({ mac: UEFI_MAC, ip: UEFI_IP })), discovery('http://10.230.0.1:8080', UEFI_MAC, BUNDLED));
  core.close();
  const core80 = coreWith({ biosIpxe: 'bundled', httpPort: 80 });
  assert.equal(placeholders(core80, BIOS_MAC, core80.policy.scriptFor({ mac: BIOS_MAC, ip: BIOS_IP })), discovery('http://10.230.0.1', BIOS_MAC, BUNDLED));
  core80.close();
});

test('local boot script: available, maintenance (sanboot of the first disk on BIOS, exit on UEFI), unknown address, safe mode', () => {
  for (const biosIpxe of ['rom', 'bundled'] as const) {
    const core = coreWith({ biosIpxe });
    const n = core.nodes.getByMac(BIOS_MAC)!;
    assert.equal(core.policy.scriptFor({ mac: null, ip: '10.230.0.99' }),
      lines('#!ipxe', 'echo RackSeed: this machine is not known by MAC (no ?mac= and no DHCP lease for its address); booting from local disk', 'exit 0'));
    core.nodes.update(n.id, { maintenance: true });
    assert.equal(placeholders(core, n.mac, core.policy.scriptFor({ mac: n.mac, ip: BIOS_IP })),
      lines('#!ipxe', 'echo RackSeed: node <NODE> is in maintenance; booting from local disk', 'sanboot --no-describe --drive 0x80 || exit 0'));
    core.nodes.update(n.id, { maintenance: false });
    core.lifecycle.transition(n.id, 'available', 'inventory');
    assert.equal(placeholders(core, n.mac, core.policy.scriptFor({ mac: n.mac, ip: BIOS_IP })),
      lines('#!ipxe', 'echo RackSeed: node <NODE> is available; booting from local disk', 'sanboot --no-describe --drive 0x80 || exit 0'));
    // a UEFI node exits to the firmware's next boot entry (UEFI has no BIOS drive numbers)
    core.nodes.update(n.id, { firmware: 'uefi' });
    assert.equal(placeholders(core, n.mac, core.policy.scriptFor({ mac: n.mac, ip: BIOS_IP })),
      lines('#!ipxe', 'echo RackSeed: node <NODE> is available; booting from local disk', 'exit 0'));
    core.bootSettings = { ...core.bootSettings, safeMode: true };
    assert.equal(core.policy.scriptFor({ mac: '52:54:00:00:00:77', ip: null }),
      lines('#!ipxe', 'echo RackSeed: this MAC made no DHCP exchange with RackSeed: only a DHCP exchange makes a node; booting from local disk', 'exit 0'));
    assert.equal(core.nodes.getByMac('52:54:00:00:00:77'), null, 'a script request makes no node (only a DHCP exchange does)');
    core.close();
  }
});

test('wait script: no ramdisk built, ports 8080 and 80, never the bundled preamble', () => {
  for (const [port, base] of [[8080, 'http://10.230.0.1:8080'], [80, 'http://10.230.0.1']] as const) {
    const core = coreWith({ httpPort: port, biosIpxe: 'bundled', ramdisk: null });
    assert.equal(core.policy.scriptFor({ mac: UEFI_MAC, ip: UEFI_IP }), lines(
      '#!ipxe',
      'echo RackSeed: the discovery ramdisk is not built yet; asking again in 10 s',
      'sleep 10',
      `chain --replace ${base}/boot.ipxe?mac=${UEFI_MAC} || exit 0`,
    ));
    assert.deepEqual(core.db.prepare('SELECT count(*) AS n FROM agent_tokens').get(), { n: 0 }, 'no token issued while waiting');
    core.close();
  }
});
