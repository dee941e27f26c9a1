// Which first-stage file a network-boot client gets (RFC 4578 §2.1 option 93 architecture, iPXE user class 77,
// UEFI HTTP boot's "HTTPClient" vendor class, UEFI 2.5 §24.7). Pure functions; the policy decides *whether*.
import type { BootRequest, DhcpBootAnswer } from '../../netboot/boot-policy.ts';

export interface ApplianceAddress {
  /** the appliance's IPv4 address on the provisioning interface */
  serverIp: string;
  /** HTTP boot server port */
  httpPort: number;
}

/** Base URL of the HTTP boot server ("http://10.0.0.1" on port 80, else with the port). */
export function httpBase(a: ApplianceAddress): string {
  return a.httpPort === 80 ? `http://${a.serverIp}` : `http://${a.serverIp}:${a.httpPort}`;
}

/** True when the client is already iPXE (option 77 user class "iPXE"), so it gets the HTTP script. */
export function isIpxe(req: BootRequest): boolean {
  return req.userClass === 'iPXE';
}

/** True for UEFI HTTP boot clients (vendor class "HTTPClient…", or arch 16 = x64 UEFI HTTP). */
export function isHttpClient(req: BootRequest): boolean {
  return (req.vendorClass?.startsWith('HTTPClient') ?? false) || req.arch === 16;
}

/**
 * The boot answer for a client we decided to boot: iPXE → the /boot.ipxe?mac=… script URL; HTTPClient → ipxe.efi over
 * HTTP; BIOS (arch 0) → undionly.kpxe over TFTP; UEFI x64 (7, 9) → ipxe.efi over TFTP (snponly.efi when
 * `preferSnp`). Null for architectures we have no binary for (IA32 EFI, arm64 until bundled).
 */
export function firstStageAnswer(req: BootRequest, a: ApplianceAddress, preferSnp = false): DhcpBootAnswer | null {
  // the MAC goes in the URL: iPXE fetches it as-is, so the script request names its node without relying on
  // iPXE settings expansion (older ROM builds do not know the `:uristring` type)
  if (isIpxe(req)) return { nextServer: null, bootFile: `${httpBase(a)}/boot.ipxe?mac=${req.mac}`, vendorClass: null };
  if (isHttpClient(req)) return { nextServer: null, bootFile: `${httpBase(a)}/ipxe/ipxe.efi`, vendorClass: 'HTTPClient' };
  switch (req.arch) {
    case null:
    case 0: return { nextServer: a.serverIp, bootFile: 'undionly.kpxe', vendorClass: null };
    case 7:
    case 9: return { nextServer: a.serverIp, bootFile: preferSnp ? 'snponly.efi' : 'ipxe.efi', vendorClass: null };
    default: return null;
  }
}
