// Boot the node's installed OS. `exit` hands control back to the firmware's next boot entry (the right thing on
// UEFI, and on BIOS when the disk is next in the order); `sanboot` boots the first BIOS disk directly.
import { ipxeScript, ipxeText } from './ipxe-text.ts';

export interface LocalDiskParams {
  method: 'exit' | 'sanboot';
  /** BIOS drive number for sanboot; default 0x80 (first hard disk) */
  drive?: number;
  /** why the node boots its disk, shown first on its console ("node n-1 is available"); none when absent */
  reason?: string;
}

export function renderLocalDiskScript(p: LocalDiskParams): string {
  const echo = `echo RackSeed: ${p.reason === undefined ? '' : `${ipxeText(p.reason, 'reason')}; `}booting from local disk`;
  if (p.method === 'exit') return ipxeScript([echo, 'exit 0']);
  const drive = p.drive ?? 0x80;
  if (!Number.isInteger(drive) || drive < 0 || drive > 0xff) throw new RangeError(`iPXE script: drive ${drive} is not a BIOS drive number`);
  return ipxeScript([echo, `sanboot --no-describe --drive 0x${drive.toString(16)} || exit 0`]);
}
