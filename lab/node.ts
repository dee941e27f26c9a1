// One QEMU node: its folder, QEMU command line and disk. The node is powered only through its BMC's
// chassis-control program (lab/bmc/chassis-control.sh), which reads the files written here:
//   qemu.args    one argument per line (everything but -boot and -pidfile, which power-on adds)
//   boot         next boot device (pxe|default|…), one-time
//   power.pid    QEMU's PID while it runs          console.log   serial console (firmware, iPXE, Linux), also served
//                                                   on 127.0.0.1:<serialPort> (telnet) for the BMC's Serial-over-LAN
//   monitor.sock HMP monitor                        OVMF_VARS.fd  per-node UEFI variables (UEFI nodes)
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeIdentity, NodeSpec } from './config.ts';
import { pidAlive, readPidFile, run } from './processes.ts';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';

export interface NodeOptions {
  /** guest RAM in MiB (256: the discovery ramdisk needs ~128) */
  memoryMiB?: number;
  /** virtual disk size in GiB (qcow2, sparse) */
  diskGiB?: number;
}

export interface LabNode {
  identity: NodeIdentity;
  spec: NodeSpec;
  dir: string;
  consoleLog: string;
}

export function qemuArgs(node: LabNode, opts: NodeOptions = {}): string[] {
  const { identity: id, spec, dir } = node;
  const nic = spec.nic === 'e1000' ? 'e1000' : 'virtio-net-pci';
  const nicOpts = [`${nic}`, 'netdev=n0', `mac=${id.mac}`];
  // romfile= (empty) removes QEMU's iPXE option ROM, leaving the firmware's own PXE client
  if (spec.pxe === 'firmware') nicOpts.push('romfile=');
  const args = [
    '-name', id.name,
    '-accel', 'tcg,tb-size=32',
    '-machine', 'pc',
    '-m', String(spec.memoryMiB ?? opts.memoryMiB ?? 256),
    '-smp', '1',
    '-nographic',
    '-monitor', `unix:${join(dir, 'monitor.sock')},server,nowait`,
    '-no-reboot',
    '-netdev', `tap,id=n0,ifname=${id.tap},script=no,downscript=no`,
    '-device', nicOpts.join(','),
    '-drive', `file=${join(dir, 'disk.qcow2')},if=none,id=d0,format=qcow2`,
    '-device', `virtio-blk-pci,drive=d0,serial=${id.diskSerial}`,
    '-smbios', `type=1,manufacturer=RackSeed Lab,product=Virtual Node,version=1,serial=${id.serial},uuid=${id.uuid}`,
  ];
  if (spec.bmcNic) {
    // second NIC on br-bmc; romfile= (empty): no iPXE ROM on it, so the firmware never tries to boot from it
    args.push('-netdev', `tap,id=n1,ifname=${id.bmcTap},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=n1,mac=${id.bmcNicMac},romfile=`);
  }
  if (spec.serialSocket) {
    args.push('-chardev', `socket,id=ser0,path=${join(dir, 'serial.sock')},server=on,wait=off,logfile=${node.consoleLog},logappend=on`,
      '-serial', 'chardev:ser0');
  } else {
    // the serial line as a telnet server on 127.0.0.1 (rack namespace): the node's ipmi_sim connects to it as a
    // telnet client for Serial-over-LAN (lab/bmc/ipmi-sim.ts). No client connected: output only goes to console.log
    args.push('-chardev', `socket,id=ser0,host=127.0.0.1,port=${id.serialPort},server=on,wait=off,telnet=on,logfile=${node.consoleLog},logappend=on`,
      '-serial', 'chardev:ser0');
  }
  if (spec.firmware === 'uefi') {
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${join(dir, 'OVMF_VARS.fd')}`);
  }
  return args;
}

/** Create the node's folder, disk, UEFI variable store and command line. Powered off. */
export function prepareNode(node: LabNode, opts: NodeOptions = {}): void {
  mkdirSync(node.dir, { recursive: true });
  const disk = join(node.dir, 'disk.qcow2');
  if (!existsSync(disk)) run(null, 'qemu-img', ['create', '-q', '-f', 'qcow2', disk, `${opts.diskGiB ?? 4}G`]);
  if (node.spec.firmware === 'uefi') copyFileSync(OVMF_VARS, join(node.dir, 'OVMF_VARS.fd'));
  writeFileSync(join(node.dir, 'qemu.args'), qemuArgs(node, opts).join('\n') + '\n');
  writeFileSync(join(node.dir, 'boot'), 'default\n');
  writeFileSync(node.consoleLog, '', { flag: 'a' });
}

/** QEMU's PID while the node is powered on, else null. */
export function nodePid(node: LabNode): number | null {
  const pid = readPidFile(join(node.dir, 'power.pid'));
  return pid !== null && pidAlive(pid) ? pid : null;
}
