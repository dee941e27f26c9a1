// Golden tests over REAL captures (test/fixtures/dhcp/capture.sh: udhcpc, dhclient, dhcpcd, QEMU iPXE ROM,
// OVMF PXE, with dnsmasq answering). Each *.bin decodes to its *.txt snapshot and round-trips.
// Regenerate the snapshots with UPDATE_GOLDEN=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePacket, describePacket, packetMac, DhcpMessageType } from '../../netboot/dhcp/index.ts';
import { clientArch, isIpxeClient, isNetbootClient, isPxeClient } from '../../netboot/dhcp/netboot-client.ts';
import { assertBytesRoundTrip } from '../fixtures/dhcp/round-trip.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/dhcp');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();
const update = process.env.UPDATE_GOLDEN === '1';
/** capture.sh starts QEMU with -smbios type=1,uuid=… this */
const QEMU_UUID = '12345678-9abc-def0-1122-334455667788';
const load = (name: string) => decodePacket(readFileSync(join(dir, name)));

test('there are captures from every real client', () => {
  for (const client of ['udhcpc', 'dhclient', 'dhcpcd', 'ipxe-bios', 'ipxe-efi', 'ovmf-pxe']) {
    assert.ok(fixtures.some((f) => f.startsWith(`${client}-`) && f.endsWith('-discover.bin')), `a DISCOVER from ${client}`);
  }
});

for (const name of fixtures) {
  test(`golden: ${name} decodes to its snapshot and round-trips`, () => {
    const raw = readFileSync(join(dir, name));
    const p = assertBytesRoundTrip(raw);
    const text = describePacket(p);
    const snap = join(dir, name.replace(/\.bin$/, '.txt'));
    if (update || !existsSync(snap)) {
      assert.ok(update, `snapshot ${snap} missing: run with UPDATE_GOLDEN=1`);
      writeFileSync(snap, text);
    }
    assert.equal(text, readFileSync(snap, 'utf8'));
  });
}

test('iPXE ROM DISCOVER: PXE client, arch 0, user class iPXE', () => {
  const p = load('ipxe-bios-01-discover.bin');
  assert.equal(p.options.messageType, DhcpMessageType.DISCOVER);
  assert.equal(packetMac(p), '52:54:00:aa:00:02');
  assert.ok(isPxeClient(p));
  assert.ok(isIpxeClient(p));
  assert.equal(clientArch(p), 0);
  assert.deepEqual(p.options.userClasses, ['iPXE']);
  assert.equal(p.options.vendorClass?.startsWith('PXEClient:Arch:00000'), true);
});

test('OVMF PXE DISCOVER: arch 7, NDI, UUID, not iPXE', () => {
  const p = load('ovmf-pxe-01-discover.bin');
  assert.equal(packetMac(p), '52:54:00:aa:00:03');
  assert.ok(isPxeClient(p));
  assert.ok(!isIpxeClient(p));
  assert.equal(clientArch(p), 7);
  assert.equal(p.options.clientNdi?.type, 1);
  assert.equal(p.options.clientUuid, QEMU_UUID, 'option 97 read in SMBIOS byte order gives the UUID QEMU was given');
});

test('iPXE (BIOS and EFI builds) sends the same option 97 bytes as OVMF', () => {
  assert.equal(load('ipxe-bios-01-discover.bin').options.clientUuid, QEMU_UUID);
  const efi = load('ipxe-efi-01-discover.bin');
  assert.equal(efi.options.clientUuid, QEMU_UUID);
  assert.equal(clientArch(efi), 7);
  assert.ok(isIpxeClient(efi));
});

test('plain clients are not netboot clients', () => {
  for (const c of ['udhcpc', 'dhclient', 'dhcpcd']) assert.ok(!isNetbootClient(load(`${c}-01-discover.bin`)), c);
});

test('dnsmasq OFFER to iPXE carries our expected server fields', () => {
  const p = load('ipxe-bios-02-offer.bin');
  assert.equal(p.options.messageType, DhcpMessageType.OFFER);
  assert.equal(p.options.serverId, '10.239.0.1');
  assert.equal(p.options.bootfileName, 'undionly.kpxe');
  assert.equal(p.siaddr, '10.239.0.1');
});
