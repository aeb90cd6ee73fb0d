#!/usr/bin/env bash
# The lecture's NAT example (LVS/NAT, masquerading) with real HTTP traffic, run inside the test VM
# by ./tests/demo. Every box is a network namespace:
#
#   client 10.0.0.2 ---- 10.0.0.1 + VIP 10.0.0.100  director  192.168.10.1 (br0) --+-- rs1 192.168.10.11
#                                                                                  +-- rs2 192.168.10.12
#
# The director has the IPVS service VIP:80, scheduler rr, with both real servers in masquerading
# mode; each real server runs busybox httpd with a page that names it, and routes back through the
# director (default route, ip_forward=1 on the director), which rewrites the replies. The client
# sends real HTTP requests to the VIP and we print which real server answered each.
set -euo pipefail

VIP=10.0.0.100
PORT=80
RS=(192.168.10.11 192.168.10.12)
REQUESTS=${REQUESTS:-6}

in_ns() { ip netns exec "$@"; } # in_ns NAMESPACE COMMAND...

setup_network() {
  local i
  for n in client director rs1 rs2; do
    ip netns add $n
    in_ns $n ip link set lo up
  done
  ip link add c0 netns client type veth peer name ext0 netns director
  in_ns client ip addr add 10.0.0.2/24 dev c0
  in_ns client ip link set c0 up
  in_ns director ip addr add 10.0.0.1/24 dev ext0
  in_ns director ip addr add $VIP/24 dev ext0
  in_ns director ip link set ext0 up
  in_ns director ip link add br0 type bridge
  in_ns director ip addr add 192.168.10.1/24 dev br0
  in_ns director ip link set br0 up
  for i in 1 2; do
    ip link add eth0 netns rs$i type veth peer name rs$i netns director
    in_ns director ip link set rs$i master br0 up
    in_ns rs$i ip addr add "${RS[i - 1]}/24" dev eth0
    in_ns rs$i ip link set eth0 up
    in_ns rs$i ip route add default via 192.168.10.1 # replies go back through the director
  done
  in_ns director sysctl -q -w net.ipv4.ip_forward=1
}

start_real_servers() {
  local i
  for i in 1 2; do
    mkdir -p /tmp/www-rs$i
    echo "hello from rs$i (${RS[i - 1]})" >/tmp/www-rs$i/index.html
    in_ns rs$i busybox httpd -p $PORT -h /tmp/www-rs$i # daemonizes
  done
}

# ---------------------------------------------------------------------------------------------
# THE PROGRAMMING STEP: put the IPVS service on the director. When our Rust demo program
# `ipvs-demo` (a bin of the ipvs-tests crate, shipped into the VM by ./tests/demo) exists, it does
# this with the library, called as below; until then ipvsadm does the same.
program_ipvs() {
  if command -v ipvs-demo >/dev/null; then
    echo "programming IPVS with ipvs-demo (the ipvs library)"
    in_ns director ipvs-demo "$VIP:$PORT" rr "${RS[0]}:$PORT" "${RS[1]}:$PORT"
  else
    echo "programming IPVS with ipvsadm"
    in_ns director ipvsadm -A -t $VIP:$PORT -s rr
    in_ns director ipvsadm -a -t $VIP:$PORT -r "${RS[0]}:$PORT" -m
    in_ns director ipvsadm -a -t $VIP:$PORT -r "${RS[1]}:$PORT" -m
  fi
}
# ---------------------------------------------------------------------------------------------

send_requests() {
  local i answer
  for i in $(seq "$REQUESTS"); do
    # Not wget -T: busybox 1.35's wget crashes with it. The timeout applet bounds it instead.
    answer=$(in_ns client timeout 10 wget -q -O - "http://$VIP:$PORT/") || answer="(no answer)"
    echo "request $i to $VIP:$PORT -> $answer"
    echo "$answer" >>/tmp/answers
  done
}

echo "== network: client, director, rs1, rs2 (network namespaces)"
setup_network
start_real_servers
echo "== IPVS service $VIP:$PORT, round robin, masquerading to ${RS[*]}"
program_ipvs
echo "== ipvsctl -Ln on the director"
in_ns director ipvsctl -Ln
echo "== $REQUESTS HTTP requests from the client"
send_requests
echo "== the director's IPVS statistics and connections"
if command -v ipvs-demo >/dev/null; then
  in_ns director ipvs-demo stats "$VIP:$PORT" # waits for the kernel's counters to settle
else
  sleep 2 # the kernel adds up its per-CPU counters every 2 s
fi
echo "== ipvsctl -Ln --stats on the director"
in_ns director ipvsctl -Ln --stats

rs1=$(grep -c '^hello from rs1 ' /tmp/answers || true)
rs2=$(grep -c '^hello from rs2 ' /tmp/answers || true)
echo "== rs1 answered $rs1, rs2 answered $rs2 of $REQUESTS requests"
# Round robin over two servers: each answers half (one more for an odd count).
if [ $((rs1 + rs2)) -ne "$REQUESTS" ] || [ $((rs1 - rs2)) -gt 1 ] || [ $((rs2 - rs1)) -gt 1 ]; then
  echo "demo: FAILED: the answers are not shared round robin" >&2
  exit 1
fi
echo "demo: OK"
