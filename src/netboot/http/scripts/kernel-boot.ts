// Discovery/inspection (and later deploy) boot: fetch a kernel and initrds over HTTP and start them, passing
// the node's one-time token and the callback URL its agent reports to on the kernel command line.
import { ipxeScript, ipxeText, ipxeToken } from './ipxe-text.ts';

export interface KernelBootParams {
  /** shown on the node console first, e.g. "discovery boot for 52:54:00:12:34:56" */
  message: string;
  kernelUrl: string;
  /** fetched in order; each gets name initrdN and a matching initrd=initrdN argument (needed by the EFI stub) */
  initrdUrls: string[];
  /** extra kernel arguments, each a single token such as "console=ttyS0,115200" */
  kernelArgs: string[];
  /** per-node secret the agent presents (passed as rackseed.token=…) */
  token: string;
  /** where the agent reports (passed as rackseed.callback=…), e.g. "http://10.0.0.1:8080/agent/v1" */
  callbackUrl: string;
  /** on a failed download: wait this many seconds, then re-request `retryUrl` */
  retrySeconds: number;
  /** usually the node's own /boot.ipxe?mac=… URL */
  retryUrl: string;
}

export function renderKernelBootScript(p: KernelBootParams): string {
  const initrds = p.initrdUrls.map((u, i) => ({ name: `initrd${i}`, url: ipxeToken(u, 'initrd URL') }));
  const args = [
    ...initrds.map((i) => `initrd=${i.name}`),
    ...p.kernelArgs.map((a) => ipxeToken(a, 'kernel argument')),
    `rackseed.token=${ipxeToken(p.token, 'token')}`,
    `rackseed.callback=${ipxeToken(p.callbackUrl, 'callback URL')}`,
  ];
  const wait = Math.max(1, Math.floor(p.retrySeconds));
  return ipxeScript([
    `echo RackSeed: ${ipxeText(p.message, 'message')}`,
    `kernel --name vmlinuz ${ipxeToken(p.kernelUrl, 'kernel URL')} ${args.join(' ')} || goto failed`,
    ...initrds.map((i) => `initrd --name ${i.name} ${i.url} || goto failed`),
    'boot || goto failed',
    ':failed',
    `echo RackSeed: boot failed, retrying in ${wait} s`,
    `sleep ${wait}`,
    `chain --replace --autofree ${ipxeToken(p.retryUrl, 'retry URL')}`,
  ]);
}
