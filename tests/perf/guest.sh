# shellcheck shell=bash
# tests/bench/guest.sh: the benchmark's side in the VM (run by tests/bench; not on its own).
#
#   guest.sh DATA_DIR RUNS SET...      SET is NAME:SERVICES:DESTS:PATTERN:FWDESTS[:list|:top|:scrape]
#
# A :top set measures `top` alone, beside the floor's listing and ipvsctl -Ln --stats of the same
# table (nothing else, and no per-process runs on a small table when every set is one).
# A :scrape set measures only ipvsctl -Ln --stats and the exporter's scrape, on the table the
# floor loads.
# For each other set (but a :list set): every tool loads DATA_DIR/NAME.rules (ipvs-floor the same objects) into a fresh
# network namespace, RUNS times, the tools taking turns in a rotating order; then the listings run
# RUNS times each on one loaded table. Prints one line per measurement and tool:
#   R SET WORK TOOL REAL_MS USER_MS SYS_MS
# (the minimum over the runs of each; user and sys from the same run as the minimum real time),
# (for `top`: 20 s of `ipvsctl top --interval 1` and its CPU time in them, see top_cost),
# "C SET ..." lines for the correctness checks, "M SET COMMAND PEAK_RSS_KB OUTPUT_BYTES" lines
# for memory, and "X SET WHAT USER_MS SYS_MS" lines for the exporter's own CPU time per scrape. tests/bench turns these into the table.
set -uo pipefail
data=$1 runs=$2
shift 2
TIMEFORMAT='%3R %3U %3S'
ns_seq=0

# new_ns: a fresh namespace with lo up and a default route (masquerading destinations must be
# unicast addresses in it), its name in $ns.
new_ns() {
  ns_seq=$((ns_seq + 1))
  ns=bench$ns_seq
  if ! { ip netns add "$ns" && ip -n "$ns" link set lo up && ip -n "$ns" route add default dev lo; }; then
    echo "bench: cannot set up namespace $ns" >&2
    exit 1
  fi
}
# drop_ns: flushes IPVS in $ns (the service hash is shared by all namespaces), then deletes it.
drop_ns() {
  ip netns exec "$ns" ipvsadm -C
  ip netns del "$ns"
  sleep 1
}
# timed NS INPUT CMD...: runs CMD in NS with stdin from INPUT, stdout to /dev/null; prints
# "real user sys" in ms. Exit status is CMD's.
timed() {
  local n=$1 in=$2 t rc real user sys
  shift 2
  t=$({ time ip netns exec "$n" "$@" <"$in" >/dev/null 2>/tmp/bench.err; } 2>&1)
  rc=$?
  # bash's time of `ip netns exec` includes ip's own set-up, the same for every tool.
  read -r real user sys <<<"$t"
  echo "$(ms "$real") $(ms "$user") $(ms "$sys")"
  return $rc
}
ms() { local s=${1%.*} f=${1#*.}; echo $((10#$s * 1000 + 10#$f)); }

# keep KEY "real user sys": remembers the run with the lowest real time per KEY.
declare -A best
keep() {
  local old=${best[$1]:-}
  if [ -z "$old" ] || [ "${2%% *}" -lt "${old%% *}" ]; then best[$1]=$2; fi
}
# copy FROM TO: the kept figures of FROM also as TO's.
copy() { if [ -n "${best[$1]:-}" ]; then best[$2]=${best[$1]}; fi; }
report() {
  local k
  for k in "${!best[@]}"; do echo "R $k ${best[$k]}"; done | sort
  best=()
}
# rotate N WORDS...: WORDS rotated left by N.
rotate() {
  local n=$1
  shift
  local a=("$@") i
  for ((i = 0; i < ${#a[@]}; i++)); do printf '%s ' "${a[$(((i + n) % ${#a[@]}))]}"; done
}

load_cmd() { # TOOL SET_ARGS...
  case $1 in
    ipvsadm) echo ipvsadm -R ;;
    ipvsctl) echo ipvsctl -R ;;
    apply) echo ipvsctl apply ;; # the same -S text, on stdin, as a desired state
    floor) echo "ipvs-floor load $2 $3 $4 $5" ;;
  esac
}

# peak_rss NS CMD...: the peak resident set of CMD in kB (GNU time, shipped as /bin/gnutime
# by tests/bench when the host has it), or nothing.
peak_rss() {
  local n=$1
  shift
  command -v gnutime >/dev/null || return 0
  ip netns exec "$n" gnutime -f '%M' -o /tmp/bench.rss "$@" >/dev/null 2>&1 && cat /tmp/bench.rss
}

# per_process SET WORK TOOL NS: runs the 20 commands of /tmp/bench-add.sh in NS and keeps their
# time per process as "SET WORK TOOL", the static build's as "SET WORK-static ipvsctl".
per_process() {
  local real user sys work=$2 tool=$3
  [ "$tool" != ipvsctl-static ] || { work=$work-static tool=ipvsctl; }
  read -r real user sys <<<"$(timed "$4" /dev/null bash /tmp/bench-add.sh)"
  keep "$1 $work $tool" "$((real / 20)) $((user / 20)) $((sys / 20))"
}

# top_cost SET NS: `ipvsctl top --interval 1` on the table of NS, in a pseudo-terminal
# (pty-run), 5 s to start, then its CPU time over 20 s from /proc (ticks of 10 ms: USER_HZ is
# 100 on x86): the line "R SET top ipvsctl 20000 USER_MS SYS_MS".
top_cost() {
  local pid u0 s0 u1 s1 runner
  [ -e /dev/pts/ptmx ] || { mkdir -p /dev/pts && mount -t devpts devpts /dev/pts; } || return
  ip netns exec "$2" pty-run ipvsctl top --interval 1 </dev/null &
  runner=$!
  sleep 5
  pid=$(pidof ipvsctl) || { echo "bench: ipvsctl top did not start: pty-run exited" >&2; return; }
  read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
  sleep 20
  read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$pid/stat")
  kill -TERM "$pid"
  wait "$runner"
  echo "R $1 top ipvsctl 20000 $(((u1 - u0) * 10)) $(((s1 - s0) * 10))"
}

# exporter_scrapes SET NS: `ipvsctl exporter` on the table of NS: RUNS scrapes of /metrics, each
# timed as busybox wget in NS (a process, as the listings are), kept as "SET scrape ipvsctl";
# then its peak resident set with 1,000 idle connections open (bash's /dev/tcp) and one scrape
# through them, as an "M" line; and the exporter's own CPU time per scrape (from /proc, ticks of
# 10 ms) as an "X" line. The exporter runs as it does by default (no --rates); when it has
# --rates, a second one with it runs beside ("SET scrape-rates ipvsctl": the same build with the
# kernel's estimates, the body of before they became opt-in). When /bin/ipvsctl-before is there
# (tests/bench --ctl-before), its exporter runs beside too ("SET scrape-before ipvsctl"). After
# each listing, a scrape of each, in turns at coming first; each has its "X" line. "C" lines say
# whether the bodies are the same bytes (but for the scrape's duration): the default's against
# the older build's without its *_per_second lines (the families --rates adds; an older build
# without --rates writes them), and the one with --rates against the older build's whole.
exporter_scrapes() {
  local name=$1 n=$2 r url=http://127.0.0.1:9761/metrics body
  local -A port=([scrape]=9761 [scrape-before]=9762 [scrape-rates]=9763) pids=() u0=() s0=()
  local works=(scrape) w u1 s1 i
  ip netns exec "$n" ipvsctl exporter --listen 127.0.0.1:9761 2>/tmp/bench-exporter.err &
  pids[scrape]=$!
  if ipvsctl exporter --help | grep -q -- --rates; then
    ip netns exec "$n" ipvsctl exporter --rates --listen 127.0.0.1:9763 2>/tmp/bench-exporter-rates.err &
    pids[scrape-rates]=$!
    works+=(scrape-rates)
  fi
  if command -v ipvsctl-before >/dev/null; then
    ip netns exec "$n" ipvsctl-before exporter --listen 127.0.0.1:9762 2>/tmp/bench-exporter-before.err &
    pids[scrape-before]=$!
    works+=(scrape-before)
  fi
  for w in "${works[@]}"; do
    for r in $(seq 100); do
      ip netns exec "$n" wget -q -O /dev/null "http://127.0.0.1:${port[$w]}/metrics" 2>/dev/null && break
      sleep 0.2
    done
  done
  # A body (not its scrape duration), less the lines that match $2 (none: '^$').
  fetched() {
    ip netns exec "$n" wget -q -O - "http://127.0.0.1:${port[$1]}/metrics" |
      grep -v '^ipvs_exporter_scrape_duration_seconds ' | grep -v -- "$2" | md5sum
  }
  if [ -n "${pids[scrape-before]:-}" ]; then
    local same=DIFFER
    [ "$(fetched scrape '^$')" != "$(fetched scrape-before _per_second)" ] || same=same
    echo "C $name scrape-bytes-without-rates $same"
    if [ -n "${pids[scrape-rates]:-}" ]; then
      same=DIFFER
      [ "$(fetched scrape-rates '^$')" != "$(fetched scrape-before '^$')" ] || same=same
      echo "C $name scrape-bytes-with-rates $same"
    fi
  fi
  for w in "${works[@]}"; do
    read -r "u0[$w]" "s0[$w]" < <(awk '{ print $14, $15 }' "/proc/${pids[$w]}/stat")
  done
  # Each scrape follows an -Ln --stats of the same table, so that the two are compared under
  # the same load of the host (the best of these and of the listings' runs is kept); the
  # exporters take turns at being first after the listing.
  for ((r = 0; r < runs; r++)); do
    keep "$name stats ipvsctl" "$(timed "$n" /dev/null ipvsctl -Ln --stats)"
    for ((i = 0; i < ${#works[@]}; i++)); do
      w=${works[$(((i + r) % ${#works[@]}))]}
      keep "$name $w ipvsctl" "$(timed "$n" /dev/null wget -q -O - "http://127.0.0.1:${port[$w]}/metrics")"
    done
  done
  for w in "${works[@]}"; do
    read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/${pids[$w]}/stat")
    echo "X $name exporter_cpu_per_${w//-/_} $(((u1 - u0[$w]) * 10 / runs)) $(((s1 - s0[$w]) * 10 / runs))"
    if [ "$w" != scrape ]; then
      echo "B $name $w $(ip netns exec "$n" wget -q -O - "http://127.0.0.1:${port[$w]}/metrics" | wc -c)"
      kill "${pids[$w]}"
      wait "${pids[$w]}" 2>/dev/null || true
    fi
  done
  local pid=${pids[scrape]}
  body=$(ip netns exec "$n" wget -q -O - "$url" | wc -c)
  # shellcheck disable=SC2016
  ip netns exec "$n" bash -c 'ulimit -n 4096; for i in $(seq 1000); do exec {fd}<>/dev/tcp/127.0.0.1/9761 || exit 1; done
    wget -q -O /dev/null "$1"; sleep 1' _ "$url"
  echo "B $name scrape $body"
  echo "M $name exporter_with_1000_idle_connections $(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status") $body"
  kill "$pid"
  wait "$pid" 2>/dev/null
}

for set in "$@"; do
  IFS=: read -r name svcs dests pattern fw only <<<"$set"
  rules=$data/$name.rules
  lines=$(wc -l <"$rules")
  echo "bench: set $name: $svcs services x $dests destinations ($pattern)${fw:+, fwmark service with $fw destinations}, $lines lines, $runs runs${only:+, ${only/list/listings} only}" >&2
  # Load: each run, each tool into its own fresh namespace; `apply` is ipvsctl apply of the
  # same text onto the empty table, then once more onto the equal table it made.
  for ((r = 0; r < runs; r++)); do
    [ -z "$only" ] || break
    for tool in $(rotate "$r" ipvsadm ipvsctl floor apply); do
      new_ns
      work=load
      [ "$tool" = apply ] && work=apply
      # shellcheck disable=SC2046
      if t=$(timed "$ns" "$rules" $(load_cmd "$tool" "$svcs" "$dests" "$pattern" "$fw")); then
        keep "$name $work ${tool/apply/ipvsctl}" "$t"
      else
        echo "bench: $tool load failed in $ns: $(head -3 /tmp/bench.err)" >&2
      fi
      got=$(ip netns exec "$ns" ipvsadm -S -n | sort | md5sum)
      echo "C $name load $tool $(ip netns exec "$ns" ipvsadm -S -n | wc -l) ${got%% *}"
      if [ "$tool" = apply ]; then
        if t=$(timed "$ns" "$rules" ipvsctl apply); then
          keep "$name apply-equal ipvsctl" "$t"
        else
          echo "bench: apply onto the equal table failed in $ns: $(head -3 /tmp/bench.err)" >&2
        fi
      fi
      drop_ns
    done
  done
  # Listings, on one table loaded by the floor.
  new_ns
  ip netns exec "$ns" ipvs-floor load "$svcs" "$dests" "$pattern" "${fw:-0}" >/dev/null
  if [ "$only" = scrape ]; then
    exporter_scrapes "$name" "$ns"
    drop_ns
    report
    continue
  fi
  for ((r = 0; r < runs; r++)); do
    if [ "$only" = top ]; then
      keep "$name list floor" "$(timed "$ns" /dev/null ipvs-floor list)"
      keep "$name stats ipvsctl" "$(timed "$ns" /dev/null ipvsctl -Ln --stats)"
      continue
    fi
    for tool in $(rotate "$r" ipvsadm ipvsctl floor); do
      if [ "$tool" = floor ]; then
        keep "$name list $tool" "$(timed "$ns" /dev/null ipvs-floor list)"
        continue
      fi
      keep "$name list $tool" "$(timed "$ns" /dev/null "$tool" -Ln)"
      keep "$name save $tool" "$(timed "$ns" /dev/null "$tool" -S -n)"
      keep "$name stats $tool" "$(timed "$ns" /dev/null "$tool" -Ln --stats)"
    done
    keep "$name json ipvsctl" "$(timed "$ns" /dev/null ipvsctl -Ln --json)"
    keep "$name savejson ipvsctl" "$(timed "$ns" /dev/null ipvsctl -S --json)"
  done
  top_cost "$name" "$ns"
  if [ "$only" = top ]; then
    drop_ns
    report
    continue
  fi
  [ "$only" = list ] || exporter_scrapes "$name" "$ns"
  # Memory: peak resident set of each listing, with the size of its output.
  for cmd in "ipvsadm -Ln" "ipvsctl -Ln" "ipvsctl-static -Ln" "ipvsctl -Ln --json" "ipvs-floor list"; do
    # shellcheck disable=SC2086
    rss=$(peak_rss "$ns" $cmd)
    # shellcheck disable=SC2086
    [ -z "$rss" ] || echo "M $name ${cmd// /_} $rss $(ip netns exec "$ns" $cmd | wc -c)"
  done
  for w in -Ln "-S -n" "-Ln --stats"; do
    # shellcheck disable=SC2086
    if cmp -s <(ip netns exec "$ns" ipvsadm $w) <(ip netns exec "$ns" ipvsctl $w); then
      echo "C $name listing ${w// /} same"
    else
      echo "C $name listing ${w// /} DIFFERENT"
    fi
  done
  # One -A per process on this big table too: 20 new services by each tool, in turns.
  for ((r = 0; r < runs; r++)); do
    for tool in $(rotate "$r" ipvsadm ipvsctl ipvsctl-static); do
      off=0
      case $tool in ipvsctl) off=20 ;; ipvsctl-static) off=40 ;; esac
      for i in $(seq 1 20); do echo "$tool -A -t 10.250.$r.$((i + off)):80 -s rr"; done >/tmp/bench-add.sh
      per_process "$name" add1 "$tool" "$ns"
    done
  done
  copy "$name add1 ipvsadm" "$name add1-static ipvsadm"
  drop_ns
  # Apply has no ipvsadm or floor of its own: onto the empty table, the columns show ipvsadm's
  # and the floor's load (-R) of the same runs; onto the equal table, the floor's listing (the
  # least a tool must read to find nothing to do).
  copy "$name load ipvsadm" "$name apply ipvsadm"
  copy "$name load floor" "$name apply floor"
  [ "$only" = list ] || copy "$name list floor" "$name apply-equal floor"
  report
done

# Only :scrape sets: nothing more to measure.
for set in "$@"; do [[ $set == *:scrape ]] || break; done
[[ $set != *:scrape ]] || exit 0

# One command per process, on a small table: 20 -A (each a new service), then 20 -Ln of the
# 20 services; per process, the best of the runs. ipvsctl-static is the static build: its rows
# are add1-static and list1-static, beside ipvsadm's figures of the same runs. Not when every
# set is a :top one.
all_top=1
for set in "$@"; do [[ $set == *:top ]] || all_top=0; done
[ "$all_top" = 0 ] || exit 0
for ((r = 0; r < runs; r++)); do
  for tool in $(rotate "$r" ipvsadm ipvsctl ipvsctl-static); do
    new_ns
    for i in $(seq 1 20); do echo "$tool -A -t 10.9.$r.$i:80 -s rr"; done >/tmp/bench-add.sh
    per_process process add1 "$tool" "$ns"
    for i in $(seq 1 20); do echo "$tool -Ln"; done >/tmp/bench-add.sh
    per_process process list1 "$tool" "$ns"
    drop_ns
  done
done
copy "process add1 ipvsadm" "process add1-static ipvsadm"
copy "process list1 ipvsadm" "process list1-static ipvsadm"
report
