// End to end: the built discovery ramdisk boots directly in QEMU (-kernel/-initrd, TCG) on a tap in a
// namespace bridge, gets an address from a real dnsmasq, POSTs its inventory to a small HTTP receiver,
// polls /agent/v1/next, and powers the VM off when told. One VM at a time: SeaBIOS + e1000, then
// OVMF (UEFI) + virtio-net.
//
// Set RACKSEED_UPDATE_FIXTURES=1 to store the posted inventories under test/fixtures/inventory/,
// RACKSEED_KEEP_E2E_WORK=1 to keep the VM consoles and logs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { NetnsSandbox, canUseNetns, ip, waitExit } from '../helpers/netns.ts';
import { buildRamdisk } from '../../agent/build/build.ts';
import { agentKernelArgs, type RamdiskManifest } from '../../agent/build/manifest.ts';
import { checkInventory, type Inventory } from '../../shared/inventory.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SUBNET = '10.231.77';
const APPLIANCE = `${SUBNET}.1`;
const PORT = 18089;
/** per VM; generous because the shared 2-core test bed runs at load 10+ (a quiet host needs ~20 s BIOS, ~35 s UEFI) */
const VM_TIMEOUT_MS = { bios: 120_000, uefi: 180_000 } as const;

/** HTTP receiver run inside the namespace (plain node, no deps). Prints one JSON line per request. */
const RECEIVER = `
import { createServer } from 'node:http';
const [port, ...tokens] = process.argv.slice(2);
const posts = new Map(); const polls = new Map();
const out = (o) => process.stdout.write(JSON.stringify({ at: Date.now(), ...o }) + '\\n');
createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : null;
    const send = (code, obj) => { res.writeHead(code, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
    out({ method: req.method, url: req.url, token, contentType: req.headers['content-type'] ?? null, body });
    if (!tokens.includes(token)) return send(401, { error: 'bad token' });
    if (req.method === 'POST' && req.url === '/agent/v1/inventory') {
      const n = (posts.get(token) ?? 0) + 1; posts.set(token, n);
      // refuse-* tokens: a permanent refusal (the agent must give up after 3 and go on polling);
      // others: the first POST fails with 503 on purpose (the agent must retry)
      if (token.startsWith('refuse-')) return send(409, { error: 'not accepted' });
      return n === 1 ? send(503, { error: 'try again' }) : send(200, { ok: true });
    }
    if (req.method === 'GET' && req.url === '/agent/v1/next') {
      const n = (polls.get(token) ?? 0) + 1; polls.set(token, n);
      return send(200, n === 1 ? { action: 'wait', seconds: 1 } : { action: 'poweroff' });
    }
    send(404, { error: 'no route' });
  });
}).listen(Number(port), '${APPLIANCE}', () => out({ listening: true }));
`;

interface Seen { at: number; method?: string; url?: string; token?: string | null; contentType?: string | null; body?: string; listening?: boolean }

const sandbox = new NetnsSandbox();
let ns = '';
let work = '';
let manifest: RamdiskManifest;
const seen: Seen[] = [];
let receiver: ChildProcess | null = null;

before(async () => {
  assert.ok(canUseNetns(), 'this e2e test needs root and iproute2 (network namespaces)');
  manifest = (await buildRamdisk()).manifest; // rebuilt when the agent or builder changed
  work = mkdtempSync(join(tmpdir(), 'rs-ramdisk-e2e-'));
  ns = sandbox.addNamespace('ramdisk');
  sandbox.addBridge(ns, 'br0', `${APPLIANCE}/24`);
  sandbox.spawn(ns, 'dnsmasq', [
    '--no-daemon', '--conf-file=/dev/null', '--no-ping', '--bind-interfaces', '--interface=br0', '--except-interface=lo',
    '--port=0', '--user=root', `--dhcp-range=${SUBNET}.50,${SUBNET}.99,255.255.255.0,2m`,
    `--pid-file=${join(work, 'dnsmasq.pid')}`, `--dhcp-leasefile=${join(work, 'dnsmasq.leases')}`,
  ], { stdio: ['ignore', 'ignore', openSync(join(work, 'dnsmasq.log'), 'w')] });
  writeFileSync(join(work, 'receiver.mjs'), RECEIVER);
  receiver = sandbox.spawn(ns, process.execPath, [join(work, 'receiver.mjs'), String(PORT), 'tok-bios-e2e', 'refuse-uefi-e2e']);
  let buf = '';
  receiver.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { seen.push(JSON.parse(buf.slice(0, i)) as Seen); buf = buf.slice(i + 1); }
  });
  await until(() => seen.some((s) => s.listening), 10_000, 'receiver did not start');
});

after(async () => {
  await sandbox.cleanup();
  // RACKSEED_KEEP_E2E_WORK=1 keeps the consoles, dnsmasq log and disks for a look afterwards
  if (work && process.env.RACKSEED_KEEP_E2E_WORK !== '1') rmSync(work, { recursive: true, force: true });
  else if (work) console.error(`kept ${work}`);
});

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Extra disks beside the virtio-blk one, each on its own controller: `name` is the kernel name expected. */
interface ExtraDisk { name: string; controller: 'ahci' | 'nvme' | 'virtio-scsi'; serial: string; mib: number; bus: 'scsi' | 'nvme' }
interface NodeSpec {
  name: string; firmware: 'bios' | 'uefi'; nic: 'e1000' | 'virtio-net-pci'; mac: string; serial: string; uuid: string;
  diskSerial: string; token: string; tap: string; extraDisks: ExtraDisk[];
  /** pass the daemon URL as rackseed.callback=<url>/agent/v1 instead of rackseed.url=<url> */
  callbackForm?: boolean;
  /** give the VM an emulated BMC (ipmi-bmc-sim on a KCS interface) with this GUID */
  bmcGuid?: string;
}

function extraDiskArgs(n: NodeSpec): string[] {
  const args: string[] = [];
  n.extraDisks.forEach((d, i) => {
    const file = join(work, `${n.name}-${d.name}.img`);
    writeFileSync(file, '');
    truncateSync(file, d.mib * 1024 * 1024);
    args.push('-drive', `file=${file},format=raw,if=none,id=x${i}`);
    if (d.controller === 'ahci') args.push('-device', `ahci,id=ahci${i}`, '-device', `ide-hd,drive=x${i},bus=ahci${i}.0,serial=${d.serial}`);
    if (d.controller === 'nvme') args.push('-device', `nvme,drive=x${i},serial=${d.serial}`);
    if (d.controller === 'virtio-scsi') args.push('-device', `virtio-scsi-pci,id=vs${i}`, '-device', `scsi-hd,drive=x${i},bus=vs${i}.0,serial=${d.serial}`);
  });
  return args;
}

/** Boot one VM, wait until it exits by itself (or time out), and return what it sent. */
async function bootNode(n: NodeSpec, log: (m: string) => void): Promise<{ posts: Seen[]; polls: Seen[]; exitCode: number | null; startedAt: number; consoleText: string }> {
  ip('-n', ns, 'tuntap', 'add', 'dev', n.tap, 'mode', 'tap');
  ip('-n', ns, 'link', 'set', n.tap, 'master', 'br0');
  ip('-n', ns, 'link', 'set', n.tap, 'up');
  const disk = join(work, `${n.name}.img`);
  writeFileSync(disk, '');
  truncateSync(disk, 64 * 1024 * 1024);
  const firmware: string[] = [];
  if (n.firmware === 'uefi') {
    const vars = join(work, `${n.name}-vars.fd`);
    copyFileSync('/usr/share/OVMF/OVMF_VARS.fd', vars);
    firmware.push('-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd',
      '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
  }
  let append = agentKernelArgs({ url: `http://${APPLIANCE}:${PORT}`, token: n.token, nodeId: n.name, mac: n.mac });
  // the other spelling the agent accepts (netboot/http/scripts/kernel-boot.ts writes it)
  if (n.callbackForm) append = append.replace(/rackseed\.url=(\S+)/, 'rackseed.callback=$1/agent/v1');
  const args = [
    '-accel', 'tcg', '-machine', 'pc', '-m', '256', '-smp', '1', '-nographic', '-monitor', 'none', '-no-reboot',
    ...firmware,
    '-kernel', manifest.kernel.path, '-initrd', manifest.initrd.path, '-append', append,
    '-netdev', `tap,id=n0,ifname=${n.tap},script=no,downscript=no`,
    '-device', `${n.nic},netdev=n0,mac=${n.mac},romfile=`,
    '-drive', `file=${disk},format=raw,if=none,id=d0`, '-device', `virtio-blk-pci,drive=d0,serial=${n.diskSerial}`,
    ...extraDiskArgs(n),
    ...(n.bmcGuid ? ['-device', `ipmi-bmc-sim,id=bmc0,guid=${n.bmcGuid},mfg_id=42,product_id=7`, '-device', 'isa-ipmi-kcs,bmc=bmc0'] : []),
    '-smbios', `type=1,manufacturer=RackSeed Lab,product=E2E Node,serial=${n.serial},uuid=${n.uuid}`,
  ];
  const console_ = createWriteStream(join(work, `${n.name}.console.log`));
  const startedAt = Date.now();
  const vm = sandbox.spawn(ns, 'qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer): void => { console_.write(d); tail = (tail + d.toString('utf8')).slice(-6000); };
  vm.stdout?.on('data', keep);
  vm.stderr?.on('data', keep);
  try {
    const exited = await waitExit(vm, VM_TIMEOUT_MS[n.firmware]);
    if (!exited) throw new Error(`${n.name}: QEMU still running after ${VM_TIMEOUT_MS[n.firmware] / 1000}s; console tail:\n${tail}`);
  } catch (err) {
    if (vm.exitCode === null && vm.pid) { try { process.kill(vm.pid, 'SIGKILL'); } catch { /* gone */ } }
    throw err;
  } finally {
    console_.end();
  }
  log(`${n.name}: QEMU exited ${vm.exitCode} after ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
  if (!console_.closed) await new Promise<void>((r) => console_.once('close', () => r()));
  const consoleText = readFileSync(join(work, `${n.name}.console.log`), 'utf8');
  const mine = seen.filter((s) => s.token === n.token);
  return {
    posts: mine.filter((s) => s.method === 'POST' && s.url === '/agent/v1/inventory'),
    polls: mine.filter((s) => s.method === 'GET' && s.url === '/agent/v1/next'),
    exitCode: vm.exitCode,
    startedAt,
    consoleText,
  };
}

/** The same GUID with its first three fields byte-swapped (RFC 4122 order ↔ SMBIOS/IPMI wire order). */
function swapGuid(g: string): string {
  const h = g.replace(/-/g, '');
  const sw = (x: string): string => x.match(/../g)!.reverse().join('');
  const o = sw(h.slice(0, 8)) + sw(h.slice(8, 12)) + sw(h.slice(12, 16)) + h.slice(16);
  return `${o.slice(0, 8)}-${o.slice(8, 12)}-${o.slice(12, 16)}-${o.slice(16, 20)}-${o.slice(20)}`;
}

function checkNode(n: NodeSpec, r: Awaited<ReturnType<typeof bootNode>>, log: (m: string) => void): Inventory {
  const refusedByServer = n.token.startsWith('refuse-');
  assert.equal(r.exitCode, 0, 'QEMU must exit by itself after the agent powers off');
  if (refusedByServer) assert.equal(r.posts.length, 3, 'after 3 refusals (409) the agent stops posting');
  else assert.equal(r.posts.length, 2, 'one retry after the 503');
  assert.ok(r.posts.every((p) => p.contentType === 'application/json'));
  assert.ok(r.posts.every((p) => p.body === r.posts[0].body), 'retries send the same inventory');
  const check = checkInventory(JSON.parse(r.posts[r.posts.length - 1].body ?? ''));
  assert.ok(check.ok, `posted inventory must validate: ${check.ok ? '' : check.errors.join('; ')}`);
  const inv = check.value;
  assert.equal(inv.bootMode, n.firmware);
  assert.equal(inv.nodeId, n.name);
  assert.equal(inv.bootMac, n.mac);
  assert.equal(inv.dmi.system.serial, n.serial);
  assert.equal(inv.dmi.system.uuid, n.uuid);
  assert.equal(inv.dmi.system.vendor, 'RackSeed Lab');
  const nic = inv.nics.find((x) => x.mac === n.mac);
  assert.ok(nic, `NIC ${n.mac} in ${JSON.stringify(inv.nics)}`);
  assert.equal(nic.driver, n.nic === 'e1000' ? 'e1000' : 'virtio_net');
  assert.match(nic.ipv4 ?? '', new RegExp(`^${SUBNET.replace(/\./g, '\\.')}\\.`));
  const vda = inv.disks.find((d) => d.name === 'vda');
  assert.ok(vda, `virtio disk in ${JSON.stringify(inv.disks)}`);
  assert.equal(vda.sizeBytes, 64 * 1024 * 1024);
  assert.equal(vda.serial, n.diskSerial);
  assert.equal(vda.bus, 'virtio');
  for (const x of n.extraDisks) {
    const d = inv.disks.find((y) => y.name === x.name);
    assert.ok(d, `${x.controller} disk ${x.name} in ${JSON.stringify(inv.disks)}`);
    assert.equal(d.sizeBytes, x.mib * 1024 * 1024, `${x.name} size`);
    assert.equal(d.serial, x.serial, `${x.name} serial`);
    assert.equal(d.bus, x.bus);
    assert.ok(d.model, `${x.name} has a model`);
  }
  assert.equal(inv.disks.length, 1 + n.extraDisks.length, 'no CD-ROM, loop or RAM disks in the list');
  if (n.bmcGuid) {
    assert.ok(inv.bmc, 'in-band BMC found through ipmi_si');
    // IPMI GUIDs travel with the first three fields little-endian; the kernel prints the bytes as they came
    assert.ok(inv.bmc.guid === n.bmcGuid || inv.bmc.guid === swapGuid(n.bmcGuid), `BMC GUID ${inv.bmc.guid} vs ${n.bmcGuid}`);
    assert.equal(inv.bmc.ipmiVersion, '2.0');
  } else {
    assert.equal(inv.bmc, null);
  }
  assert.equal(inv.cpu.threads, 1);
  assert.ok((inv.memory.totalBytes ?? 0) >= 200 * 1024 * 1024 && (inv.memory.totalBytes ?? 0) <= 256 * 1024 * 1024,
    `memory ${inv.memory.totalBytes}`);
  assert.equal(inv.kernel, manifest.kernelVersion);
  // the serial console shows the agent's progress; the DHCP router became the default route
  assert.match(r.consoleText, new RegExp(`rackseed-agent: \\[[0-9.]+s\\] eth0 has ${inv.nics[0].ipv4}; routes: default via ${APPLIANCE} dev eth0`));
  assert.match(r.consoleText, /rackseed-agent: \[[0-9.]+s\] powering off/);
  assert.ok(r.consoleText.indexOf('rackseed-init:') > 0, 'the ramdisk init reported on the console');
  assert.ok(!r.consoleText.includes(n.token), 'the token is never on the serial console: not from the agent, and the kernel does not echo its command line (loglevel=5)');
  // poll → wait 1 s → poll → poweroff
  assert.equal(r.polls.length, 2, `polls: ${r.polls.length}`);
  assert.ok(r.polls[1].at - r.polls[0].at >= 900, 'the agent must honour wait.seconds');
  assert.ok(r.polls[0].at >= r.posts[r.posts.length - 1].at, 'polling starts after the last POST');
  log(`${n.name}: QEMU start → first POST ${((r.posts[0].at - r.startedAt) / 1000).toFixed(1)}s, ` +
    `→ last POST ${((r.posts[r.posts.length - 1].at - r.startedAt) / 1000).toFixed(1)}s (${r.posts.length} POSTs)`);
  if (process.env.RACKSEED_UPDATE_FIXTURES === '1') {
    const dir = join(REPO, 'test', 'fixtures', 'inventory');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `qemu-${n.firmware}-${n.nic === 'e1000' ? 'e1000' : 'virtio'}.json`), `${JSON.stringify(inv, null, 2)}\n`);
  }
  return inv;
}

test('SeaBIOS + e1000 (virtio-blk, AHCI, NVMe disks, KCS BMC): inventory posted with the right identity, then powered off on command', { timeout: VM_TIMEOUT_MS.bios + 30_000 }, async (t) => {
  const n: NodeSpec = {
    name: 'bios-e1000', firmware: 'bios', nic: 'e1000', mac: '52:54:00:e2:e0:01', serial: 'RS-E2E-BIOS-0001',
    uuid: '7d3c1a2b-4e5f-4a6b-8c7d-0e1f2a3b4c01', diskSerial: 'RSDISKB01', token: 'tok-bios-e2e', tap: 'tapb0',
    extraDisks: [
      { name: 'sda', controller: 'ahci', serial: 'SATA-B-0001', mib: 48, bus: 'scsi' },
      { name: 'nvme0n1', controller: 'nvme', serial: 'NVME-B-0001', mib: 32, bus: 'nvme' },
    ],
    bmcGuid: '5a0e7c11-2b3d-4e5f-8a9b-0c1d2e3f4a5b',
  };
  const r = await bootNode(n, (m) => t.diagnostic(m));
  checkNode(n, r, (m) => t.diagnostic(m));
});

test('OVMF (UEFI) + virtio-net (virtio-blk, virtio-scsi disks): boot mode uefi; a refused inventory is given up after 3 tries', { timeout: VM_TIMEOUT_MS.uefi + 30_000 }, async (t) => {
  const n: NodeSpec = {
    name: 'uefi-virtio', firmware: 'uefi', nic: 'virtio-net-pci', mac: '52:54:00:e2:e0:02', serial: 'RS-E2E-UEFI-0002',
    uuid: '7d3c1a2b-4e5f-4a6b-8c7d-0e1f2a3b4c02', diskSerial: 'RSDISKU02', token: 'refuse-uefi-e2e', tap: 'tapu0',
    extraDisks: [{ name: 'sda', controller: 'virtio-scsi', serial: 'VSCSI-U-0002', mib: 40, bus: 'scsi' }],
    callbackForm: true,
  };
  const r = await bootNode(n, (m) => t.diagnostic(m));
  checkNode(n, r, (m) => t.diagnostic(m));
});
