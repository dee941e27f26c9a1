#!/usr/bin/env bash
# ipmi_sim's `chassis_control` program for one virtual-rack node: the BMC's hands on the node's power.
#
#   chassis-control.sh NODE_DIR get power [boot …]      → prints "power:0|1", "boot:none|pxe|default|…" lines
#   chassis-control.sh NODE_DIR set power 1|0           → start / stop the node's QEMU
#   chassis-control.sh NODE_DIR set reset 1             → hard reset (QEMU runs with -no-reboot: stop + start)
#   chassis-control.sh NODE_DIR set shutdown 1          → ACPI power button through the HMP monitor socket
#   chassis-control.sh NODE_DIR set boot pxe|default|…  → boot device for the next power on (one-time)
#   chassis-control.sh NODE_DIR set identify …          → accepted, ignored
#
# ipmi_sim runs this synchronously and blocks its event loop meanwhile, so every path returns in well under
# a second: QEMU is started fully detached (setsid, stdio redirected) and never waited for.
# NODE_DIR holds (written by lab/node.ts): qemu.args (one argument per line, without -boot/-pidfile),
# boot (next boot device), power.pid (QEMU's PID while it runs), console.log (serial console), qemu.err.
set -u
dir="$1"; shift
cd "$dir" || exit 1
echo "$(date -u +%T.%N | cut -c1-12) $*" >> control.log

qemu_pid() {
  local pid
  pid=$(cat power.pid 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  # guard against a recycled PID: it must still be this node's QEMU
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-pidfile $dir/qemu.pid" || return 1
  echo "$pid"
}

power_on() {
  qemu_pid >/dev/null && return 0
  local bootdev order
  bootdev=$(cat boot 2>/dev/null || echo default)
  case "$bootdev" in
    pxe) order=n ;;
    cdrom) order=d ;;
    *) order=c ;;
  esac
  # an IPMI boot device without "persistent" applies to the next boot only
  [ -f boot.persistent ] || echo default > boot
  mapfile -t args < qemu.args
  # OVMF ignores -boot order (only SeaBIOS reads it) and keeps its own boot order in the node's variable store, where
  # network boot may come first: a one-time PXE boot of a UEFI node whose disk is bootable (a deployed node being
  # released) would start the disk, and a deployed node would spend minutes in PXEv4/PXEv6/HTTP boot before its
  # disk. A bootindex puts the wanted device first for this power-on in both firmwares (the NIC for pxe, the disk
  # otherwise); the rest follow, so a failed PXE or a blank disk still falls through.
  local i want
  if [ "$bootdev" = pxe ]; then want='*netdev=n0*'; else want='*drive=d0*'; fi
  for i in "${!args[@]}"; do
    # shellcheck disable=SC2254
    case "${args[$i]}" in -*) ;; $want) args[$i]="${args[$i]},bootindex=0" ;; esac
  done
  echo "=== power on $(date -u +%FT%TZ) boot=$bootdev" >> console.log
  setsid qemu-system-x86_64 "${args[@]}" -boot "order=$order" -pidfile "$dir/qemu.pid" \
    </dev/null >>console.log 2>>qemu.err &
  echo $! > power.pid
}

power_off() {
  local pid i
  pid=$(qemu_pid) || { rm -f power.pid; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for i in 1 2 3 4 5 6 7 8; do
    [ -d "/proc/$pid" ] || break
    sleep 0.05
  done
  [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -f power.pid
  echo "=== power off $(date -u +%FT%TZ)" >> console.log
}

monitor() {
  # HMP over the node's unix socket; node is always present where the lab runs
  node -e 'const s=require("net").connect(process.argv[1]);s.on("error",()=>process.exit(1));s.on("connect",()=>{s.end(process.argv[2]+"\n");setTimeout(()=>process.exit(0),100);});' \
    "$dir/monitor.sock" "$1" >/dev/null 2>&1
}

cmd="${1:-}"; shift || true
case "$cmd" in
  get)
    for what in "$@"; do
      case "$what" in
        power) if qemu_pid >/dev/null; then echo "power:1"; else echo "power:0"; fi ;;
        boot) echo "boot:$(cat boot 2>/dev/null || echo default)" ;;
      esac
    done
    ;;
  set)
    while [ $# -ge 2 ]; do
      what="$1"; val="$2"; shift 2
      case "$what" in
        power) if [ "$val" = 1 ]; then power_on; else power_off; fi ;;
        reset) if qemu_pid >/dev/null; then power_off; power_on; fi ;;
        shutdown) qemu_pid >/dev/null && monitor system_powerdown ;;
        boot) echo "$val" > boot ;;
        identify) : ;;
      esac
    done
    ;;
  *) echo "usage: $0 NODE_DIR get|set …" >&2; exit 2 ;;
esac
exit 0
