#!/bin/bash
# The kernel tier's live veth test (tests/kernel/guest_test) on the running
# kernel, in a network namespace of its own: the checks run.sh makes in
# Debian 12's 6.1 under qemu, made on the build machine's kernel too (where
# newer kernels take other paths: tcx links from 6.6 on).
#
# Environment: top_builddir (exported by `make check`; default: the current
# directory). Exit status: 0 pass, 1 fail, 77 skip (not root; a failure
# with ITR_NO_SKIP=1, as tests/run-all.sh sets it for CI).
set -eu

top_builddir=${top_builddir:-$PWD}
guest_test=$top_builddir/tests/kernel/guest_test

fail() {
  printf 'FAIL: kernel tier (host): %s\n' "$*"
  exit 1
}

if [ "$(id -u)" -ne 0 ]; then
  [ "${ITR_NO_SKIP:-0}" = 1 ] && fail "needs root (ITR_NO_SKIP=1)"
  printf 'SKIP: kernel tier (host): needs root (network namespaces, BPF)\n'
  exit 77
fi
command -v ip >/dev/null || fail "ip not found (package iproute2)"
command -v unshare >/dev/null || fail "unshare not found (package util-linux)"
[ -x "$guest_test" ] || fail "$guest_test not built (make check builds it)"

# IPv6 off, so that nothing but the test's frames crosses the veth pair;
# the namespace and the pair go away with the shell.
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --net bash -euc '
  echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
  echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6
  ip link add va type veth peer name vb
  ip link set va up
  ip link set vb up
  "$1" va vb
' host "$guest_test" || fail "guest_test failed on $(uname -r)"
printf 'kernel tier (host): PASS on %s\n' "$(uname -r)"
