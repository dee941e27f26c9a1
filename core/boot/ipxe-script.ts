// The core's iPXE scripts (served at /boot.ipxe by the boot policy): the policy's parameters mapped onto the typed,
// injection-checked templates of netboot/http/scripts/ — the only iPXE renderers — with the kernel command line
// from agentKernelArgs() (the one owner of the rackseed.* arguments). Whole-output tests through the policy:
// test/unit/core-boot-scripts.test.ts. bench/lib/boot-receiver.ts serves discoveryScript() too.
import { agentKernelArgs } from '../../agent/build/manifest.ts';
import {
  bundledBiosIpxePreamble, renderKernelBootScript, renderLocalDiskScript, renderNothingForYouScript,
} from '../../netboot/http/scripts/index.ts';

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
   * which may be old or lack features) chains it first (bundledBiosIpxePreamble). Null or absent: boot with whatever
   * iPXE asked (EFI clients always do).
   */
  bundledBiosIpxe?: string | null;
}

/** Seconds between a failed discovery boot and asking for the script again. */
const DISCOVERY_RETRY_S = 5;
/** Seconds a node waits for a ramdisk to be built before asking again. */
const WAIT_RETRY_S = 10;

/** The node's own script URL, which every retry re-requests. */
const scriptUrl = (base: string, mac: string): string => `${base}/boot.ipxe?mac=${mac}`;

/**
 * Boot the discovery ramdisk; on any failure, wait and retry the whole script, rebooting if even that fails (a node is
 * never left at a prompt). Throws RangeError when a value would break out of its script line (e.g. whitespace).
 */
export function discoveryScript(p: DiscoveryScriptParams): string {
  return renderKernelBootScript({
    preamble: p.bundledBiosIpxe ? bundledBiosIpxePreamble({ tftpUrl: p.bundledBiosIpxe, label: 'discovery' }) : undefined,
    message: `discovery ramdisk for node ${p.nodeId} (${p.mac})`,
    kernelUrl: `${p.base}${p.kernelPath}`,
    // the name every build so far has used; the kernel's EFI stub finds the initrd by it (initrd=initrd.img)
    initrds: [{ name: 'initrd.img', url: `${p.base}${p.initrdPath}` }],
    kernelArgs: agentKernelArgs({ url: p.base, token: p.token, nodeId: p.nodeId, mac: p.mac }).split(/ +/),
    retrySeconds: DISCOVERY_RETRY_S,
    retryUrl: scriptUrl(p.base, p.mac),
  });
}

/**
 * Leave network boot for the local disk, printing why. A BIOS node (`firmware` 'bios', from its inventory or DHCP
 * architecture) boots its first hard disk at once (`sanboot --no-describe --drive 0x80`, falling back to `exit`): a
 * deployed node whose firmware still tries the network first must not wait for the next boot entry. UEFI, or unknown:
 * iPXE exits and the firmware tries its next boot entry (UEFI has no drive numbers to sanboot).
 */
export function localBootScript(reason: string, firmware: 'bios' | 'uefi' | null = null): string {
  return renderLocalDiskScript(firmware === 'bios' ? { method: 'sanboot', drive: 0x80, reason } : { method: 'exit', reason });
}

/** Nothing to serve yet (no ramdisk built): print why, wait and ask again; exit to the disk if asking fails. */
export function waitScript(base: string, mac: string, reason: string): string {
  return renderNothingForYouScript({ message: reason, retrySeconds: WAIT_RETRY_S, retryUrl: scriptUrl(base, mac) });
}
