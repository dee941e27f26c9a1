// One OpenIPMI ipmi_sim per node, playing that node's BMC on the BMC segment (lab-notes.md, "OpenIPMI
// ipmi_sim as the BMC"). Power and boot-device commands reach the node through `chassis_control`
// (chassis-control.sh beside this file), which really starts and stops its QEMU.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipmiGuidHex } from '../config.ts';
import { spawnDetached } from '../processes.ts';

export const CHASSIS_CONTROL = join(dirname(fileURLToPath(import.meta.url)), 'chassis-control.sh');

export interface BmcConfig {
  name: string;
  /** IPv4 address on br-bmc; ipmi_sim listens on UDP 623 there */
  address: string;
  /** the node's SMBIOS UUID; the BMC's System GUID is derived so that it matches (config.ts ipmiGuidHex) */
  uuid: string;
  user: string;
  password: string;
  /** the node's folder, handed to chassis-control.sh */
  nodeDir: string;
  /** Serial-over-LAN: the TCP port on 127.0.0.1 where the node's QEMU serves its serial line as a telnet server
   *  (lab/node.ts). ipmi_sim connects to it as a telnet client (at start, then every 10 s while it is down: the
   *  node powered off), and answers SOL activation only while connected. Absent: no SOL */
  solPort?: number;
}

/** lan.conf text: one LAN channel, admin user, GUID, the chassis-control hook and the SOL serial line. */
export function lanConf(c: BmcConfig): string {
  const auths = 'none md2 md5 straight';
  return [
    `name "${c.name}"`,
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr ${c.address} 623`,
    '    priv_limit admin',
    ...['callback', 'user', 'operator', 'admin'].map((l) => `    allowed_auths_${l} ${auths}`),
    `    guid ${ipmiGuidHex(c.uuid)}`,
    '  endlan',
    `  chassis_control "${CHASSIS_CONTROL} ${c.nodeDir}"`,
    ...(c.solPort ? [`  sol "telnet:127.0.0.1:${c.solPort}" 115200`] : []),
    `  user 2 true "${c.user}" "${c.password}" admin 10 ${auths}`,
    '',
  ].join('\n');
}

/** The emulated management controller: one BMC at 0x20, IPMI 2.0, manufacturer 0x1291 (OpenIPMI's own). */
export const BMC_EMU = [
  'mc_setbmc 0x20',
  'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr',
  'mc_enable 0x20',
  '',
].join('\n');

/**
 * Write the BMC's folder (lan.conf, bmc.emu, a fresh state dir — ipmi_sim persists users there and they
 * would override the config) and start ipmi_sim inside `ns`. Returns its PID.
 */
export function startBmc(ns: string, dir: string, c: BmcConfig): number {
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, 'state'), { recursive: true, force: true });
  mkdirSync(join(dir, 'state'));
  writeFileSync(join(dir, 'lan.conf'), lanConf(c), { mode: 0o600 });
  writeFileSync(join(dir, 'bmc.emu'), BMC_EMU);
  return spawnDetached(ns, 'ipmi_sim', ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', join(dir, 'state'), '-n'],
    join(dir, 'ipmi_sim.log'));
}
