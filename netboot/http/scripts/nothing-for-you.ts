// "Nothing for you": the node is not (yet) meant to boot from us. Print why, then either wait and ask again
// (the engineer may enrol it, or build the ramdisk, meanwhile) or exit to the firmware's next boot entry.
import { ipxeScript, ipxeText, ipxeToken } from './ipxe-text.ts';

export interface NothingForYouParams {
  message: string;
  /** null: exit at once; otherwise sleep this many seconds and re-request `retryUrl` (exit if that fails) */
  retrySeconds: number | null;
  /** required when retrySeconds is set; usually the node's own /boot.ipxe?mac=… URL */
  retryUrl?: string;
}

export function renderNothingForYouScript(p: NothingForYouParams): string {
  const message = ipxeText(p.message, 'message');
  if (p.retrySeconds === null) return ipxeScript([`echo RackSeed: ${message}`, 'exit 0']);
  if (!p.retryUrl) throw new RangeError('iPXE script: retryUrl is required with retrySeconds');
  const wait = Math.max(1, Math.floor(p.retrySeconds));
  return ipxeScript([
    `echo RackSeed: ${message}; asking again in ${wait} s`,
    `sleep ${wait}`,
    `chain --replace ${ipxeToken(p.retryUrl, 'retry URL')} || exit 0`,
  ]);
}
