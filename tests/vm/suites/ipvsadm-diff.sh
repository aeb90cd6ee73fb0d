#!/usr/bin/env bash
# shellcheck disable=SC2016 # awk programs are in single quotes
# ipvsadm-diff: the differential suite. Runs every case of tests/diff/*.txt through ipvsadm 1.31
# (netns A) and through ipvsctl (netns B) and compares, per case:
#   - the exit status of each command under test, its stdout and its stderr (ipvsctl's output is
#     compared after replacing "ipvsctl" with "ipvsadm": ipvsadm prints its own name);
#   - the kernel state afterwards, read in both namespaces by the same tool, ipvsadm: everything
#     the kernel keeps (STATE_LISTS: -S -n, thresholds, connection counters, tunnel options,
#     timeouts, sync daemons);
#   - that the case ran: both sides left every record, and ipvsadm itself succeeded (exit 0) on
#     each run line, except in bad-input cases and cases marked "opt expect-fail";
#   - the listings the case names, printed by ipvsadm and by ipvsctl in the SAME namespace and
#     state (A; and B too when B's state differs), so that a difference there is pure formatting.
# Then the JSON checks (ipvsctl only): -S --json | -R --json round trip, every listing with
# --json parses, errors stay on stderr. And the spec checks where ipvsctl deliberately differs.
#
# Runs inside the test VM as root (see README.md beside this file), or anywhere with IPVS:
#   ipvsadm-diff.sh
# Environment:
#   IPVSCTL=ipvsctl        the program under test (a name in PATH or a path); IPVSCTL=ipvsadm
#                          checks the suite itself: every case must pass (JSON checks are skipped)
#   IPVSDIFF_CASES=DIR|FILE case files (default: ../../diff/*.txt from this script: tests/diff)
#   IPVSDIFF_ONLY=REGEX    run only the cases whose name matches
#   IPVSDIFF_DIFF_LINES=16 lines of diff shown per differing item
#   IPVSDIFF_DETAILED=40   failing cases shown with diffs; later ones get their FAIL line only
#   IPVSDIFF_KEEP=DIR      keep every case's outputs in DIR (default: a temporary folder, removed)
# Prints one "FAIL name: items" line per failing case (with bounded diffs), timings, and the
# closing line "N passed, N failed"; exits 1 when anything failed.

# ---------------------------------------------------------------------------------------------
# The listings a case can ask for ("list" keyword), and what they run.
declare -A LFMT=(
  [Ln]="-L -n" [L]="-L" [stats]="-L -n --stats" [Lstats]="-L --stats" [rate]="-L -n --rate"
  [thr]="-L -n --thresholds" [pc]="-L -n --persistent-conn" [tun]="-L -n --tun-info"
  [Ltun]="-L --tun-info" [S]="-S" [Sn]="-S -n" [timeout]="-L --timeout" [daemon]="-L --daemon"
  [c]="-L -n -c" [Lc]="-L -c" [cpc]="-L -n -c --persistent-conn" [exact]="-L -n --stats --exact"
  [rexact]="-L -n --rate --exact" [nosort]="-L -n --nosort" [statsnosort]="-L -n --stats --nosort"
  [none]=""
)
ALL_LISTS="Ln L stats rate thr pc tun S Sn timeout daemon c exact nosort"
DEFAULT_LISTS="Ln Sn"
# The categories whose cases get DEFAULT_LISTS. The others (bad inputs, listings as commands,
# timeouts and daemons, whose state is compared anyway, help, parser quirks) compare only the
# listings they name: the VM runs programs slowly.
DEFAULT_LIST_CATEGORIES="svc dest edit del clear zero restore traffic"
# Listings whose numbers can move between two runs (connection expiry, rate estimator):
# compared up to 3 times before they count as different.
VOLATILE=" c Lc cpc rate rexact stats Lstats exact statsnosort "

NS_A=ipvsdiff-a NS_B=ipvsdiff-b
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
IPVSCTL=${IPVSCTL:-ipvsctl}
# The program under test, as cases call it ($IPVS). The watchdog kills it when it hangs, so a
# hang fails one case (exit 137), not the suite; cheaper than `timeout` around every call.
CTL_RUN=$IPVSCTL

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# readf FILE: REPLY=contents (no fork).
readf() {
  REPLY=
  [ -f "$1" ] && IFS= read -r -d '' REPLY <"$1"
  return 0
}

# norm TEXT: REPLY=TEXT with the program under test's name replaced by ipvsadm's.
norm() {
  local v=$1
  if [ "$IPVSCTL" != ipvsctl ] && [ "$IPVSCTL" != ipvsadm ]; then v=${v//"$IPVSCTL"/ipvsadm}; fi
  REPLY=${v//ipvsctl/ipvsadm}
}

# ---------------------------------------------------------------------------------------------
# Case files. A case:
#   === category/name
#   setup  SHELL...   run in both namespaces before the command, identically (normally ipvsadm)
#   run    SHELL...   the command under test; $IPVS is ipvsadm in A and ipvsctl in B; $W is a
#                     scratch folder; each run line's exit status is compared
#   list   NAME...    listings to compare afterwards (added to "Ln Sn" in DEFAULT_LIST_CATEGORIES;
#                     "all"; or "none" alone)
#   opt    WORD...    fresh (own namespaces: lo, d0 198.51.100.1/24), stderr-loose (each line of
#                     ipvsadm's stderr must appear in ipvsctl's), no-stdout, no-state, no-rc,
#                     expect-fail (ipvsadm exits non-zero on purpose in a case that is not bad/)
# Run and setup lines run with pipefail: `$IPVS -v | sed ...` has the status of $IPVS when it fails.
OPT_WORDS=" fresh stderr-loose no-stdout no-state no-rc expect-fail "
parse_cases() {
  local f line kw rest n=-1 lineno
  C_NAME=() C_SETUP=() C_RUN=() C_NRUN=() C_LIST=() C_OPT=() C_TOUCH=() C_BATCH=() PARSE_ERRORS=()
  for f in "$@"; do
    lineno=0
    while IFS= read -r line || [ -n "$line" ]; do
      lineno=$((lineno + 1))
      case $line in
        '#'* | '') continue ;;
        '=== '*)
          rest=${line#=== }
          rest=${rest%"${rest##*[![:space:]]}"}
          if [ -n "$IPVSDIFF_ONLY" ] && ! [[ $rest =~ $IPVSDIFF_ONLY ]]; then
            n=-2
            continue
          fi
          n=${#C_NAME[@]}
          C_NAME[n]=$rest C_SETUP[n]='' C_RUN[n]='' C_LIST[n]='' C_OPT[n]=' '
          ;;
        *)
          [ "$n" -eq -2 ] && continue
          if [ "$n" -lt 0 ]; then
            PARSE_ERRORS+=("${f##*/}:$lineno: text before the first case")
            continue
          fi
          line=${line#"${line%%[![:space:]]*}"}
          kw=${line%%[[:space:]]*}
          rest=${line#"$kw"}
          rest=${rest#"${rest%%[![:space:]]*}"}
          case $kw in
            setup) C_SETUP[n]+=$rest$'\n' ;;
            run) C_RUN[n]+=$rest$'\n' ;;
            list) C_LIST[n]+=" $rest" ;;
            opt) C_OPT[n]+="$rest " ;;
            *) PARSE_ERRORS+=("${f##*/}:$lineno: unknown keyword '$kw'") ;;
          esac
          ;;
      esac
    done <"$f"
  done
  local i l t x seen=' '
  local re_batchable='^[-A-Za-z0-9_.:,/=[:space:]]+$'
  local re_not_batchable='[[:space:]](-S|-L|-l|-R|-h|-v|--save|--list|--restore|--help|--version)[[:space:]]'
  local re_d='daemon|(^|[[:space:]])(-R|--restore)([[:space:]]|$)'
  for i in "${!C_NAME[@]}"; do
    [[ $seen == *" ${C_NAME[i]} "* ]] && PARSE_ERRORS+=("duplicate case name ${C_NAME[i]}")
    seen+="${C_NAME[i]} "
    [ -n "${C_RUN[i]}" ] || PARSE_ERRORS+=("case ${C_NAME[i]} has no run line")
    C_NRUN[i]=0
    while IFS= read -r x; do [ -z "$x" ] || C_NRUN[i]=$((C_NRUN[i] + 1)); done <<<"${C_RUN[i]}"
    for x in ${C_OPT[i]}; do
      [[ $OPT_WORDS == *" $x "* ]] || PARSE_ERRORS+=("case ${C_NAME[i]}: unknown opt '$x'")
    done
    if [[ ${C_NAME[i]} == bad/* ]] && [[ ${C_OPT[i]} == *" expect-fail "* ]]; then
      PARSE_ERRORS+=("case ${C_NAME[i]}: bad/ cases expect failure anyway")
    fi
    l=${C_LIST[i]}
    if [[ " $l " == *" none "* ]]; then
      l=''
    elif [[ " $l " == *" all "* ]]; then
      l="$ALL_LISTS ${l//all/}"
    elif [[ " $DEFAULT_LIST_CATEGORIES " == *" ${C_NAME[i]%%/*} "* ]]; then
      l="$DEFAULT_LISTS $l"
    fi
    # unique, in order
    local u=' ' x
    for x in $l; do
      [ -n "${LFMT[$x]+set}" ] || PARSE_ERRORS+=("case ${C_NAME[i]}: unknown listing '$x'")
      [[ $u == *" $x "* ]] || u+="$x "
    done
    C_LIST[i]=$u
    # d: the case may start sync daemons (stopped after it)
    t=''
    [[ ${C_SETUP[i]}${C_RUN[i]} =~ $re_d ]] && t+=d
    C_TOUCH[i]=$t
    # The leading setup lines that are plain ipvsadm changes go to ONE `ipvsadm -R` (with the
    # reset), which saves a process per line; the VM runs programs slowly.
    local rest_setup='' batch='' in_batch=yes args
    while IFS= read -r x; do
      [ -n "$x" ] || continue
      args=${x#ipvsadm }
      if [ $in_batch = yes ] && [[ $x == "ipvsadm "* ]] && [[ $args =~ $re_batchable ]] &&
        ! [[ " $args " =~ $re_not_batchable ]]; then
        batch+=$args$'\n'
      else
        in_batch=no
        rest_setup+=$x$'\n'
      fi
    done <<<"${C_SETUP[i]}"
    C_BATCH[i]=$batch
    C_SETUP[i]=$rest_setup
  done
}

# ---------------------------------------------------------------------------------------------
# One side (A = ipvsadm, B = ipvsctl), run inside its network namespace.

# fresh_init: what a "fresh" namespace gets (the shared namespaces get it once too).
ns_init() {
  ip -force -batch - <<'EOF'
link set lo up
link add d0 type dummy
link set d0 multicast on up
address add 198.51.100.1/24 dev d0
address add 2001:db8:ff::1/64 dev d0 nodad
EOF
}

# list_one OUTFILE ARGS...: a listing by ipvsadm (LTOOL=adm) or ipvsctl (LTOOL=ctl) into OUTFILE,
# stdout and stderr together, then its exit status.
list_one() {
  local f=$1
  shift
  if [ "$LTOOL" = adm ]; then ipvsadm "$@" >"$f" 2>&1 </dev/null; else $CTL_RUN "$@" >"$f" 2>&1 </dev/null; fi
  echo "[exit $?]" >>"$f"
}

# do_lists PREFIX NAMES: every listing by both tools; volatile ones again when they differ. With
# SKIP_SN_ADM=yes, ipvsadm's -S -n is not run: the comparison takes it from the state file.
do_lists() {
  local p=$1 x a b
  for x in $2; do
    for _ in 1 2 3; do
      if [ "$x" != Sn ] || [ "$SKIP_SN_ADM" != yes ]; then
        # shellcheck disable=SC2086
        LTOOL=adm list_one "$p.$x.adm" ${LFMT[$x]}
      fi
      # shellcheck disable=SC2086
      LTOOL=ctl list_one "$p.$x.ctl" ${LFMT[$x]}
      [[ $VOLATILE == *" $x "* ]] || break
      readf "$p.$x.adm"
      a=$REPLY
      readf "$p.$x.ctl"
      norm "$REPLY"
      b=$REPLY
      [ "$a" != "$b" ] || break
      sleep 1
    done
  done
}

# state_lines: REPLY = the ipvsadm -R lines that print a case's state: all that the kernel keeps.
# -S -n leaves out thresholds, the connection counters (which show that an edit was done in
# place), tunnel options, timeouts and daemons; the listings add them. One -R, no extra process.
STATE_LISTS=('-S -n' '-L -n --thresholds' '-L -n --persistent-conn' '-L -n --tun-info'
  '-L --timeout' '-L --daemon')
state_lines() {
  REPLY=$(printf '%s\n' "${STATE_LISTS[@]}")$'\n'
}

# read_state SIDE I: case I's state into $OUT/I.SIDE.state, by ipvsadm.
read_state() {
  state_lines
  printf '%s' "$REPLY" | ipvsadm -R >"$OUT/$2.$1.state" 2>&1 || echo "[state read exited $?]" >>"$OUT/$2.$1.state"
}

# Programs are slow in the VM, so one `ipvsadm -R` does three things at the start of a case: it
# prints the state of the case before (PENDING) when that was left for later, resets the table
# (flush, default timeouts) and runs the case's leading plain ipvsadm setup lines.
PENDING='' NSINIT_ERR=''
begin_case() { # SIDE I OUTPREFIX
  local side=$1 i=$2 o=$3 pre='' out=/dev/null rc
  if [ -n "$PENDING" ]; then
    state_lines
    pre=$REPLY
    out=$OUT/$PENDING.$side.state
  fi
  : >"$o.setup"
  [ -z "$NSINIT_ERR" ] || echo "$NSINIT_ERR" >>"$o.setup"
  printf -- '%s-C\n--set 900 120 300\n%s' "$pre" "${C_BATCH[i]}" | ipvsadm -R >"$out" 2>"$o.tmp"
  rc=$?
  PENDING=''
  if [ $rc -ne 0 ] || [ -s "$o.tmp" ]; then
    readf "$o.tmp"
    echo "setup (ipvsadm -R of the leading ipvsadm lines) exited $rc: $REPLY" >>"$o.setup"
  fi
}

# run_case SIDE I MODE: case I in this namespace. MODE main: outputs, state and (in A) the
# listings into $OUT/I.SIDE.*; the state is read now for cases with daemons (which are stopped
# after) and fresh namespaces, else by the next begin_case. MODE relist: again, for the listings
# only (B, when its state differed from A's).
run_case() {
  local side=$1 i=$2 mode=$3 o=$OUT/$2.$1 line rc n=0 rcs=''
  # IPVS and W are for the cases' eval'd lines
  # shellcheck disable=SC2034
  local IPVS=$CTL_RUN W=$OUT/w.$1
  # shellcheck disable=SC2034
  [ "$side" = B ] || IPVS=ipvsadm
  [ "$mode" = main ] || o=$OUT/$2.$1.relist
  begin_case "$side" "$i" "$o"
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    n=$((n + 1))
    { eval "$line"; } >/dev/null 2>"$o.tmp" </dev/null
    rc=$?
    if [ $rc -ne 0 ]; then
      readf "$o.tmp"
      echo "setup line $n exited $rc: $line: $REPLY" >>"$o.setup"
    fi
  done <<<"${C_SETUP[i]}"
  : >"$o.out"
  : >"$o.err"
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    { eval "$line"; } >>"$o.out" 2>>"$o.err" </dev/null
    rcs+="$? "
  done <<<"${C_RUN[i]}"
  echo "$rcs" >"$o.rc"
  if [ "$mode" = relist ]; then
    SKIP_SN_ADM=no do_lists "$OUT/$i.$side.L" "${C_LIST[i]}"
  elif [ "$side" = A ]; then
    SKIP_SN_ADM=yes do_lists "$OUT/$i.$side.L" "${C_LIST[i]}"
  fi
  if [ "$mode" = main ]; then
    if [[ ${C_TOUCH[i]} == *d* ]] || [ "$ONE" = yes ]; then
      read_state "$side" "$i"
    else
      PENDING=$i
    fi
  fi
  # (timeouts are reset by the next case's setup)
  if [[ ${C_TOUCH[i]} == *d* ]]; then
    ipvsadm --stop-daemon master >/dev/null 2>&1
    ipvsadm --stop-daemon backup >/dev/null 2>&1
  fi
}

side_main() {
  local side=$1 i ns t0
  mkdir -p "$OUT/w.$side"
  for i in "${!C_NAME[@]}"; do
    t0=${EPOCHREALTIME/./}
    if [[ ${C_OPT[i]} == *" fresh "* ]]; then
      ns=ipvsdiff-f$side$i
      ip netns add "$ns" || { echo "setup: ip netns add $ns failed" >"$OUT/$i.$side.setup"; continue; }
      nsenter --net="/run/netns/$ns" bash "$SELF" --one "$OUT" "$side" "$i"
      ip netns del "$ns"
    else
      run_case "$side" "$i" main
    fi
    echo "${C_NAME[i]} $(((${EPOCHREALTIME/./} - t0) / 1000))" >>"$OUT/times.$side"
  done
  if [ -n "$PENDING" ]; then read_state "$side" "$PENDING"; fi
}

# relist_main I...: the listings in B of the cases whose state in B differed from A's.
relist_main() {
  local i
  mkdir -p "$OUT/w.B"
  for i in "$@"; do run_case B "$i" relist; done
}

one_main() {
  local err
  err=$(ns_init 2>&1) || NSINIT_ERR="setup: netns set-up failed: $err"
  ONE=yes run_case "$1" "$2" main
}

# ---------------------------------------------------------------------------------------------
# Comparison and report (in the suite's own namespace).

SHOWN=0
# nonzero STATUS...: is any of them non-zero?
nonzero() {
  local r
  for r in "$@"; do [ "$r" = 0 ] || return 0; done
  return 1
}
# show_diff LABEL A_TEXT B_TEXT: a bounded unified diff, indented.
show_diff() {
  [ "$SHOWN" -lt "${IPVSDIFF_DETAILED:-40}" ] || return 0
  printf '%s' "$2" >"$OUT/diff.a"
  printf '%s' "$3" >"$OUT/diff.b"
  diff -u -L "ipvsadm $1" -L "$IPVSCTL $1" "$OUT/diff.a" "$OUT/diff.b" |
    head -n "${IPVSDIFF_DIFF_LINES:-16}" | sed 's/^/    /'
}

PASSED=0 FAILED=0 SKIPPED=0
FAILED_NAMES=()
compare_case() {
  local i=$1
  local a=$OUT/$i.A b=$OUT/$i.B items=() diffs=() x va vb l line rc
  local opt=${C_OPT[i]}
  # The case ran: both sides left every record. A missing record is not an empty one (if neither
  # side ran, every comparison would be '' = '').
  local absent=() relisted=no
  for l in A B; do
    for x in setup rc out err state; do [ -f "$OUT/$i.$l.$x" ] || absent+=("$l.$x"); done
    if [ -f "$OUT/$i.$l.rc" ]; then
      read -r -a rc <"$OUT/$i.$l.rc"
      [ ${#rc[@]} -eq "${C_NRUN[i]}" ] || absent+=("$l: ${#rc[@]} of ${C_NRUN[i]} exit statuses")
    fi
  done
  if [[ $opt != *" fresh "* ]] && [ -f "$a.state" ] && ! cmp -s "$a.state" "$b.state"; then relisted=yes; fi
  for x in ${C_LIST[i]}; do
    [ -f "$a.L.$x.ctl" ] || absent+=("A.L.$x")
    [ "$x" = Sn ] || [ -f "$a.L.$x.adm" ] || absent+=("A.L.$x.adm")
    if [ $relisted = yes ]; then
      [ -f "$b.L.$x.ctl" ] && [ -f "$b.L.$x.adm" ] || absent+=("B.L.$x")
    fi
  done
  if [ ${#absent[@]} -gt 0 ]; then
    items+=("not run (no ${absent[*]})")
  fi
  # ipvsadm itself did what the case expects: a case that should succeed and fails alike in both
  # tools is a broken environment (a scheduler module or d0 missing), not a match.
  if [ -f "$a.rc" ]; then
    read -r -a rc <"$a.rc"
    if [[ ${C_NAME[i]} == bad/* ]]; then
      nonzero "${rc[@]}" || items+=("ipvsadm accepted the bad input (exit ${rc[*]})")
    elif [[ $opt != *" expect-fail "* ]] && nonzero "${rc[@]}"; then
      readf "$a.err"
      items+=("ipvsadm failed (exit ${rc[*]}: ${REPLY:0:200}); a broken environment, or opt expect-fail")
    fi
  fi
  readf "$a.setup"
  va=$REPLY
  readf "$b.setup"
  vb=$REPLY
  if [ -n "$va$vb" ]; then
    items+=("setup")
    SETUP_MSG=${va:-$vb}
  fi
  if [[ $opt != *" no-rc "* ]]; then
    readf "$a.rc"
    va=$REPLY
    readf "$b.rc"
    vb=$REPLY
    if [ "$va" != "$vb" ]; then
      va=${va%$'\n'} vb=${vb%$'\n'}
      items+=("exit ${va% } vs ${vb% }")
    fi
  fi
  if [[ $opt != *" no-stdout "* ]]; then
    readf "$a.out"
    va=$REPLY
    readf "$b.out"
    norm "$REPLY"
    vb=$REPLY
    if [ "$va" != "$vb" ]; then
      items+=("stdout")
      diffs+=("stdout" "$va" "$vb")
    fi
  fi
  readf "$a.err"
  va=$REPLY
  readf "$b.err"
  norm "$REPLY"
  vb=$REPLY
  if [ "$va" != "$vb" ]; then
    if [[ $opt == *" stderr-loose "* ]]; then
      local missing=0
      while IFS= read -r l; do
        [ -z "$l" ] || [[ $vb == *"$l"* ]] || missing=1
      done <<<"$va"
      if [ $missing = 1 ] || { [ -z "$va" ] && [ -n "$vb" ]; } || { [ -n "$va" ] && [ -z "$vb" ]; }; then
        items+=("stderr")
        diffs+=("stderr" "$va" "$vb")
      fi
    else
      items+=("stderr")
      diffs+=("stderr" "$va" "$vb")
    fi
  fi
  if [[ $opt != *" no-state "* ]]; then
    readf "$a.state"
    va=$REPLY
    readf "$b.state"
    vb=$REPLY
    if [ "$va" != "$vb" ]; then
      items+=("state")
      diffs+=("state (read by ipvsadm after each: ${STATE_LISTS[*]})" "$va" "$vb")
    fi
  fi
  for x in ${C_LIST[i]}; do
    for l in A B; do
      [ -f "$OUT/$i.$l.L.$x.ctl" ] || continue # reported above when it was due
      if [ -f "$OUT/$i.$l.L.$x.adm" ]; then
        readf "$OUT/$i.$l.L.$x.adm"
        va=$REPLY
      else
        # Sn in A: ipvsadm's -S -n is the start of the state (its lines begin with "-")
        readf "$OUT/$i.$l.state"
        va=''
        while IFS= read -r line; do
          [[ $line != -* ]] || va+=$line$'\n'
        done <<<"$REPLY"
        va+=$'[exit 0]\n'
      fi
      readf "$OUT/$i.$l.L.$x.ctl"
      norm "$REPLY"
      vb=$REPLY
      if [ "$va" != "$vb" ]; then
        items+=("list:$x($l)")
        diffs+=("${LFMT[$x]} in netns $l" "$va" "$vb")
      fi
    done
  done
  if [ ${#items[@]} -eq 0 ]; then
    PASSED=$((PASSED + 1))
    return 0
  fi
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("${C_NAME[i]}")
  local IFS=', '
  echo "FAIL ${C_NAME[i]}: ${items[*]}"
  unset IFS
  if [ "$SHOWN" -lt "${IPVSDIFF_DETAILED:-40}" ]; then
    l=${C_RUN[i]%$'\n'}
    echo "    run: ${l//$'\n'/ ; }"
    [ "${items[0]}" != setup ] || echo "    ${SETUP_MSG:0:300}"
    local k shown_items=0
    for ((k = 0; k < ${#diffs[@]}; k += 3)); do
      [ $shown_items -lt 3 ] || break
      show_diff "${diffs[k]}" "${diffs[k + 1]}" "${diffs[k + 2]}"
      shown_items=$((shown_items + 1))
    done
    SHOWN=$((SHOWN + 1))
  fi
}

# ---------------------------------------------------------------------------------------------
# JSON and spec checks: ipvsctl alone, in netns B.

# json_ok FILE: is FILE exactly one JSON document? (REPLY = the validator's complaint)
json_ok() {
  REPLY=$(awk -f "$JSONCHECK" "$1" 2>&1)
}

JPASS=0 JFAIL=0
jresult() { # NAME OK MESSAGE
  if [ "$2" = 0 ]; then
    JPASS=$((JPASS + 1))
  else
    JFAIL=$((JFAIL + 1))
    echo "FAIL $1: $3"
  fi
}

# The state the JSON checks work on: every kind of service, dest and flag.
RICH_STATE='-A -t 192.0.2.1:80 -s rr
-a -t 192.0.2.1:80 -r 192.0.2.11:80 -m -w 3
-a -t 192.0.2.1:80 -r 192.0.2.12:8080 -m -w 0
-A -u 192.0.2.1:53 -s wrr -o
-a -u 192.0.2.1:53 -r 192.0.2.13:53 -g -w 2
-A -t 192.0.2.2:443 -s sh -b sh-fallback,sh-port -p 120 -M 255.255.255.0
-a -t 192.0.2.2:443 -r 192.0.2.14:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -t 192.0.2.2:443 -r 192.0.2.15:443 -i -w 1 --tun-type gre --tun-nocsum
-a -t 192.0.2.2:443 -r 192.0.2.16:443 -i -w 1 --tun-type ipip
-A -u 192.0.2.3:5060 -s mh -b mh-port -p 60 --pe sip
-a -u 192.0.2.3:5060 -r 192.0.2.17:5060 -m -w 65535
-A --sctp-service 192.0.2.4:9000 -s lblcr
-A -t [2001:db8::1]:80 -s wlc -p 300 -M 64
-a -t [2001:db8::1]:80 -r [2001:db8::11]:8080 -m -w 5
-A -f 7 -s fo
-a -f 7 -r 192.0.2.18:0 -g -w 4
-A -f 8 -6 -s ovf -p
-a -f 8 -6 -r [2001:db8::12]:0 -g -w 1'

# JSON content against ipvsadm's text, on a table with traffic: services, dests, weights and
# connection counts (-Ln), the 64-bit counters (--stats --exact), connections (-Lnc, without
# the expiry), timeouts and daemons. Each side is turned into the same canonical lines.
CANON_LN='/^(IP Virtual Server|Prot LocalAddress|  -> RemoteAddress)/ { next }
{
  if ($1 == "->") print "D", $2, tolower($3), $4, $5, $6
  else if ($1 == "FWM" && $3 == "IPv6") print "S fwm", $2 "/6", $4
  else if ($1 == "FWM") print "S fwm", $2 "/4", $3
  else print "S", tolower($1), $2, $3
}'
CANON_STATS='/^(IP Virtual Server|Prot LocalAddress|  -> RemoteAddress)/ { next }
{ print ($1 == "->" ? "d" : "s"), $(NF-4), $(NF-3), $(NF-2), $(NF-1), $NF }'
CANON_CONN='NR > 2 { print "C", tolower($1), $3, $4, $5, $6 }'
CANON_TIMEOUT='{ print "T", $(NF-2), $(NF-1), $NF }'
CANON_DAEMON='{ gsub(/[(),]/, " "); line = "M " $1
  for (i = 4; i <= NF; i++) { split($i, kv, "="); line = line " " kv[1] "=" kv[2] }
  print line }'
# The same from flattened JSON (jsoncheck.awk -v flatten=1).
CANON_JSON='BEGIN { FS = "\t" }
{ V[$1] = $2 }
function ap(pre,  a) { a = V[pre ".address"]; if (V[pre ".family"] == "ipv6") a = "[" a "]"; return a ":" V[pre ".port"] }
function st(pre) { return V[pre ".stats.conns"] " " V[pre ".stats.in_packets"] " " V[pre ".stats.out_packets"] " " V[pre ".stats.in_bytes"] " " V[pre ".stats.out_bytes"] }
END {
  if (what == "ln" || what == "stats") {
    for (i = 0; (".services[" i "].scheduler") in V; i++) {
      p = ".services[" i "]"
      if (what == "stats") print "s", st(p)
      else if (V[p ".fwmark"] != "null") print "S fwm", V[p ".fwmark"] "/" (V[p ".family"] == "ipv6" ? 6 : 4), V[p ".scheduler"]
      else print "S", V[p ".protocol"], ap(p), V[p ".scheduler"]
      for (j = 0; (p ".destinations[" j "].address") in V; j++) {
        d = p ".destinations[" j "]"
        if (what == "stats") print "d", st(d)
        else print "D", ap(d), V[d ".forward"], V[d ".weight"], V[d ".active_conns"], V[d ".inactive_conns"]
      }
    }
  }
  if (what == "conn")
    for (i = 0; (".connections[" i "].state") in V; i++) {
      p = ".connections[" i "]"
      print "C", V[p ".protocol"], V[p ".state"], cp(p, "client"), cp(p, "virtual"), cp(p, "destination")
    }
  if (what == "timeout") print "T", V[".tcp"], V[".tcp_fin"], V[".udp"]
  if (what == "daemon")
    for (i = 0; (".daemons[" i "].state") in V; i++) {
      p = ".daemons[" i "]"
      line = "M " V[p ".state"] " mcast=" V[p ".mcast_interface"] " syncid=" V[p ".sync_id"]
      if (V[p ".sync_maxlen"] != "null") line = line " maxlen=" V[p ".sync_maxlen"]
      if (V[p ".mcast_group"] != "null") line = line " group=" V[p ".mcast_group"]
      if (V[p ".mcast_port"] != "null") line = line " port=" V[p ".mcast_port"]
      if (V[p ".mcast_ttl"] != "null") line = line " ttl=" V[p ".mcast_ttl"]
      print line
    }
}
function cp(p, w,  a) { a = V[p "." w "_address"]; if (a ~ /:/) a = "[" a "]"; return a ":" V[p "." w "_port"] }'

# json_compare NAME WHAT TEXT_CANON -- IPVSADM_ARGS... -- IPVSCTL_ARGS...
json_compare() {
  local name=$1 what=$2 canon=$3 W=$OUT/json
  shift 3
  local adm=() ctl=()
  while [ "$1" != -- ]; do adm+=("$1"); shift; done
  shift
  ctl=("$@")
  ipvsadm "${adm[@]}" 2>&1 | awk "$canon" >"$W/ct"
  # shellcheck disable=SC2086
  $CTL_RUN "${ctl[@]}" --json >"$W/cj" 2>"$W/err"
  awk -v flatten=1 -f "$JSONCHECK" "$W/cj" 2>&1 | awk -v what="$what" "$CANON_JSON" >"$W/cjc"
  if [ -s "$W/ct" ] && cmp -s "$W/ct" "$W/cjc"; then
    jresult "$name" 0 ''
  else
    jresult "$name" 1 "ipvsadm ${adm[*]} and ipvsctl ${ctl[*]} --json say different things$([ -s "$W/ct" ] || echo ' (no text)')"
    diff -u -L "ipvsadm ${adm[*]}" -L "ipvsctl ${ctl[*]} --json" "$W/ct" "$W/cjc" | head -n 20 | sed 's/^/    /'
  fi
}

# settle_counters: waits (up to 10 s) until the counters a listing reads stop moving: the kernel
# folds its per-CPU counters into them only every 2 s, so two tools reading one after the other
# could see different numbers.
settle_counters() {
  local before now
  before=$(ipvsadm -L -n --stats --exact)
  for _ in 1 2 3 4; do
    sleep 2.5
    now=$(ipvsadm -L -n --stats --exact)
    [ "$now" != "$before" ] || return 0
    before=$now
  done
}

json_content() {
  local k
  ipvsadm -C
  printf '%s\n' "$RICH_STATE" | ipvsadm -R
  printf '%s\n' '-A -u 198.51.100.100:53 -s rr' '-a -u 198.51.100.100:53 -r 198.51.100.2 -m' \
    '-a -u 198.51.100.100:53 -r 198.51.100.3 -m -w 2' '-A -t 198.51.100.100:80 -s rr -p 30' \
    '-a -t 198.51.100.100:80 -r 198.51.100.2 -m' '-A -u [2001:db8:ff::100]:53 -s rr' \
    '-a -u [2001:db8:ff::100]:53 -r 2001:db8:ff::2 -m' | ipvsadm -R
  for k in 1 2 3 4 5; do echo "query $k" >/dev/udp/198.51.100.100/53; done
  echo v6 >/dev/udp/2001:db8:ff::100/53
  (timeout 1 bash -c 'echo >/dev/tcp/198.51.100.100/80'; true) 2>/dev/null
  settle_counters
  ipvsadm --set 901 121 301
  ipvsadm --start-daemon master --mcast-interface d0 --syncid 9 --mcast-port 9999 >/dev/null 2>&1
  ipvsadm --start-daemon backup --mcast-interface d0 --mcast-group ff02::1:9 >/dev/null 2>&1
  json_compare json/content-services ln "$CANON_LN" -L -n -- -L
  json_compare json/content-counters stats "$CANON_STATS" -L -n --stats --exact -- -L -n --stats
  json_compare json/content-one-service ln "$CANON_LN" -L -n -u 198.51.100.100:53 -- -L -u 198.51.100.100:53
  json_compare json/content-connections conn "$CANON_CONN" -L -n -c -- -L -c
  json_compare json/content-timeouts timeout "$CANON_TIMEOUT" -L --timeout -- -L --timeout
  json_compare json/content-daemons daemon "$CANON_DAEMON" -L --daemon -- -L --daemon
  ipvsadm --stop-daemon master >/dev/null 2>&1
  ipvsadm --stop-daemon backup >/dev/null 2>&1
  ipvsadm --set 900 120 300
  ipvsadm -C
}

json_main() {
  local W=$OUT/json f x ok msg rc rc2 j
  mkdir -p "$W"
  ipvsadm -C
  printf '%s\n' "$RICH_STATE" | ipvsadm -R
  ipvsadm -e -t 192.0.2.1:80 -r 192.0.2.11:80 -m -w 3 -x 100 -y 10
  ipvsadm -S -n >"$W/s1"
  ipvsadm -L -n --thresholds >"$W/t1"

  # -S --json: exit 0, nothing on stderr, one JSON document.
  $CTL_RUN -S --json >"$W/j" 2>"$W/err"
  rc=$?
  json_ok "$W/j"
  ok=$?
  msg="exit $rc; stderr: $(head -c 200 "$W/err"); json: $REPLY"
  [ $rc = 0 ] && [ $ok = 0 ] && [ ! -s "$W/err" ]
  jresult json/save-valid $? "$msg"

  # -R --json of it, into an empty table, gives the same state (thresholds included).
  ipvsadm -C
  $CTL_RUN -R --json <"$W/j" >"$W/out" 2>"$W/err"
  rc=$?
  ipvsadm -S -n >"$W/s2"
  ipvsadm -L -n --thresholds >"$W/t2"
  if [ $rc = 0 ] && cmp -s "$W/s1" "$W/s2"; then
    jresult json/roundtrip-state 0 ''
  else
    jresult json/roundtrip-state 1 "exit $rc; stderr: $(head -c 200 "$W/err")"
    diff -u -L 'before -S --json' -L 'after -R --json' "$W/s1" "$W/s2" | head -n 20 | sed 's/^/    /'
  fi
  cmp -s "$W/t1" "$W/t2"
  jresult json/roundtrip-thresholds $? "$(diff -u -L before -L after "$W/t1" "$W/t2" | head -n 12)"

  # Every listing with --json: exit 0, one JSON document, nothing on stderr.
  ip link set d0 up 2>/dev/null
  ipvsadm --start-daemon master --mcast-interface d0 --syncid 7 >/dev/null 2>&1
  ipvsadm -C
  printf '%s\n' "$RICH_STATE" | ipvsadm -R
  local lists=("-L -n" "-L" "-l -n" "-L -n --stats" "-L -n --rate" "-L -n --thresholds"
    "-L -n --persistent-conn" "-L -n --tun-info" "-L -n --stats --exact" "-L -n --nosort"
    "-L -n -c" "-L -n -c --persistent-conn" "-L --timeout" "-L --daemon" "-L -n -t 192.0.2.1:80"
    "-L -n -f 8 -6" "-S" "-S -n")
  for x in "${lists[@]}"; do
    # shellcheck disable=SC2086
    $CTL_RUN $x --json >"$W/j" 2>"$W/err" </dev/null
    rc=$?
    json_ok "$W/j"
    ok=$?
    msg="exit $rc; stderr: $(head -c 200 "$W/err"); json: $REPLY; stdout: $(head -c 120 "$W/j" | tr '\n' ' ')"
    [ $rc = 0 ] && [ $ok = 0 ] && [ ! -s "$W/err" ]
    jresult "json/valid ${x// /}" $? "$msg"
  done
  ipvsadm --stop-daemon master >/dev/null 2>&1

  # An empty table: valid JSON, and it restores to an empty table.
  ipvsadm -C
  $CTL_RUN -S --json >"$W/j" 2>"$W/err"
  rc=$?
  json_ok "$W/j"
  ok=$?
  msg="exit $rc; json: $REPLY"
  ipvsadm -A -t 192.0.2.9:80
  $CTL_RUN -C >/dev/null 2>&1
  $CTL_RUN -R --json <"$W/j" >/dev/null 2>"$W/err"
  rc2=$?
  [ $rc = 0 ] && [ $ok = 0 ] && [ $rc2 = 0 ] && [ -z "$(ipvsadm -S -n)" ]
  jresult json/empty-roundtrip $? "$msg; -R --json exit $rc2; state: $(ipvsadm -S -n | head -n 3)"

  # Errors stay on stderr with ipvsadm's exit status and message.
  ipvsadm -C
  ipvsadm -L -n -t 192.0.2.99:80 >"$W/o1" 2>"$W/e1"
  rc=$?
  $CTL_RUN -L -n -t 192.0.2.99:80 --json >"$W/o2" 2>"$W/e2"
  rc2=$?
  readf "$W/e2"
  norm "$REPLY"
  [ "$rc" = "$rc2" ] && [ ! -s "$W/o2" ] && [ "$(cat "$W/e1")" = "${REPLY%$'\n'}" ]
  jresult json/error-on-stderr $? "exit $rc vs $rc2; stdout: $(head -c 100 "$W/o2"); stderr: $(head -c 200 "$W/e2")"

  # A broken JSON document: refused, nothing applied.
  ipvsadm -A -t 192.0.2.9:80
  ipvsadm -S -n >"$W/s1"
  printf '{"services": [' | $CTL_RUN -R --json >/dev/null 2>"$W/err"
  rc=$?
  ipvsadm -S -n >"$W/s2"
  [ "$rc" != 0 ] && [ -s "$W/err" ] && cmp -s "$W/s1" "$W/s2"
  jresult json/restore-broken $? "exit $rc; stderr: $(head -c 200 "$W/err")"

  json_content

  # Spec (issue 3): -R checks the syntax of the whole input before sending anything, and names
  # the bad line. ipvsadm applies the lines before a bad one, so the differential cases can't
  # compare this.
  ipvsadm -C
  printf '%s\n' '-A -t 192.0.2.1:80 -s rr' '-a -t 192.0.2.1:80 -r 192.0.2.11 -m' \
    '-A -t 192.0.2.2:99999 -s rr' | $CTL_RUN -R >/dev/null 2>"$W/err"
  rc=$?
  j=$(ipvsadm -S -n)
  [ "$rc" = 2 ] && [ -z "$j" ] && grep -qi 'line 3' "$W/err"
  jresult spec/restore-checks-all-first $? "exit $rc (want 2); state after: ${j:-empty}; stderr: $(head -c 200 "$W/err")"
  ipvsadm -C
}

# watchdog NAME: kills (-9) every process called NAME that runs for 30 s or more: seen in 6
# rounds of 5 s. (PIDs are not reused that fast: the suite starts a few thousand processes.)
watchdog() {
  local -A seen=()
  local p
  while sleep 5; do
    for p in $(pidof "$1"); do
      seen[$p]=$((${seen[$p]:-0} + 1))
      if [ "${seen[$p]}" -ge 6 ]; then
        echo "ipvsadm-diff: watchdog: killed $1 (pid $p) after 30 s" >&2
        kill -9 "$p" 2>/dev/null
      fi
    done
  done
}

# ---------------------------------------------------------------------------------------------
main() {
  local start t_cmp i dirs=() files=()
  start=$(now_ms)
  OUT=${IPVSDIFF_KEEP:-$(mktemp -d /tmp/ipvsadm-diff.XXXXXX)}
  mkdir -p "$OUT"
  local here=${SELF%/*}
  if [ -n "$IPVSDIFF_CASES" ]; then
    dirs=("$IPVSDIFF_CASES")
  else
    dirs=("$(cd "$here/../../diff" 2>/dev/null && pwd)")
  fi
  if [ -f "${dirs[0]}" ]; then
    files=("${dirs[0]}")
    JSONCHECK=${dirs[0]%/*}/jsoncheck.awk
  else
    shopt -s nullglob
    files=("${dirs[0]}"/*.txt)
    JSONCHECK=${dirs[0]}/jsoncheck.awk
  fi
  if [ ${#files[@]} -eq 0 ]; then
    echo "ipvsadm-diff: no case files in ${dirs[0]}" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  command -v ipvsadm >/dev/null || { echo "ipvsadm-diff: ipvsadm is not in PATH"; echo "0 passed, 1 failed"; exit 1; }
  if ! command -v "$IPVSCTL" >/dev/null; then
    echo "ipvsadm-diff: $IPVSCTL is not in PATH"
    echo "0 passed, 1 failed"
    exit 1
  fi

  parse_cases "${files[@]}"
  {
    declare -p C_NAME C_SETUP C_BATCH C_RUN C_NRUN C_LIST C_OPT C_TOUCH
    declare -p CTL_RUN IPVSCTL JSONCHECK
  } >"$OUT/cases.sh"
  local -A cats=()
  local bad=0 c summary=''
  for i in "${!C_NAME[@]}"; do
    c=${C_NAME[i]%%/*}
    cats[$c]=$((${cats[$c]:-0} + 1))
  done
  for c in $(printf '%s\n' "${!cats[@]}" | sort); do summary+=" $c=${cats[$c]}"; done
  bad=${cats[bad]:-0}
  echo "ipvsadm-diff: ${#C_NAME[@]} cases ($bad bad inputs;$summary) from ${#files[@]} files;" \
    "ipvsadm $(ipvsadm -v 2>&1 | awk '{print $2}') vs $IPVSCTL"
  for i in "${PARSE_ERRORS[@]}"; do echo "FAIL case files: $i"; done

  # /etc/hosts names for the test addresses (restored at exit): -L without -n and host names.
  cp /etc/hosts "$OUT/hosts.orig"
  cat >>/etc/hosts <<'EOF'
192.0.2.1 vip1.example
192.0.2.2 vip2.example vip2-alias
192.0.2.11 rs1.example
192.0.2.12 rs2.example
192.0.2.11 rs1-second-line.example
192.0.2.13 a-really-long-real-server-host-name.example.org
192.0.2.200 a-really-long-virtual-service-name.example.org
2001:db8::1 vip6.example
2001:db8::11 rs6.example
2001:db8::12 a-really-long-ipv6-real-server-name.example.org
2001:db8::99 v6only.example
EOF
  watchdog "$(basename "$IPVSCTL")" &
  WATCHDOG=$!
  trap 'kill $WATCHDOG 2>/dev/null; cp "$OUT/hosts.orig" /etc/hosts; ip netns del $NS_A 2>/dev/null; ip netns del $NS_B 2>/dev/null; [ -n "$IPVSDIFF_KEEP" ] || rm -rf "$OUT"' EXIT

  ip netns del $NS_A 2>/dev/null
  ip netns del $NS_B 2>/dev/null
  if ! ip netns add $NS_A || ! ip netns add $NS_B; then
    echo "ipvsadm-diff: ip netns add failed"
    echo "0 passed, 1 failed"
    exit 1
  fi
  # A broken environment fails the run: with d0 missing, both tools would fail the daemon cases
  # alike, and the cases would pass.
  local ns err
  for ns in $NS_A $NS_B; do
    if ! err=$(nsenter --net="/run/netns/$ns" bash -c "$(declare -f ns_init); ns_init" 2>&1); then
      echo "ipvsadm-diff: setting up netns $ns failed: $err"
      echo "0 passed, 1 failed"
      exit 1
    fi
  done

  local t0
  t0=$(now_ms)
  nsenter --net=/run/netns/$NS_A bash "$SELF" --side "$OUT" A
  local t_a=$(($(now_ms) - t0))
  t0=$(now_ms)
  nsenter --net=/run/netns/$NS_B bash "$SELF" --side "$OUT" B
  local t_b=$(($(now_ms) - t0))
  # B's own listings where its state differs from A's: the formatting of what ipvsctl built
  local relist=() sa
  for i in "${!C_NAME[@]}"; do
    if [[ ${C_OPT[i]} == *" fresh "* ]] || [ -z "${C_LIST[i]// /}" ]; then continue; fi
    readf "$OUT/$i.A.state"
    sa=$REPLY
    readf "$OUT/$i.B.state"
    [ "$sa" = "$REPLY" ] || relist+=("$i")
  done
  t0=$(now_ms)
  if [ ${#relist[@]} -gt 0 ]; then
    nsenter --net=/run/netns/$NS_B bash "$SELF" --relist "$OUT" "${relist[@]}"
  fi
  local t_relist=$(($(now_ms) - t0))

  t0=$(now_ms)
  for i in "${!C_NAME[@]}"; do compare_case "$i"; done
  FAILED=$((FAILED + ${#PARSE_ERRORS[@]}))
  t_cmp=$(($(now_ms) - t0))

  local t_json=0
  if [ "$(basename "$IPVSCTL")" = ipvsadm ]; then
    echo "ipvsadm-diff: IPVSCTL is ipvsadm: the JSON and spec checks are skipped"
    SKIPPED=1
  elif [ -z "$IPVSDIFF_ONLY" ] || [[ json =~ $IPVSDIFF_ONLY ]]; then
    t0=$(now_ms)
    nsenter --net=/run/netns/$NS_B bash "$SELF" --json "$OUT" >"$OUT/json.log" 2>&1
    cat "$OUT/json.log"
    readf "$OUT/json.counts"
    read -r jp jf <<<"$REPLY"
    PASSED=$((PASSED + ${jp:-0}))
    FAILED=$((FAILED + ${jf:-1}))
    t_json=$(($(now_ms) - t0))
    echo "ipvsadm-diff: JSON and spec checks: ${jp:-0} passed, ${jf:-?} failed"
  fi
  # where the time went: by category, and the slowest cases
  awk '{ split($1, c, "/"); t[c[1]] += $2; all[$1] += $2 }
    END { line = "ipvsadm-diff: time by category (both sides):"
      for (k in t) line = line sprintf(" %s %.0fs", k, t[k] / 1000); print line }' \
    "$OUT/times.A" "$OUT/times.B" 2>/dev/null
  cat "$OUT/times.A" "$OUT/times.B" 2>/dev/null |
    awk '{ all[$1] += $2 } END { for (k in all) print all[k], k }' | sort -rn | head -n 5 |
    awk '{ line = line sprintf(" %s %.1fs", $2, $1 / 1000) } END { print "ipvsadm-diff: slowest cases:" line }'
  echo "ipvsadm-diff: times: ipvsadm side $((t_a / 1000)) s, $IPVSCTL side $((t_b / 1000)) s," \
    "relist ${#relist[@]} cases $((t_relist / 1000)) s, compare $((t_cmp / 1000)) s, json $((t_json / 1000)) s, all $((($(now_ms) - start) / 1000)) s"
  if [ $SKIPPED -gt 0 ]; then
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  else
    echo "$PASSED passed, $FAILED failed"
  fi
  [ $FAILED -eq 0 ]
}

case ${1:-} in
  --side | --one | --json | --relist)
    set -o pipefail # see the case format
    OUT=$2
    # shellcheck source=/dev/null
    . "$OUT/cases.sh"
    ;;
esac
case ${1:-} in
  --side) side_main "$3" ;;
  --one) one_main "$3" "$4" ;;
  --relist)
    shift 2
    relist_main "$@"
    ;;
  --json)
    # in netns B, set up by main
    json_main
    echo "$JPASS $JFAIL" >"$OUT/json.counts"
    ;;
  *) main ;;
esac
