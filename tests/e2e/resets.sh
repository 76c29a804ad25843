#!/bin/bash
# End to end: every frame reaches Prometheus as an increase, across expiry
# and across a restart that lost the state. A real Prometheus scrapes
# write_prometheus at least once an interval (Interval 2, every 0.5 s: it
# sees the zero every series starts with); from its raw samples (a range
# query),
# summed with its own reset rule (a sample below the one before restarts
# from zero; a series' first sample adds nothing), one address's tx
# packets must add up to exactly what it sent:
#   - ExpireIdle 1 and bursts of 100, 100 and 150 frames with idle gaps
#     between, so that the address expires twice and comes back with a
#     count not below its last one (which alone is no reset to
#     Prometheus);
#   - then collectd restarted without pinned tables (PinPath ""), and 120
#     more.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_require_prometheus
itr_veth_pair

SRC=10.5.0.1
ITR_INTERVAL=2 ITR_PROMETHEUS_SCRAPE=500ms
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"
  ExpireIdle 1'
itr_collectd_start
itr_wait_for 20 "the plugin to attach" grep -q "counting ingress" "$ITR_LOG"
itr_prometheus_start

burst() { # count
  ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" va \
    "src=$SRC,dst=10.5.0.2,payload=20,count=$1" >>"$ITR_TMP/sent.out" ||
    itr_fail "sendframes failed"
}

series="collectd_iptraffic_if_packets_tx_total{iptraffic=\"vb\",type=\"$SRC\"}"
# The raw samples of the series over the last 5 minutes, added up as
# Prometheus' increase() does, without its extrapolation.
prometheus_total() {
  local json
  json=$(itr_prometheus_query "$series[5m]") || return 1
  python3 -c '
import json, sys
d = json.loads(sys.argv[1])
total = 0
for r in d["data"]["result"]:
    prev = None
    for _, v in r["values"]:
        v = float(v)
        if prev is not None:
            total += v - prev if v >= prev else v
        prev = v
print(int(total))' "$json"
}
# Waits until Prometheus saw want packets in all, or says what it saw.
expect_total() { # what want
  local got
  for _ in $(seq 1 40); do
    got=$(prometheus_total)
    [ "$got" = "$2" ] && break
    sleep 0.5
  done
  itr_check "$1: tx packets of $SRC in Prometheus' raw samples" "$got" "$2"
}
# Prometheus scraping collectd for a while first, as in a deployment.
scraping() {
  itr_prometheus_vector 'count(collectd_memory)' 2>/dev/null | grep -q .
}
itr_wait_for 20 "Prometheus to scrape collectd" scraping
sleep 3

burst 100
expect_total "one burst" 100
sleep 6 # idle: the address expires
burst 100
expect_total "after one expiry" 200
sleep 6
burst 150
expect_total "after two expiries" 350

# State lost: collectd restarted without pinned tables.
itr_collectd_stop
itr_collectd_start
itr_wait_for 20 "the plugin to attach again" grep -q "counting ingress" "$ITR_LOG"
burst 120
expect_total "after a restart without state" 470
itr_collectd_stop
itr_checks_done
itr_log "ok: 470 frames, all in Prometheus' increase across two expiries and a restart"
