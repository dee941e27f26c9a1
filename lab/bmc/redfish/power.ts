// The lab Redfish BMC's hands on its node. ChassisControlPower drives the QEMU node through the same
// chassis-control.sh that ipmi_sim uses (power on = QEMU started detached with the node's arguments and the next
// boot's -boot order, off = stop it, shutdown = ACPI power button over the HMP monitor, reset = stop + start);
// FakePower keeps the state in memory (client tests, conformance runs and the benchmark: no VMs).
import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHASSIS_CONTROL } from '../ipmi-sim.ts';

export type LabBootTarget = 'None' | 'Pxe' | 'Hdd' | 'Cd' | 'BiosSetup';
export type LabBootEnabled = 'Disabled' | 'Once' | 'Continuous';
export type LabBootMode = 'UEFI' | 'Legacy';
export interface LabBoot { target: LabBootTarget; enabled: LabBootEnabled; mode: LabBootMode }
export type LabPowerAction = 'on' | 'off' | 'shutdown' | 'reset' | 'cycle';

export interface PowerBackend {
  power(): Promise<'On' | 'Off'>;
  act(action: LabPowerAction): Promise<void>;
  boot(): Promise<LabBoot>;
  setBoot(b: LabBoot): Promise<void>;
}

/** In memory. `powerOns` counts the starts, and each start consumes a one-time override (as a real boot would). */
export class FakePower implements PowerBackend {
  state: 'On' | 'Off' = 'Off';
  current: LabBoot;
  powerOns = 0;
  /** the boot target each power-on used */
  booted: LabBootTarget[] = [];
  constructor(mode: LabBootMode = 'Legacy') { this.current = { target: 'None', enabled: 'Disabled', mode }; }
  async power(): Promise<'On' | 'Off'> { return this.state; }
  async act(a: LabPowerAction): Promise<void> {
    if (a === 'on') { if (this.state === 'Off') this.start(); }
    else if (a === 'off' || a === 'shutdown') this.state = 'Off';
    else if (this.state === 'On' || a === 'cycle') { this.state = 'Off'; this.start(); }
  }
  private start(): void {
    this.state = 'On';
    this.powerOns++;
    this.booted.push(this.current.enabled === 'Disabled' ? 'Hdd' : this.current.target);
    if (this.current.enabled === 'Once') this.current = { ...this.current, target: 'None', enabled: 'Disabled' };
  }
  async boot(): Promise<LabBoot> { return { ...this.current }; }
  async setBoot(b: LabBoot): Promise<void> { this.current = { ...b }; }
}

const TO_CHASSIS: Record<LabBootTarget, string> = { None: 'default', Pxe: 'pxe', Hdd: 'default', Cd: 'cdrom', BiosSetup: 'bios' };

/** The QEMU node of `nodeDir` through lab/bmc/chassis-control.sh (files: boot, boot.persistent, power.pid). */
export class ChassisControlPower implements PowerBackend {
  private mode: LabBootMode;
  private target: LabBootTarget = 'None';
  constructor(private readonly nodeDir: string, firmwareMode: LabBootMode) { this.mode = firmwareMode; }

  private run(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(CHASSIS_CONTROL, [this.nodeDir, ...args], { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
  }

  async power(): Promise<'On' | 'Off'> {
    return /power:1/.test(await this.run('get', 'power')) ? 'On' : 'Off';
  }

  async act(a: LabPowerAction): Promise<void> {
    if (a === 'on') await this.run('set', 'power', '1');
    else if (a === 'off') await this.run('set', 'power', '0');
    else if (a === 'shutdown') await this.run('set', 'shutdown', '1');
    else if (a === 'reset') await this.run('set', 'reset', '1');
    else { await this.run('set', 'power', '0'); await this.run('set', 'power', '1'); }
  }

  async boot(): Promise<LabBoot> {
    const dev = /boot:(\S+)/.exec(await this.run('get', 'boot'))?.[1] ?? 'default';
    const persistent = existsSync(join(this.nodeDir, 'boot.persistent'));
    // chassis-control.sh writes "default" back after a one-time boot: the override is used up
    if (dev === 'default' && !persistent) return { target: 'None', enabled: 'Disabled', mode: this.mode };
    const target: LabBootTarget = dev === 'pxe' ? 'Pxe' : dev === 'cdrom' ? 'Cd' : dev === 'bios' ? 'BiosSetup' : this.target === 'None' ? 'Hdd' : this.target;
    return { target, enabled: persistent ? 'Continuous' : 'Once', mode: this.mode };
  }

  async setBoot(b: LabBoot): Promise<void> {
    this.mode = b.mode;
    this.target = b.target;
    if (b.enabled === 'Continuous') writeFileSync(join(this.nodeDir, 'boot.persistent'), '');
    else rmSync(join(this.nodeDir, 'boot.persistent'), { force: true });
    await this.run('set', 'boot', b.enabled === 'Disabled' ? 'default' : TO_CHASSIS[b.target]);
  }
}
