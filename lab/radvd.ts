// IPv6 router advertisements on br-prov (a ULA prefix, never a default router). Without them iPXE spends
// 13–16 s waiting for IPv6 autoconfiguration on every boot (lab-notes.md).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IFACES, NET } from './config.ts';
import { spawnDetached } from './processes.ts';

export function radvdConf(iface: string = IFACES.provBridge, prefix: string = NET.ulaPrefix): string {
  return `interface ${iface} {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 10;
  AdvDefaultLifetime 0;
  prefix ${prefix} {
    AdvOnLink on;
    AdvAutonomous on;
  };
};
`;
}

/** Start radvd in the foreground of its own session inside `ns`; returns its PID. */
export function startRadvd(ns: string, dir: string): number {
  const conf = join(dir, 'radvd.conf');
  writeFileSync(conf, radvdConf());
  return spawnDetached(ns, 'radvd', ['-n', '-C', conf, '-p', join(dir, 'radvd.pid'), '-m', 'stderr'], join(dir, 'radvd.log'));
}
