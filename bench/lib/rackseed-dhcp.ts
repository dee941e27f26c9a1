// placeholder until src/netboot/dhcp/server lands; replaced below
import type { ServerStarter } from './dhcp-bench-run.ts';
export const startRackseed: ServerStarter = () => { throw new Error('RackSeed DHCP server not available yet'); };
