#!/bin/bash
# End to end: a broken <Plugin iptraffic> block stops collectd at start.
#
# For each bad configuration, `collectd -f` must exit non-zero within
# seconds, and its log must have an ERROR line from the plugin that names
# the option and the offending value. A valid configuration at the edge of
# the rules (a 15-character interface name that does not exist yet) is run
# first as a control: it must keep collectd running, so the failures below
# come from the plugin's validation, not from the rest of the config.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_netns_add "$ITR_NS_B"

EXIT_TIMEOUT=5

# --- control -------------------------------------------------------------------

itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "abcdefghijklmno"'
itr_collectd_start
itr_wait_for 10 "values from the memory plugin (control config)" \
  itr_memory_epoch_at_least 1
itr_collectd_running ||
  itr_fail "collectd exited with a valid config (15-character interface name)"
if grep -F '[error]' "$ITR_LOG" | grep -Fq 'iptraffic plugin:'; then
  itr_fail "ERROR from the plugin with a valid config: $(itr_log_errors)"
fi
itr_collectd_stop

# --- bad configurations --------------------------------------------------------

# One case a line: the <Plugin iptraffic> body (options separated by ';'),
# then '|', then words that the ERROR line must contain (option, value).
CASES='
Interface "vb"; MaxEntries "abc"|MaxEntries abc
Interface "vb"; MaxEntries 15|MaxEntries 15
Interface "vb"; MaxEntries 16777217|MaxEntries 16777217
Interface "vb"; MaxEntries 100.5|MaxEntries 100.5
Interface "vb"; MaxEntries true|MaxEntries true
Interface "vb"; XDPMode "fast"|XDPMode fast
Interface "vb"; Direction "sideways"|Direction sideways
Interface "vb"; ExpireIdle -5|ExpireIdle -5
Interface "vb"; Foo 1|Foo
Interface "abcdefghijklmnop"|Interface abcdefghijklmnop
Interface 42|Interface 42
Interface "eth/0"|Interface eth/0
Interface "vb" "vb"|Interface vb
XDPMode "native"|Interface
'

failures=0
n=0
while IFS='|' read -r body words; do
  [ -n "$body" ] || continue
  n=$((n + 1))
  block=$(tr ';' '\n' <<<"$body" | sed 's/^ */  /')
  itr_write_conf "$ITR_TMP/collectd.conf" "$block"
  start=$(date +%s%N)
  itr_collectd_start
  if ! itr_collectd_wait_exit "$EXIT_TIMEOUT"; then
    itr_log "FAILED [$body]: collectd still running after ${EXIT_TIMEOUT}s"
    itr_collectd_stop
    failures=$((failures + 1))
    continue
  fi
  ms=$((($(date +%s%N) - start) / 1000000))
  if [ "$ITR_COLLECTD_STATUS" -eq 0 ]; then
    itr_log "FAILED [$body]: collectd exited with status 0"
    failures=$((failures + 1))
    continue
  fi
  # The plugin's ERROR lines, without timestamp and severity.
  msgs=$(grep -F '[error] iptraffic plugin: ' "$ITR_LOG" |
    sed 's/.*\[error\] iptraffic plugin: //' || true)
  found=
  while read -r msg; do
    [ -n "$msg" ] || continue
    ok=1
    for w in $words; do
      grep -Fqw -- "$w" <<<"$msg" || ok=
    done
    [ -n "$ok" ] && found=$msg && break
  done <<<"$msgs"
  if [ -z "$found" ]; then
    itr_log "FAILED [$body]: no plugin ERROR naming '$words';" \
      "log: $(tr '\n' ' ' <"$ITR_LOG")"
    failures=$((failures + 1))
    continue
  fi
  itr_log "ok [$body]: status $ITR_COLLECTD_STATUS after ${ms} ms: $found"
done <<<"$CASES"

[ "$failures" -eq 0 ] || itr_fail "$failures of $n bad configs not refused as expected"
itr_log "ok: $n bad configs refused"
