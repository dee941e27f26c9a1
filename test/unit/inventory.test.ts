// The inventory schema against real agent output: the agent's collector (agent/ramdisk/inventory.sh)
// run by busybox sh on this host and on a synthetic sysfs full of hostile strings, plus the inventory a
// QEMU node posted in the e2e test (test/fixtures/inventory/). Oversized and malformed variants must fail.
// Also the agent's side of the protocol: its kernel arguments and the commands it understands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { AgentCommandSchema, checkInventory, INVENTORY_MAX_BYTES, INVENTORY_MAX_DISKS, totalDiskBytes, type Inventory } from '../../shared/inventory.ts';
import { agentKernelArgs } from '../../agent/build/manifest.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COLLECTOR = join(REPO, 'agent', 'ramdisk', 'inventory.sh');
const BUSYBOX = '/bin/busybox';

function collect(env: Record<string, string>): string {
  return execFileSync(BUSYBOX, ['sh', COLLECTOR], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
}

function mustPass(body: unknown): Inventory {
  const r = checkInventory(body);
  assert.ok(r.ok, `expected valid inventory, got: ${r.ok ? '' : r.errors.join('; ')}`);
  return r.value;
}

function mustFail(body: unknown, why: string): void {
  const r = checkInventory(body);
  assert.equal(r.ok, false, `expected rejection: ${why}`);
  if (!r.ok) assert.ok(r.errors.length > 0 && r.errors.length <= 10);
}

test('the collector run on this host produces a valid inventory', () => {
  const out = collect({ RACKSEED_BOOT_MAC: '52:54:00:AB:CD:EF', RACKSEED_NODE: 'n-123', RACKSEED_AGENT_VERSION: '1' });
  const inv = mustPass(JSON.parse(out));
  assert.equal(inv.bootMac, '52:54:00:ab:cd:ef');
  assert.ok('bmc' in inv, 'the bmc key is always present (null without an in-band BMC)');
  assert.equal(inv.nodeId, 'n-123');
  assert.ok((inv.cpu.threads ?? 0) >= 1);
  assert.ok((inv.memory.totalBytes ?? 0) > 64 * 1024 * 1024);
  assert.ok(Buffer.byteLength(out) < INVENTORY_MAX_BYTES);
});

/** A fake /sys and /proc whose strings need every kind of escaping. */
function hostileTree(): { sys: string; proc: string; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'rs-inv-'));
  const sys = join(root, 'sys');
  const proc = join(root, 'proc');
  const put = (p: string, content: string | Buffer): void => {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  };
  put(join(proc, 'cpuinfo'), 'processor\t: 0\nmodel name\t: Evil "CPU" \\ v2 @ 3.00GHz\ncpu MHz\t\t: 2999.998\n\nprocessor\t: 1\nmodel name\t: Evil "CPU" \\ v2 @ 3.00GHz\n');
  put(join(proc, 'meminfo'), 'MemTotal:        4030464 kB\nMemFree: 1 kB\n');
  for (const [cpu, pkg, core] of [[0, 0, 0], [1, 0, 0], [2, 1, 0], [3, 1, 1]]) {
    put(join(sys, `devices/system/cpu/cpu${cpu}/topology/physical_package_id`), `${pkg}\n`);
    put(join(sys, `devices/system/cpu/cpu${cpu}/topology/core_id`), `${core}\n`);
  }
  put(join(sys, 'devices/system/memory/block_size_bytes'), '8000000\n');
  for (let i = 0; i < 32; i++) put(join(sys, `devices/system/memory/memory${i}/online`), i < 31 ? '1\n' : '0\n');
  const dmi = join(sys, 'class/dmi/id');
  put(join(dmi, 'product_serial'), 'SER"1\\2\tX\u0001\u001f\u007fZ\n');
  put(join(dmi, 'product_uuid'), '4C4C4544-0042-3510-8054-B4C04F565431\n');
  put(join(dmi, 'sys_vendor'), `${'V'.repeat(1000)}\n`);
  put(join(dmi, 'product_name'), '   \n');
  put(join(dmi, 'chassis_type'), '23\n');
  put(join(dmi, 'board_serial'), Buffer.from([0x41, 0x00, 0x42, 0x0a]));
  put(join(sys, 'block/sda/size'), '3907029168\n');
  put(join(sys, 'block/sda/device/model'), 'ST2000NM "Quoted"\n');
  put(join(sys, 'block/sda/device/vendor'), 'ATA     \n');
  put(join(sys, 'block/sda/device/vpd_pg80'), Buffer.concat([Buffer.from([0, 0x80, 0, 8]), Buffer.from('ZC1234AB')]));
  put(join(sys, 'block/sda/device/wwid'), 'naa.5000c500a1b2c3d4\n');
  put(join(sys, 'block/sda/queue/rotational'), '1\n');
  put(join(sys, 'block/loop0/size'), '0\n');
  put(join(sys, 'block/nvme0n1/size'), '1875385008\n');
  put(join(sys, 'block/nvme0n1/wwid'), 'eui.0025388b91b2a1c3\n');
  put(join(sys, 'block/nvme0n1/device/model'), 'SAMSUNG MZQL2960HCJR-00A07\n');
  put(join(sys, 'block/nvme0n1/device/serial'), 'S64FNE0R123456\n');
  put(join(sys, 'block/nvme0n1/queue/rotational'), '0\n');
  mkdirSync(join(sys, 'bus/pci/drivers/ixgbe'), { recursive: true });
  put(join(sys, 'class/net/eth0/address'), '3C:FD:FE:00:11:22\n'.toLowerCase());
  put(join(sys, 'class/net/eth0/carrier'), '1\n');
  put(join(sys, 'class/net/eth0/speed'), '10000\n');
  mkdirSync(join(sys, 'class/net/eth0/device'), { recursive: true });
  symlinkSync(join(sys, 'bus/pci/drivers/ixgbe'), join(sys, 'class/net/eth0/device/driver'));
  put(join(sys, 'class/net/eth1/address'), '3c:fd:fe:00:11:23\n');
  put(join(sys, 'class/net/eth1/speed'), '-1\n');
  mkdirSync(join(sys, 'class/net/eth1/device'), { recursive: true });
  put(join(sys, 'class/net/br0/address'), '3c:fd:fe:00:11:24\n'); // virtual: no device link
  mkdirSync(join(sys, 'firmware/efi'), { recursive: true });
  put(join(sys, 'bus/platform/devices/ipmi_bmc.0/guid'), 'A0B1C2D3-E4F5-4607-8819-2A3B4C5D6E7F\n');
  put(join(sys, 'bus/platform/devices/ipmi_bmc.0/ipmi_version'), '2.0\n');
  put(join(sys, 'bus/platform/devices/ipmi_bmc.0/manufacturer_id'), '0x002a7c\n');
  put(join(sys, 'bus/platform/devices/ipmi_bmc.0/product_id'), '0x0b40 (2880)\n');
  return { sys, proc, root };
}

test('the collector escapes hostile sysfs strings into JSON that validates', () => {
  const t = hostileTree();
  try {
    const out = collect({ RACKSEED_SYSFS: t.sys, RACKSEED_PROCFS: t.proc, RACKSEED_BOOT_MAC: '3c-fd-fe-00-11-22' });
    const inv = mustPass(JSON.parse(out));
    assert.equal(inv.bootMode, 'uefi');
    assert.equal(inv.cpu.model, 'Evil "CPU" \\ v2 @ 3.00GHz');
    assert.deepEqual([inv.cpu.sockets, inv.cpu.cores, inv.cpu.threads, inv.cpu.mhz], [2, 3, 4, 2999]);
    assert.equal(inv.memory.totalBytes, 31 * 0x8000000);
    assert.equal(inv.memory.usableBytes, 4030464 * 1024);
    assert.equal(inv.dmi.system.serial, 'SER"1\\2 XZ'); // tab → space, control characters dropped
    assert.equal(inv.dmi.system.uuid, '4c4c4544-0042-3510-8054-b4c04f565431');
    assert.equal(inv.dmi.system.vendor, 'V'.repeat(256));
    assert.equal(inv.dmi.system.product, null);
    assert.equal(inv.dmi.board.serial, 'AB');
    assert.equal(inv.dmi.chassis.type, 23);
    assert.deepEqual(inv.disks.map((d) => d.name), ['nvme0n1', 'sda']);
    const sda = inv.disks.find((d) => d.name === 'sda');
    assert.deepEqual(sda, {
      name: 'sda', sizeBytes: 3907029168 * 512, model: 'ST2000NM "Quoted"', vendor: 'ATA', serial: 'ZC1234AB',
      wwn: 'naa.5000c500a1b2c3d4', rotational: true, bus: 'scsi',
    });
    const nvme = inv.disks.find((d) => d.name === 'nvme0n1');
    assert.equal(nvme?.serial, 'S64FNE0R123456');
    assert.equal(nvme?.rotational, false);
    assert.equal(totalDiskBytes(inv), (3907029168 + 1875385008) * 512);
    assert.deepEqual(inv.nics.map((n) => [n.name, n.mac, n.driver, n.link, n.speedMbps]), [
      ['eth0', '3c:fd:fe:00:11:22', 'ixgbe', true, 10000],
      ['eth1', '3c:fd:fe:00:11:23', null, null, null],
    ]);
    assert.equal(inv.bootMac, '3c:fd:fe:00:11:22');
    assert.deepEqual(inv.bmc, {
      guid: 'a0b1c2d3-e4f5-4607-8819-2a3b4c5d6e7f', ipmiVersion: '2.0', manufacturerId: '0x002a7c', productId: '0x0b40 (2880)', firmwareRevision: null,
    });
  } finally {
    rmSync(t.root, { recursive: true, force: true });
  }
});

test('the inventories QEMU nodes posted (e2e fixtures) validate', () => {
  for (const [file, mode] of [['qemu-bios-e1000.json', 'bios'], ['qemu-uefi-virtio.json', 'uefi']] as const) {
    const inv = mustPass(JSON.parse(readFileSync(join(REPO, 'test/fixtures/inventory', file), 'utf8')));
    assert.equal(inv.bootMode, mode);
    assert.ok(inv.disks.length >= 2 && inv.nics.length >= 1 && inv.dmi.system.serial && inv.dmi.system.uuid);
  }
  // an inventory from before the bmc field was added still validates
  const old = JSON.parse(readFileSync(join(REPO, 'test/fixtures/inventory/qemu-bios-e1000.json'), 'utf8'));
  delete old.bmc;
  mustPass(old);
});

test('malformed and oversized inventories are refused', () => {
  const base = JSON.parse(collect({ RACKSEED_BOOT_MAC: '52:54:00:00:00:01' })) as Record<string, any>;
  mustPass(base);
  const variant = (f: (v: any) => void): unknown => { const v = structuredClone(base); f(v); return v; };
  mustFail(null, 'null body');
  mustFail([], 'array body');
  mustFail('{}', 'string body');
  mustFail({}, 'empty object');
  mustFail(variant((v) => { delete v.cpu; }), 'missing cpu');
  mustFail(variant((v) => { v.schemaVersion = 2; }), 'unknown schema version');
  mustFail(variant((v) => { v.bootMode = 'efi'; }), 'bad boot mode');
  mustFail(variant((v) => { v.extra = 1; }), 'unknown top-level property');
  mustFail(variant((v) => { v.cpu.threads = -1; }), 'negative count');
  mustFail(variant((v) => { v.cpu.threads = 1.5; }), 'fractional count');
  mustFail(variant((v) => { v.memory.totalBytes = '1024'; }), 'number as string');
  mustFail(variant((v) => { v.bootMac = '52:54:00:00:00:0G'; }), 'bad MAC');
  mustFail(variant((v) => { v.bootMac = '52-54-00-00-00-01'; }), 'MAC in dash form');
  mustFail(variant((v) => { v.dmi.system.serial = 'x'.repeat(257); }), 'oversized string');
  mustFail(variant((v) => { v.dmi.system.uuid = 'u'.repeat(65); }), 'oversized uuid');
  mustFail(variant((v) => { v.kernel = { toString: 1 }; }), 'object where a string belongs');
  const disk = { name: 'sda', sizeBytes: 1, model: null, vendor: null, serial: null, wwn: null, rotational: null, bus: null };
  mustPass(variant((v) => { v.disks = Array.from({ length: INVENTORY_MAX_DISKS }, (_, i) => ({ ...disk, name: `sd${i}` })); }));
  mustFail(variant((v) => { v.disks = Array.from({ length: INVENTORY_MAX_DISKS + 1 }, () => disk); }), 'too many disks');
  mustFail(variant((v) => { v.disks = [{ ...disk, sizeBytes: 2 ** 60 }]; }), 'size beyond 2^53');
  mustFail(variant((v) => { v.disks = [{ ...disk, bus: 'usb' }]; }), 'unknown bus');
  mustFail(variant((v) => { v.disks = [{ ...disk, secret: 'x' }]; }), 'unknown disk property');
  mustFail(variant((v) => { v.nics = [{ name: 'x'.repeat(17), mac: null, driver: null, link: null, speedMbps: null, ipv4: null }]; }), 'long NIC name');
  mustFail(variant((v) => { v.nics = [{ name: 'eth0', mac: null, driver: null, link: null, speedMbps: null, ipv4: '1.2.3.4; rm' }]; }), 'bad IPv4');
  const bmc = { guid: null, ipmiVersion: null, manufacturerId: null, productId: null, firmwareRevision: null };
  mustPass(variant((v) => { v.bmc = bmc; }));
  mustFail(variant((v) => { v.bmc = { ...bmc, guid: 'g'.repeat(65) }; }), 'oversized BMC GUID');
  mustFail(variant((v) => { v.bmc = { ...bmc, lanIp: '10.0.0.1' }; }), 'unknown BMC property');
});

test('agent kernel arguments: console first, parameters the agent parses, no whitespace smuggling', () => {
  const args = agentKernelArgs({ url: 'http://10.230.0.1:8080/', token: 'tok_ABC-123', nodeId: 'n-1', mac: '${net0/mac}', extra: 'quiet' });
  assert.equal(args, 'console=tty0 console=ttyS0,115200n8 loglevel=5 rackseed.url=http://10.230.0.1:8080 rackseed.token=tok_ABC-123 ' +
    'rackseed.node=n-1 rackseed.mac=${net0/mac} quiet');
  assert.throws(() => agentKernelArgs({ url: 'http://x', token: 'a b' }), /whitespace/);
  assert.throws(() => agentKernelArgs({ url: 'http://x', token: '' }), /token/);
  assert.throws(() => agentKernelArgs({ url: 'http://x', token: 't', nodeId: 'n\n1' }), /whitespace/);
});

test('agent commands: what the daemon may answer on /agent/v1/next', () => {
  for (const ok of [{ action: 'poweroff' }, { action: 'reboot' }, { action: 'wait' }, { action: 'wait', seconds: 5 }]) {
    assert.ok(Value.Check(AgentCommandSchema, ok), JSON.stringify(ok));
  }
  for (const bad of [{ action: 'shutdown' }, { action: 'wait', seconds: 0 }, { action: 'wait', seconds: 3601 }, { action: 'poweroff', x: 1 }, {}]) {
    assert.equal(Value.Check(AgentCommandSchema, bad), false, JSON.stringify(bad));
  }
});
