#!/bin/bash
# End to end, bounded soak: ITR_SOAK_SECONDS (default 60) of churn with
# the plugin at Interval 1 and ExpireIdle 2:
#   - address churn: every round 200 new sources send to the node, so that
#     addresses keep arriving and expiring;
#   - interface churn: a veth matched by the pattern /^vs[0-9]/ made, used
#     (10 frames) and deleted every fifth round;
#   - a clean restart of collectd half way (traffic paused meanwhile).
# Then: collectd's RSS stayed flat after the warm-up and after the restart
# (it grew by less than 16 MB), the table's addresses stayed bounded
# (count-addresses at most what five rounds of sources make), and
# reconciliation: the tx packets of vb's series, summed from the csv files
# with the reset rule (a series' first sample adds nothing, a value below
# the one before restarts from zero), equal every frame sent, and each
# churned veth's series hold its 10 frames. A longer run:
# ITR_SOAK_SECONDS=3600.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_veth_pair

SOAK=${ITR_SOAK_SECONDS:-60}
PER_ROUND=200
ITR_INTERVAL=1
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb" "/^vs[0-9]/"
  ExpireIdle 2
  MaxEntries 65536'
itr_collectd_start
itr_wait_for 20 "the plugin to attach" grep -q "interface vb (ifindex [0-9]*): counting" "$ITR_LOG"

rss() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$ITR_COLLECTD_PID/status"; }

sent=0 round=0 veths=0 restarted=0 rss_min= rss_max=0
start=$(date +%s)
while [ $(($(date +%s) - start)) -lt "$SOAK" ]; do
  round=$((round + 1))
  # 200 sources new this round: 10.(20 + round / 256).(round % 256).1..200
  ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" va \
    "src=10.$((20 + round / 256)).$((round % 256)).1,dst=10.19.0.1,payload=30,sources=$PER_ROUND" \
    >>"$ITR_TMP/sent.out" || itr_fail "sendframes failed"
  sent=$((sent + PER_ROUND))
  if [ $((round % 5)) -eq 0 ]; then
    veths=$((veths + 1))
    ip link add "vs$veths" netns "$ITR_NS_B" type veth peer name "vt$veths" netns "$ITR_NS_A"
    itr_quiet_dev "$ITR_NS_A" "vt$veths"
    itr_quiet_dev "$ITR_NS_B" "vs$veths"
    ip -n "$ITR_NS_A" link set "vt$veths" up
    ip -n "$ITR_NS_B" link set "vs$veths" up
    mac=$(ip -n "$ITR_NS_B" -o link show dev "vs$veths" |
      sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p')
    itr_wait_for 10 "vs$veths to be counted" \
      grep -q "interface vs$veths (ifindex [0-9]*): counting" "$ITR_LOG"
    ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$mac" "vt$veths" \
      "src=10.18.$veths.1,dst=10.18.$veths.2,payload=30,count=10" >>"$ITR_TMP/sent.out" ||
      itr_fail "sendframes on vt$veths failed"
    sleep 2.5 # two reads: the series' zero, then its counters
    ip -n "$ITR_NS_B" link del "vs$veths"
  fi
  if [ "$restarted" = 0 ] && [ $(($(date +%s) - start)) -ge $((SOAK / 2)) ]; then
    sleep 3 # the last frames read twice
    itr_collectd_stop
    itr_collectd_start
    itr_wait_for 20 "the plugin to attach again" \
      grep -q "interface vb (ifindex [0-9]*): counting" "$ITR_LOG"
    restarted=1 rss_min= rss_max=0
  fi
  sleep 1
  # RSS once warm: 10 s in, and again after the restart.
  if [ $(($(date +%s) - start)) -ge 10 ] || [ "$restarted" = 1 ]; then
    r=$(rss)
    if [ -z "$rss_min" ] || [ "$r" -lt "$rss_min" ]; then rss_min=$r; fi
    if [ "$r" -gt "$rss_max" ]; then rss_max=$r; fi
  fi
done
sleep 4 # every series read at least twice after the last frames
addresses=$(awk -F, 'NR > 1 && $2 > m { m = $2 } END { printf "%d\n", m }' \
  "$(itr_csv_file iptraffic-vb count-addresses)")
itr_collectd_stop

# tx packets of a plugin instance's series, summed with the reset rule
# (xargs may run awk more than once).
csv_tx() { # plugin instance
  local dir
  dir=$(itr_csv_dir "$1")
  [ -d "$dir" ] || { echo 0; return; }
  find "$dir" -name 'if_packets-*' -print0 | xargs -0 -r awk -F, '
    FNR == 1 { prev = ""; next }
    { v = $3 + 0; if (prev != "") total += (v >= prev ? v - prev : v); prev = v }
    END { printf "%d\n", total }' | awk '{ s += $1 } END { printf "%d\n", s }'
}
got=$(csv_tx iptraffic-vb)
itr_log "$round rounds: $sent frames from as many sources, $veths veths, one restart; at most $addresses addresses in the table; collectd RSS $rss_min..$rss_max MB"
itr_check "vb: tx packets of all series (reset rule) against the frames sent" "$got" "$sent"
for ((v = 1; v <= veths; v++)); do
  itr_check "vs$v: tx packets of its series" "$(csv_tx "iptraffic-vs$v")" 10
done
[ "$addresses" -le $((5 * PER_ROUND + 10)) ] ||
  itr_mismatch "the table held $addresses addresses, more than five rounds' worth"
[ -n "$rss_min" ] && [ $((rss_max - rss_min)) -lt 16 ] ||
  itr_mismatch "collectd's RSS went from $rss_min to $rss_max MB"
itr_checks_done
itr_log "ok: $SOAK s of churn: every frame in the series, table and RSS flat"
