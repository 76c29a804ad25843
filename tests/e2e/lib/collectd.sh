# shellcheck shell=bash
# shellcheck disable=SC2034
#
# A private collectd loading the built plugin: its configuration, start
# and stop, its log.
# Sourced by tests/e2e/lib.sh; see there.

# --- collectd ----------------------------------------------------------------

# Writes a private collectd.conf to FILE. BLOCK is the body of the
# <Plugin iptraffic> block. write_prometheus listens in namespace NS
# (default ITR_NS_B) on a free port, left in ITR_PROM_PORT.
# The tests keep no state across restarts (PinPath "") unless their block
# sets a PinPath: tests/e2e/persist.sh tests the state. Interval is
# ITR_INTERVAL, default 1; ITR_CONF_GLOBAL adds global options;
# ITR_CONF_CSV="" leaves the csv plugin out.
itr_write_conf() {
  local file=$1 block=$2 ns=${3:-$ITR_NS_B}
  case $block in
  *PinPath*) ;;
  *) block="$block
  PinPath \"\"" ;;
  esac
  ITR_PROM_PORT=$(itr_free_port "$ns")
  ITR_CONF=$file
  cat >"$file" <<EOF
Hostname "$ITR_HOST"
FQDNLookup false
BaseDir "$ITR_TMP/base"
PIDFile "$ITR_TMP/collectd.pid"
TypesDB "$ITR_TYPESDB"
Interval ${ITR_INTERVAL:-1}
${ITR_CONF_GLOBAL:-}

PluginDir "$ITR_STOCK_PLUGINDIR"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$ITR_LOG"
  Timestamp true
  PrintSeverity true
</Plugin>

${ITR_CONF_CSV-LoadPlugin csv}
<Plugin csv>
  DataDir "$ITR_CSV_DIR"
  StoreRates false
</Plugin>

LoadPlugin write_prometheus
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "$ITR_PROM_PORT"
</Plugin>

# Unrelated plugin: it must keep working whatever iptraffic does.
LoadPlugin memory

PluginDir "$ITR_TMP/plugins"
LoadPlugin iptraffic
<Plugin iptraffic>
$block
</Plugin>
EOF
}

# Starts `collectd -f` with ITR_CONF in namespace NS (default ITR_NS_B) in
# the background; sets ITR_COLLECTD_PID.
# shellcheck disable=SC2120
# With ITR_COLLECTD_NSENTER=1 collectd enters only the network namespace
# (nsenter) and sees this process's /sys, and so its /sys/fs/bpf, as on a
# real host; `ip netns exec` gives it a /sys of its own.
itr_collectd_start() {
  local ns=${1:-$ITR_NS_B}
  local -a env=(env)
  : >"$ITR_LOG"
  ITR_COLLECTD_STATUS=
  # A plugin built with ASan/UBSan (tests/run-all.sh's build-sanitize):
  # collectd is not, so their runtimes come first; reports go to
  # ITR_TMP/sanitizer.*, read when collectd has exited.
  if [ -n "$ITR_SANITIZER_PRELOAD" ]; then
    env+=("LD_PRELOAD=$ITR_SANITIZER_PRELOAD"
      "ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:log_path=$ITR_TMP/sanitizer"
      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$ITR_TMP/sanitizer")
  fi
  # Both exec the command: $! is collectd's PID.
  if [ "${ITR_COLLECTD_NSENTER:-0}" = 1 ]; then
    itr_spawn nsenter --net="/run/netns/$ns" "${env[@]}" collectd -f \
      -C "$ITR_CONF" >>"$ITR_TMP/collectd.out" 2>&1
  else
    itr_spawn ip netns exec "$ns" "${env[@]}" collectd -f -C "$ITR_CONF" \
      >>"$ITR_TMP/collectd.out" 2>&1
  fi
  ITR_COLLECTD_PID=$ITR_LAST_PID
}

# With a sanitizer build of the plugin: what ASan, LeakSanitizer and UBSan
# reported in collectd so far. Errors of any kind fail the test; leaks
# count only when one of their frames is the plugin's (collectd's own
# allocations that live until exit are not the plugin's to free).
itr_sanitizer_check() {
  local f
  [ -n "$ITR_SANITIZER_PRELOAD" ] || return 0
  for f in "$ITR_TMP"/sanitizer.*; do
    [ -e "$f" ] || continue
    if grep -qE 'ERROR: AddressSanitizer|runtime error:' "$f"; then
      cat "$f" >&2
      itr_fail "sanitizer errors in collectd with the plugin ($f)"
    fi
    if awk '/^(Direct|Indirect) leak of/ { leak = 1; ours = 0; next }
            leak && /iptraffic\.so|\/src\/[a-z_]+\.c:/ { ours = 1 }
            leak && /^$/ { if (ours) found = 1; leak = 0 }
            END { if (leak && ours) found = 1; exit !found }' "$f"; then
      cat "$f" >&2
      itr_fail "the plugin leaked memory in collectd ($f)"
    fi
    mv "$f" "$f.read"
  done
}

# Waits until collectd ran every plugin's init (its own INFO line), so
# that what init logs after attaching (carrying entries over) is there.
itr_collectd_initialized() { # [seconds]
  itr_wait_for "${1:-10}" "collectd to finish initializing" \
    grep -q "Initialization complete" "$ITR_LOG"
}

itr_collectd_running() {
  [ -n "$ITR_COLLECTD_PID" ] && kill -0 "$ITR_COLLECTD_PID" 2>/dev/null
}

# Waits up to TIMEOUT seconds for collectd to exit by itself; sets
# ITR_COLLECTD_STATUS. Returns 1 if it is still running.
itr_collectd_wait_exit() {
  local timeout=$1
  itr_wait_for "$timeout" "" eval '! itr_collectd_running' || return 1
  ITR_COLLECTD_STATUS=0
  wait "$ITR_COLLECTD_PID" 2>/dev/null || ITR_COLLECTD_STATUS=$?
  itr_sanitizer_check
}

# Sends SIGTERM and waits (at most 10 s) for collectd to exit; sets
# ITR_COLLECTD_STATUS.
itr_collectd_stop() {
  itr_collectd_running || itr_fail "collectd (pid $ITR_COLLECTD_PID) is not running"
  kill -TERM "$ITR_COLLECTD_PID"
  itr_collectd_wait_exit 10 ||
    itr_fail "collectd did not exit within 10 s of SIGTERM"
}

# Lines of the collectd log at error level, except one that stock
# write_prometheus 5.12 logs on every start with libmicrohttpd 0.9.75
# ("MHD_OPTION_EXTERNAL_LOGGER is not the first option ...").
itr_log_errors() {
  grep -F '[error]' "$ITR_LOG" | grep -v 'MHD_OPTION_EXTERNAL_LOGGER' || true
}
