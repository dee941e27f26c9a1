// The script served for /boot.ipxe without ?mac=…: iPXE fills in who it is and asks again, so the per-node
// decision (scriptFor) sees MAC, SMBIOS UUID/serial, firmware platform, architecture and NIC driver.
import { ipxeScript, ipxeToken } from './ipxe-text.ts';

export interface ChainSelfParams {
  /** absolute URL of the boot script endpoint, e.g. "http://10.0.0.1:8080/boot.ipxe" */
  bootUrl: string;
  /** seconds to wait before trying again if the second request fails */
  retrySeconds: number;
}

/**
 * iPXE settings sent back. MAC, UUID, platform, arch and chip expand to URL-safe text as they are; only the SMBIOS
 * serial (free text, may hold spaces) uses the `:uristring` type. Older ROM builds that do not know `:uristring`
 * expand an unknown setting to nothing, so they still send the MAC and lose only the serial.
 */
export const SELF_QUERY =
  'mac=${netX/mac}&uuid=${uuid}&serial=${serial:uristring}&platform=${platform}&arch=${buildarch}&chip=${netX/chip}';

export function renderChainSelfScript(p: ChainSelfParams): string {
  const url = ipxeToken(p.bootUrl, 'boot URL');
  const wait = Math.max(1, Math.floor(p.retrySeconds));
  return ipxeScript([
    ':again',
    `chain --autofree ${url}?${SELF_QUERY} || goto failed`,
    ':failed',
    `echo RackSeed: boot script request failed, retrying in ${wait} s`,
    `sleep ${wait}`,
    'goto again',
  ]);
}
