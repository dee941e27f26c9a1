#!/bin/sh
# RackSeed discovery agent: hardware inventory collector.
#
# Contract: prints ONE JSON document on stdout matching `InventorySchema` in shared/inventory.ts
# (schemaVersion 1) and exits 0. It only reads /proc and /sys; anything missing or unreadable becomes
# null (or an empty list), never an error, so it also runs unprivileged on an ordinary Linux host
# (the unit test runs it there). POSIX sh as busybox ash runs it (it uses ash's ${v//x/y} and ${v:0:n}).
#
# Speed matters more than elegance here: under emulation (QEMU TCG) every fork costs tens of
# milliseconds, so values are read with the `read` builtin and returned in variables ($V, $R) instead
# of through $(…) subshells; external tools run a handful of times in total, not per value.
#
# Inputs (environment, all optional):
#   RACKSEED_BOOT_MAC   MAC of the NIC the node booted from (colon or dash form; printed lower-case colon form)
#   RACKSEED_NODE       node id given on the kernel command line (rackseed.node=)
#   RACKSEED_AGENT_VERSION  agent version string
#   RACKSEED_SYSFS / RACKSEED_PROCFS  roots of sysfs and procfs (default /sys and /proc)
SYS=${RACKSEED_SYSFS:-/sys}
PROC=${RACKSEED_PROCFS:-/proc}

# rd FILE — V = first line of FILE (NUL bytes dropped), empty when missing or unreadable.
rd() {
  V=''
  [ -r "$1" ] || return 0
  { IFS= read -r V <"$1"; } 2>/dev/null
  return 0
}

# js VALUE — R = VALUE as a JSON string, or null when blank. Tabs/newlines become spaces and other
# control characters are dropped (only then does it fork, for tr), backslash and double quote are
# escaped, surrounding blanks trimmed, and the value is cut to 256 bytes (the schema's limit).
js() {
  _v=$1
  case "$_v" in
    *[[:cntrl:]]*) _v=$(printf '%s' "$_v" | tr '\t\n\r' '   ' | tr -d '\000-\037\177') ;;
  esac
  _v=${_v#"${_v%%[! ]*}"}
  _v=${_v%"${_v##*[! ]}"}
  [ ${#_v} -gt 256 ] && _v=${_v:0:256}
  _v=${_v//\\/\\\\}
  _v=${_v//\"/\\\"}
  if [ -z "$_v" ]; then R=null; else R="\"$_v\""; fi
}

# ji VALUE — R = VALUE if it is a non-negative decimal integer, else null.
ji() {
  case "$1" in
    '' | *[!0-9]*) R=null ;;
    *) R=$1 ;;
  esac
}

# jb VALUE — R = true for 1, false for 0, else null.
jb() {
  case "$1" in
    1) R=true ;;
    0) R=false ;;
    *) R=null ;;
  esac
}

# Shorthands: read FILE and convert in one step.
rjs() { rd "$1"; js "$V"; }
rji() { rd "$1"; ji "$V"; }
rjb() { rd "$1"; jb "$V"; }

OUT=''
emit() { OUT="$OUT$1"; }

# lower VALUE — R = VALUE with A-F lower-cased (hex: UUIDs, MACs).
lower() {
  R=$1
  case "$R" in *[A-F]*) R=$(printf '%s' "$R" | tr 'A-F' 'a-f') ;; esac
}
# macnorm VALUE — R = a MAC in lower-case colon form ("52-54-00-AB-CD-EF" → "52:54:00:ab:cd:ef").
macnorm() {
  lower "$1"
  R=${R//-/:}
}

# ---- header
js "${RACKSEED_AGENT_VERSION:-dev}"; emit "{\"schemaVersion\":1,\"agentVersion\":$R"
js "$RACKSEED_NODE"; emit ",\"nodeId\":$R"
macnorm "$RACKSEED_BOOT_MAC"; js "$R"; emit ",\"bootMac\":$R"
if [ -d "$SYS/firmware/efi" ]; then emit ',"bootMode":"uefi"'; else emit ',"bootMode":"bios"'; fi
rjs "$PROC/sys/kernel/osrelease"; emit ",\"kernel\":$R"

# ---- CPU: sockets = distinct packages, cores = distinct (package, core) pairs, threads = logical CPUs.
_model=''
_mhz=''
if [ -r "$PROC/cpuinfo" ]; then
  while IFS= read -r _l; do
    case "$_l" in
      'model name'*) [ -z "$_model" ] && _model=${_l#*: } ;;
      'cpu MHz'*) [ -z "$_mhz" ] && _mhz=${_l#*: } && _mhz=${_mhz%%.*} ;;
    esac
    [ -n "$_model" ] && [ -n "$_mhz" ] && break
  done <"$PROC/cpuinfo"
fi
_threads=0
_pkgs=' '
_pairs=' '
for _c in "$SYS"/devices/system/cpu/cpu[0-9]*; do
  [ -d "$_c" ] || continue
  _threads=$((_threads + 1))
  rd "$_c/topology/physical_package_id"; _pkg=${V:-0}
  rd "$_c/topology/core_id"; _core=${V:-$_threads}
  case "$_pkgs" in *" $_pkg "*) ;; *) _pkgs="$_pkgs$_pkg " ;; esac
  case "$_pairs" in *" $_pkg:$_core "*) ;; *) _pairs="$_pairs$_pkg:$_core " ;; esac
done
set -- $_pkgs; _sockets=$#
set -- $_pairs; _cores=$#
if [ "$_threads" -eq 0 ]; then
  _threads=''; _sockets=''; _cores=''
  [ -r "$PROC/cpuinfo" ] && _threads=$(grep -c '^processor' "$PROC/cpuinfo")
fi
read -r _arch _ <<EOF
$(uname -m)
EOF
js "$_model"; emit ",\"cpu\":{\"model\":$R"
js "$_arch"; emit ",\"arch\":$R"
ji "$_sockets"; emit ",\"sockets\":$R"
ji "$_cores"; emit ",\"cores\":$R"
ji "$_threads"; emit ",\"threads\":$R"
ji "$_mhz"; emit ",\"mhz\":$R}"

# ---- Memory: installed = online memory blocks × block size (close to the DIMM total); usable = MemTotal.
_usable=''
if [ -r "$PROC/meminfo" ]; then
  while read -r _k _n _; do
    [ "$_k" = MemTotal: ] && _usable=$((_n * 1024)) && break
  done <"$PROC/meminfo"
fi
_installed=''
rd "$SYS/devices/system/memory/block_size_bytes"
if [ -n "$V" ]; then
  _bs=$((0x$V))
  _n=0
  for _b in "$SYS"/devices/system/memory/memory[0-9]*; do
    rd "$_b/online"
    [ "$V" = 1 ] && _n=$((_n + 1))
  done
  [ "$_n" -gt 0 ] && _installed=$((_n * _bs))
fi
[ -z "$_installed" ] && _installed=$_usable
ji "$_installed"; emit ",\"memory\":{\"totalBytes\":$R"
ji "$_usable"; emit ",\"usableBytes\":$R}"

# ---- Disks: every block device except loop/ram/zram/dm/md/optical/floppy/nbd; at most 256 (the
# schema's limit: a bigger JBOD is reported truncated rather than refused).
emit ',"disks":['
_sep=''
_count=0
for _d in "$SYS"/block/*; do
  [ -d "$_d" ] || continue
  _name=${_d##*/}
  case "$_name" in loop* | ram* | zram* | dm-* | md* | sr* | fd* | nbd*) continue ;; esac
  _count=$((_count + 1))
  [ $_count -gt 256 ] && break
  js "$_name"; emit "$_sep{\"name\":$R"
  _sep=','
  rd "$_d/size"
  case "$V" in '' | *[!0-9]*) R=null ;; *) R=$((V * 512)) ;; esac
  emit ",\"sizeBytes\":$R"
  rjs "$_d/device/model"; emit ",\"model\":$R"
  rjs "$_d/device/vendor"; emit ",\"vendor\":$R"
  # serial: virtio/nvme attributes, else SCSI VPD page 0x80 (4-byte header, then ASCII)
  rd "$_d/serial"
  [ -z "$V" ] && rd "$_d/device/serial"
  [ -z "$V" ] && [ -r "$_d/device/vpd_pg80" ] && V=$(tail -c +5 "$_d/device/vpd_pg80" 2>/dev/null | tr -d '\000')
  js "$V"; emit ",\"serial\":$R"
  rd "$_d/wwid"
  [ -z "$V" ] && rd "$_d/device/wwid"
  js "$V"; emit ",\"wwn\":$R"
  rjb "$_d/queue/rotational"; emit ",\"rotational\":$R"
  case "$_name" in
    nvme*) R='"nvme"' ;;
    vd*) R='"virtio"' ;;
    sd*) R='"scsi"' ;;
    mmcblk*) R='"mmc"' ;;
    *) R=null ;;
  esac
  emit ",\"bus\":$R}"
done
emit ']'

# ---- NICs: physical interfaces only (those with a device link); virtual ones (lo, bridges) skipped;
# at most 64 (the schema's limit).
emit ',"nics":['
_sep=''
_count=0
for _n in "$SYS"/class/net/*; do
  [ -e "$_n/device" ] || continue
  _count=$((_count + 1))
  [ $_count -gt 64 ] && break
  _name=${_n##*/}
  js "$_name"; emit "$_sep{\"name\":$R"
  _sep=','
  rjs "$_n/address"; emit ",\"mac\":$R"
  _drv=''
  [ -e "$_n/device/driver" ] && _drv=$(readlink "$_n/device/driver" 2>/dev/null)
  js "${_drv##*/}"; emit ",\"driver\":$R"
  rjb "$_n/carrier"; emit ",\"link\":$R"
  rji "$_n/speed"; emit ",\"speedMbps\":$R"
  _ipv4=''
  if command -v ip >/dev/null 2>&1; then
    _ipv4=$(ip -4 -o addr show dev "$_name" 2>/dev/null)
    _ipv4=${_ipv4#* inet }
    case "$_ipv4" in [0-9]*) _ipv4=${_ipv4%%/*} ;; *) _ipv4='' ;; esac
  fi
  js "$_ipv4"; emit ",\"ipv4\":$R}"
done
emit ']'

# ---- The BMC as the host sees it through ipmi_si (loaded by /init when SMBIOS announces one). Its GUID
# is what the BMC also reports over the LAN (Get System GUID), so it ties this node to its BMC even
# when the SMBIOS UUID differs. Reading the attributes sends IPMI commands (the kernel times them out).
_bmc=''
for _b in "$SYS"/bus/platform/devices/ipmi_bmc.*; do
  [ -d "$_b" ] && _bmc=$_b && break
done
if [ -n "$_bmc" ]; then
  rd "$_bmc/guid"; lower "$V"; js "$R"; emit ",\"bmc\":{\"guid\":$R"
  rjs "$_bmc/ipmi_version"; emit ",\"ipmiVersion\":$R"
  rjs "$_bmc/manufacturer_id"; emit ",\"manufacturerId\":$R"
  rjs "$_bmc/product_id"; emit ",\"productId\":$R"
  rjs "$_bmc/firmware_revision"; emit ",\"firmwareRevision\":$R}"
else
  emit ',"bmc":null'
fi

# ---- DMI (SMBIOS) identity from /sys/class/dmi/id; serials and UUID need root to read.
D="$SYS/class/dmi/id"
rjs "$D/sys_vendor"; emit ",\"dmi\":{\"system\":{\"vendor\":$R"
rjs "$D/product_name"; emit ",\"product\":$R"
rjs "$D/product_version"; emit ",\"version\":$R"
rjs "$D/product_serial"; emit ",\"serial\":$R"
rd "$D/product_uuid"; lower "$V"; js "$R"; emit ",\"uuid\":$R"
rjs "$D/product_sku"; emit ",\"sku\":$R"
rjs "$D/product_family"; emit ",\"family\":$R}"
rjs "$D/board_vendor"; emit ",\"board\":{\"vendor\":$R"
rjs "$D/board_name"; emit ",\"product\":$R"
rjs "$D/board_version"; emit ",\"version\":$R"
rjs "$D/board_serial"; emit ",\"serial\":$R"
rjs "$D/board_asset_tag"; emit ",\"assetTag\":$R}"
rjs "$D/chassis_vendor"; emit ",\"chassis\":{\"vendor\":$R"
rji "$D/chassis_type"; emit ",\"type\":$R"
rjs "$D/chassis_version"; emit ",\"version\":$R"
rjs "$D/chassis_serial"; emit ",\"serial\":$R"
rjs "$D/chassis_asset_tag"; emit ",\"assetTag\":$R}"
rjs "$D/bios_vendor"; emit ",\"bios\":{\"vendor\":$R"
rjs "$D/bios_version"; emit ",\"version\":$R"
rjs "$D/bios_date"; emit ",\"date\":$R}}}"

printf '%s\n' "$OUT"
