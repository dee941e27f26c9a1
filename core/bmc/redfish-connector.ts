// Adapts the Redfish client (bmc/redfish/session) to the core's BmcConnector port. Addresses are "host",
// "host:port" (default 443) and optionally "#SystemId" for a service with several systems.
import { BOOT_TARGET_FOR, type RedfishClient } from '../../bmc/redfish/session/client.ts';
import type { BmcConnector, BmcSession } from '../bmc-port.ts';

/** Split "host[:port][#system]" (IPv4 or hostname; default port 443). */
export function splitRedfishAddress(address: string): { host: string; port: number; systemId?: string } {
  const m = /^([^:#\s]+)(?::(\d{1,5}))?(?:#([^#\s]{1,64}))?$/.exec(address.trim());
  if (!m) throw new Error(`not a Redfish BMC address: ${address}`);
  const port = m[2] ? Number(m[2]) : 443;
  if (port < 1 || port > 65535) throw new Error(`not a Redfish BMC address: ${address}`);
  return { host: m[1]!, port, ...(m[3] ? { systemId: m[3] } : {}) };
}

/** "host:port" of the HTTPS endpoint (the key certificate pins are stored under). */
export function redfishEndpoint(address: string): string {
  const { host, port } = splitRedfishAddress(address);
  return `${host}:${port}`;
}

/**
 * A BmcConnector over one shared RedfishClient. Boot devices map to BootSourceOverrideTarget (pxe → Pxe, disk → Hdd,
 * bios → BiosSetup), one-time → Once, persistent → Continuous; `uefi` sets BootSourceOverrideMode only when given.
 * Power words map to the first ResetType the system allows (RESET_FOR: cycle → PowerCycle, else ForceRestart).
 */
export function redfishConnector(client: RedfishClient): BmcConnector {
  return async (address, creds): Promise<BmcSession> => {
    const { host, port, systemId } = splitRedfishAddress(address);
    const s = await client.session(host, { user: creds.user, password: creds.password, port, systemId });
    return {
      protocol: 'redfish',
      cipherSuite: null,
      systemPath: s.systemPath,
      powerStatus: () => s.powerStatus(),
      power: (action) => s.power(action),
      setBootDevice: (device, o) => s.setBootOverride({
        target: BOOT_TARGET_FOR[device], enabled: o?.persistent ? 'Continuous' : 'Once',
        ...(o?.uefi === undefined ? {} : { mode: o.uefi ? 'UEFI' as const : 'Legacy' as const }),
      }),
      systemGuid: () => s.systemGuid(),
      macs: () => s.macs(),
      identity: () => s.identity(),
      close: () => s.close(),
    };
  };
}
