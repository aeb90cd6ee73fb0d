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

# ipvst_prometheus_deb: unpacks Debian's prometheus package (apt-get download, not installed: no
# server is started here) once into ${IPVSCTL_VM_CACHE:-$HOME/.cache/ipvsctl-vm}/promtool and
# prints that folder.
ipvst_prometheus_deb() {
  local dir=${IPVSCTL_VM_CACHE:-${HOME:-/root}/.cache/ipvsctl-vm}/promtool
  if [ ! -x "$dir/usr/bin/promtool" ] || [ ! -x "$dir/usr/bin/prometheus" ]; then
    echo "fetching promtool and prometheus with apt-get download prometheus" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && apt-get update -qq >/dev/null && apt-get download -qq prometheus >/dev/null &&
      dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb) >&2
  fi
  echo "$dir"
}

# ipvst_promtool: prints the path of a promtool: the one in PATH, else the one of Debian's
# prometheus package (ipvst_prometheus_deb).
ipvst_promtool() {
  if command -v promtool >/dev/null 2>&1; then command -v promtool; return; fi
  echo "$(ipvst_prometheus_deb)/usr/bin/promtool"
}

# ipvst_prometheus: prints the path of a Prometheus server: the one in PATH, else the one of
# Debian's prometheus package (ipvst_prometheus_deb). The VM's dashboard test runs it.
ipvst_prometheus() {
  if command -v prometheus >/dev/null 2>&1; then command -v prometheus; return; fi
  echo "$(ipvst_prometheus_deb)/usr/bin/prometheus"
}

# ipvst_static_ctl: builds ipvsctl statically linked (glibc's static libc, no dynamic loader:
# a third less time per command in the VM; its relocations packed, RELR; the dist profile's
# whole-program optimization) and prints the binary's path. The same command as the README's
# static install; --target keeps the flags off build scripts and proc macros.
ipvst_static_ctl() {
  local triple
  triple=$(rustc -vV | sed -n 's/^host: //p')
  RUSTFLAGS='-C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs' cargo build -p ipvsctl --profile dist --target "$triple" \
    --message-format=json-render-diagnostics |
    jq -r 'select(.reason == "compiler-artifact" and .target.name == "ipvsctl" and .executable != null) | .executable'
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
