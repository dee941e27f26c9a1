#!/bin/sh
# RackSeed discovery agent (POSIX sh + busybox). Run by /init after the driver modules are loaded.
#
# Kernel command line (all set by the daemon's iPXE script):
#   rackseed.url=http://IP:PORT   the daemon's agent endpoint base (required; `rackseed.callback=
#                                 http://IP:PORT/agent/v1`, the form netboot/http/scripts writes, works too)
#   rackseed.token=TOKEN          per-node bearer token (required; never printed)
#   rackseed.node=ID              node id (optional, echoed in the inventory)
#   rackseed.mac=MAC              boot NIC (colon or dash form); BOOTIF=01-aa-bb-… is accepted too
#
# Protocol (shared/inventory.ts documents the daemon side):
#   POST ${url}/agent/v1/inventory   Authorization: Bearer TOKEN, Content-Type: application/json,
#                                    body = inventory.sh output; retried with backoff until a 2xx
#                                    (after 3 answers 400/403/404/409/413… it gives up and goes on).
#   GET  ${url}/agent/v1/next        Authorization: Bearer TOKEN → {"action":"poweroff"|"reboot"|"wait",
#                                    "seconds":N}; polled until it says poweroff or reboot. During a deploy or a
#                                    release also deploy / verify / configdrive / clean (deploy.sh beside this file;
#                                    shared/deploy.ts), after which it asks again.
# Progress goes to the console (console=ttyS0) prefixed "rackseed-agent:".
AGENT_VERSION=1
LIB=/usr/libexec/rackseed
RUN=/run/rackseed
mkdir -p "$RUN"

log() {
  read -r _up _ </proc/uptime
  echo "rackseed-agent: [${_up}s] $*"
}
# val FILE — V = first line of FILE, empty when unreadable (no fork: the read builtin).
val() {
  V=''
  { IFS= read -r V <"$1"; } 2>/dev/null
  return 0
}

URL=''
TOKEN=''
NODE=''
MAC=''
set -f # no globbing of command-line words
for _w in $(cat /proc/cmdline); do
  case "$_w" in
    rackseed.url=*) URL=${_w#*=} ;;
    rackseed.callback=*) [ -z "$URL" ] && URL=${_w#*=} && URL=${URL%/} && URL=${URL%/agent/v1} ;;
    rackseed.token=*) TOKEN=${_w#*=} ;;
    rackseed.node=*) NODE=${_w#*=} ;;
    rackseed.mac=*) MAC=${_w#*=} ;;
    BOOTIF=*) [ -z "$MAC" ] && MAC=$(echo "${_w#BOOTIF=}" | sed 's/^01-//') ;;
  esac
done
set +f
MAC=$(echo "$MAC" | tr 'A-F-' 'a-f:')
URL=${URL%/}
if [ -z "$URL" ] || [ -z "$TOKEN" ]; then
  log "missing rackseed.url or rackseed.token on the kernel command line; nothing to report to"
  exit 1
fi
log "version $AGENT_VERSION, daemon $URL, node ${NODE:-?}, boot mac ${MAC:-?}"

# ---- network: bring every NIC up, then DHCP on the boot NIC (or on each NIC in turn if unknown).
nics() {
  for _n in /sys/class/net/*; do
    [ -e "$_n/device" ] && echo "${_n##*/}"
  done
}
for _i in $(nics); do ip link set "$_i" up 2>/dev/null; done

boot_if() {
  [ -n "$MAC" ] || return 0
  for _i in $(nics); do
    val "/sys/class/net/$_i/address"
    [ "$V" = "$MAC" ] && echo "$_i" && return 0
  done
}

# wait_carrier IF — up to 5 s for link on IF.
wait_carrier() {
  _t=0
  while [ $_t -lt 50 ]; do
    val "/sys/class/net/$1/carrier"
    [ "$V" = 1 ] && return 0
    sleep 0.1
    _t=$((_t + 1))
  done
}

# dhcp IF — lease on IF; udhcpc forks into the background to renew once bound. 0 on success.
dhcp() {
  wait_carrier "$1"
  udhcpc -i "$1" -s "$LIB/udhcpc.script" -p "$RUN/udhcpc.$1.pid" -t 6 -T 2 -A 1 -n
}

IFACE=''
_delay=2
while [ -z "$IFACE" ]; do
  _want=$(boot_if)
  [ -z "$_want" ] && [ -n "$MAC" ] && log "no NIC with MAC $MAC (have: $(nics | tr '\n' ' ')); trying all"
  for _i in ${_want:-$(nics)}; do
    log "DHCP on $_i ($(cat "/sys/class/net/$_i/address" 2>/dev/null))"
    if dhcp "$_i"; then IFACE=$_i; break; fi
  done
  if [ -z "$IFACE" ]; then
    log "no DHCP lease; retrying in ${_delay}s"
    sleep $_delay
    [ $_delay -lt 30 ] && _delay=$((_delay * 2))
  fi
done
[ -z "$MAC" ] && MAC=$(cat "/sys/class/net/$IFACE/address")
val "$RUN/lease.$IFACE"
log "$IFACE has $V; routes: $(ip -4 route | tr '\n' ';')"

# ---- inventory
# Disks behind SATA/SAS/NVMe controllers are found asynchronously after their driver loads: wait until
# the set of block devices stops changing (two equal looks 0.5 s apart; at most ~4 s).
_prev=''
_t=0
while [ $_t -lt 8 ]; do
  _now=$(ls /sys/block 2>/dev/null | tr '\n' ' ')
  [ -n "$_prev" ] && [ "$_now" = "$_prev" ] && break
  _prev=$_now
  sleep 0.5
  _t=$((_t + 1))
done
RACKSEED_BOOT_MAC=$MAC RACKSEED_NODE=$NODE RACKSEED_AGENT_VERSION=$AGENT_VERSION \
  /bin/sh "$LIB/inventory.sh" >"$RUN/inventory.json"
log "inventory collected ($(wc -c <"$RUN/inventory.json") bytes)"

# http METHOD PATH [BODYFILE] — one request with the bearer token; body on stdout; exit status of wget.
http() {
  if [ -n "$3" ]; then
    timeout 30 wget -q -O - --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
      --post-file "$3" "$URL$2" 2>"$RUN/http.err"
  else
    timeout 30 wget -q -O - --header "Authorization: Bearer $TOKEN" "$URL$2" 2>"$RUN/http.err"
  fi
}
http_error() { tr '\n' ' ' <"$RUN/http.err" | cut -c1-200; }

# refused ERR-FILE — true when wget reported a 4xx answer that a retry cannot fix (schema, wrong node,
# wrong state: 400, 403, 409, 413, …). 401 is retried (the daemon may not know the token yet), as are
# 408 and 429. busybox wget says "server returned error: HTTP/1.1 409 Conflict".
refused() {
  case "$(cat "$1" 2>/dev/null)" in
    *"HTTP/1."[01]" 401"* | *"HTTP/1."[01]" 408"* | *"HTTP/1."[01]" 429"*) return 1 ;;
    *"HTTP/1."[01]" 4"[0-9][0-9]*) return 0 ;;
  esac
  return 1
}

_delay=1
_refusals=0
until http POST /agent/v1/inventory "$RUN/inventory.json" >"$RUN/post.out"; do
  if refused "$RUN/http.err"; then
    _refusals=$((_refusals + 1))
    if [ $_refusals -ge 3 ]; then
      log "inventory refused: $(http_error); giving up and asking for the next command"
      break
    fi
  fi
  log "inventory POST failed: $(http_error); retrying in ${_delay}s"
  sleep $_delay
  [ $_delay -lt 30 ] && _delay=$((_delay * 2))
done
[ $_refusals -lt 3 ] && log "inventory posted"

# ---- commands
_delay=1
while :; do
  if ! _body=$(http GET /agent/v1/next); then
    log "GET next failed: $(http_error); retrying in ${_delay}s"
    sleep $_delay
    [ $_delay -lt 30 ] && _delay=$((_delay * 2))
    continue
  fi
  _delay=1
  _action=$(echo "$_body" | tr -d '\n' | sed -n 's/.*"action"[[:space:]]*:[[:space:]]*"\([a-z]*\)".*/\1/p')
  [ -z "$_action" ] && _action=$(echo "$_body" | tr -d ' \r\n' | cut -c1-20)
  _secs=$(echo "$_body" | tr -d '\n' | sed -n 's/.*"seconds"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p')
  case "$_action" in
    poweroff)
      log "powering off"
      sync
      poweroff -f
      ;;
    reboot)
      log "rebooting"
      sync
      reboot -f
      ;;
    wait)
      [ -n "$_secs" ] && [ "$_secs" -ge 1 ] && [ "$_secs" -le 3600 ] || _secs=5
      sleep "$_secs"
      ;;
    deploy | verify | configdrive | clean)
      . "$LIB/deploy.sh"
      "cmd_$_action" "$_body"
      ;;
    *)
      log "unknown command '$_action'; asking again in 5s"
      sleep 5
      ;;
  esac
done
