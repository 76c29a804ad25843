#!/bin/bash
# End to end: a plugin whose init fails does not take collectd down.
#
# Interface "lo" with XDPMode "native": lo has no native XDP, so the
# plugin's init fails. collectd must keep running, the log must have one
# ERROR from the plugin naming the interface and the mode to use instead,
# the unrelated memory plugin must keep producing values (csv and
# write_prometheus), there must be no iptraffic values, no XDP program on
# lo, and collectd must still stop on SIGTERM.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_netns_add "$ITR_NS_B"

itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "lo"
  XDPMode "native"'
itr_collectd_start

memory_lines() {
  local f
  f=$(itr_csv_file memory memory-used)
  itr_csv_lines "${f:-/nonexistent}"
}
memory_lines_at_least() {
  [ "$(memory_lines)" -ge "$1" ]
}

itr_wait_for 10 "the first values of the memory plugin" memory_lines_at_least 1
first=$(memory_lines)
itr_wait_for 10 "the memory plugin to keep writing" \
  memory_lines_at_least $((first + 2))
itr_collectd_running || itr_fail "collectd exited after the plugin's init failed"

failures=0
problem() {
  itr_log "FAILED: $*"
  failures=$((failures + 1))
}

# Exactly one actionable ERROR from the plugin.
errors=$(grep -F '[error] iptraffic plugin: ' "$ITR_LOG" || true)
count=$(grep -c . <<<"$errors" || true)
if [ "$count" -ne 1 ]; then
  problem "expected 1 ERROR from the plugin, got $count: $errors"
else
  msg=${errors#*iptraffic plugin: }
  grep -qw lo <<<"$msg" || problem "the ERROR does not name lo: $msg"
  grep -Eqw 'generic|auto' <<<"$msg" ||
    problem "the ERROR does not say which XDPMode to use: $msg"
  itr_log "plugin ERROR: $msg"
fi

# No iptraffic values anywhere.
for d in "$ITR_CSV_DIR/$ITR_HOST"/iptraffic*; do
  if [ -e "$d" ]; then
    problem "iptraffic csv values exist: $(find "$d" | head -5 | tr '\n' ' ')"
  fi
done
itr_wait_for 5 "the write_prometheus page" itr_scrape_ok "$ITR_TMP/metrics.txt"
grep -q '^collectd_memory{' "$ITR_TMP/metrics.txt" ||
  problem "no memory values on the write_prometheus page"
if grep -q '^collectd_iptraffic' "$ITR_TMP/metrics.txt"; then
  problem "iptraffic values on the write_prometheus page:" \
    "$(grep '^collectd_iptraffic' "$ITR_TMP/metrics.txt" | head -3)"
fi

if itr_has_xdp "$ITR_NS_B" lo; then
  problem "an XDP program is attached to lo"
fi

# collectd 5.12 exits with status 1 when any init callback failed, so only
# a timely exit is required here.
itr_collectd_stop

[ "$failures" -eq 0 ] || itr_fail "$failures problems"
itr_log "ok: collectd kept running, memory wrote $(memory_lines) values"
