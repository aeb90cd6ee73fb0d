#!/usr/bin/env bash
# Runs inside the test VM (tests/vm/ipvs-vm), started by tests/run:
#   guest-tests.sh [TEST_ARG]...
# 1. every kernel test binary shipped in $IPVST_BIN (default /ipvst/bin): each test its TEST_ARGs
#    select (a name filter, --exact, --nocapture...) in a process of its own, killed after
#    $IPVST_TEST_TIMEOUT seconds (default 1800);
# 2. every *.sh suite of $IPVST_SUITES (default tests/vm/suites, see its README.md), run with
#    bash whatever its mode bits (a suite is never skipped unseen); with a name filter, only the
#    suites whose file name contains it. The project's tests/ folder is shipped whole, to
#    /ipvst/src/tests, so that a suite finds its data by a path relative to itself.
# What tests/run counts: each binary's "test result: ..." line, one "ipvst-suite: NAME: N passed,
# M failed" line per suite, and one "ipvst-crash: ..." line (a failure) per binary or suite that
# stopped without its closing line (tests/vm/tally.sh reads them). Exits non-zero when anything
# failed.
set -u
export RUST_BACKTRACE=1
cd /tmp || exit 1

echo "guest: kernel $(uname -r), $(ipvsadm --version 2>&1)"
echo "guest: ipvsadm at $(command -v ipvsadm), ipvsctl at $(command -v ipvsctl || echo '(none)')"
if [ ! -e /proc/net/ip_vs ]; then
  echo "guest: /proc/net/ip_vs is missing: IPVS did not load" >&2
  exit 1
fi

status=0
out=$(mktemp /tmp/ipvst-output.XXXXXX) # its own: the mutants suite runs this script again inside
shopt -s nullglob
bin=${IPVST_BIN:-/ipvst/bin} suites=${IPVST_SUITES:-/ipvst/src/tests/vm/suites}
tests=("$bin"/*)
if [ ${#tests[@]} -eq 0 ]; then
  echo "guest: no kernel test binary was shipped into $bin" >&2
  status=1
fi
# The TEST_ARGs split: flags (--nocapture, --exact...) for each test's own run, name filters
# for the suites.
flags=() filters=()
for a in "$@"; do
  if [[ $a == -* ]]; then flags+=("$a"); else filters+=("$a"); fi
done
per_test=${IPVST_TEST_TIMEOUT:-1800}
for t in "${tests[@]}"; do
  echo "=== ${t##*/}"
  # One process per test, under a time bound: a failure is printed as soon as its test ends
  # (not after the whole binary, which the VM's timeout may never let come), each test's
  # "finished in" is its own time, and a test that hangs is killed and the rest still run.
  names=$("$t" --list --format terse "$@") || { status=1; echo "ipvst-crash: ${t##*/} --list failed"; continue; }
  while IFS= read -r name; do
    timeout -s KILL "$per_test" "$t" --test-threads=1 --exact "$name" "${flags[@]}" >"$out" 2>&1
    rc=$?
    grep -v -e '^running 1 test$' -e '^$' "$out"
    if [ "$rc" -ne 0 ]; then
      status=1
      # On a line of its own: a crash can leave "test NAME ... " without its newline.
      grep -q '^test result: ' "$out" ||
        printf '\nipvst-crash: %s: %s exited %s without its test result (killed after %s s?)\n' \
          "${t##*/}" "$name" "$rc" "$per_test"
    fi
  done < <(printf '%s\n' "$names" | sed -n 's/: test$//p')
done

for s in "$suites"/*.sh; do
  name=${s##*/}
  if [ ${#filters[@]} -gt 0 ]; then
    match=no
    for f in "${filters[@]}"; do [[ $name == *"$f"* ]] && match=yes; done
    [ $match = yes ] || continue
  fi
  echo "=== suite $name"
  bash "$s" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || status=1
  closing=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [ -n "$closing" ]; then
    echo "ipvst-suite: $name: $closing"
    # A suite that fails must say so in its count too.
    [ "$rc" -eq 0 ] || [[ $closing != *" 0 failed"* ]] || echo "ipvst-crash: $name exited $rc but counted no failure"
  else
    status=1
    printf "\nipvst-crash: %s exited %s without its closing 'N passed, N failed' line\n" "$name" "$rc"
  fi
done
rm -f "$out"
exit $status
