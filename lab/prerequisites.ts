// What the virtual rack needs on the host, checked up front with messages that say how to fix each gap.
import { accessSync, constants, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { OVMF_CODE, OVMF_VARS } from './node.ts';

interface Need { what: string; ok: () => boolean; fix: string }

function hasCommand(cmd: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; }
}

const NEEDS: Need[] = [
  { what: 'running as root (namespaces, taps, ports 67/69)', ok: () => process.getuid?.() === 0, fix: 'run as root, e.g. sudo npm run lab' },
  { what: 'Node.js 20 or newer', ok: () => Number(process.versions.node.split('.')[0]) >= 20, fix: 'install Node.js 20+' },
  { what: '/dev/net/tun (tap devices)', ok: () => existsSync('/dev/net/tun'), fix: 'modprobe tun' },
  ...[
    ['ip', 'iproute2'], ['qemu-system-x86_64', 'qemu-system-x86'], ['qemu-img', 'qemu-utils'], ['ipmi_sim', 'openipmi'],
    ['ipmitool', 'ipmitool'], ['radvd', 'radvd'], ['tcpdump', 'tcpdump'], ['dnsmasq', 'dnsmasq-base'], ['setsid', 'util-linux'],
  ].map(([cmd, pkg]) => ({ what: `command ${cmd}`, ok: () => hasCommand(cmd), fix: `apt-get install --no-install-recommends ${pkg} (or: bash scripts/setup.sh lab)` })),
  ...[OVMF_CODE, OVMF_VARS].map((f) => ({ what: f, ok: () => existsSync(f), fix: 'apt-get install --no-install-recommends ovmf' })),
  ...['/usr/lib/ipxe/qemu/pxe-e1000.rom', '/usr/lib/ipxe/qemu/efi-virtio.rom'].map((f) => ({
    what: f, ok: () => { try { accessSync(f, constants.R_OK); return true; } catch { return false; } }, fix: 'apt-get install --no-install-recommends ipxe-qemu',
  })),
];

/** The unmet prerequisites as "what — fix" lines (empty when all is well). */
export function missingPrerequisites(): string[] {
  return NEEDS.filter((n) => !n.ok()).map((n) => `${n.what} — ${n.fix}`);
}
