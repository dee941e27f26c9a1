// The control node's user_data exactly as the seed's deploy-control stage gives it (pure): the laptop's boot settings
// (its address and HTTP port on the provisioning network, the ramdisk's URL paths) turned into the ramdisk URLs the
// control node fetches at first boot, the Ironic password into its bcrypt hash, the seed's network into the NIC and
// DHCP configuration (control-config.ts controlUserData). SeedService uses it; bench/seed.ts deploys the same
// config drive alone through the deploy API. Throws Error with a message for the engineer (the service answers 400).
import type { BootPolicySettings } from '../boot/policy.ts';
import type { SeedNetwork } from '../../shared/seed.ts';
import { CONTROL_IRONIC_USER, controlPasswordHash, controlUserData } from './control-config.ts';

/** bcrypt cost of the control node's htpasswd: Ironic checks the hash on every request, so a cheap one (the password
 *  itself is 18 random bytes, never chosen by a person) */
export const CONTROL_PASSWORD_COST = 4;

export interface SeedUserDataInput {
  boot: Pick<BootPolicySettings, 'serverIp' | 'httpPort' | 'ramdisk'>;
  network: SeedNetwork;
  /** the Ironic password of this seed (only its hash goes on the config drive) */
  password: string;
  /** the control node's boot MAC (its provisioning NIC); a placeholder when only checking the parameters */
  controlMac?: string;
}

export function seedControlUserData(i: SeedUserDataInput): string {
  const s = i.boot;
  if (!s.ramdisk) throw new Error('the discovery ramdisk is not built (npm run build:ramdisk): the control node needs it to boot the nodes it owns');
  const base = `http://${s.serverIp}:${s.httpPort}`;
  return controlUserData({
    provisioning: { mac: i.controlMac ?? '00:00:00:00:00:00', cidr: i.network.provisioningCidr },
    bmc: i.network.bmcNic ?? null,
    dhcpRange: i.network.dhcpRange,
    ironic: { user: CONTROL_IRONIC_USER, passwordHash: controlPasswordHash(i.password, CONTROL_PASSWORD_COST) },
    ramdisk: { kernelUrl: base + s.ramdisk.kernelPath, initrdUrl: base + s.ramdisk.initrdPath },
  });
}
