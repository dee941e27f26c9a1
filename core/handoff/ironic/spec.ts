// The Ironic node a RackSeed node becomes (pure): `POST /v1/nodes` body and the ports, from a HandoffNode. Shared by
// the hand-off (enroll through the API) and the `ironic` export (the file `openstack baremetal create` reads).
//   driver ipmi; driver_info ipmi_address/ipmi_port/ipmi_username/ipmi_password/ipmi_cipher_suite/ipmi_protocol_version
//   or, for a BMC RackSeed drives over Redfish, driver redfish; driver_info redfish_address (https://host[:port]),
//   redfish_system_id (the ComputerSystem path, when known), redfish_username/redfish_password, redfish_verify_ca
//   false (BMCs ship self-signed certificates and Ironic cannot pin a fingerprint; RackSeed's trust-on-first-use
//   fingerprint goes in extra.bmc_tls_sha256 for the site to check or to replace verify_ca with a CA file)
//   properties cpus, memory_mb, local_gb, cpu_arch, capabilities "boot_mode:uefi|bios", root_device
//   extra rackseed_id, serial, system_uuid (SMBIOS)
//   a port per MAC, pxe_enabled only on the boot MAC
import type { HandoffNode } from '../model.ts';

export interface IronicPortSpec { address: string; pxe_enabled: boolean }

export interface IronicNodeSpec {
  name: string;
  driver: 'ipmi' | 'redfish';
  driver_info: Record<string, string | number | boolean>;
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
/** The `redfish_address` of a Redfish BMC: https://host, with :port unless 443 (IPv6 hosts bracketed). */
export function redfishAddress(bmc: { host: string; port: number }): string {
  const host = bmc.host.includes(':') && !bmc.host.startsWith('[') ? `[${bmc.host}]` : bmc.host;
  return `https://${host}${bmc.port === 443 ? '' : `:${bmc.port}`}`;
}

/** Ironic's driver_info for the node's BMC (the password only when `h.bmc.password` is set). */
export function ironicDriverInfo(h: HandoffNode): { driver: IronicNodeSpec['driver']; driverInfo: Record<string, string | number | boolean> } {
  if (!h.bmc) throw new Error(`node ${h.id} has no BMC: Ironic could not power it`);
  const b = h.bmc;
  if (b.protocol === 'redfish') {
    const driverInfo: Record<string, string | number | boolean> = { redfish_address: redfishAddress(b) };
    if (b.systemPath) driverInfo.redfish_system_id = b.systemPath;
    if (b.username !== null) driverInfo.redfish_username = b.username;
    if (b.password !== undefined) driverInfo.redfish_password = b.password;
    driverInfo.redfish_verify_ca = false;
    return { driver: 'redfish', driverInfo };
  }
  const driverInfo: Record<string, string | number | boolean> = { ipmi_address: b.host, ipmi_port: b.port };
  if (b.username !== null) driverInfo.ipmi_username = b.username;
  if (b.password !== undefined) driverInfo.ipmi_password = b.password;
  driverInfo.ipmi_cipher_suite = b.cipherSuite;
  driverInfo.ipmi_protocol_version = '2.0';
  return { driver: 'ipmi', driverInfo };
}

export function ironicNodeSpec(h: HandoffNode): IronicNodeSpec {
  const { driver, driverInfo } = ironicDriverInfo(h);
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
  if (h.bmc?.tlsSha256) extra.bmc_tls_sha256 = h.bmc.tlsSha256;
  return { name: h.name, driver, driver_info: driverInfo, properties, extra };
}

export function ironicPortSpecs(h: HandoffNode): IronicPortSpec[] {
  return h.macs.map((address) => ({ address, pxe_enabled: address === h.bootMac }));
}
