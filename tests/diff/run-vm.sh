#!/usr/bin/env bash
# tests/diff/run-vm.sh: runs the differential suite (tests/vm/suites/ipvsadm-diff.sh) alone in a
# fresh test VM, for working on the cases or on ipvsctl without the whole ./tests/run.
#
#   tests/diff/run-vm.sh [--self] [--ctl BINARY] [-l LOG] [VAR=VALUE]...
#
#   --self        compare ipvsadm with itself (IPVSCTL=ipvsadm): every case must pass
#   --ctl BINARY  the ipvsctl to test (default target/release/ipvsctl; build it first with
#                 cargo build --release -p ipvsctl)
#   -l LOG        also write the VM's console to LOG
#   VAR=VALUE     passed to the suite, e.g. IPVSDIFF_ONLY='^bad/' IPVSDIFF_DETAILED=500
# Exits with the suite's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
self=no ctl=target/release/ipvsctl vmargs=() env=()
while [ $# -gt 0 ]; do
  case $1 in
    --self) self=yes ;;
    --ctl) ctl=$2; shift ;;
    -l) vmargs+=(-l "$2"); shift ;;
    *=*) env+=("$1") ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-vm.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ $self = yes ]; then
  env=(IPVSCTL=ipvsadm "${env[@]}")
else
  [ -x "$ctl" ] || { echo "run-vm.sh: no $ctl (cargo build --release -p ipvsctl)" >&2; exit 2; }
  vmargs+=(-b "$ctl:/bin/ipvsctl")
fi
guest=$(mktemp)
trap 'rm -f "$guest"' EXIT
cat >"$guest" <<'EOF'
for kv in "$@"; do export "$kv"; done
echo "guest: kernel $(uname -r), $(ipvsadm --version 2>&1)"
exec bash /ipvst/src/tests/vm/suites/ipvsadm-diff.sh
EOF
exec tests/vm/ipvs-vm "${vmargs[@]}" -f tests:/ipvst/src/tests "$guest" "${env[@]}"
