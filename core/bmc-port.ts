// The BMC client port the core drives (jobs, API power/bootdev, matching, hand-off): one interface, two protocols.
// The daemon plugs in the IPMI client (bmc/ipmi, bmc/ipmi-connector.ts) and the Redfish client (bmc/redfish,
// bmc/redfish-connector.ts) behind one BmcConnector that picks the protocol stored for each BMC
// (bmc/connectors.ts); tests use the same real clients against ipmi_sim and the lab Redfish BMC, or fakes.
export type BmcPowerAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft';
export type BmcBootDevice = 'pxe' | 'disk' | 'bios';
import type { BmcProtocol } from '../shared/api.ts';

export type { BmcProtocol };
export const BMC_PROTOCOLS: readonly BmcProtocol[] = ['ipmi', 'redfish'];

/** What a BMC says about its host (Redfish: ComputerSystem + EthernetInterfaces + Manager). */
export interface BmcIdentity {
  uuid: string | null;
  serial: string | null;
  model: string | null;
  manufacturer: string | null;
  /** the host's NIC MACs (lower-case, colon) */
  macs: string[];
  /** the BMC's own firmware version */
  firmware: string | null;
}

export interface BmcSession {
  /** Chassis power state. */
  powerStatus(): Promise<'on' | 'off'>;
  /** Chassis control; resolves when the BMC accepted the command. */
  power(action: BmcPowerAction): Promise<void>;
  /** Boot device for the next boot (one-time unless `persistent`). */
  setBootDevice(device: BmcBootDevice, options?: { uefi?: boolean; persistent?: boolean }): Promise<void>;
  /** System GUID as a dashed lower-case string as the BMC sent it (byte order as on the wire), or null. */
  systemGuid(): Promise<string | null>;
  /** The IPMI cipher suite the session negotiated (17 or 3), when the client tells; a hand-off gives it to the engine. */
  readonly cipherSuite?: number | null;
  /** Redfish: the ComputerSystem path the session drives ("/redfish/v1/Systems/1"); a hand-off gives it to the engine. */
  readonly systemPath?: string | null;
  /** The protocol of this session (absent: IPMI, for fakes written before Redfish). */
  readonly protocol?: BmcProtocol;
  /** The host's NIC MACs as the BMC reports them (Redfish); absent where the protocol has none (IPMI). */
  macs?(): Promise<string[]>;
  /** UUID, serial, model, MACs, BMC firmware (Redfish); absent for IPMI. */
  identity?(): Promise<BmcIdentity>;
  /** Close the session; never throws. */
  close(): Promise<void>;
}

export interface BmcCredentialsInput { user: string; password: string }

/**
 * Opens an authenticated session to the BMC at `address` (host or host:port; Redfish also host[:port]#SystemId).
 * Rejects with a clear error.
 */
export type BmcConnector = (address: string, creds: BmcCredentialsInput) => Promise<BmcSession>;
