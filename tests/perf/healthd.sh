# shellcheck shell=bash
# tests/perf/healthd.sh: `ipvsctl healthd` measured in the VM (run by tests/bench --healthd; not on
# its own). Not a test: nothing is asserted. Prints lines "H WHAT VALUE..." that tests/bench shows.
#
# Reaction: a real server (busybox httpd in a namespace of its own, behind a veth) checked over
# TCP every 1 s, timeout 0.5 s, fall 2, rise 1. Killed (it refuses connections: the issue's bound
# is fall x interval + timeout + 1 s = 3.5 s), or its link set down (packets dropped: bound
# fall x (interval + timeout) + 1 s = 4 s): the seconds from then until `ipvsadm -Ln` shows
# weight 0, polled every 50 ms. RUNS times each.
#
# Load: 2,500 services x 4 = 10,000 real servers (one local address, 10,000 ports nobody listens
# on: each check is a connect answered by a reset), TCP checks every 1 s; after 15 s to settle,
# over about 20 s: the CPU of healthd's main thread (utime + stime from /proc), its checks (each real server's
# `checks` in /status of --listen, before and after), the fewest checks one server got in the
# window (every schedule kept: about one a second), how late the window's checks started against
# their schedule (healthd's ipvs_healthd_check_lateness_seconds, read before and after), its
# peak resident set and descriptors. Before healthd, the floor: tests/perf/connect-floor.c's
# nonblocking connects to the same ports; after it, the floor again with healthd's services
# still in the table (the IPVS hook looks each SYN up among them).
set -uo pipefail
runs=${1:-3}
# With a second ipvsctl at /bin/ipvsctl-before (tests/bench --ctl-before), the load runs with it and
# with /bin/ipvsctl in the same boot, each with its reads at nice 0 and at nice 19.
now() { local t _; read -r t _ </proc/uptime; echo "$t"; }
weight() { ip netns exec hd-lb ipvsadm -Ln | awk '$2 == "10.77.0.2:80" { print $4 }'; }
wait_weight() { # WANT LIMIT_S: polls every 50 ms; prints the seconds waited, or "timeout"
  local want=$1 limit=$2 t0 t
  t0=$(now)
  while :; do
    [ "$(weight)" = "$want" ] && { awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; return; }
    t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print (b - a > '"$limit"') }')
    [ "$t" = 1 ] && { echo timeout; return; }
    sleep 0.05
  done
}

reaction() {
  ip netns add hd-lb && ip netns add hd-rs
  ip -n hd-lb link set lo up && ip -n hd-rs link set lo up
  ip link add hd-a netns hd-lb type veth peer name hd-b netns hd-rs
  ip -n hd-lb addr add 10.77.0.1/24 dev hd-a && ip -n hd-lb link set hd-a up
  ip -n hd-rs addr add 10.77.0.2/24 dev hd-b && ip -n hd-rs link set hd-b up
  mkdir -p /tmp/hd-www && echo rs >/tmp/hd-www/index.html
  cat >/tmp/hd-reaction.json <<'J'
{"services": [{"protocol": "tcp", "address": "10.77.0.100", "port": 80, "scheduler": "rr",
  "check": {"type": "tcp", "interval": 1, "timeout": 0.5, "rise": 1, "fall": 2},
  "destinations": [{"address": "10.77.0.2", "port": 80, "forward": "masq", "weight": 1}]}]}
J
  ip netns exec hd-rs busybox httpd -f -p 80 -h /tmp/hd-www &
  local httpd=$! r w
  ip netns exec hd-lb ipvsctl healthd -f /tmp/hd-reaction.json >/tmp/hd-reaction.out 2>&1 &
  local hd=$!
  w=$(wait_weight 1 20)
  echo "bench: healthd: first up after ${w} s" >&2
  for ((r = 0; r < runs; r++)); do
    kill "$httpd"; wait "$httpd" 2>/dev/null
    echo "H refused $(wait_weight 0 20)"
    ip netns exec hd-rs busybox httpd -f -p 80 -h /tmp/hd-www &
    httpd=$!
    echo "H back $(wait_weight 1 20)"
    ip -n hd-rs link set hd-b down
    echo "H dropped $(wait_weight 0 20)"
    ip -n hd-rs link set hd-b up
    w=$(wait_weight 1 20)
  done
  kill "$hd" "$httpd"; wait "$hd" "$httpd" 2>/dev/null
  ip netns exec hd-lb ipvsadm -C
  ip netns del hd-lb; ip netns del hd-rs
}

# The bench's own reads (wget, and what parses its output) run at nice $rnice: at nice 0
# they take the VM's one CPU from healthd's checks as much as anything else would.
rnice=0
read_url() { nice -n "$rnice" ip netns exec hd-load wget -q -O - "http://127.0.0.1:9762$1"; }

lateness() { # the lateness histogram's lines: "LE CUMULATIVE", then "sum S" and "count N"
  read_url /metrics | nice -n "$rnice" sed -n 's/^ipvs_healthd_check_lateness_seconds_bucket{le="\([^"]*\)"} \([0-9]*\)$/\1 \2/p
            s/^ipvs_healthd_check_lateness_seconds_\(sum\|count\) \([0-9.e+-]*\)$/\1 \2/p'
}

checks_each() { # the checks of each real server, in /status's order (the same every time)
  # shellcheck disable=SC2016 # awk's fields, not the shell's
  read_url /status | nice -n "$rnice" grep -o '"checks":[0-9]*' |
    nice -n "$rnice" awk -F: '{ print NR, $2 }'
}

load() { # BINARY READS_NICE
  local bin=$1
  rnice=$2
  echo "H load_begin $bin $rnice"
  echo "bench: healthd load: $bin, the bench's reads at nice $rnice" >&2
  ip netns add hd-load
  ip -n hd-load link set lo up
  ip -n hd-load link add lan0 type dummy
  ip -n hd-load addr add 10.78.0.1/24 dev lan0 && ip -n hd-load addr add 10.78.0.11/24 dev lan0
  ip -n hd-load link set lan0 up
  # The floor first, alone: the kernel's own cost of such connects (10 s, one thread).
  ip netns exec hd-load connect-floor 10.78.0.11 10000 10000 10
  awk 'BEGIN {
    printf "{\"services\": ["
    for (s = 0; s < 2500; s++) {
      printf "%s{\"protocol\": \"tcp\", \"address\": \"10.79.%d.%d\", \"port\": 80, \"scheduler\": \"rr\", ", (s ? "," : ""), int(s / 250), s % 250 + 1
      printf "\"check\": {\"type\": \"tcp\", \"interval\": 1, \"timeout\": 0.5, \"rise\": 1, \"fall\": 2}, \"destinations\": ["
      for (d = 0; d < 4; d++) printf "%s{\"address\": \"10.78.0.11\", \"port\": %d, \"forward\": \"masq\"}", (d ? "," : ""), 10000 + s * 4 + d
      printf "]}"
    }
    print "]}" }' >/tmp/hd-load.json
  # shellcheck disable=SC2016 # the inner shell's $0, the binary
  ip netns exec hd-load bash -c 'ulimit -n 65536; exec "$0" healthd -f /tmp/hd-load.json --listen 127.0.0.1:9762' "$bin" >/dev/null 2>/tmp/hd-load.err &
  local hd=$! pid t u0 s0 u1 s1 fds=0 f
  sleep 15
  pid=$(pidof "${bin##*/}")
  [ -n "$pid" ] || { echo "bench: healthd load: it did not start: $(head -3 /tmp/hd-load.err)" >&2; return; }
  # Its resident set before the reads of /metrics and /status (each builds a large body).
  echo "H load_rss_settled_kb $(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")"
  # The window: from the start of one read of /status to the start of the next (the counters
  # are taken as a request starts); the CPU time of healthd's main thread (the checks and what
  # it does with their results; not the HTTP thread rendering the reads) over the same.
  read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$pid/task/$pid/stat")
  t=$(now)
  checks_each >/tmp/hd-c0
  # Descriptors every 5 s (listing 10,000 of them costs the VM's one CPU too).
  for _ in 1 2 3 4; do
    f=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l); [ "$f" -gt "$fds" ] && fds=$f
    sleep 5
  done
  read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$pid/task/$pid/stat")
  echo "H load_window_ms $(awk -v a="$t" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }')"
  checks_each >/tmp/hd-c1
  # How late the checks started against their schedule, in 10 s more with no other read (the
  # lateness is counted from the start of the first read of /metrics, whose rendering shares
  # the VM's one CPU with the checks): their count, the mean lateness, the least bucket bound
  # that takes them all (every schedule kept: within the timeout, 0.5 s), and how many were
  # within each bound.
  lateness >/tmp/hd-l0
  sleep 10
  lateness >/tmp/hd-l1
  awk 'NR == FNR { a[$1] = $2; next } { d[$1] = $2 - a[$1]; if ($1 != "sum" && $1 != "count") le[++n] = $1 }
    END { worst = "none"; for (i = n; i >= 1; i--) if (d[le[i]] == d["count"]) worst = le[i]
          printf "H load_late %d %.6f %s\n", d["count"], (d["count"] > 0 ? d["sum"] / d["count"] : 0), worst
          printf "H load_late_within"; for (i = 1; i <= n; i++) printf " %s:%d", le[i], d[le[i]]; print "" }' \
    /tmp/hd-l0 /tmp/hd-l1
  # Per server: checks in the window (the two scrapes are about 20 s apart).
  awk 'NR == FNR { before[$1] = $2; next }
       $1 in before { d = $2 - before[$1]; n++; sum += d; if (min == "" || d < min) min = d; if (d > max) max = d }
    END { printf "H load_checks %d %d %d %d\n", n, sum, min, max }' /tmp/hd-c0 /tmp/hd-c1
  echo "H load_cpu_ms $(((u1 - u0) * 10)) $(((s1 - s0) * 10))"
  echo "H load_rss_kb $(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")"
  echo "H load_fds $fds"
  read_url /metrics >/tmp/hd-metrics
  echo "H load_unchecked $(awk '/^ipvs_healthd_unchecked_checks_total/ { print $2 }' /tmp/hd-metrics)"
  # The failed checks by reason, all servers together (refused, or timed out when late).
  sed -n 's/^ipvs_backend_check_errors_total{.*reason="\([^"]*\)"} \([0-9]*\)$/\2 \1/p' /tmp/hd-metrics |
    awk '{ n = $1; $1 = ""; sum[substr($0, 2)] += n } END { for (r in sum) printf "H load_reason %d %s\n", sum[r], r }'
  kill "$hd"; wait "$hd" 2>/dev/null
  # The floor again, with healthd's 2,500 services still in the table: the IPVS hook looks up
  # each connect's SYN among them, as it did for healthd's.
  ip netns exec hd-load connect-floor 10.78.0.11 10000 10000 10 | sed 's/^H floor_connects/H floor_table_connects/'
  ip netns exec hd-load ipvsadm -C
  ip netns del hd-load
}

echo "bench: healthd reaction, $runs runs" >&2
reaction
echo "bench: healthd with 10,000 real servers" >&2
if [ -x /bin/ipvsctl-before ]; then
  load /bin/ipvsctl-before 0
  load /bin/ipvsctl 0
  load /bin/ipvsctl-before 19
  load /bin/ipvsctl 19
else
  load /bin/ipvsctl 19
fi
