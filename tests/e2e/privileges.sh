#!/bin/bash
# End to end: collectd without the privileges the plugin needs. As user
# nobody with no capabilities, loading the BPF program is refused: the
# plugin logs one ERROR that says which capabilities are missing (and no
# raw libbpf warnings), its initialization fails, and collectd with its other
# plugins keeps running.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_cmd setpriv
itr_veth_pair
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"'
chmod 0755 "$ITR_TMP" "$ITR_TMP/plugins"
chmod 0644 "$ITR_TMP/plugins/iptraffic.so" "$ITR_CONF"
chown -R nobody "$ITR_TMP/base" "$ITR_CSV_DIR"
: >"$ITR_LOG"
chown nobody "$ITR_LOG"

itr_spawn ip netns exec "$ITR_NS_B" setpriv --reuid=nobody --regid=nogroup \
  --clear-groups --inh-caps=-all --bounding-set=-all \
  collectd -f -C "$ITR_CONF" >>"$ITR_TMP/collectd.out" 2>&1
ITR_COLLECTD_PID=$ITR_LAST_PID

itr_wait_for 20 "the plugin's ERROR" grep -q "iptraffic plugin:.*CAP_BPF" "$ITR_LOG"
errors=$(grep -c "\[error\] iptraffic plugin" "$ITR_LOG" || true)
msg=$(grep "\[error\] iptraffic plugin:.*CAP_BPF" "$ITR_LOG")
case $msg in
*"needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"*) ;;
*) itr_fail "the ERROR does not say what is missing: $msg" ;;
esac
[ "$errors" -eq 1 ] || itr_fail "$errors ERROR lines from the plugin, want 1"
if grep -q "\[warning\] iptraffic plugin" "$ITR_LOG"; then
  itr_fail "warnings beside the ERROR: $(grep iptraffic "$ITR_LOG")"
fi
start=$(date +%s)
itr_wait_for 20 "the memory plugin to keep writing" \
  itr_memory_epoch_at_least $((start + 2))
itr_collectd_running || itr_fail "collectd exited"
itr_has_xdp "$ITR_NS_B" vb && itr_fail "an XDP program is attached"
[ -z "$(itr_csv_series iptraffic-vb if_octets)" ] ||
  itr_fail "iptraffic values without privileges"
kill -TERM "$ITR_COLLECTD_PID"
itr_collectd_wait_exit 10 || itr_fail "collectd did not stop"
itr_log "ok: $errors ERROR line(s) naming the capabilities; collectd kept running"
