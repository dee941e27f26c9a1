// Issue 2 acceptance: real firmware PXE-boots from RackSeed alone, each path read back from RackSeed's per-MAC
// event history (GET /api/v1/events?mac=…). Runs on the virtual rack (lab/): nodes are powered through their
// ipmi_sim BMCs, one at a time, each boot with a timeout and one retry by power cycle (OVMF's own PXE
// client fails now and then, like real hardware).
//   1. OVMF, firmware PXE (virtio-net, romfile=)  → ipxe.efi/snponly.efi over TFTP → iPXE → /boot.ipxe over HTTP
//   2. SeaBIOS + QEMU's iPXE ROM (e1000)          → straight to /boot.ipxe over HTTP (no TFTP)
//   3. `--bios-ipxe bundled`: SeaBIOS ROM iPXE → /boot.ipxe, whose first lines chain tftp://…/undionly.kpxe (the
//      ROM's iPXE is not ours) → undionly iPXE (${netX/chip} = undionly) → /boot.ipxe again → the discovery kernel
//   4. proxy mode beside dnsmasq (the site's DHCP server assigns the address): SeaBIOS ROM and OVMF firmware PXE,
//      each with its whole DHCP → (TFTP →) HTTP history under its MAC (no lease of ours maps ip → mac there). Proxy
//      mode boots only allowed machines (the test powers them on with ipmitool, not through RackSeed), so their MACs
//      are allowed first, as the engineer would; an unknown one is left alone (test/e2e/proxy-admission.test.ts).
// The daemon of the first lab starts with `--bios-ipxe bundled`; path 2 switches it back to "rom" through
// PUT /api/v1/config/network (the same setting as a config field).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NET, type NodeSpec } from '../../lab/config.ts';
import { Lab, type RackNode } from '../../lab/rack.ts';
import { sleep } from '../../lab/processes.ts';
import type { NodeEvent, NodeSummary } from '../../shared/node.ts';
import type { NetworkConfig, ServicesStatus } from '../../shared/api.ts';

const isRoot = process.getuid?.() === 0;
const BOOT_TIMEOUT_MS = 90_000;

const text = (e: NodeEvent) => JSON.stringify(e);
const isDhcpAnswer = (e: NodeEvent) => e.source === 'dhcp' && /offer|ack/.test(e.kind);
const isTftpDone = (file: RegExp) => (e: NodeEvent) => e.source === 'tftp' && /done/.test(e.kind) && file.test(text(e));
const isScript = (e: NodeEvent) => e.source === 'http' && (e.kind === 'script' || /boot\.ipxe/.test(text(e)));
const isKernelDownload = (e: NodeEvent) => e.source === 'http' && e.kind === 'download' && /files\/vmlinuz/.test(text(e));
const isUndionlyDone = isTftpDone(/undionly\.kpxe/);

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
    { firmware: 'bios', nic: 'e1000', pxe: 'rom' },
  ];
  const lab = await Lab.up({ nodes: specs, daemon: { mode: 'authoritative', extraArgs: ['--bios-ipxe', 'bundled'] } });
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

    await t.test('--bios-ipxe bundled: the ROM\'s iPXE chains TFTP undionly.kpxe from the script, which then boots discovery', async () => {
      // done once the kernel is fetched after the chained iPXE's script: a chip check that failed to recognise
      // undionly would chain it again and again and never get there
      const evs = await pxeBoot(lab, chain, (e) => {
        const i = firstIndex(e, isUndionlyDone);
        if (i < 0) return false;
        const j = e.findIndex((x, k) => k > i && isScript(x));
        return j > 0 && e.slice(j).some(isKernelDownload);
      }, undefined, diag);
      const iTftp = firstIndex(evs, isUndionlyDone);
      assert.ok(firstIndex(evs, isDhcpAnswer) < firstIndex(evs, isScript) && firstIndex(evs, isScript) < iTftp,
        `the ROM's iPXE fetched the script before TFTP: ${timeline(evs)}`);
      assert.ok(evs.slice(iTftp).some(isDhcpAnswer), `undionly's iPXE asked DHCP again: ${timeline(evs)}`);
      assert.ok(!evs.slice(0, iTftp).some(isKernelDownload), `the ROM's iPXE did not boot the kernel itself: ${timeline(evs)}`);
      const iKernel = evs.findIndex((x, k) => k > iTftp && isKernelDownload(x));
      assert.ok(!evs.slice(iTftp + 1, iKernel).some((e) => e.source === 'tftp' && /undionly/.test(text(e))),
        `undionly's iPXE went on to the kernel without chaining itself again: ${timeline(evs)}`);
      assert.match(lab.console(chain), new RegExp(`RackSeed: chaining the bundled tftp://${NET.provAppliance.replace(/\./g, '\\.')}/undionly\\.kpxe`),
        'the ROM\'s iPXE ran the chain lines');
    });

    await t.test('SeaBIOS with QEMU\'s iPXE ROM (e1000), --bios-ipxe switched to "rom" by config: straight to the HTTP script, no TFTP', async () => {
      const cfg = await lab.api.get<NetworkConfig>('/api/v1/config');
      const st = await lab.api.put<ServicesStatus>('/api/v1/config/network', { ...cfg, biosIpxe: 'rom' });
      assert.equal(st.config?.biosIpxe, 'rom');
      assert.ok(st.dhcp.running && st.tftp.running && st.http.running, `services restarted: ${JSON.stringify(st)}`);
      const evs = await pxeBoot(lab, rom, (e) => e.some(isScript) && e.some(isKernelDownload), undefined, diag);
      assert.ok(firstIndex(evs, isDhcpAnswer) >= 0 && firstIndex(evs, isDhcpAnswer) < firstIndex(evs, isScript), timeline(evs));
      assert.equal(evs.filter((e) => e.source === 'tftp').length, 0, `the ROM iPXE should not use TFTP: ${timeline(evs)}`);
      assert.ok(evs.some((e) => isDhcpAnswer(e) && /boot\.ipxe/.test(text(e))), `DHCP gave iPXE the HTTP script URL: ${timeline(evs)}`);
      assert.doesNotMatch(lab.console(rom), /chaining the bundled/, 'no chain lines in "rom" mode');
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
    // only allowed machines boot beside the site's DHCP: allow these two, as the engineer would
    const allowed = await lab.api.post<NodeSummary[]>('/api/v1/nodes/allow', { macs: [rom.identity.mac, uefi.identity.mac] });
    assert.deepEqual(allowed.map((n) => n.state), ['discovered', 'discovered']);
    const leasedByDnsmasq = (mac: string) => {
      try { return readFileSync(join(lab.names.dir, 'dnsmasq.leases'), 'utf8').includes(mac); } catch { return false; }
    };

    await t.test('OVMF firmware PXE: address from dnsmasq, EFI iPXE over TFTP and the script from RackSeed', async () => {
      const evs = await pxeBoot(lab, uefi, (e) => e.some(isTftpDone(/ipxe\.efi|snponly\.efi/)) && e.some(isScript), undefined, diag);
      assert.ok(leasedByDnsmasq(uefi.identity.mac), 'dnsmasq leased the address');
      // the per-MAC history holds DHCP → TFTP → HTTP although no lease of ours maps the TFTP client's address
      const iDhcp = firstIndex(evs, (e) => e.source === 'dhcp' && /^proxy-/.test(e.kind));
      const iTftp = firstIndex(evs, isTftpDone(/ipxe\.efi|snponly\.efi/));
      assert.ok(iDhcp >= 0 && iDhcp < iTftp && iTftp < firstIndex(evs, isScript), `order DHCP → TFTP → HTTP: ${timeline(evs)}`);
      assert.ok(evs.some((e) => e.source === 'dhcp' && /offer|ack/.test(e.kind) && /ipxe\.efi|snponly\.efi/.test(text(e))), `RackSeed's proxy reply named the EFI iPXE: ${timeline(evs)}`);
    });

    await t.test('SeaBIOS ROM iPXE: address from dnsmasq, boot script from RackSeed', async () => {
      const evs = await pxeBoot(lab, rom, (e) => e.some(isScript) && e.some(isKernelDownload), undefined, diag);
      const iDhcp = firstIndex(evs, (e) => e.source === 'dhcp' && /^proxy-/.test(e.kind));
      assert.ok(iDhcp >= 0 && iDhcp < firstIndex(evs, isScript) && firstIndex(evs, isScript) < firstIndex(evs, isKernelDownload),
        `order DHCP → HTTP script → kernel under the MAC: ${timeline(evs)}`);
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
