# shellcheck shell=bash
# tests/perf/conns.sh: the connection-table side of tests/bench --conns, in the VM (not on its own).
#
#   conns.sh RUNS FLOWS
#
# Fills the connection table of a fresh namespace with FLOWS UDP flows (udp-flows: one datagram
# from each of many source ports of two client addresses, through a UDP NAT service with four
# real servers, rr: a quarter each), then times, RUNS times in turns, counting one real server's
# connections with `ipvsadm -Lnc | grep X | wc -l` against `ipvsctl conns --real-server X
# --count`, and the bare listings. Prints "R SET WORK TOOL REAL_MS USER_MS SYS_MS" (the best
# run), "C SET ..." checks and "M SET COMMAND PEAK_RSS_KB OUTPUT_BYTES" (GNU time's %M).
set -uo pipefail
runs=$1 flows=$2
TIMEFORMAT='%3R %3U %3S'
set_name=conns$flows ns=benchconns x=10.9.1.2:53
ms() { local s=${1%.*} f=${1#*.}; echo $((10#$s * 1000 + 10#$f)); }
declare -A best
keep() {
  local old=${best[$1]:-}
  if [ -z "$old" ] || [ "${2%% *}" -lt "${old%% *}" ]; then best[$1]=$2; fi
}
# timed CMD: runs the shell command CMD in the namespace (bash -c, stdout to /dev/null); prints
# "real user sys" in ms, the pipeline's processes included.
timed() {
  local t real user sys
  t=$({ time ip netns exec "$ns" bash -c "$1" >/dev/null 2>/tmp/bench.err; } 2>&1)
  read -r real user sys <<<"$t"
  echo "$(ms "$real") $(ms "$user") $(ms "$sys")"
}

setup() {
  ip netns add "$ns" && ip -n "$ns" link set lo up && ip -n "$ns" link add lan0 type dummy &&
    ip -n "$ns" link set lan0 up || return 1
  for a in 10.9.0.1/24 10.9.0.2/24 10.9.1.1/24 10.0.0.1/24; do ip -n "$ns" addr add "$a" dev lan0 || return 1; done
}
if ! setup; then
  echo "bench: cannot set up namespace $ns" >&2
  exit 1
fi
# The real servers are routed into the dummy device, where the datagrams end: the entries are
# what is measured. An hour of UDP timeout keeps them for the whole run.
ip netns exec "$ns" ipvsadm --set 0 0 3600
ip netns exec "$ns" ipvsadm -A -u 10.0.0.100:53 -s rr
for h in 2 3 4 5; do ip netns exec "$ns" ipvsadm -a -u 10.0.0.100:53 -r "10.9.1.$h:53" -m; done
half=$((flows / 2))
start=$SECONDS
sent=0
for part in "10.9.0.1 $half" "10.9.0.2 $((flows - half))"; do
  read -r src n <<<"$part"
  got=$(ip netns exec "$ns" udp-flows "$src" 1024 "$n" 10.0.0.100 53) || exit 1
  sent=$((sent + got))
done
table=$(ip netns exec "$ns" ipvsadm -Lnc | tail -n +3 | wc -l)
echo "bench: $sent datagrams sent in $((SECONDS - start)) s; the table has $table entries" >&2
echo "C $set_name table $sent $table"

for ((r = 0; r < runs; r++)); do
  keep "$set_name count ipvsadm" "$(timed "ipvsadm -Lnc | grep $x | wc -l")"
  keep "$set_name count ipvsctl" "$(timed "ipvsctl conns --real-server $x --count")"
  keep "$set_name rows ipvsadm" "$(timed "ipvsadm -Lnc | grep $x")"
  keep "$set_name rows ipvsctl" "$(timed "ipvsctl conns --real-server $x")"
  keep "$set_name list ipvsadm" "$(timed "ipvsadm -Lnc")"
  keep "$set_name list ipvsctl" "$(timed "ipvsctl -Lnc")"
  keep "$set_name byserver ipvsctl" "$(timed "ipvsctl conns --count --by server")"
done
for k in "${!best[@]}"; do echo "R $k ${best[$k]}"; done | sort

a=$(ip netns exec "$ns" bash -c "ipvsadm -Lnc | grep $x | wc -l")
c=$(ip netns exec "$ns" ipvsctl conns --real-server "$x" --count)
echo "C $set_name count $a $c"
# The rows without their expire column, which ticks between the two reads.
rows() { awk '{ $2 = ""; print }' | sort; }
if cmp -s <(ip netns exec "$ns" bash -c "ipvsadm -Lnc | grep $x" | rows) <(ip netns exec "$ns" ipvsctl conns --real-server "$x" | tail -n +3 | rows); then
  echo "C $set_name rows same"
else
  echo "C $set_name rows DIFFERENT"
fi
sum=$(ip netns exec "$ns" ipvsctl conns --count --by server | awk 'NR > 1 { s += $NF } END { print s }')
echo "C $set_name byserver $sum $(ip netns exec "$ns" ipvsctl conns --count)"
if command -v gnutime >/dev/null; then
  for cmd in "ipvsadm -Lnc" "ipvsctl -Lnc" "ipvsctl conns --real-server $x --count" "ipvsctl conns --real-server $x" "ipvsctl conns --count --by server"; do
    # shellcheck disable=SC2086
    ip netns exec "$ns" gnutime -f '%M' -o /tmp/bench.rss $cmd >/dev/null 2>&1 &&
      echo "M $set_name ${cmd// /_} $(cat /tmp/bench.rss) $(ip netns exec "$ns" $cmd | wc -c)"
  done
fi
ip netns exec "$ns" ipvsadm -C
ip netns del "$ns"
