# shellcheck shell=bash
# Variables set here are read by the test scripts that source this file.
# shellcheck disable=SC2034
#
# Shared helpers for the end-to-end tests, in tests/e2e/lib/ by concern:
# core.sh (messages, checks, prerequisites, setup and cleanup, waiting),
# net.sh (namespaces, the veth pair, XDP state, traffic), collectd.sh (a
# private collectd loading the built plugin), csv.sh (what it wrote) and
# prometheus.sh (write_prometheus, a real Prometheus, the dashboard).
#
# Source it from a bash test script:  . "$(dirname "$0")/lib.sh"
#
# Environment: top_srcdir and top_builddir (exported by `make check`; when
# unset they default to the source tree this file lives in).
# ITR_E2E_KEEP=1 keeps the temporary directory for inspection.
#
# Exit status of a test: 0 pass, 1 fail, 77 skip (automake convention).

set -eu

ITR_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$ITR_LIB_DIR/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}

ITR_NAME=$(basename "$0" .sh)
ITR_HOST=itr-e2e
ITR_TYPESDB=/usr/share/collectd/types.db
ITR_STOCK_PLUGINDIR=/usr/lib/collectd
ITR_PLUGIN_SO=$top_builddir/.libs/iptraffic.so
ITR_SENDFRAMES=$top_builddir/tests/e2e/sendframes

# Unique per test process, so tests can run in parallel.
ITR_NS_A=itr-a-$$
ITR_NS_B=itr-b-$$

ITR_TMP=
ITR_PIDS=()
ITR_NETNS=()
ITR_MOUNTS=() # unmounted (lazily) by the cleanup
ITR_COLLECTD_PID=
ITR_COLLECTD_STATUS=
ITR_CONF=
ITR_LOG=
ITR_CSV_DIR=
ITR_PROM_PORT=
# The sanitizer runtimes a plugin built with ASan/UBSan needs preloaded
# into collectd (lib/collectd.sh), empty for a plain build.
ITR_SANITIZER_PRELOAD=
if [ -r "$ITR_PLUGIN_SO" ]; then
  ITR_SANITIZER_PRELOAD=$(ldd "$ITR_PLUGIN_SO" 2>/dev/null |
    awk '$1 ~ /^lib(asan|ubsan)\.so/ && $3 ~ /^\// { printf "%s%s", sep, $3; sep = ":" }')
fi

# The helpers, by concern.
. "$ITR_LIB_DIR/lib/core.sh"
. "$ITR_LIB_DIR/lib/net.sh"
. "$ITR_LIB_DIR/lib/collectd.sh"
. "$ITR_LIB_DIR/lib/csv.sh"
. "$ITR_LIB_DIR/lib/prometheus.sh"
