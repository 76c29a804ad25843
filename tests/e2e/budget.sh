#!/bin/bash
# End to end: the defaults keep collectd bounded under many addresses.
# 100000 addresses send to the node at once; collectd runs the plugin with
# its defaults (TopN 1000, ReportInactive true) next to write_prometheus,
# at Interval 10, with its internal statistics:
#   - one WARNING says that the default TopN holds addresses back;
#   - write_prometheus exports at most 1000 x (TopNHold 5 + 1) address
#     series per counter (besides "other" and the special instances: a
#     top talker keeps its series for TopNHold intervals), and every frame
#     is in exactly one series: the tx packets of all of them add up to
#     100000;
#   - the plugin dispatches at most 2 x (6000 + 5) + 3 value lists an
#     interval, collectd's write queue holds no more than that two
#     intervals later, and collectd's RSS stays below 512 MB.
# (TopN 0 would dispatch 200000 value lists an interval here.)

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_require_cmd curl awk
itr_veth_pair

N=100000 TOP=1000 HELD=6000 # TopN x (TopNHold + 1)
ITR_INTERVAL=10
ITR_CONF_GLOBAL="CollectInternalStats true"
ITR_CONF_CSV="" # csv writes a file per value list: the test's own load
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"
  MaxEntries 131072'
itr_collectd_start
itr_wait_for 20 "the plugin to attach" grep -q "counting ingress" "$ITR_LOG"
itr_wait_for 20 "write_prometheus" itr_scrape_ok "$ITR_TMP/metrics.txt"

ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" va \
  "src=10.100.0.1,dst=10.99.0.1,payload=18,sources=$N" >"$ITR_TMP/sent.out" ||
  itr_fail "sendframes failed"

# tx packets of vb's series in a scrape: all, and the address series.
tx_sum() {
  awk '/^collectd_iptraffic_if_packets_tx_total\{iptraffic="vb",/ { s += $2 }
       END { printf "%d\n", s }' "$1"
}
address_series() {
  awk '/^collectd_iptraffic_if_packets_tx_total\{iptraffic="vb",/ &&
       !/type="(other|non-ip|malformed|untracked|ignored)"/ { n++ }
       END { printf "%d\n", n }' "$1"
}
all_counted() {
  itr_scrape_ok "$ITR_TMP/metrics.txt" &&
    [ "$(tx_sum "$ITR_TMP/metrics.txt")" -eq "$N" ]
}
# A series starts with a zero and shows its counters an interval later;
# write_prometheus takes a while for 20000 value lists on a busy machine.
itr_wait_for 120 "every frame in the exported series" all_counted
series=$(address_series "$ITR_TMP/metrics.txt")
itr_log "$N addresses: $series address series exported, tx packets add up to $N"
[ "$series" -le "$HELD" ] ||
  itr_mismatch "write_prometheus exports $series address series, more than $HELD"
[ "$series" -ge "$TOP" ] ||
  itr_mismatch "only $series address series exported"
grep -q 'type="other"' "$ITR_TMP/metrics.txt" ||
  itr_mismatch "no \"other\" series"
itr_check "WARNING lines about the default TopN" \
  "$(grep -c 'more than TopN 1000 (the default' "$ITR_LOG")" 1

# Two more intervals: what a read dispatches, what collectd queues.
sleep $((2 * ITR_INTERVAL))
itr_scrape_ok "$ITR_TMP/metrics.txt" || itr_fail "scraping /metrics failed"
vl=$(itr_prom_value "$ITR_TMP/metrics.txt" \
  "collectd_iptraffic_count$(itr_prom_labels iptraffic vb value_lists)")
rss=$(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$ITR_COLLECTD_PID/status")
queue=$(awk '/^collectd_collectd_queue_length\{collectd="write_queue",/ { print int($2) }' \
  "$ITR_TMP/metrics.txt")
itr_log "value lists an interval: $vl; write queue $queue; collectd RSS $rss MB"
max_vl=$((2 * (HELD + 5) + 3))
awk -v v="$vl" -v m="$max_vl" 'BEGIN { exit !(v != "" && v + 0 > 0 && v + 0 <= m) }' ||
  itr_mismatch "the plugin dispatches $vl value lists an interval, want 1..$max_vl"
[ -n "$queue" ] && [ "$queue" -le "$max_vl" ] ||
  itr_mismatch "collectd's write queue holds '$queue' value lists, want at most $max_vl"
[ "$rss" -lt 512 ] || itr_mismatch "collectd's RSS is $rss MB"
itr_collectd_stop
itr_checks_done
itr_log "ok: $N addresses, $series series, $vl value lists an interval, queue $queue, RSS $rss MB"
