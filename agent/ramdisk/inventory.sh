#!/bin/sh
# RackSeed discovery agent: hardware inventory collector.
#
# Contract: prints ONE JSON document on stdout matching `InventorySchema` in src/shared/inventory.ts
# (schemaVersion 1) and exits 0. It only reads /proc and /sys; anything missing or unreadable becomes
# null (or an empty list), never an error, so it also runs unprivileged on an ordinary Linux host
# (the unit test runs it there). POSIX sh + busybox applets only (cat, sed, tr, sort, wc, readlink).
#
# Inputs (environment, all optional):
#   RACKSEED_BOOT_MAC   MAC of the NIC the node booted from (lower-case colon form)
#   RACKSEED_NODE       node id given on the kernel command line (rackseed.node=)
#   RACKSEED_AGENT_VERSION  agent version string
#   RACKSEED_SYSFS / RACKSEED_PROCFS  roots of sysfs and procfs (default /sys and /proc)
SYS=${RACKSEED_SYSFS:-/sys}
PROC=${RACKSEED_PROCFS:-/proc}

# json_str VALUE — VALUE as a JSON string, or null when empty. Control characters are dropped (tabs and
# newlines become spaces), backslash and double quote are escaped, surrounding blanks trimmed, and the
# value is cut to 256 bytes (the schema's limit for strings read from hardware).
json_str() {
  _v=$(printf '%s' "$1" | tr '\t\n\r' '   ' | tr -d '\000-\037\177' | cut -c1-256 |
    sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e 's/\\/\\\\/g' -e 's/"/\\"/g')
  if [ -z "$_v" ]; then printf 'null'; else printf '"%s"' "$_v"; fi
}

# json_int VALUE — VALUE if it is a non-negative decimal integer, else null.
json_int() {
  case "$1" in
    '' | *[!0-9]*) printf 'null' ;;
    *) printf '%s' "$1" ;;
  esac
}

# json_bool VALUE — 1 → true, 0 → false, anything else → null.
json_bool() {
  case "$1" in
    1) printf 'true' ;;
    0) printf 'false' ;;
    *) printf 'null' ;;
  esac
}

# rd FILE — first line of FILE, or nothing if it is missing/unreadable.
rd() {
  [ -r "$1" ] || return 0
  head -n 1 "$1" 2>/dev/null | tr -d '\000'
}

# ---- CPU: sockets = distinct packages, cores = distinct (package, core) pairs, threads = logical CPUs.
cpu_json() {
  _model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' "$PROC/cpuinfo" 2>/dev/null | head -n 1)
  _threads=0
  _pairs=''
  for _c in "$SYS"/devices/system/cpu/cpu[0-9]*; do
    [ -d "$_c" ] || continue
    _threads=$((_threads + 1))
    _pkg=$(rd "$_c/topology/physical_package_id")
    _core=$(rd "$_c/topology/core_id")
    _pairs="$_pairs${_pkg:-0}:${_core:-$_threads}
"
  done
  if [ "$_threads" -eq 0 ]; then
    _threads=$(grep -c '^processor' "$PROC/cpuinfo" 2>/dev/null)
    _sockets=1
    _cores=$_threads
  else
    _sockets=$(printf '%s' "$_pairs" | sed -n 's/:.*//p' | sort -u | wc -l)
    _cores=$(printf '%s' "$_pairs" | sort -u | wc -l)
  fi
  _mhz=$(sed -n 's/^cpu MHz[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p' "$PROC/cpuinfo" 2>/dev/null | head -n 1)
  printf '{"model":%s,"arch":%s,"sockets":%s,"cores":%s,"threads":%s,"mhz":%s}' \
    "$(json_str "$_model")" "$(json_str "$(uname -m)")" "$(json_int "$_sockets")" "$(json_int "$_cores")" \
    "$(json_int "$_threads")" "$(json_int "$_mhz")"
}

# ---- Memory: installed = online memory blocks × block size (close to the DIMM total); usable = MemTotal.
memory_json() {
  _usable_kb=$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\) kB/\1/p' "$PROC/meminfo" 2>/dev/null)
  _usable=''
  [ -n "$_usable_kb" ] && _usable=$((_usable_kb * 1024))
  _installed=''
  _bs=$(rd "$SYS/devices/system/memory/block_size_bytes")
  if [ -n "$_bs" ]; then
    _n=0
    for _b in "$SYS"/devices/system/memory/memory[0-9]*; do
      [ "$(rd "$_b/online")" = 1 ] && _n=$((_n + 1))
    done
    [ "$_n" -gt 0 ] && _installed=$((_n * 0x$_bs))
  fi
  [ -z "$_installed" ] && _installed=$_usable
  printf '{"totalBytes":%s,"usableBytes":%s}' "$(json_int "$_installed")" "$(json_int "$_usable")"
}

# vpd_serial FILE — the serial number from a SCSI VPD page 0x80 (4-byte header, then ASCII).
vpd_serial() {
  [ -r "$1" ] || return 0
  tail -c +5 "$1" 2>/dev/null | tr -d '\000'
}

# ---- Disks: every block device except loop/ram/zram/dm/md/optical/floppy.
disks_json() {
  _first=1
  printf '['
  for _d in "$SYS"/block/*; do
    [ -d "$_d" ] || continue
    _name=${_d##*/}
    case "$_name" in loop* | ram* | zram* | dm-* | md* | sr* | fd* | nbd*) continue ;; esac
    _sectors=$(rd "$_d/size")
    _size=''
    [ -n "$_sectors" ] && _size=$((_sectors * 512))
    _model=$(rd "$_d/device/model")
    _vendor=$(rd "$_d/device/vendor")
    _serial=$(rd "$_d/serial")
    [ -z "$_serial" ] && _serial=$(rd "$_d/device/serial")
    [ -z "$_serial" ] && _serial=$(vpd_serial "$_d/device/vpd_pg80")
    _wwn=$(rd "$_d/wwid")
    [ -z "$_wwn" ] && _wwn=$(rd "$_d/device/wwid")
    case "$_name" in
      nvme*) _bus=nvme ;;
      vd*) _bus=virtio ;;
      sd*) _bus=scsi ;;
      mmcblk*) _bus=mmc ;;
      *) _bus='' ;;
    esac
    [ $_first = 1 ] || printf ','
    _first=0
    printf '{"name":%s,"sizeBytes":%s,"model":%s,"vendor":%s,"serial":%s,"wwn":%s,"rotational":%s,"bus":%s}' \
      "$(json_str "$_name")" "$(json_int "$_size")" "$(json_str "$_model")" "$(json_str "$_vendor")" \
      "$(json_str "$_serial")" "$(json_str "$_wwn")" "$(json_bool "$(rd "$_d/queue/rotational")")" "$(json_str "$_bus")"
  done
  printf ']'
}

# ---- NICs: physical interfaces only (those with a device link); virtual ones (lo, bridges) skipped.
nics_json() {
  _first=1
  printf '['
  for _n in "$SYS"/class/net/*; do
    [ -e "$_n/device" ] || continue
    _name=${_n##*/}
    _drv=$(readlink "$_n/device/driver" 2>/dev/null)
    _drv=${_drv##*/}
    _speed=$(rd "$_n/speed")
    _ipv4=''
    if command -v ip >/dev/null 2>&1; then
      _ipv4=$(ip -4 -o addr show dev "$_name" 2>/dev/null | sed -n 's/.* inet \([0-9.]*\).*/\1/p' | head -n 1)
    fi
    [ $_first = 1 ] || printf ','
    _first=0
    printf '{"name":%s,"mac":%s,"driver":%s,"link":%s,"speedMbps":%s,"ipv4":%s}' \
      "$(json_str "$_name")" "$(json_str "$(rd "$_n/address")")" "$(json_str "$_drv")" \
      "$(json_bool "$(rd "$_n/carrier")")" "$(json_int "$_speed")" "$(json_str "$_ipv4")"
  done
  printf ']'
}

# ---- DMI (SMBIOS) identity from /sys/class/dmi/id; serials and UUID need root to read.
dmi() { json_str "$(rd "$SYS/class/dmi/id/$1")"; }
dmi_json() {
  _uuid=$(rd "$SYS/class/dmi/id/product_uuid" | tr 'A-F' 'a-f')
  printf '{"system":{"vendor":%s,"product":%s,"version":%s,"serial":%s,"uuid":%s,"sku":%s,"family":%s},' \
    "$(dmi sys_vendor)" "$(dmi product_name)" "$(dmi product_version)" "$(dmi product_serial)" \
    "$(json_str "$_uuid")" "$(dmi product_sku)" "$(dmi product_family)"
  printf '"board":{"vendor":%s,"product":%s,"version":%s,"serial":%s,"assetTag":%s},' \
    "$(dmi board_vendor)" "$(dmi board_name)" "$(dmi board_version)" "$(dmi board_serial)" "$(dmi board_asset_tag)"
  printf '"chassis":{"vendor":%s,"type":%s,"version":%s,"serial":%s,"assetTag":%s},' \
    "$(dmi chassis_vendor)" "$(json_int "$(rd "$SYS/class/dmi/id/chassis_type")")" "$(dmi chassis_version)" \
    "$(dmi chassis_serial)" "$(dmi chassis_asset_tag)"
  printf '"bios":{"vendor":%s,"version":%s,"date":%s}}' "$(dmi bios_vendor)" "$(dmi bios_version)" "$(dmi bios_date)"
}

boot_mode() { if [ -d "$SYS/firmware/efi" ]; then printf 'uefi'; else printf 'bios'; fi; }

printf '{"schemaVersion":1,"agentVersion":%s,"nodeId":%s,"bootMac":%s,"bootMode":"%s","kernel":%s,' \
  "$(json_str "${RACKSEED_AGENT_VERSION:-dev}")" "$(json_str "$RACKSEED_NODE")" \
  "$(json_str "$(printf '%s' "$RACKSEED_BOOT_MAC" | tr 'A-F' 'a-f')")" "$(boot_mode)" "$(json_str "$(uname -r)")"
printf '"cpu":%s,' "$(cpu_json)"
printf '"memory":%s,' "$(memory_json)"
printf '"disks":%s,' "$(disks_json)"
printf '"nics":%s,' "$(nics_json)"
printf '"dmi":%s}\n' "$(dmi_json)"
