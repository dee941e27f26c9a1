// A valid discovery inventory (shared/inventory.ts) for core and API tests.
import type { Inventory } from '../../shared/inventory.ts';

export function inventoryFor(mac: string, nodeId: string | null, uuid: string, serial = 'SN-1'): Inventory {
  return {
    schemaVersion: 1, agentVersion: '1', nodeId, bootMac: mac, bootMode: 'uefi', kernel: '6.1.0-test',
    cpu: { model: 'QEMU Virtual CPU', arch: 'x86_64', sockets: 1, cores: 1, threads: 1, mhz: 2000 },
    memory: { totalBytes: 512 * 1048576, usableBytes: 480 * 1048576 },
    disks: [{ name: 'vda', sizeBytes: 8 * 1073741824, model: null, vendor: '0x1af4', serial: 'D1', wwn: null, rotational: true, bus: 'virtio' }],
    nics: [{ name: 'eth0', mac, driver: 'virtio_net', link: true, speedMbps: null, ipv4: '10.230.0.50' }],
    dmi: {
      system: { vendor: 'QEMU', product: 'Standard PC', version: null, serial, uuid, sku: null, family: null },
      board: { vendor: null, product: null, version: null, serial: null, assetTag: null },
      chassis: { vendor: 'QEMU', type: 1, version: null, serial: null, assetTag: null },
      bios: { vendor: 'EFI Development Kit II / OVMF', version: '0.0.0', date: '02/06/2015' },
    },
  };
}
