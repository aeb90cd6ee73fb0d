#!/usr/bin/env bash
# tests/vm/no-ipvs.sh IPVSCTL: boots a short VM in which no ip_vs module can load (kernel option
# module_blacklist=ip_vs; tests/vm/ipvs-vm -n loads none of IPVS) and runs
# tests/vm/no-ipvs-guest.sh there with the ipvsctl binary IPVSCTL: without IPVS, ipvsctl must
# end, not panic, and print and exit as ipvsadm does.
# Prints the guest's lines, then one "ipvst-suite: no-ipvs: N passed, M failed" line (for
# tests/vm/tally.sh). Used by tests/run.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: tests/vm/no-ipvs.sh IPVSCTL" >&2
  exit 2
fi
out=$(IPVSCTL_VM_APPEND="${IPVSCTL_VM_APPEND:-} module_blacklist=ip_vs" \
  tests/vm/ipvs-vm -n -t 600 -b "$1:/bin/ipvsctl" tests/vm/no-ipvs-guest.sh 2>&1)
rc=$?
printf '%s\n' "$out"
closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1)
if [ -z "$closing" ]; then
  echo "no-ipvs: the VM exited $rc without its closing line"
  closing="0 passed, 1 failed"
elif [ $rc -ne 0 ] && [[ $closing == *" 0 failed" ]]; then
  echo "no-ipvs: the VM exited $rc but counted no failure"
  closing="${closing%%,*}, 1 failed"
fi
echo "ipvst-suite: no-ipvs: $closing"
