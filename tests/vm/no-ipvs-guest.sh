#!/usr/bin/env bash
# Runs inside a VM booted without IPVS (tests/vm/no-ipvs.sh: module_blacklist=ip_vs, so that no
# ip_vs module can load, not even through the modprobe both tools try). Every command runs
# through ipvsadm and ipvsctl, each bounded by `timeout 30`: ipvsctl must end (no hang), not
# panic, print a message, and exit and print as ipvsadm does; its own commands (--json, -R,
# apply) must say the same "Can't initialize ipvs" and exit 2. ipvsadm lets the modprobe it runs
# print modprobe's own complaint on stderr; ipvsctl's library runs modprobe silently: lines of
# ipvsadm's stderr that start with "modprobe: " are left out of the comparison.
# Ends with the line "N passed, M failed".
set -u
cd /tmp || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# The premise: no IPVS, and no way to load it.
if modprobe ip_vs 2>/dev/null || [ -e /proc/net/ip_vs ]; then
  bad "IPVS is loaded or loadable: this boot cannot test its absence"
  echo "$pass passed, $fail failed"
  exit 1
fi
ok "no ip_vs: modprobe ip_vs fails ($(modprobe ip_vs 2>&1 | head -n 1))"

# run TOOL INPUT ARG...: sets rc, out and err (INPUT is the standard input's text).
run() {
  local tool=$1 input=$2
  shift 2
  out=$(printf '%s' "$input" | timeout 30 "$tool" "$@" 2>/tmp/no-ipvs.err)
  rc=$?
  err=$(cat /tmp/no-ipvs.err)
}

# check NAME: ipvsctl's run (rc, out, err) is sound on its own.
sound() {
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 143 ]; then
    bad "$1: ipvsctl did not end within 30 s"
  elif [[ $err == *panicked* ]]; then
    bad "$1: ipvsctl panicked: $err"
  elif [[ $err != *"Can't initialize ipvs"* ]]; then
    bad "$1: ipvsctl's message does not say it cannot reach IPVS: $err"
  else
    return 0
  fi
  return 1
}

cases=(
  "-L -n" "-L -n -c" "-L -n --stats" "-S -n" "-L --timeout" "-L --daemon"
  "-A -t 10.1.1.1:80 -s rr" "-E -t 10.1.1.1:80 -s wlc" "-D -t 10.1.1.1:80"
  "-a -t 10.1.1.1:80 -r 10.2.2.2:80 -m" "-d -t 10.1.1.1:80 -r 10.2.2.2:80"
  "-C" "-Z" "--set 900 120 300" "--start-daemon master --mcast-interface lo"
  "--stop-daemon master"
)
for c in "${cases[@]}"; do
  read -ra args <<<"$c"
  run ipvsadm "" "${args[@]}"
  arc=$rc aout=$out aerr=$(grep -v '^modprobe: ' <<<"$err")
  run ipvsctl "" "${args[@]}"
  sound "$c" || continue
  if [ "$rc" -ne "$arc" ] || [ "$out" != "$aout" ] || [ "$err" != "$aerr" ]; then
    bad "$c: ipvsctl exited $rc with [$out] [$err], ipvsadm $arc with [$aout] [$aerr]"
  else
    ok "$c: both exit $rc: $(head -n 1 <<<"$err")"
  fi
done

# -R: ipvsadm fails before it reads; ipvsctl checks the input, then fails alike.
rules=$'-A -t 10.1.1.1:80 -s rr\n-a -t 10.1.1.1:80 -r 10.2.2.2:80 -m\n'
run ipvsadm "$rules" -R
arc=$rc aerr=$(grep -v '^modprobe: ' <<<"$err")
run ipvsctl "$rules" -R
if sound "-R" && { [ "$rc" -ne "$arc" ] || [ "$err" != "$aerr" ]; }; then
  bad "-R: ipvsctl exited $rc [$err], ipvsadm $arc [$aerr]"
elif [ "$rc" -eq "$arc" ]; then
  ok "-R: both exit $rc"
fi

# ipvsctl's own commands: the same message, exit 2 (IPVS cannot be opened).
printf '%s' "$rules" >/tmp/no-ipvs.rules
for c in "-L -n --json" "-S --json" "-R --json" "apply -f /tmp/no-ipvs.rules" \
  "apply --dry-run -f /tmp/no-ipvs.rules" "drain -t 10.1.1.1:80 -r 10.2.2.2:80 --timeout 1"; do
  read -ra args <<<"$c"
  input=''
  [ "$c" != "-R --json" ] || input='{"services": []}'
  run ipvsctl "$input" "${args[@]}"
  if sound "$c"; then
    if [ "$rc" -eq 2 ]; then
      ok "$c: exit 2: $(head -n 1 <<<"$err")"
    else
      bad "$c: exit $rc, not 2: $err"
    fi
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
