# shellcheck shell=bash
# shellcheck disable=SC2034
#
# The test itself: messages, failing and skipping, soft checks, prerequisites,
# setup and cleanup, background processes, waiting for a condition.
# Sourced by tests/e2e/lib.sh; see there.

itr_log() {
  printf '%s: %s\n' "$ITR_NAME" "$*" >&2
}

# With ITR_NO_SKIP=1 (tests/run-all.sh as root, hence CI) a missing
# prerequisite is a failure: nothing may skip there.
itr_skip() {
  if [ "${ITR_NO_SKIP:-0}" = 1 ]; then
    printf 'FAIL: %s: %s (ITR_NO_SKIP=1)\n' "$ITR_NAME" "$*" >&2
    exit 1
  fi
  printf 'SKIP: %s: %s\n' "$ITR_NAME" "$*" >&2
  exit 77
}

# What failed, said again after the logs that itr_cleanup prints, so that
# the end of a test's output (all a CI summary may show) names it.
ITR_FAILURES=

itr_fail() {
  printf 'FAIL: %s: %s\n' "$ITR_NAME" "$*" >&2
  ITR_FAILURES+="FAIL: $*"$'\n'
  exit 1
}

# --- soft checks ---------------------------------------------------------------
# A mismatch is logged and counted, and the test goes on, so that one run
# shows every mismatch; itr_checks_done then fails the test if there was
# any.

ITR_MISMATCHES=0

itr_mismatch() {
  itr_log "MISMATCH: $*"
  ITR_FAILURES+="MISMATCH: $*"$'\n'
  ITR_MISMATCHES=$((ITR_MISMATCHES + 1))
}

itr_check() { # what got want
  [ "$2" = "$3" ] || itr_mismatch "$1: got '$2', expected '$3'"
}

# Gauges are written as floating point ("10.000000", "1024"): compare values.
itr_check_num() { # what got want
  awk -v a="$2" -v b="$3" 'BEGIN { exit !(a != "" && a + 0 == b + 0) }' ||
    itr_mismatch "$1: got '$2', expected $3"
}

itr_checks_done() {
  [ "$ITR_MISMATCHES" -eq 0 ] || itr_fail "$ITR_MISMATCHES mismatches"
}

# --- prerequisites -----------------------------------------------------------

itr_require_root() {
  [ "$(id -u)" -eq 0 ] ||
    itr_skip "needs root (network namespaces, XDP, AF_PACKET)"
}

itr_require_cmd() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || itr_skip "command '$cmd' not found"
  done
}

# collectd 5.12 and the stock plugins every test config loads.
itr_require_collectd() {
  local p
  itr_require_cmd collectd ip curl ss
  [ -r "$ITR_TYPESDB" ] || itr_skip "$ITR_TYPESDB not found (collectd-core)"
  for p in logfile csv memory write_prometheus; do
    [ -r "$ITR_STOCK_PLUGINDIR/$p.so" ] ||
      itr_skip "collectd plugin $ITR_STOCK_PLUGINDIR/$p.so not found"
  done
  if ldd "$ITR_STOCK_PLUGINDIR/write_prometheus.so" | grep -q 'not found'; then
    itr_skip "write_prometheus.so misses libraries" \
      "(install libmicrohttpd12 libprotobuf-c1)"
  fi
}

itr_require_plugin() {
  [ -r "$ITR_PLUGIN_SO" ] ||
    itr_skip "built plugin $ITR_PLUGIN_SO not found (run make first)"
}

itr_require_sendframes() {
  [ -x "$ITR_SENDFRAMES" ] ||
    itr_skip "$ITR_SENDFRAMES not built (make check builds it)"
}

# --- setup and cleanup -------------------------------------------------------

itr_cleanup() {
  local status=$? pid i
  trap - EXIT INT TERM
  set +e
  for pid in "${ITR_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for i in "${ITR_NETNS[@]}"; do
    ip netns del "$i" 2>/dev/null
  done
  for i in "${ITR_MOUNTS[@]}"; do
    umount -l "$i" 2>/dev/null
  done
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ] && [ -n "$ITR_TMP" ]; then
    for i in "$ITR_TMP"/*.log "$ITR_TMP"/*.out; do
      [ -s "$i" ] || continue
      printf -- '--- %s (last 40 lines)\n' "$i" >&2
      tail -n 40 "$i" >&2
    done
  fi
  if [ -n "$ITR_FAILURES" ]; then
    printf -- '--- %s: what failed\n%s' "$ITR_NAME" "$ITR_FAILURES" >&2
  fi
  if [ -n "$ITR_TMP" ] && [ -d "$ITR_TMP" ]; then
    if [ "${ITR_E2E_KEEP:-0}" = 1 ]; then
      itr_log "kept $ITR_TMP"
    else
      rm -rf "$ITR_TMP"
    fi
  fi
  exit "$status"
}

# Common start of every test: checks, temporary directory, cleanup trap.
itr_setup() {
  itr_require_root
  itr_require_collectd
  itr_require_plugin
  ITR_TMP=$(mktemp -d "${TMPDIR:-/tmp}/itr-$ITR_NAME.XXXXXX")
  trap itr_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  ITR_CSV_DIR=$ITR_TMP/csv
  ITR_LOG=$ITR_TMP/collectd.log
  mkdir -p "$ITR_TMP/base" "$ITR_TMP/plugins" "$ITR_CSV_DIR"
  # collectd refuses a plugin that is a symlink: copy the built one.
  cp "$ITR_PLUGIN_SO" "$ITR_TMP/plugins/iptraffic.so"
}

# Starts a background command and records its PID for cleanup. The PID is
# left in ITR_LAST_PID.
itr_spawn() {
  "$@" &
  ITR_LAST_PID=$!
  ITR_PIDS+=("$ITR_LAST_PID")
}

# Creates namespace NAME with IPv6 disabled by default for every device

# --- polling -----------------------------------------------------------------

# itr_wait_for TIMEOUT DESCRIPTION CMD...: runs CMD every 0.1 s until it
# succeeds. On timeout fails the test with DESCRIPTION, or returns 1 when
# DESCRIPTION is empty.
itr_wait_for() {
  local timeout=$1 desc=$2 deadline
  shift 2
  deadline=$(($(date +%s%N) + timeout * 1000000000))
  until "$@"; do
    if [ "$(date +%s%N)" -ge "$deadline" ]; then
      [ -z "$desc" ] && return 1
      itr_fail "timed out after ${timeout}s waiting for $desc"
    fi
    sleep 0.1
  done
}
