# RackSeed deploy/clean agent: sourced by rackseed-agent.sh (which defines log, val, http, URL, TOKEN, RUN, LIB) and
# run for the commands of GET /agent/v1/next during a deploy or a release (shared/deploy.ts, the daemon side:
# core/deploy/service.ts):
#   deploy {attempt,map,data,size,dataBytes,sha256,disk,diskSize,diskSerial,diskWwn,check}
#       fetch the image's extent map (`data|zero OFFSET LENGTH` lines covering the image, core/images/extent-map.ts);
#       make every zero range read as zeros (rackseed-zero: ioctl BLKZEROOUT, no bytes on the wire); stream the data
#       ranges (`wget -O - DATA`: the data ranges concatenated) onto the disk, one dd per range reading exactly its
#       length from the stream (nothing kept in RAM or on a tmpfs); report the write; then drop the caches and verify:
#       every zero range reads back as zeros (rackseed-zero check) and the data ranges read back from the disk sum to
#       what the daemon expects (it compares): with check `fletcher4` (the default) their Fletcher-4 from `rackseed-zero
#       sum` (~2 instructions a byte), with `sha256` their SHA-256 through busybox sha256sum (~69): together with the
#       zero ranges, every byte of the image.
#   verify {attempt,map,size,dataBytes,disk,…,check}   only the verification
#   configdrive {attempt,plan,disk,…} fetch the plan (OFFSET SIZE SHA256 URL lines), write each piece at its offset
#       after checking its SHA-256, read each back and compare
#   clean {attempt,erase}            zero the first and last MiB of every partition and every disk (partition
#       tables, the backup GPT, file system signatures); with erase, zero every whole disk
# Progress: POST /agent/v1/deploy/progress {attempt,stage,bytes} at most every 2 s. Outcome of each phase:
# POST /agent/v1/deploy/result {attempt,phase,ok,error?,bytes?,sha256?,disk?,detail?}, retried until the daemon
# answers (it may be restarting); a 4xx (another attempt runs now) ends the retries.
# Under QEMU's emulation every byte a busybox applet touches costs (sha256sum ~7 MB/s, tee and wc -c slower still,
# head -c ~10 MB/s, dd with 4 MiB blocks ~100+ MB/s): the image passes through dd only, and is hashed once, as read back.

ZERO_TOOL=${LIB:-/usr/libexec/rackseed}/rackseed-zero

# jstr KEY JSON — the string value of "KEY":"…" (the daemon's values hold no quotes or backslashes)
jstr() { printf '%s' "$2" | tr -d '\n' | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"; }
# jnum KEY JSON — the integer value of "KEY":N
jnum() { printf '%s' "$2" | tr -d '\n' | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p"; }
# jesc TEXT — TEXT as the inside of a JSON string (one line, quotes and backslashes escaped, ≤ 1500 bytes)
jesc() { printf '%s' "$1" | tr '\n\r\t' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g' | cut -c1-1500; }

# now_s — NOW = whole seconds since boot (no fork: under emulation every fork costs tens of ms)
now_s() { read -r NOW _ </proc/uptime; NOW=${NOW%%.*}; }

# post_json PATH FILE — POST FILE; 0 on a 2xx, 2 when refused (4xx: stop retrying), 1 otherwise
post_json() {
  timeout 15 wget -q -O "$RUN/post.out" --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --post-file "$2" "$URL$1" 2>"$RUN/post.err" && return 0
  case "$(cat "$RUN/post.err" 2>/dev/null)" in
    *"HTTP/1."[01]" 4"[0-9][0-9]*) return 2 ;;
  esac
  return 1
}

# progress ATTEMPT STAGE BYTES — best effort, one try
progress() {
  printf '{"attempt":%s,"stage":"%s","bytes":%s}' "$1" "$2" "$3" >"$RUN/progress.json"
  post_json /agent/v1/deploy/progress "$RUN/progress.json" >/dev/null 2>&1
  return 0
}

# result JSON — the outcome of a phase, retried (backoff to 10 s) for ~10 minutes while the daemon is unreachable
result() {
  printf '%s' "$1" >"$RUN/result.json"
  _rt=0
  _rd=1
  while [ $_rt -lt 80 ]; do
    post_json /agent/v1/deploy/result "$RUN/result.json"
    case $? in
      0) return 0 ;;
      2) log "result refused: $(tr '\n' ' ' <"$RUN/post.err" | cut -c1-200) (another attempt runs now)"; return 1 ;;
    esac
    sleep $_rd
    [ $_rd -lt 10 ] && _rd=$((_rd * 2))
    _rt=$((_rt + 1))
  done
  log "could not report the result; asking for the next command"
  return 1
}

fail() { # fail ATTEMPT PHASE MESSAGE [DISK]
  log "$2 failed: $3"
  result "{\"attempt\":$1,\"phase\":\"$2\",\"ok\":false,\"error\":\"$(jesc "$3")\"${4:+,\"disk\":\"$4\"}}"
}

is_disk() { case "$1" in loop* | ram* | zram* | dm-* | md* | sr* | fd* | nbd*) return 1 ;; esac; [ -e "/sys/block/$1/size" ]; }

# disk_serial NAME — V = serial as the inventory reads it (virtio/nvme attribute, else SCSI VPD page 0x80), trimmed
disk_serial() {
  val "/sys/block/$1/serial"
  [ -z "$V" ] && val "/sys/block/$1/device/serial"
  [ -z "$V" ] && [ -r "/sys/block/$1/device/vpd_pg80" ] && V=$(tail -c +5 "/sys/block/$1/device/vpd_pg80" 2>/dev/null | tr -d '\000')
  V=$(printf '%s' "$V" | sed 's/^ *//; s/ *$//')
}

disk_bytes() { val "/sys/block/$1/size"; echo $((${V:-0} * 512)); }

# find_disk CMD-JSON — D = the target disk's kernel name: the one with the serial (or WWN) and size the daemon
# chose from the inventory, else the same name and size; fails (message in D) when it is gone
find_disk() {
  _fname=$(jstr disk "$1"); _fsize=$(jnum diskSize "$1"); _fserial=$(jstr diskSerial "$1"); _fwwn=$(jstr diskWwn "$1")
  _fhave=''
  for _fb in /sys/block/*; do
    _fn=${_fb##*/}
    is_disk "$_fn" || continue
    _fs=$(disk_bytes "$_fn")
    _fhave="$_fhave $_fn($_fs)"
    [ "$_fs" = "$_fsize" ] || continue
    if [ -n "$_fserial" ]; then disk_serial "$_fn"; [ "$V" = "$_fserial" ] && { D=$_fn; return 0; }; continue; fi
    if [ -n "$_fwwn" ]; then val "$_fb/wwid"; [ -z "$V" ] && val "$_fb/device/wwid"; [ "$V" = "$_fwwn" ] && { D=$_fn; return 0; }; continue; fi
    [ "$_fn" = "$_fname" ] && { D=$_fn; return 0; }
  done
  D="the target disk $_fname (${_fsize} bytes${_fserial:+, serial $_fserial}${_fwwn:+, WWN $_fwwn}) is not there (disks:${_fhave:- none})"
  return 1
}

# sectors NAME read|write — SECT = sectors read or written on the disk so far (/sys/block/NAME/stat), no fork
sectors() {
  read -r _s1 _s2 _srd _s4 _s5 _s6 _swr _srest <"/sys/block/$1/stat"
  if [ "$2" = read ]; then SECT=$_srd; else SECT=$_swr; fi
}

# report_while PID ATTEMPT STAGE DISK read|write TOTAL [DONE] — progress reports every 2 s until PID exits: DONE (bytes
# already done before PID started, default 0) plus the sectors moved since
report_while() {
  sectors "$4" "$5"; _wbase=$SECT
  now_s; _wlast=$NOW
  while kill -0 "$1" 2>/dev/null; do
    sleep 0.5
    now_s
    if [ $((NOW - _wlast)) -ge 2 ]; then
      _wlast=$NOW
      sectors "$4" "$5"
      _wb=$(((SECT - _wbase) * 512 + ${7:-0}))
      [ "$_wb" -gt "$6" ] && _wb=$6
      progress "$2" "$3" "$_wb"
    fi
  done
}

# fetch_map ATTEMPT URL SIZE DATABYTES MAPSHA — $RUN/map.data and $RUN/map.zero: "OFFSET LENGTH" lines of the image's
# data and zero ranges; the map's text must hash to MAPSHA (the daemon's SHA-256 of it, given with the command), cover
# [0, SIZE) without gap or overlap and hold DATABYTES of data (a truncated, damaged or foreign map is refused: a swapped
# range would be written and read back alike, and pass the data-range check). MAPINFO = "N data ranges (B bytes), M zero ranges (Z bytes)", ZBYTES = Z; MAPERR says why
# it failed.
fetch_map() {
  rm -f "$RUN/map.all" "$RUN/map.data" "$RUN/map.zero"
  if ! timeout 60 wget -q -O "$RUN/map.all" "$2" 2>"$RUN/http.err"; then
    MAPERR="fetching the image's extent map failed: $(tr '\n' ' ' <"$RUN/http.err" | cut -c1-200)"; return 1
  fi
  _mgot=$(sha256sum <"$RUN/map.all" | cut -c1-64)
  # no digest given: a daemon older than this agent (the check guards against damage on the way, not against an
  # attacker on the segment, who could as well strip the digest from the plain-HTTP command: docs/SECURITY.md)
  if [ -z "$5" ]; then log "the daemon gave no digest for the extent map: not checked"
  elif [ "$_mgot" != "$5" ]; then
    MAPERR="the image's extent map arrived damaged (sha256 $_mgot, expected $5)"; return 1
  fi
  _mi=$(awk -v size="$3" -v dbytes="$4" -v dout="$RUN/map.data" -v zout="$RUN/map.zero" '
    BEGIN { pos = 0; d = 0; z = 0; nd = 0; nz = 0 }
    ($1 != "data" && $1 != "zero") || NF != 3 || $2 != pos { bad = "line " NR " is not the next range"; exit }
    { pos += $3; if ($1 == "data") { d += $3; nd++; print $2, $3 > dout } else { z += $3; nz++; print $2, $3 > zout } }
    END {
      if (bad == "" && pos != size) bad = "it covers " pos " of " size " bytes"
      if (bad == "" && d != dbytes) bad = "it holds " d " bytes of data, not " dbytes
      if (bad != "") { print "BAD " bad; exit }
      printf "%d %.0f %d %.0f\n", nd, d, nz, z
    }' "$RUN/map.all")
  case "$_mi" in
    BAD*) MAPERR="the image's extent map is damaged: ${_mi#BAD }"; return 1 ;;
    '') MAPERR="the image's extent map could not be read"; return 1 ;;
  esac
  set -- $_mi
  ZBYTES=$4
  MAPINFO="$1 data ranges ($2 bytes), $3 zero ranges ($4 bytes)"
  touch "$RUN/map.data" "$RUN/map.zero"
  return 0
}

# write_ranges DISK — stdin is the data stream: each data range's bytes, in map order; one dd per range reads
# exactly its length (fullblock: pipe reads come short) and writes it at its offset. A short stream leaves the last
# ranges short: wget's own status says so (Content-Length), and the read-back would not match anyway.
write_ranges() {
  while read -r _woff _wlen <&3; do
    dd of="/dev/$1" bs=4M seek="$_woff" count="$_wlen" oflag=seek_bytes iflag=count_bytes,fullblock 2>"$RUN/dd.err" || return 1
  done 3<"$RUN/map.data"
  return 0
}

# read_ranges DISK — the data ranges read back from the disk, concatenated in map order, on stdout
read_ranges() {
  while read -r _roff _rlen; do
    dd if="/dev/$1" bs=4M skip="$_roff" count="$_rlen" iflag=skip_bytes,count_bytes 2>"$RUN/rd.err" || return 1
  done <"$RUN/map.data"
  return 0
}

# readback ATTEMPT SIZE DISK CHECK — caches dropped, every zero range must read as zeros and the data ranges are summed
# as read from the device (CHECK fletcher4: rackseed-zero sum; otherwise SHA-256); reports the sum of the data ranges
# (the daemon compares it with the image's map)
readback() {
  sync
  blockdev --flushbufs "/dev/$3" 2>/dev/null
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
  log "checking the zero ranges of /dev/$3"
  if ! "$ZERO_TOOL" check "/dev/$3" <"$RUN/map.zero" 2>"$RUN/zero.err"; then
    fail "$1" verify "the zero ranges of /dev/$3 do not read back as zeros: $(tr '\n' ' ' <"$RUN/zero.err" | cut -c1-300)" "$3"; return 1
  fi
  progress "$1" verifying "${ZBYTES:-0}"
  log "reading back the data ranges from /dev/$3 ($4)"
  rm -f "$RUN/readback.sum" "$RUN/readback.rc" "$RUN/rd.err"
  if [ "$4" = fletcher4 ]; then
    ( "$ZERO_TOOL" sum "/dev/$3" <"$RUN/map.data" >"$RUN/readback.sum" 2>"$RUN/rd.err"; echo $? >"$RUN/readback.rc" ) &
    _vfield=fletcher4
  else
    ( set -o pipefail; read_ranges "$3" | sha256sum >"$RUN/readback.sum"; echo $? >"$RUN/readback.rc" ) &
    _vfield=sha256
  fi
  _vp=$!
  report_while $_vp "$1" verifying "$3" read "$2" "${ZBYTES:-0}"
  wait $_vp
  _vsum=$(cut -c1-64 "$RUN/readback.sum" 2>/dev/null)
  val "$RUN/readback.rc"
  case "$V:$_vsum" in
    0:[0-9a-f]*) ;;
    *) fail "$1" verify "reading /dev/$3 back failed: $(tr '\n' ' ' <"$RUN/rd.err" 2>/dev/null | cut -c1-200)" "$3"; return 1 ;;
  esac
  log "read back: zero ranges are zeros, data ranges $_vfield $_vsum"
  result "{\"attempt\":$1,\"phase\":\"verify\",\"ok\":true,\"bytes\":$2,\"$_vfield\":\"$_vsum\",\"disk\":\"$3\",\"detail\":\"zero ranges read back as zeros\"}"
}

cmd_deploy() {
  _a=$(jnum attempt "$1"); _map=$(jstr map "$1"); _msha=$(jstr mapSha256 "$1"); _data=$(jstr data "$1"); _size=$(jnum size "$1"); _dbytes=$(jnum dataBytes "$1")
  if ! find_disk "$1"; then fail "$_a" write "$D"; return; fi
  if ! fetch_map "$_a" "$_map" "$_size" "$_dbytes" "$_msha"; then fail "$_a" write "$MAPERR" "$D"; return; fi
  log "deploy (attempt $_a): $_size bytes → /dev/$D: $MAPINFO"
  # zeros first: BLKZEROOUT makes each range read as zeros whatever the disk held (a reused disk)
  if ! "$ZERO_TOOL" zero "/dev/$D" <"$RUN/map.zero" 2>"$RUN/zero.err"; then
    fail "$_a" write "zeroing the image's zero ranges on /dev/$D failed: $(tr '\n' ' ' <"$RUN/zero.err" | cut -c1-300)" "$D"; return
  fi
  # the zeros are in place: say so at once (a small image's data may be written before the first 2 s report)
  progress "$_a" writing "$ZBYTES"
  rm -f "$RUN/write.rc" "$RUN/dd.err" "$RUN/wget.err"
  # the pipeline's status is wget's (short stream, server gone) or the ranges' dd's when either fails (pipefail)
  (
    set -o pipefail
    wget -q -O - "$_data" 2>"$RUN/wget.err" | write_ranges "$D"
    echo $? >"$RUN/write.rc"
  ) &
  _wp=$!
  report_while $_wp "$_a" writing "$D" write "$_size" "$ZBYTES"
  wait $_wp
  val "$RUN/write.rc"; _rc=$V
  if [ "$_rc" != 0 ]; then
    fail "$_a" write "the stream to /dev/$D failed (status ${_rc:-?}): $(cat "$RUN/wget.err" "$RUN/dd.err" 2>/dev/null | tr '\n' ' ' | cut -c1-400)" "$D"
    return
  fi
  sync
  log "written: $_dbytes bytes of data, the rest zeroed"
  result "{\"attempt\":$_a,\"phase\":\"write\",\"ok\":true,\"bytes\":$_size,\"disk\":\"$D\",\"detail\":\"$(jesc "$MAPINFO")\"}" || return
  readback "$_a" "$_size" "$D" "$(jstr check "$1")"
}

cmd_verify() {
  _a=$(jnum attempt "$1"); _map=$(jstr map "$1"); _msha=$(jstr mapSha256 "$1"); _size=$(jnum size "$1"); _dbytes=$(jnum dataBytes "$1")
  if ! find_disk "$1"; then fail "$_a" verify "$D"; return; fi
  if ! fetch_map "$_a" "$_map" "$_size" "$_dbytes" "$_msha"; then fail "$_a" verify "$MAPERR" "$D"; return; fi
  readback "$_a" "$_size" "$D" "$(jstr check "$1")"
}

cmd_configdrive() {
  _a=$(jnum attempt "$1"); _plan=$(jstr plan "$1")
  if ! find_disk "$1"; then fail "$_a" configdrive "$D"; return; fi
  if ! timeout 30 wget -q -O "$RUN/cd.plan" --header "Authorization: Bearer $TOKEN" "$_plan" 2>"$RUN/http.err"; then
    fail "$_a" configdrive "fetching the plan failed: $(tr '\n' ' ' <"$RUN/http.err" | cut -c1-200)" "$D"; return
  fi
  _n=0
  while read -r _off _len _sha _purl; do
    [ -n "$_purl" ] || continue
    _n=$((_n + 1))
    if ! timeout 60 wget -q -O "$RUN/cd.piece" --header "Authorization: Bearer $TOKEN" "$_purl" 2>"$RUN/http.err"; then
      fail "$_a" configdrive "fetching piece $_n failed: $(tr '\n' ' ' <"$RUN/http.err" | cut -c1-200)" "$D"; return
    fi
    _got=$(sha256sum <"$RUN/cd.piece" | cut -c1-64)
    [ "$_got" = "$_sha" ] || { fail "$_a" configdrive "piece $_n arrived damaged (sha256 $_got, expected $_sha)" "$D"; return; }
    dd if="$RUN/cd.piece" of="/dev/$D" bs=64k seek="$_off" oflag=seek_bytes conv=notrunc,fsync 2>"$RUN/dd.err" ||
      { fail "$_a" configdrive "writing piece $_n at byte $_off failed: $(tr '\n' ' ' <"$RUN/dd.err" | cut -c1-200)" "$D"; return; }
    sync
    blockdev --flushbufs "/dev/$D" 2>/dev/null
    _back=$(dd if="/dev/$D" bs=64k skip="$_off" count="$_len" iflag=skip_bytes,count_bytes 2>/dev/null | sha256sum | cut -c1-64)
    [ "$_back" = "$_sha" ] || { fail "$_a" configdrive "piece $_n reads back differently at byte $_off (sha256 $_back)" "$D"; return; }
    rm -f "$RUN/cd.piece"
  done <"$RUN/cd.plan"
  [ $_n -gt 0 ] || { fail "$_a" configdrive "the plan is empty" "$D"; return; }
  log "config drive written ($_n pieces) to /dev/$D"
  result "{\"attempt\":$_a,\"phase\":\"configdrive\",\"ok\":true,\"disk\":\"$D\"}"
}

# zero DISK OFFSET LENGTH — write zeros over bytes [OFFSET, OFFSET+LENGTH) of /dev/DISK
zero() {
  [ "$3" -gt 0 ] || return 0
  dd if=/dev/zero of="/dev/$1" bs=64k seek="$2" count="$3" oflag=seek_bytes iflag=count_bytes conv=notrunc,fsync 2>"$RUN/dd.err"
}

# is_zero DISK OFFSET LENGTH — the range reads back as zeros
is_zero() {
  [ "$(dd if="/dev/$1" bs=64k skip="$2" count="$3" iflag=skip_bytes,count_bytes 2>/dev/null | tr -d '\000' | wc -c)" = 0 ]
}

cmd_clean() {
  _a=$(jnum attempt "$1")
  _erase=false
  case "$1" in *'"erase":true'*) _erase=true ;; esac
  _mib=1048576
  _detail=''
  _errors=''
  for _b in /sys/block/*; do
    _d=${_b##*/}
    is_disk "$_d" || continue
    _size=$(disk_bytes "$_d")
    [ "$_size" -gt 0 ] || continue
    _regions=0
    # every partition's first and last MiB (file system signatures, a config-2 ISO), then the disk's own ends
    # (MBR/GPT at the start, the backup GPT at the end)
    for _p in "$_b"/"$_d"*; do
      [ -r "$_p/start" ] || continue
      val "$_p/start"; _ps=$((V * 512))
      val "$_p/size"; _pl=$((V * 512))
      _l=$_mib; [ "$_pl" -lt "$_l" ] && _l=$_pl
      zero "$_d" "$_ps" "$_l" && zero "$_d" $((_ps + _pl - _l)) "$_l" || _errors="$_errors $_d: $(tr '\n' ' ' <"$RUN/dd.err" | cut -c1-120);"
      _regions=$((_regions + 2))
    done
    _l=$_mib; [ "$_size" -lt "$_l" ] && _l=$_size
    zero "$_d" 0 "$_l" && zero "$_d" $((_size - _l)) "$_l" || _errors="$_errors $_d: $(tr '\n' ' ' <"$RUN/dd.err" | cut -c1-120);"
    _regions=$((_regions + 2))
    if [ "$_erase" = true ]; then
      log "erasing /dev/$_d ($_size bytes)"
      (head -c "$_size" /dev/zero | dd of="/dev/$_d" bs=4M conv=fsync 2>"$RUN/dd.err"; echo $? >"$RUN/erase.rc") &
      _ep=$!
      report_while $_ep "$_a" wiping "$_d" write "$_size"
      wait $_ep
      [ "$(cat "$RUN/erase.rc" 2>/dev/null)" = 0 ] || _errors="$_errors $_d: erase failed: $(tr '\n' ' ' <"$RUN/dd.err" | cut -c1-120);"
    fi
    sync
    blockdev --flushbufs "/dev/$_d" 2>/dev/null
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
    is_zero "$_d" 0 "$_l" && is_zero "$_d" $((_size - _l)) "$_l" || _errors="$_errors $_d: the wiped ends do not read back as zeros;"
    blockdev --rereadpt "/dev/$_d" 2>/dev/null
    _extra=''
    [ "$_erase" = true ] && _extra=', whole disk zeroed'
    _detail="$_detail$_d ($_size bytes): $_regions regions zeroed$_extra; "
    log "wiped /dev/$_d: $_regions regions"
  done
  [ -n "$_detail" ] || { fail "$_a" clean "no disks found"; return; }
  if [ -n "$_errors" ]; then fail "$_a" clean "$_errors"; return; fi
  result "{\"attempt\":$_a,\"phase\":\"clean\",\"ok\":true,\"detail\":\"$(jesc "$_detail")\"}"
}
