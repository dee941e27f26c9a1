// iPXE script templates, each with its typed parameter object; the only renderers of iPXE scripts (the HTTP boot
// server's chain-self, and the core's boot policy for the rest). Whole-output tests: test/unit/ipxe-scripts.test.ts,
// and through the policy test/unit/core-boot-scripts.test.ts.
export { renderChainSelfScript, SELF_QUERY, type ChainSelfParams } from './chain-self.ts';
export { renderKernelBootScript, type KernelBootParams } from './kernel-boot.ts';
export { renderLocalDiskScript, type LocalDiskParams } from './local-disk.ts';
export { renderNothingForYouScript, type NothingForYouParams } from './nothing-for-you.ts';
export { bundledBiosIpxePreamble, type BundledBiosIpxeParams } from './bundled-bios-ipxe.ts';
export type { IpxeFragment } from './ipxe-text.ts';
