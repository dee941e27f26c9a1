// The control node's first-boot configuration (issue 17 item 1), carried by the config drive's user_data and read by an
// unmodified cloud-init in the lab-control image (lab/images/debian.ts CONTROL_PACKAGES): pure functions, no I/O.
//   controlIronicConf()  Ironic as ONE standalone process (`/usr/bin/ironic`, rpc_transport none), SQLite, HTTP basic
//                        auth (bcrypt htpasswd), ipmi + redfish hardware types, the `ramdisk` deploy interface, PXE/iPXE
//                        boot, Ironic's dnsmasq DHCP provider (per-host files in hostsdir/optsdir)
//   controlUserData()    #cloud-config: write_files (ironic.conf, htpasswd, dnsmasq and nginx configuration, systemd
//                        units, the static addresses of both NICs by MAC) and runcmd (fetch the ramdisk from the laptop
//                        — on the site's own provisioning network —, ironic-dbsync, start the units)
// Nothing is fetched from outside the site: the packages are in the image, the ramdisk comes from RackSeed.
import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';

export const CONTROL_IRONIC_PORT = 6385;
export const CONTROL_HTTP_PORT = 8080;
export const CONTROL_IRONIC_USER = 'rackseed';
/** Below these the control image does not run (Debian + one Ironic process ≈ 140 MB RSS + dnsmasq + nginx). */
export const CONTROL_MIN_MEMORY_MIB = 1536;
export const CONTROL_MIN_CPUS = 1;

export interface ControlNic {
  /** MAC of the NIC (the unit finds the interface by it) */
  mac: string;
  /** static address with prefix, e.g. 10.0.0.2/24 */
  cidr: string;
}

export interface ControlConfigParams {
  /** the NIC the control node booted from: its static address on the provisioning network (kept after the pivot) */
  provisioning: ControlNic;
  /** the second NIC, on the BMC network (absent: the BMCs are routed through the provisioning NIC) */
  bmc?: ControlNic | null;
  /** DHCP range dnsmasq answers for the hosts Ironic registers (`static`: only those), e.g. 10.0.0.100,10.0.0.199 */
  dhcpRange: { start: string; end: string; netmask: string };
  /** the Ironic API user and the bcrypt hash of its password (controlPasswordHash) */
  ironic: { user: string; passwordHash: string };
  /** the ramdisk the laptop gives it, fetched once at first boot from RackSeed's HTTP server */
  ramdisk: { kernelUrl: string; initrdUrl: string };
  /** seconds between Ironic's power-state syncs (default 30) */
  syncPowerSec?: number;
}

const IRONIC_DIR = '/var/lib/ironic';
const HTTP_ROOT = `${IRONIC_DIR}/httpboot`;
const TFTP_ROOT = `${IRONIC_DIR}/tftpboot`;
const DNSMASQ_DIR = '/etc/dnsmasq.d/ironic';
/** Where the given ramdisk lands on the control node (served by nginx as /seed/vmlinuz, /seed/initrd.img). */
export const CONTROL_RAMDISK_PATHS = { kernel: `${HTTP_ROOT}/seed/vmlinuz`, initrd: `${HTTP_ROOT}/seed/initrd.img` } as const;

/** A bcrypt hash Ironic's http_basic accepts (`$2b$`, cost 10 unless given). */
export function controlPasswordHash(password: string, cost = 10): string {
  if (password.length < 12) throw new Error('the control node\'s Ironic password must be at least 12 characters');
  return bcrypt.hashSync(password, cost).replace(/^\$2a\$/, '$2b$');
}

function addressOf(cidr: string): string {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m[1].split('.').some((o) => Number(o) > 255) || Number(m[2]) > 32) throw new Error(`not an IPv4 address with a prefix: ${cidr}`);
  return m[1];
}

function checkMac(mac: string): string {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new Error(`not a MAC address: ${mac}`);
  return mac.toLowerCase();
}

/** The control node's Ironic API URL (its static provisioning address). */
export function controlIronicUrl(p: Pick<ControlConfigParams, 'provisioning'>): string {
  return `http://${addressOf(p.provisioning.cidr)}:${CONTROL_IRONIC_PORT}`;
}

/** ironic.conf for the control node: one process, SQLite, http_basic, ramdisk deploy, dnsmasq DHCP provider. */
export function controlIronicConf(p: ControlConfigParams): string {
  const host = addressOf(p.provisioning.cidr);
  return `# Written by RackSeed's seed (config drive, first boot). One standalone process: /usr/bin/ironic.
[DEFAULT]
auth_strategy = http_basic
http_basic_auth_user_file = /etc/ironic/htpasswd
enabled_hardware_types = ipmi,redfish
enabled_power_interfaces = ipmitool,redfish
enabled_management_interfaces = ipmitool,redfish
enabled_boot_interfaces = pxe,ipxe
default_boot_interface = pxe
enabled_deploy_interfaces = ramdisk,direct
default_deploy_interface = ramdisk
enabled_network_interfaces = noop
default_network_interface = noop
enabled_inspect_interfaces = no-inspect
enabled_vendor_interfaces = ipmitool,no-vendor
enabled_console_interfaces = no-console
enabled_raid_interfaces = no-raid
enabled_bios_interfaces = no-bios
rpc_transport = none
host = rackseed-control
state_path = ${IRONIC_DIR}
tempdir = ${IRONIC_DIR}/tmp
use_stderr = true
my_ip = ${host}
[api]
host_ip = 0.0.0.0
port = ${CONTROL_IRONIC_PORT}
[database]
connection = sqlite:///${IRONIC_DIR}/ironic.sqlite
[dhcp]
dhcp_provider = dnsmasq
[dnsmasq]
dhcp_optsdir = ${DNSMASQ_DIR}/opts
dhcp_hostsdir = ${DNSMASQ_DIR}/hosts
dhcp_leasefile = ${IRONIC_DIR}/dnsmasq.leases
[conductor]
automated_clean = false
sync_power_state_interval = ${p.syncPowerSec ?? 30}
force_power_state_during_sync = false
[pxe]
tftp_server = ${host}
tftp_root = ${TFTP_ROOT}
tftp_master_path = ${TFTP_ROOT}/master_images
images_path = ${IRONIC_DIR}/images
# the boot loaders runcmd copies from Debian's ipxe package (Ironic's default UEFI name is snponly.efi)
ipxe_bootfile_name = undionly.kpxe
uefi_ipxe_bootfile_name = ipxe.efi
instance_master_path = ${IRONIC_DIR}/master_images
[deploy]
http_root = ${HTTP_ROOT}
http_url = http://${host}:${CONTROL_HTTP_PORT}
[service_catalog]
endpoint_override = http://${host}:${CONTROL_IRONIC_PORT}
[oslo_concurrency]
lock_path = ${IRONIC_DIR}/lock
`;
}

/** dnsmasq for Ironic's DHCP provider: answers only the hosts Ironic writes into hostsdir (`dhcp-ignore=tag:!known`), TFTP for PXE. */
export function controlDnsmasqConf(p: ControlConfigParams): string {
  return `# Written by RackSeed's seed. Ironic writes one file per port into hosts/ and opts/ (dhcp_provider = dnsmasq).
port=0
# as Ironic's user: it reads the hosts/opts files Ironic writes and the TFTP root, and writes the lease file, all in
# Ironic's 0700 home (as dnsmasq's default user it refused to start: "TFTP directory … inaccessible", lab seed run)
user=ironic
group=ironic
bind-dynamic
# a dynamic range, answered only for known hosts: Ironic's host files name a MAC and its tags, not an address (a
# \`static\` range answered them "no address available" — first lab seed run)
dhcp-range=${p.dhcpRange.start},${p.dhcpRange.end},${p.dhcpRange.netmask},10m
dhcp-ignore=tag:!known
dhcp-hostsdir=${DNSMASQ_DIR}/hosts
dhcp-optsdir=${DNSMASQ_DIR}/opts
dhcp-leasefile=${IRONIC_DIR}/dnsmasq.leases
dhcp-match=set:ipxe,175
enable-tftp
tftp-root=${TFTP_ROOT}
log-dhcp
`;
}

/** The units and files cloud-init writes; runcmd enables them. */
export function controlUserData(p: ControlConfigParams): string {
  const prov = { mac: checkMac(p.provisioning.mac), addr: addressOf(p.provisioning.cidr), cidr: p.provisioning.cidr };
  const bmc = p.bmc ? { mac: checkMac(p.bmc.mac), addr: addressOf(p.bmc.cidr), cidr: p.bmc.cidr } : null;
  for (const u of [p.ramdisk.kernelUrl, p.ramdisk.initrdUrl]) if (!/^https?:\/\/[^\s'"]+$/.test(u)) throw new Error(`not an http(s) URL: ${u}`);
  if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(p.ironic.passwordHash)) throw new Error('the Ironic password must be given as a bcrypt hash (controlPasswordHash)');
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(p.ironic.user)) throw new Error(`not a user name: ${p.ironic.user}`);
  const nics = [`${prov.mac} ${prov.cidr}`, ...(bmc ? [`${bmc.mac} ${bmc.cidr}`] : [])];
  const netScript = `#!/bin/sh
# RackSeed seed: the control node's static addresses, by MAC (they outlive the laptop's DHCP leases).
set -u
while read -r mac cidr; do
  [ -n "$mac" ] || continue
  for d in /sys/class/net/*; do
    if [ "$(cat "$d/address" 2>/dev/null)" = "$mac" ]; then
      ip link set "\${d##*/}" up
      ip addr replace "$cidr" dev "\${d##*/}"
    fi
  done
done <<EOF
${nics.join('\n')}
EOF
`;
  const unit = (desc: string, exec: string, after = 'network-online.target', user = 'root'): string => `[Unit]
Description=${desc}
After=${after}
Wants=network-online.target

[Service]
User=${user}
ExecStart=${exec}
Restart=on-failure
RestartSec=3

[Install]
WantedBy=multi-user.target
`;
  const doc = {
    write_files: [
      { path: '/usr/local/sbin/rackseed-seed-net', permissions: '0755', content: netScript },
      { path: '/etc/systemd/system/rackseed-seed-net.service', content: `[Unit]
Description=RackSeed seed: static addresses of the control node
After=network.target
Before=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/rackseed-seed-net

[Install]
WantedBy=multi-user.target
` },
      { path: '/etc/ironic/ironic.conf', permissions: '0640', content: controlIronicConf(p) },
      { path: '/etc/ironic/htpasswd', permissions: '0640', content: `${p.ironic.user}:${p.ironic.passwordHash}\n` },
      { path: `${DNSMASQ_DIR}/dnsmasq.conf`, content: controlDnsmasqConf(p) },
      { path: '/etc/nginx/sites-enabled/rackseed-httpboot', content: `server {\n  listen ${CONTROL_HTTP_PORT};\n  root ${HTTP_ROOT};\n  autoindex off;\n}\n` },
      { path: '/etc/systemd/system/rackseed-ironic.service', content: unit('OpenStack Ironic, one standalone process (RackSeed seed)', '/usr/bin/ironic --config-file /etc/ironic/ironic.conf', 'rackseed-seed-net.service network-online.target', 'ironic') },
      { path: '/etc/systemd/system/rackseed-dnsmasq.service', content: unit('dnsmasq for Ironic\'s DHCP provider (RackSeed seed)', `/usr/sbin/dnsmasq --keep-in-foreground --conf-file=${DNSMASQ_DIR}/dnsmasq.conf`, 'rackseed-seed-net.service') },
      { path: '/etc/cloud/cloud.cfg.d/99-rackseed-seed.cfg', content: '# the seed\'s static addresses replace DHCP after first boot (the laptop leaves)\nnetwork: {config: disabled}\n' },
    ],
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', 'rackseed-seed-net.service'],
      ['mkdir', '-p', `${IRONIC_DIR}/tmp`, `${IRONIC_DIR}/lock`, `${IRONIC_DIR}/images`, `${IRONIC_DIR}/master_images`, `${HTTP_ROOT}/seed`, `${TFTP_ROOT}/master_images`, `${DNSMASQ_DIR}/hosts`, `${DNSMASQ_DIR}/opts`],
      ['sh', '-c', `cp /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/ipxe.efi ${TFTP_ROOT}/ 2>/dev/null; cp /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 ${TFTP_ROOT}/ 2>/dev/null; true`],
      ['curl', '-fsS', '--retry', '5', '-o', CONTROL_RAMDISK_PATHS.kernel, p.ramdisk.kernelUrl],
      ['curl', '-fsS', '--retry', '5', '-o', CONTROL_RAMDISK_PATHS.initrd, p.ramdisk.initrdUrl],
      ['chown', '-R', 'ironic:ironic', IRONIC_DIR, DNSMASQ_DIR],
      ['chgrp', 'ironic', '/etc/ironic/ironic.conf', '/etc/ironic/htpasswd'],
      // nginx (www-data) serves HTTP_ROOT: the path to it must be searchable (Ironic's home is 0700)
      ['chmod', '0755', IRONIC_DIR, HTTP_ROOT, `${HTTP_ROOT}/seed`],
      // a cloud image may ship without /var/log/nginx, and nginx then refuses to start (seen on lab-control)
      ['install', '-d', '-m', '0755', '-o', 'root', '-g', 'adm', '/var/log/nginx'],
      ['rm', '-f', '/etc/nginx/sites-enabled/default'],
      ['su', '-s', '/bin/sh', 'ironic', '-c', 'ironic-dbsync --config-file /etc/ironic/ironic.conf create_schema'],
      ['systemctl', 'enable', '--now', 'nginx.service', 'rackseed-dnsmasq.service', 'rackseed-ironic.service'],
    ],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}
