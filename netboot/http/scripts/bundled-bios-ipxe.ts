// Preamble for `--bios-ipxe bundled` (BootPolicySettings.biosIpxe): a BIOS client whose iPXE is not our
// undionly.kpxe (the NIC ROM's own, which may be old or lack features) chains the bundled build over TFTP first.
// The chained iPXE reports `${netX/chip}` = "undionly", so it falls through and runs the rest of the script.
import { ipxeFragment, ipxeLabel, ipxeToken, type IpxeFragment } from './ipxe-text.ts';

export interface BundledBiosIpxeParams {
  /** our BIOS iPXE, e.g. "tftp://10.0.0.1/undionly.kpxe" */
  tftpUrl: string;
  /** label the script carries on at (EFI clients, the bundled iPXE itself, or a failed chain); "<label>-bundled" is used too */
  label: string;
}

/**
 * Lines to put first in a script (KernelBootParams.preamble). EFI clients and the bundled undionly itself go straight
 * to `:label`; if the chain fails, the current iPXE carries on there. `${platform}` and `${netX/chip}` are expanded by
 * iPXE on the client, on purpose.
 */
export function bundledBiosIpxePreamble(p: BundledBiosIpxeParams): IpxeFragment {
  const url = ipxeToken(p.tftpUrl, 'bundled iPXE URL');
  const label = ipxeLabel(p.label, 'label');
  return ipxeFragment([
    `iseq \${platform} pcbios || goto ${label}`,
    `iseq \${netX/chip} undionly || goto ${label}-bundled`,
    `goto ${label}`,
    `:${label}-bundled`,
    `echo RackSeed: chaining the bundled ${url} (this iPXE drives \${netX/chip})`,
    `chain --autofree ${url} || goto ${label}`,
    `:${label}`,
  ]);
}
