#!/bin/sh
# lab-tiny: PID 1 of the tiny lab OS (busybox + the Debian kernel, running from its initramfs).
# Loads the drivers, finds a config drive (a file system labelled config-2 or CONFIG-2 on any disk or
# partition), applies it — hostname from openstack/latest/meta_data.json, its public_keys into
# /root/.ssh/authorized_keys —, brings up DHCP on every NIC, runs the user data when it is a #! script,
# prints "@MARKER@ booted hostname=<h> keys=<n> …" on the console, POSTs to a phone-home URL when one is
# given (meta.phone_home_url, or a #cloud-config phone_home url), then hands over to busybox init (a shell
# on the console; poweroff and reboot work).
# Built by lab/images/tiny.ts from this template: @MARKER@ and @RELEASE@ are filled in there.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
umask 022
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /run /tmp /mnt/config
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
echo 4 >/proc/sys/kernel/printk 2>/dev/null

log() {
  read -r _up _ </proc/uptime
  echo "lab-tiny: [${_up}s] $*"
}
log "@RELEASE@, kernel $(uname -r)"

# Drivers by modalias (PCI, then the virtio devices virtio_pci creates), then disks behind SCSI hosts and
# the file systems a config drive can have.
load_bus() {
  _aliases=''
  for _f in /sys/bus/"$1"/devices/*/modalias; do
    [ -r "$_f" ] || continue
    read -r _a <"$_f"
    case " $_aliases " in *" $_a "*) ;; *) _aliases="$_aliases $_a" ;; esac
  done
  [ -n "$_aliases" ] && modprobe -qa $_aliases 2>/dev/null
  return 0
}
modprobe -q crc64_rocksoft_generic 2>/dev/null
load_bus pci
load_bus virtio
set -- /sys/class/scsi_host/*
[ -e "$1" ] && modprobe -qa sd_mod sr_mod 2>/dev/null
modprobe -qa isofs vfat nls_cp437 nls_ascii nls_utf8 ext4 2>/dev/null
for _n in /sys/class/net/*; do
  [ -e "$_n/device" ] && ip link set "${_n##*/}" up 2>/dev/null
done

# label_of DEV — the volume label of an ISO 9660 or FAT file system on DEV (busybox has no blkid here).
label_of() {
  if [ "$(dd if="$1" bs=1 skip=32769 count=5 2>/dev/null)" = CD001 ]; then
    dd if="$1" bs=1 skip=32808 count=32 2>/dev/null | tr -d ' '
  elif [ "$(dd if="$1" bs=1 skip=82 count=5 2>/dev/null)" = FAT32 ]; then
    dd if="$1" bs=1 skip=71 count=11 2>/dev/null | tr -d ' '
  elif [ "$(dd if="$1" bs=1 skip=54 count=4 2>/dev/null)" = FAT1 ]; then
    dd if="$1" bs=1 skip=43 count=11 2>/dev/null | tr -d ' '
  fi
}

# find_config_drive — the first block device (disk or partition) labelled config-2/CONFIG-2; waits up to
# ~10 s for slow controllers to show their disks.
find_config_drive() {
  _try=0
  while [ $_try -lt 20 ]; do
    for _b in /sys/class/block/*; do
      _d="/dev/${_b##*/}"
      [ -b "$_d" ] || continue
      case "$(label_of "$_d")" in config-2 | CONFIG-2) echo "$_d"; return 0 ;; esac
    done
    _try=$((_try + 1))
    sleep 0.5
  done
  return 1
}

# json_leaves — every string/number/boolean leaf of a JSON document as "path=value" lines, path being the
# keys and array indexes joined by dots ("public_keys.alice=ssh-ed25519 …", "meta.phone_home_url=…").
# Escapes are decoded except \uXXXX (→ ?); newlines in values become spaces.
json_leaves() {
  awk 'BEGIN { RS = "\001" } { s = s $0 } END {
    n = length(s); i = 1; d = 0
    while (i <= n) {
      c = substr(s, i, 1)
      if (c == "{" || c == "[") { d++; t[d] = c; k[d] = ""; x[d] = 0; wantkey[d] = (c == "{"); i++; continue }
      if (c == "}" || c == "]") { d--; i++; continue }
      if (c == ",") { if (t[d] == "[") x[d]++; else wantkey[d] = 1; i++; continue }
      if (c == ":") { wantkey[d] = 0; i++; continue }
      if (c == "\"") {
        v = ""; i++
        while (i <= n) {
          c = substr(s, i, 1)
          if (c == "\\") {
            e = substr(s, i + 1, 1)
            if (e == "n" || e == "r" || e == "t") v = v " "; else if (e == "u") { v = v "?"; i += 4 } else v = v e
            i += 2; continue
          }
          if (c == "\"") { i++; break }
          v = v c; i++
        }
        if (t[d] == "{" && wantkey[d]) { gsub(/[=.]/, "_", v); k[d] = v } else emit(v)
        continue
      }
      if (c ~ /[-0-9tfn]/) { if (match(substr(s, i), /^[-+0-9.eE]+|^true|^false|^null/)) { emit(substr(s, i, RLENGTH)); i += RLENGTH; continue } }
      i++
    }
  }
  function emit(v,   p, j) { if (d == 0) return; p = ""; for (j = 1; j <= d; j++) p = p (j > 1 ? "." : "") (t[j] == "{" ? k[j] : x[j]); gsub(/\n/, " ", v); print p "=" v }'
}

hostname=rackseed-tiny
instance_id=''
keys=0
phone_home=''
cd_dev=none
if cd_dev=$(find_config_drive); then
  if mount -o ro "$cd_dev" /mnt/config 2>/dev/null; then
    _md=/mnt/config/openstack/latest/meta_data.json
    if [ -r "$_md" ]; then
      mkdir -p /root/.ssh
      chmod 700 /root/.ssh
      : >/root/.ssh/authorized_keys
      json_leaves <"$_md" >/run/meta_data.leaves
      while IFS= read -r _l; do
        case "$_l" in
          hostname=?*) hostname="${_l#hostname=}" ;;
          uuid=?*) instance_id="${_l#uuid=}" ;;
          public_keys.*=?*) echo "${_l#*=}" >>/root/.ssh/authorized_keys; keys=$((keys + 1)) ;;
          meta.phone_home_url=?*) phone_home="${_l#*=}" ;;
        esac
      done </run/meta_data.leaves
      chmod 600 /root/.ssh/authorized_keys
    else
      log "config drive $cd_dev has no openstack/latest/meta_data.json"
    fi
    [ -r /mnt/config/openstack/latest/user_data ] && cp /mnt/config/openstack/latest/user_data /run/user_data
    umount /mnt/config
  else
    log "config drive $cd_dev could not be mounted"
  fi
else
  cd_dev=none
  log "no config drive (no file system labelled config-2)"
fi
hostname "$hostname"
echo "$hostname" >/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$hostname" >/etc/hosts

# DHCP on every NIC at once: each udhcpc returns when it has a lease or after ~6 s (then keeps trying in
# the background), and keeps its lease renewed.
for _n in /sys/class/net/*; do
  [ -e "$_n/device" ] || continue
  _i="${_n##*/}"
  udhcpc -i "$_i" -b -t 3 -T 2 -A 5 -S -x "hostname:$hostname" -s /usr/libexec/rackseed/udhcpc.script -p "/run/udhcpc.$_i.pid" >/dev/null 2>&1 &
done
wait
_ips=''
for _f in /run/rackseed/lease.*; do [ -r "$_f" ] && { read -r _a <"$_f"; _ips="$_ips${_ips:+,}${_f##*lease.}:$_a"; }; done

# User data: a #! script runs (with busybox sh); a #cloud-config may name a phone_home url.
if [ -r /run/user_data ]; then
  case "$(head -c 2 /run/user_data)" in
    '#!')
      log "running user data"
      chmod 700 /run/user_data
      sh /run/user_data </dev/null
      log "user data exited $?"
      ;;
    '#c')
      if [ -z "$phone_home" ]; then
        phone_home=$(sed -n '/^phone_home:/,/^[^ #]/ s/^ *url: *//p' /run/user_data | head -n 1 | tr -d "\"'")
      fi
      ;;
  esac
fi

echo "@MARKER@ booted hostname=$hostname keys=$keys config-drive=$cd_dev ip=${_ips:-none}"

if [ -n "$phone_home" ]; then
  url=$(echo "$phone_home" | sed "s/\$INSTANCE_ID/$instance_id/g")
  (
    _try=1
    while [ $_try -le 10 ]; do
      if wget -q -O /dev/null --post-data "instance_id=$instance_id&hostname=$hostname&fqdn=$hostname" "$url" 2>/dev/null; then
        printf '\n%s\n' "@MARKER@ phone-home ok url=$url" # on its own line: the console shell's prompt is there by now
        exit 0
      fi
      _try=$((_try + 1))
      sleep 3
    done
    printf '\n%s\n' "@MARKER@ phone-home failed url=$url"
  ) &
fi

exec /sbin/init
