// The Ironic node a RackSeed node becomes (pure): `POST /v1/nodes` body and the ports, from a HandoffNode. Shared by
// the hand-off (enroll through the API) and the `ironic` export (the file `openstack baremetal create` reads).
//   driver ipmi; driver_info ipmi_address/ipmi_port/ipmi_username/ipmi_password/ipmi_cipher_suite/ipmi_protocol_version
//   properties cpus, memory_mb, local_gb, cpu_arch, capabilities "boot_mode:uefi|bios", root_device
//   extra rackseed_id, serial, system_uuid (SMBIOS)
//   a port per MAC, pxe_enabled only on the boot MAC
import type { HandoffNode } from '../model.ts';

export interface IronicPortSpec { address: string; pxe_enabled: boolean }

export interface IronicNodeSpec {
  name: string;
  driver: 'ipmi';
  driver_info: Record<string, string | number>;
  properties: Record<string, unknown>;
  extra: Record<string, string>;
}

/** Ironic's root_device hint: the disk's serial or WWN when known (stable across reboots), else its kernel name. */
export function rootDeviceHint(h: HandoffNode): Record<string, string> | null {
  const d = h.rootDevice;
  if (!d) return null;
  if (d.serial) return { serial: d.serial };
  if (d.wwn) return { wwn: d.wwn };
  return { name: d.name };
}

/**
 * The node body. `password`: the BMC password to put in driver_info (omitted when undefined: an export without
 * secrets). Throws when the node has no BMC (nothing for Ironic to drive).
 */
export function ironicNodeSpec(h: HandoffNode): IronicNodeSpec {
  if (!h.bmc) throw new Error(`node ${h.id} has no BMC: Ironic could not power it`);
  const driverInfo: Record<string, string | number> = {
    ipmi_address: h.bmc.host,
    ipmi_port: h.bmc.port,
  };
  if (h.bmc.username !== null) driverInfo.ipmi_username = h.bmc.username;
  if (h.bmc.password !== undefined) driverInfo.ipmi_password = h.bmc.password;
  driverInfo.ipmi_cipher_suite = h.bmc.cipherSuite;
  driverInfo.ipmi_protocol_version = '2.0';
  const properties: Record<string, unknown> = {};
  if (h.cpus !== null) properties.cpus = h.cpus;
  if (h.memoryMiB !== null) properties.memory_mb = h.memoryMiB;
  if (h.localGiB !== null) properties.local_gb = h.localGiB;
  if (h.cpuArch !== null) properties.cpu_arch = h.cpuArch;
  if (h.bootMode !== null) properties.capabilities = `boot_mode:${h.bootMode}`;
  const hint = rootDeviceHint(h);
  if (hint) properties.root_device = hint;
  const extra: Record<string, string> = { rackseed_id: h.id };
  if (h.serial) extra.serial = h.serial;
  if (h.uuid) extra.system_uuid = h.uuid;
  return { name: h.name, driver: 'ipmi', driver_info: driverInfo, properties, extra };
}

export function ironicPortSpecs(h: HandoffNode): IronicPortSpec[] {
  return h.macs.map((address) => ({ address, pxe_enabled: address === h.bootMac }));
}
