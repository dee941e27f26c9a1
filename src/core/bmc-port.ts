// The BMC client port the core drives (jobs, API power/bootdev, matching). The daemon plugs in the real IPMI
// client (src/bmc/ipmi) through a BmcConnector; tests use the same real client against ipmi_sim.
export type BmcPowerAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft';
export type BmcBootDevice = 'pxe' | 'disk' | 'bios';

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
  /** Close the session; never throws. */
  close(): Promise<void>;
}

export interface BmcCredentialsInput { user: string; password: string }

/** Opens an authenticated session to the BMC at `address` (host or host:port). Rejects with a clear error. */
export type BmcConnector = (address: string, creds: BmcCredentialsInput) => Promise<BmcSession>;
