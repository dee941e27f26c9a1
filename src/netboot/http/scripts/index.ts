// iPXE script templates, each with its typed parameter object. Whole-output tests: test/unit/ipxe-scripts.test.ts.
export { renderChainSelfScript, SELF_QUERY, type ChainSelfParams } from './chain-self.ts';
export { renderKernelBootScript, type KernelBootParams } from './kernel-boot.ts';
export { renderLocalDiskScript, type LocalDiskParams } from './local-disk.ts';
export { renderNothingForYouScript, type NothingForYouParams } from './nothing-for-you.ts';
