// The default answer to "what does this network-boot client get" (DESIGN.md "Boot flow"), as a pure
// function the core's BootPolicy can use or wrap:
//   user class "iPXE"               → ${httpBaseUrl}/boot.ipxe (so iPXE never loops back to TFTP)
//   option 60 "HTTPClient…"         → ${httpBaseUrl}/<EFI binary>, echo option 60 "HTTPClient" (UEFI HTTP boot)
//   arch 0 (BIOS) or no option 93   → undionly.kpxe over TFTP
//   arch 7 / 9 (EFI x64, EFI BC)    → ipxe.efi (or snponly.efi) over TFTP
//   arch 11 (EFI arm64)             → the arm64 iPXE build over TFTP
//   arch 16 (EFI x64 HTTP)          → ${httpBaseUrl}/<EFI binary>
//   anything else, or a client that is neither PXE, HTTP nor iPXE → null (no boot information)

import type { BootRequest, DhcpBootAnswer } from '../../boot-policy.ts';

export interface DefaultBootConfig {
  /** our address on the provisioning interface: TFTP next-server */
  serverIp: string;
  /** base URL of the HTTP boot service, without trailing slash, e.g. "http://10.231.0.1:8080" */
  httpBaseUrl: string;
  /** x64 UEFI binary: "ipxe.efi" (default; own drivers) or "snponly.efi" (firmware's network driver) */
  efiBinary?: 'ipxe.efi' | 'snponly.efi';
  /** arm64 UEFI binary path on the TFTP/HTTP server (default "arm64/ipxe.efi") */
  arm64Binary?: string;
  /** BIOS binary (default "undionly.kpxe") */
  biosBinary?: string;
}

export function defaultBootAnswer(req: BootRequest, cfg: DefaultBootConfig): DhcpBootAnswer | null {
  const efi = cfg.efiBinary ?? 'ipxe.efi';
  const arm64 = cfg.arm64Binary ?? 'arm64/ipxe.efi';
  const base = cfg.httpBaseUrl.replace(/\/+$/, '');
  const vc = req.vendorClass ?? '';
  if (req.userClass === 'iPXE') return { nextServer: null, bootFile: `${base}/boot.ipxe`, vendorClass: null };
  if (vc.startsWith('HTTPClient')) {
    const file = req.arch === 19 ? arm64 : efi; // 19: arm64 UEFI HTTP
    return { nextServer: null, bootFile: `${base}/${file}`, vendorClass: 'HTTPClient' };
  }
  if (!vc.startsWith('PXEClient')) return null;
  const tftp = (bootFile: string): DhcpBootAnswer => ({ nextServer: cfg.serverIp, bootFile, vendorClass: null });
  switch (req.arch) {
    case null:
    case 0: return tftp(cfg.biosBinary ?? 'undionly.kpxe');
    case 7:
    case 9: return tftp(efi);
    case 11: return tftp(arm64);
    case 16: return { nextServer: null, bootFile: `${base}/${efi}`, vendorClass: 'HTTPClient' };
    default: return null;
  }
}
