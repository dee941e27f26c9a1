// Boot the node's installed OS. `exit` hands control back to the firmware's next boot entry (the right thing on
// UEFI, and on BIOS when the disk is next in the order); `sanboot` boots the first BIOS disk directly.
import { ipxeScript } from './ipxe-text.ts';

export interface LocalDiskParams {
  method: 'exit' | 'sanboot';
  /** BIOS drive number for sanboot; default 0x80 (first hard disk) */
  drive?: number;
}

export function renderLocalDiskScript(p: LocalDiskParams): string {
  if (p.method === 'exit') return ipxeScript(['echo RackSeed: booting from local disk', 'exit']);
  const drive = p.drive ?? 0x80;
  if (!Number.isInteger(drive) || drive < 0 || drive > 0xff) throw new RangeError(`iPXE script: drive ${drive} is not a BIOS drive number`);
  return ipxeScript([
    'echo RackSeed: booting from local disk',
    `sanboot --no-describe --drive 0x${drive.toString(16)} || exit`,
  ]);
}
