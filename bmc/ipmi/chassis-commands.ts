// Chassis netFn commands (IPMI 2.0 §28): Get Chassis Status, Chassis Control, Set/Get System Boot Options
// (parameter 5, boot flags — Table 28-14).
import { IpmiDecodeError, need } from './errors.ts';
import { NetFn } from './ipmi-message.ts';
import type { CommandRequest } from './app-commands.ts';

export const ChassisCmd = { GetStatus: 0x01, Control: 0x02, SetBootOptions: 0x08, GetBootOptions: 0x09 } as const;

// ---- Get Chassis Status (§28.2)
export function getChassisStatusRequest(): CommandRequest { return { netFn: NetFn.Chassis, cmd: ChassisCmd.GetStatus, data: Buffer.alloc(0) }; }

export type RestorePolicy = 'always-off' | 'previous' | 'always-on' | 'unknown';

export interface ChassisStatus {
  powerOn: boolean;
  powerOverload: boolean;
  interlock: boolean;
  powerFault: boolean;
  controlFault: boolean;
  restorePolicy: RestorePolicy;
  /** raw "last power event" byte */
  lastPowerEvent: number;
  intrusion: boolean;
  frontPanelLockout: boolean;
  driveFault: boolean;
  coolingFault: boolean;
}

export function decodeChassisStatus(d: Uint8Array): ChassisStatus {
  need(d, 0, 3, 'Get Chassis Status response');
  const p = d[0];
  const policies: RestorePolicy[] = ['always-off', 'previous', 'always-on', 'unknown'];
  return {
    powerOn: (p & 0x01) !== 0,
    powerOverload: (p & 0x02) !== 0,
    interlock: (p & 0x04) !== 0,
    powerFault: (p & 0x08) !== 0,
    controlFault: (p & 0x10) !== 0,
    restorePolicy: policies[(p >> 5) & 0x03],
    lastPowerEvent: d[1],
    intrusion: (d[2] & 0x01) !== 0,
    frontPanelLockout: (d[2] & 0x02) !== 0,
    driveFault: (d[2] & 0x04) !== 0,
    coolingFault: (d[2] & 0x08) !== 0,
  };
}

// ---- Chassis Control (§28.3)
export type PowerAction = 'off' | 'on' | 'cycle' | 'reset' | 'diag' | 'soft';
const CONTROL: Record<PowerAction, number> = { off: 0, on: 1, cycle: 2, reset: 3, diag: 4, soft: 5 };
export const POWER_ACTIONS = Object.keys(CONTROL) as PowerAction[];

export function chassisControlRequest(action: PowerAction): CommandRequest {
  const code = CONTROL[action];
  if (code === undefined) throw new Error(`unknown power action ${String(action)}`);
  return { netFn: NetFn.Chassis, cmd: ChassisCmd.Control, data: Buffer.from([code]) };
}

// ---- System Boot Options, parameter 5: boot flags (§28.12, Table 28-14)
export type BootDevice = 'none' | 'pxe' | 'disk' | 'safe' | 'diag' | 'cdrom' | 'bios' | 'remote-floppy' | 'remote-cdrom' | 'remote-disk' | 'floppy';
const DEVICE_CODES: Record<BootDevice, number> = {
  none: 0x0, pxe: 0x1, disk: 0x2, safe: 0x3, diag: 0x4, cdrom: 0x5, bios: 0x6,
  'remote-floppy': 0x7, 'remote-cdrom': 0x8, 'remote-disk': 0xb, floppy: 0xf,
};

export interface BootFlags {
  /** the "boot flags valid" bit: false means the BMC will not apply them */
  valid: boolean;
  /** true = all future boots; false = next boot only */
  persistent: boolean;
  /** true = EFI boot, false = legacy (PC compatible) */
  uefi: boolean;
  device: BootDevice | 'unknown';
}

export const BOOT_FLAGS_PARAM = 5;

export function setBootFlagsRequest(f: { device: BootDevice; uefi?: boolean; persistent?: boolean }): CommandRequest {
  const code = DEVICE_CODES[f.device];
  if (code === undefined) throw new Error(`unknown boot device ${String(f.device)}`);
  const data = Buffer.alloc(6);
  data[0] = BOOT_FLAGS_PARAM; // parameter selector; bit 7 clear = not locked
  data[1] = 0x80 | (f.persistent ? 0x40 : 0) | (f.uefi ? 0x20 : 0);
  data[2] = code << 2;
  return { netFn: NetFn.Chassis, cmd: ChassisCmd.SetBootOptions, data };
}

export function getBootOptionsRequest(param = BOOT_FLAGS_PARAM): CommandRequest {
  return { netFn: NetFn.Chassis, cmd: ChassisCmd.GetBootOptions, data: Buffer.from([param & 0x7f, 0, 0]) };
}

export function decodeBootFlags(d: Uint8Array): BootFlags {
  need(d, 0, 4, 'Get System Boot Options response');
  if ((d[1] & 0x7f) !== BOOT_FLAGS_PARAM) throw new IpmiDecodeError('Get System Boot Options response', 1, `parameter ${d[1] & 0x7f} is not 5`);
  const code = (d[3] >> 2) & 0x0f;
  const device = (Object.entries(DEVICE_CODES).find(([, c]) => c === code)?.[0] ?? 'unknown') as BootDevice | 'unknown';
  return { valid: (d[2] & 0x80) !== 0, persistent: (d[2] & 0x40) !== 0, uefi: (d[2] & 0x20) !== 0, device };
}
