// Discovery/inspection (and later deploy) boot: fetch a kernel and initrds over HTTP and start them with the given
// kernel command line; on any failure wait and ask for the script again, so a node is never left at a prompt.
// The agent's own arguments (rackseed.url/token/node/mac) are built by agentKernelArgs() in agent/build/manifest.ts
// and arrive here as `kernelArgs`; this template adds only the initrd= names.
import { ipxeScript, ipxeText, ipxeToken, type IpxeFragment } from './ipxe-text.ts';

export interface KernelBootParams {
  /** lines run first (e.g. bundledBiosIpxePreamble()); none when absent */
  preamble?: IpxeFragment;
  /** shown on the node console, e.g. "discovery ramdisk for node n-1 (52:54:00:12:34:56)" */
  message: string;
  kernelUrl: string;
  /**
   * fetched in order, each registered under `name` and passed as a matching initrd=<name> argument before
   * `kernelArgs` (the EFI stub loads initrds by that name)
   */
  initrds: { name: string; url: string }[];
  /** the kernel command line, one token per element (split agentKernelArgs() on spaces) */
  kernelArgs: string[];
  /** on a failed download or boot: wait this many seconds, then re-request `retryUrl` (reboot if that fails) */
  retrySeconds: number;
  /** usually the node's own /boot.ipxe?mac=… URL */
  retryUrl: string;
}

export function renderKernelBootScript(p: KernelBootParams): string {
  const initrds = p.initrds.map((i) => ({ name: ipxeToken(i.name, 'initrd name'), url: ipxeToken(i.url, 'initrd URL') }));
  const args = [...initrds.map((i) => `initrd=${i.name}`), ...p.kernelArgs.map((a) => ipxeToken(a, 'kernel argument'))];
  const wait = Math.max(1, Math.floor(p.retrySeconds));
  return ipxeScript([
    ...(p.preamble ?? []),
    `echo RackSeed: ${ipxeText(p.message, 'message')}`,
    `kernel ${ipxeToken(p.kernelUrl, 'kernel URL')} ${args.join(' ')} || goto retry`,
    ...initrds.map((i) => `initrd --name ${i.name} ${i.url} || goto retry`),
    'boot || goto retry',
    ':retry',
    `echo RackSeed: boot failed, retrying in ${wait} s`,
    `sleep ${wait}`,
    `chain --replace ${ipxeToken(p.retryUrl, 'retry URL')} || reboot`,
  ]);
}
