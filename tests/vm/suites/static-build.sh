#!/usr/bin/env bash
# The static build of ipvsctl (README: glibc's static libc, names through the NSS modules built
# into it) against ipvsadm: the differential suite's services, listings and restore cases, with
# IPVSCTL=ipvsctl-static. tests/run ships that build as /bin/ipvsctl-static; without it the suite
# fails (a skipped suite would hide that the static build went untested).
set -u
if ! command -v ipvsctl-static >/dev/null; then
  echo "static-build: no ipvsctl-static in PATH (tests/run ships it)"
  echo "0 passed, 1 failed"
  exit 1
fi
IPVSCTL=ipvsctl-static IPVSDIFF_ONLY=${IPVSDIFF_ONLY:-'^(svc|list|restore)/'} \
  exec bash "$(dirname "$0")/ipvsadm-diff.sh"
