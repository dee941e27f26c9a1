// Issue 2 acceptance: real firmware PXE-boots from RackSeed alone, each path read back from RackSeed's per-MAC
// event history (GET /api/v1/events?mac=…). Runs on the virtual rack (lab/): nodes are powered through their
// ipmi_sim BMCs, one at a time, each boot with a timeout and one retry by power cycle (OVMF's own PXE
// client fails now and then, like real hardware).
//   1. OVMF, firmware PXE (virtio-net, romfile=)  → ipxe.efi/snponly.efi over TFTP → iPXE → /boot.ipxe over HTTP
//   2. SeaBIOS + QEMU's iPXE ROM (e1000)          → straight to /boot.ipxe over HTTP (no TFTP)
//   3. SeaBIOS ROM → `chain tftp://…/undionly.kpxe` typed at iPXE's command line → undionly iPXE → /boot.ipxe
//   4. proxy mode beside dnsmasq (the site's DHCP server assigns the address): SeaBIOS ROM and OVMF firmware PXE
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NET, type NodeSpec } from '../../lab/config.ts';
import { Lab, type RackNode } from '../../lab/rack.ts';
import { SerialConsole, chainFromRom } from '../../lab/serial.ts';
import { sleep } from '../../lab/processes.ts';
import type { NodeEvent } from '../../src/shared/node.ts';

const isRoot = process.getuid?.() === 0;
const BOOT_TIMEOUT_MS = 90_000;

const text = (e: NodeEvent) => JSON.stringify(e);
const isDhcpAnswer = (e: NodeEvent) => e.source === 'dhcp' && /offer|ack/.test(e.kind);
const isTftpDone = (file: RegExp) => (e: NodeEvent) => e.source === 'tftp' && /done/.test(e.kind) && file.test(text(e));
const isScript = (e: NodeEvent) => e.source === 'http' && (e.kind === 'script' || /boot\.ipxe/.test(text(e)));

async function events(lab: Lab, mac: string): Promise<NodeEvent[]> {
  return lab.api.get<NodeEvent[]>(`/api/v1/events?mac=${encodeURIComponent(mac)}&limit=500`);
}

function timeline(evs: NodeEvent[]): string {
  return evs.map((e) => `${e.source}:${e.kind}`).join(' → ');
}

/**
 * Boot `node` by PXE through its BMC and wait until `done(events)` holds. `drive` (optional) runs after each
 * power-on (typing at the console). One retry through a BMC power cycle; the node is powered off at the end.
 */
async function pxeBoot(lab: Lab, node: RackNode, done: (evs: NodeEvent[]) => boolean,
  drive?: () => Promise<void>, diag: (s: string) => void = () => {}): Promise<NodeEvent[]> {
  const mac = node.identity.mac;
  try {
    for (let attempt = 1; attempt <= 2; attempt++) {
      if (attempt === 1) lab.pxeBoot(node);
      else {
        diag(`${node.identity.name}: no complete boot within ${BOOT_TIMEOUT_MS / 1000} s; power cycle through the BMC`);
        lab.ipmitool(node, 'chassis', 'bootdev', 'pxe');
        lab.ipmitool(node, 'chassis', 'power', 'cycle');
        await sleep(2500);
      }
      const driving = drive ? drive().catch((err: Error) => diag(`${node.identity.name}: console: ${err.message}`)) : Promise.resolve();
      const end = Date.now() + BOOT_TIMEOUT_MS;
      while (Date.now() < end) {
        const evs = await events(lab, mac);
        if (done(evs)) { await driving; return evs; }
        await sleep(1000);
      }
      await driving;
    }
    const evs = await events(lab, mac);
    const con = lab.console(node).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').slice(-1500);
    throw new Error(`${node.identity.name} (${mac}) did not complete the boot path; events: ${timeline(evs)}\nconsole tail:\n${con}`);
  } finally {
    try { lab.ipmitool(node, 'chassis', 'power', 'off'); } catch { /* already off */ }
  }
}

function firstIndex(evs: NodeEvent[], p: (e: NodeEvent) => boolean): number {
  return evs.findIndex(p);
}

test('PXE paths against RackSeed alone (authoritative DHCP, TFTP, HTTP)', { skip: isRoot ? false : 'needs root', timeout: 480_000 }, async (t) => {
  const specs: NodeSpec[] = [
    { firmware: 'uefi', nic: 'virtio', pxe: 'firmware' },
    { firmware: 'bios', nic: 'e1000', pxe: 'rom' },
    { firmware: 'bios', nic: 'e1000', pxe: 'rom', serialSocket: true },
  ];
  const lab = await Lab.up({ nodes: specs, daemon: { mode: 'authoritative' } });
  try {
    const [uefi, rom, chain] = lab.nodes as [RackNode, RackNode, RackNode];
    const diag = (s: string) => t.diagnostic(s);

    await t.test('OVMF firmware PXE: ipxe.efi/snponly.efi over TFTP, then iPXE fetches /boot.ipxe over HTTP', async () => {
      const evs = await pxeBoot(lab, uefi, (e) => e.some(isTftpDone(/ipxe\.efi|snponly\.efi/)) && e.some(isScript), undefined, diag);
      const iTftp = firstIndex(evs, isTftpDone(/ipxe\.efi|snponly\.efi/));
      const iScript = firstIndex(evs, isScript);
      assert.ok(firstIndex(evs, isDhcpAnswer) >= 0, `no DHCP answer: ${timeline(evs)}`);
      assert.ok(firstIndex(evs, isDhcpAnswer) < iTftp && iTftp < iScript, `order DHCP → TFTP → HTTP: ${timeline(evs)}`);
      assert.ok(evs.some((e) => isDhcpAnswer(e) && /ipxe\.efi|snponly\.efi/.test(text(e))), `the firmware was offered an EFI iPXE: ${timeline(evs)}`);
    });

    await t.test('SeaBIOS with QEMU\'s iPXE ROM (e1000): straight to the HTTP script, no TFTP', async () => {
      const evs = await pxeBoot(lab, rom, (e) => e.some(isScript), undefined, diag);
      assert.ok(firstIndex(evs, isDhcpAnswer) >= 0 && firstIndex(evs, isDhcpAnswer) < firstIndex(evs, isScript), timeline(evs));
      assert.equal(evs.filter((e) => e.source === 'tftp').length, 0, `the ROM iPXE should not use TFTP: ${timeline(evs)}`);
      assert.ok(evs.some((e) => isDhcpAnswer(e) && /boot\.ipxe/.test(text(e))), `DHCP gave iPXE the HTTP script URL: ${timeline(evs)}`);
    });

    await t.test('undionly.kpxe over TFTP, chained from the ROM\'s command line, then the HTTP script', async () => {
      const drive = async () => {
        const con = await SerialConsole.open(join(chain.dir, 'serial.sock'));
        try { await chainFromRom(con, `tftp://${NET.provAppliance}/undionly.kpxe`); } finally { con.close(); }
      };
      const evs = await pxeBoot(lab, chain, (e) => {
        const i = firstIndex(e, isTftpDone(/undionly\.kpxe/));
        return i >= 0 && e.slice(i).some(isScript);
      }, drive, diag);
      const iTftp = firstIndex(evs, isTftpDone(/undionly\.kpxe/));
      assert.ok(evs.slice(iTftp).some(isDhcpAnswer), `undionly's iPXE asked DHCP again: ${timeline(evs)}`);
      assert.match(lab.console(chain), /undionly|UNDI/i, 'the console shows the chained undionly iPXE');
    });
  } finally {
    await lab.down();
  }
});

test('PXE in proxy mode beside dnsmasq (the site DHCP assigns addresses, RackSeed only boot info)', { skip: isRoot ? false : 'needs root', timeout: 420_000 }, async (t) => {
  const lab = await Lab.up({
    nodes: [{ firmware: 'bios', nic: 'e1000', pxe: 'rom' }, { firmware: 'uefi', nic: 'virtio', pxe: 'firmware' }],
    daemon: { mode: 'proxy' }, siteDhcp: true,
  });
  try {
    const [rom, uefi] = lab.nodes as [RackNode, RackNode];
    const diag = (s: string) => t.diagnostic(s);
    const leasedByDnsmasq = (mac: string) => {
      try { return readFileSync(join(lab.names.dir, 'dnsmasq.leases'), 'utf8').includes(mac); } catch { return false; }
    };

    await t.test('OVMF firmware PXE: address from dnsmasq, EFI iPXE over TFTP and the script from RackSeed', async () => {
      const evs = await pxeBoot(lab, uefi, (e) => e.some(isTftpDone(/ipxe\.efi|snponly\.efi/)) && e.some(isScript), undefined, diag);
      assert.ok(leasedByDnsmasq(uefi.identity.mac), 'dnsmasq leased the address');
      assert.ok(firstIndex(evs, isTftpDone(/ipxe\.efi|snponly\.efi/)) < firstIndex(evs, isScript), timeline(evs));
    });

    await t.test('SeaBIOS ROM iPXE: address from dnsmasq, boot script from RackSeed', async () => {
      const evs = await pxeBoot(lab, rom, (e) => e.some(isScript), undefined, diag);
      assert.ok(evs.some((e) => e.source === 'dhcp'), `RackSeed saw the client: ${timeline(evs)}`);
      assert.ok(leasedByDnsmasq(rom.identity.mac), 'dnsmasq leased the address');
      const con = lab.console(rom);
      assert.match(con, /net0: 10\.240\.0\.(5\d|[6-8]\d|90)\//, 'the node got its address from the site range (dnsmasq 10.240.0.50–90)');
    });

    const rep = lab.uplinkReport();
    assert.deepEqual(rep.bootReplies, [], 'nothing from RackSeed on the uplink');
  } finally {
    await lab.down();
  }
});
