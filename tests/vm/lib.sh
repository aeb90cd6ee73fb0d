# shellcheck shell=bash
# Helpers shared by tests/run, tests/demo, tests/vm/ipvs-vm and .ci/run. Source it, don't run it.

# ipvst_need CMD:PACKAGE... : apt-get installs the packages whose command is missing
# (after one apt-get update). Commands are also looked for in /sbin and /usr/sbin.
ipvst_need() {
  local t c need=()
  for t in "$@"; do
    c=${t%%:*}
    command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || [ -x "/sbin/$c" ] || need+=("${t#*:}")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  echo "installing with apt-get: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# ipvst_elapsed START_SECONDS : prints "Xm Ys" since START_SECONDS (from $SECONDS).
ipvst_elapsed() {
  local s=$((SECONDS - $1))
  printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# rustup's cargo, where the environment lacks it in PATH (a login shell would add it).
if ! command -v cargo >/dev/null 2>&1 && [ -x "${HOME:-/root}/.cargo/bin/cargo" ]; then
  PATH=${HOME:-/root}/.cargo/bin:$PATH
fi
