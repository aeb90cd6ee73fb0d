#!/usr/bin/env bash
# mutants: the proof that the tests can fail. Each mutant is a deliberately broken ipvsctl or a
# broken environment that a hole in the differential suite or in the harness once let pass; the
# suite runs the tests against it and counts it passed when they catch it (fail, and fail for the
# expected reason), failed when they do not. tests/mutants/README.md lists them and the holes.
#
#   - code mutants: tests/mutants/NAME.patch, built by tests/mutants/build and shipped by
#     tests/run as $IPVST_MUTANTS/NAME/ipvsctl (default /ipvst/mutants). The header of the patch
#     names the cases to run (Cases:) and a line the suite's output must have (Expect:). The same
#     cases run with the real ipvsctl first (the control): they must pass.
#   - environment mutants: a module that cannot be loaded, a side of the suite that never runs.
#   - harness mutants: a suite that lost its executable bit; a run where the Rust kernel tests or
#     the differential suite ran nothing (tests/vm/tally.sh must fail it).
# Runs in the VM after the other suites (see README.md here). Without mutant binaries (tests/run
# --no-mutants) it says so and counts nothing.
# Environment: IPVSCTL (default ipvsctl), IPVST_MUTANTS, IPVST_MUTANTS_DIFF (the differential
# suite to test; default ipvsadm-diff.sh beside this file), IPVST_MUTANTS_ONLY=REGEX (names).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tests=$(cd "$here/../.." && pwd)
diff_suite=${IPVST_MUTANTS_DIFF:-$here/ipvsadm-diff.sh}
bins=${IPVST_MUTANTS:-/ipvst/mutants}
only=${IPVST_MUTANTS_ONLY:-}
ctl=${IPVSCTL:-ipvsctl}
work=$(mktemp -d /tmp/mutants.XXXXXX)
trap 'rm -rf "$work"' EXIT
caught=0 missed=0

if [ ! -d "$bins" ]; then
  echo "mutants: no mutant binaries in $bins (tests/run --no-mutants): nothing checked"
  echo "0 passed, 0 failed"
  exit 0
fi

# verdict NAME LOG RC EXPECT: caught when RC is not 0 and LOG has a line matching EXPECT.
verdict() {
  local name=$1 log=$2 rc=$3 expect=$4
  if [ "$rc" -ne 0 ] && grep -Eq -- "$expect" "$log"; then
    caught=$((caught + 1))
    echo "mutant $name: caught: $(grep -E -m 1 -- "$expect" "$log" | cut -c 1-160)"
  else
    missed=$((missed + 1))
    echo "FAIL mutant $name: NOT caught (exit $rc, no line matching /$expect/); the end of its log:"
    tail -n 15 "$log" | sed 's/^/    /'
  fi
}
wanted() { [ -z "$only" ] || [[ $1 =~ $only ]]; }

# diff_run LOG VAR=VALUE...: the differential suite with the variables set; its exit status.
diff_run() {
  local log=$1
  shift
  env "$@" bash "$diff_suite" >"$log" 2>&1
}

# --- code mutants ------------------------------------------------------------------------------
for p in "$tests"/mutants/*.patch; do
  [ -f "$p" ] || continue
  name=$(basename "$p" .patch)
  wanted "$name" || continue
  cases=$(sed -n 's/^Cases: //p' "$p")
  expect=$(sed -n 's/^Expect: //p' "$p")
  if [ -z "$cases" ] || [ -z "$expect" ]; then
    missed=$((missed + 1))
    echo "FAIL mutant $name: its patch has no Cases: or Expect: line"
    continue
  fi
  if [ ! -x "$bins/$name/ipvsctl" ]; then
    missed=$((missed + 1))
    echo "FAIL mutant $name: not built ($bins/$name/ipvsctl is missing)"
    continue
  fi
  if ! diff_run "$work/$name.control" IPVSCTL="$ctl" IPVSDIFF_ONLY="$cases"; then
    missed=$((missed + 1))
    echo "FAIL mutant $name: its cases fail with the real ipvsctl too, so they prove nothing:"
    tail -n 15 "$work/$name.control" | sed 's/^/    /'
    continue
  fi
  diff_run "$work/$name.log" IPVSCTL="$bins/$name/ipvsctl" IPVSDIFF_ONLY="$cases"
  verdict "$name" "$work/$name.log" $? "$expect"
done

# --- environment mutants -----------------------------------------------------------------------
# without_module MODULE COMMAND...: runs COMMAND while MODULE is unloaded and cannot be loaded
# again (the kernel's module loader points at /bin/false); puts both back after.
without_module() {
  local m=$1 helper rc
  shift
  helper=$(cat /proc/sys/kernel/modprobe)
  echo /bin/false >/proc/sys/kernel/modprobe
  for _ in 1 2 3 4 5; do
    rmmod "$m" 2>/dev/null && break
    sleep 1 # a namespace that is going away may hold it a moment longer
  done
  if grep -q "^$m " /proc/modules; then
    echo "$helper" >/proc/sys/kernel/modprobe
    echo "mutants: could not unload $m"
    return 125
  fi
  "$@"
  rc=$?
  echo "$helper" >/proc/sys/kernel/modprobe
  modprobe "$m"
  return $rc
}

if wanted scheduler-module-missing; then
  # Both tools fail -s wrr alike; the cases must not pass as a match (ipvsadm must succeed).
  without_module ip_vs_wrr diff_run "$work/sched.log" IPVSCTL="$ctl" \
    IPVSDIFF_ONLY='^svc/all-schedulers-one-table$'
  verdict scheduler-module-missing "$work/sched.log" $? '^FAIL [^:]*: .*ipvsadm failed'
fi
if wanted netns-setup-fails; then
  # No dummy interface for the daemons: the run fails instead of comparing two alike failures.
  without_module dummy diff_run "$work/dummy.log" IPVSCTL="$ctl" IPVSDIFF_ONLY='^daemon/'
  verdict netns-setup-fails "$work/dummy.log" $? 'setting up netns .* failed'
fi
if wanted case-never-ran; then
  # A side that never runs (its shell dies before writing anything): no records on either side
  # must not compare as '' = ''.
  mkdir -p "$work/shim"
  cat >"$work/shim/nsenter" <<'EOF'
#!/bin/bash
case " $* " in *" --side "*) exit 0 ;; esac
exec busybox nsenter "$@"
EOF
  chmod +x "$work/shim/nsenter"
  diff_run "$work/norun.log" IPVSCTL="$ctl" IPVSDIFF_ONLY='^svc/(tcp-default-scheduler|udp-default)$' \
    PATH="$work/shim:$PATH"
  verdict case-never-ran "$work/norun.log" $? '^FAIL [^:]*: not run'
fi

# --- harness mutants ---------------------------------------------------------------------------
# A copy of the suites folder whose differential suite lost its executable bit, beside the data.
mkdir -p "$work/h/tests/vm/suites" "$work/empty"
cp "$diff_suite" "$work/h/tests/vm/suites/ipvsadm-diff.sh"
chmod -x "$work/h/tests/vm/suites/ipvsadm-diff.sh"
ln -s "$tests/diff" "$work/h/tests/diff"
if wanted suite-not-executable || wanted rust-tests-ran-none; then
  # No kernel test binary, and only the non-executable suite, with one case.
  IPVST_BIN=$work/empty IPVST_SUITES=$work/h/tests/vm/suites IPVSDIFF_ONLY='^misc/version$' \
    IPVSCTL="$ctl" bash "$tests/vm/guest-tests.sh" >"$work/h1.log" 2>&1
fi
if wanted suite-not-executable; then
  # caught: the suite ran all the same (guest-tests.sh used to skip it without a word)
  grep -q '^ipvst-suite: ipvsadm-diff.sh: 1 passed, 0 failed' "$work/h1.log"
  verdict suite-not-executable "$work/h1.log" $((1 - $?)) '^ipvst-suite: ipvsadm-diff.sh: 1 passed'
fi
if wanted rust-tests-ran-none; then
  bash "$tests/vm/tally.sh" --require rust --require ipvsadm-diff.sh "$work/h1.log" >"$work/h1.tally" 2>&1
  verdict rust-tests-ran-none "$work/h1.tally" $? 'the Rust kernel tests ran none'
fi
if wanted diff-suite-ran-none; then
  # The kernel tests (one of them) and no suite.
  IPVST_SUITES=$work/empty bash "$tests/vm/guest-tests.sh" bringup::enter_runs_code_inside \
    >"$work/h2.log" 2>&1
  bash "$tests/vm/tally.sh" --require rust --require ipvsadm-diff.sh "$work/h2.log" >"$work/h2.tally" 2>&1
  verdict diff-suite-ran-none "$work/h2.tally" $? 'the suite ipvsadm-diff.sh ran no case'
fi

echo "$caught passed, $missed failed"
[ $missed -eq 0 ]
