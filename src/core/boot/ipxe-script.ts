// iPXE scripts the boot policy serves at /boot.ipxe, from typed parameters (STYLE.md: templates with a typed
// parameter object and whole-output tests).
import { agentKernelArgs } from '../../../agent/build/manifest.ts';

export interface DiscoveryScriptParams {
  /** HTTP base the node can reach ("http://10.0.0.1:8080") — kernel, initrd and the agent endpoints */
  base: string;
  /** URL paths (on `base`) of the discovery kernel and initrd */
  kernelPath: string;
  initrdPath: string;
  nodeId: string;
  mac: string;
  /** per-node agent token (only its hash is stored) */
  token: string;
  /**
   * `tftp://…/undionly.kpxe` of our bundled BIOS iPXE: a BIOS client whose iPXE is not that build (the NIC ROM's own,
   * which may be old or lack features) chains it first; the chained iPXE reports `${netX/chip}` = "undionly" and runs
   * on. Null or absent: boot with whatever iPXE asked (EFI clients always do).
   */
  bundledBiosIpxe?: string | null;
}

/**
 * The lines that hand a BIOS client running a foreign iPXE over to `tftpUrl` (our undionly.kpxe). EFI clients and
 * the bundled undionly itself fall through to `:${label}`; if the chain fails, the current iPXE carries on.
 */
export function bundledBiosIpxeLines(tftpUrl: string, label: string): string[] {
  return [
    `iseq \${platform} pcbios || goto ${label}`,
    `iseq \${netX/chip} undionly || goto ${label}-bundled`,
    `goto ${label}`,
    `:${label}-bundled`,
    `echo RackSeed: chaining the bundled ${tftpUrl} (this iPXE drives \${netX/chip})`,
    `chain --autofree ${tftpUrl} || goto ${label}`,
    `:${label}`,
  ];
}

/** Boot the discovery ramdisk; on any failure, wait and retry the whole script (a node is never left at a prompt). */
export function discoveryScript(p: DiscoveryScriptParams): string {
  const args = agentKernelArgs({ url: p.base, token: p.token, nodeId: p.nodeId, mac: p.mac });
  return [
    '#!ipxe',
    ...(p.bundledBiosIpxe ? bundledBiosIpxeLines(p.bundledBiosIpxe, 'discovery') : []),
    `echo RackSeed: discovery ramdisk for node ${p.nodeId} (${p.mac})`,
    `kernel ${p.base}${p.kernelPath} initrd=initrd.img ${args} || goto retry`,
    `initrd --name initrd.img ${p.base}${p.initrdPath} || goto retry`,
    'boot || goto retry',
    ':retry',
    'echo RackSeed: boot failed, retrying in 5 s',
    'sleep 5',
    `chain --replace ${p.base}/boot.ipxe?mac=${p.mac} || reboot`,
    '',
  ].join('\n');
}

/** Leave network boot: iPXE exits and the firmware tries the next boot device (the local disk). */
export function localBootScript(reason: string): string {
  return ['#!ipxe', `echo RackSeed: ${reason.replace(/[\r\n]/g, ' ')}; booting from local disk`, 'exit 0', ''].join('\n');
}

/** Nothing to serve yet (no ramdisk built): wait and ask again. */
export function waitScript(base: string, mac: string | null, reason: string): string {
  return ['#!ipxe', `echo RackSeed: ${reason.replace(/[\r\n]/g, ' ')}; asking again in 10 s`, 'sleep 10',
    `chain --replace ${base}/boot.ipxe${mac ? `?mac=${mac}` : ''} || exit 0`, ''].join('\n');
}
