#!/usr/bin/env bash
# tests/vm/tally.sh: counts what tests/vm/guest-tests.sh ran, from its output.
#
#   tests/vm/tally.sh [--require rust] [--require SUITE]... LOG...
#
# Adds up, over the LOGs, every Rust test binary's "test result: ..." line, every "ipvst-suite: NAME: N passed,
# M failed" line, and one failure per "ipvst-crash: ..." line; prints "kernel: N passed, M failed"
# last. Exits 1 when a test failed, when nothing ran, or when a required half ran nothing on its
# own: `--require rust` (the Rust kernel tests) or `--require SUITE` (a suite by file name, such as
# ipvsadm-diff.sh; its line must be there and count at least one case). A sum is not enough: a run
# where one half ran none must not pass on the other's count.
# Used by tests/run on the host and by the mutants suite in the VM (busybox: sed, grep).
set -u
required=()
while [ "${1:-}" = --require ] && [ $# -gt 2 ]; do
  required+=("$2")
  shift 2
done
usage() {
  echo "usage: tally.sh [--require rust|SUITE]... LOG..." >&2
  exit 2
}
[ $# -gt 0 ] || usage
for f in "$@"; do [ -f "$f" ] || usage; done

passed=0 failed=0 rust=0 ok=yes
while read -r p f; do
  passed=$((passed + p)) failed=$((failed + f)) rust=$((rust + p + f))
done < <(sed -n -E 's/^test result: (ok|FAILED)\. ([0-9]+) passed; ([0-9]+) failed;.*/\2 \3/p' "$@")
declare -A suite=()
while read -r name p f; do
  passed=$((passed + p)) failed=$((failed + f))
  suite[$name]=$((${suite[$name]:-0} + p + f))
done < <(sed -n -E 's/^ipvst-suite: ([^:]*): ([0-9]+) passed, ([0-9]+) failed.*/\1 \2 \3/p' "$@")
failed=$((failed + $(cat "$@" | grep -c '^ipvst-crash: ')))

for r in "${required[@]}"; do
  if [ "$r" = rust ]; then
    [ "$rust" -gt 0 ] || { echo "tally: the Rust kernel tests ran none" >&2; ok=no; }
  elif [ "${suite[$r]:-0}" -eq 0 ]; then
    echo "tally: the suite $r ran no case" >&2
    ok=no
  fi
done
[ "$failed" -eq 0 ] || ok=no
if [ $((passed + failed)) -eq 0 ]; then
  echo "tally: no kernel test ran" >&2
  ok=no
fi
echo "kernel: $passed passed, $failed failed"
[ $ok = yes ]
