#!/bin/bash
# End to end: bounded series. Two runs of collectd on vb:
#   1. IPv4PrefixLength 24, IPv6PrefixLength 48 and <Network> blocks
#      (10.5.0.0/16 address by address, 10.5.9.0/24 ignored): every
#      aggregate equals the sum of its members' frames, addresses of the
#      ignored network count only under "ignored", no series exists for a
#      single aggregated address, sum(tx) == sum(rx) == all bytes sent.
#   2. TopN 2, TopNHold 0, ReportInactive false: only the two top talkers
#      get series of their own, "other" holds the rest, members plus other
#      equal the total; once the traffic stops nothing but the health
#      gauges is dispatched (count-value_lists says 3) and the address
#      series stop growing.
#   3. TopN 1, two addresses taking turns as the top talker: every frame in
#      exactly one series.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_veth_pair

ETH=14 IPV4=20 IPV6=40 UDP=8

# send SPEC...: sends UDP frames from A to B, right after a collectd read,
# so that one burst falls into one interval. Sets END.
send() {
  local e
  e=$(itr_memory_epoch)
  itr_wait_for 10 "a collectd read" itr_memory_epoch_at_least $((${e:-0} + 1))
  ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" va \
    "$@" >>"$ITR_TMP/sent.out" || itr_fail "sendframes failed"
  END=$(date +%s)
}

value() { # series column
  itr_csv_value iptraffic-vb "$1" "$2"
}

expect() { # series column want
  local got
  got=$(value "$1" "$2")
  [ "$got" = "$3" ] || itr_fail "csv $1 $2 = '$got', want $3"
}

sum_column() { # type column: over every instance
  local series total=0
  while read -r series; do
    total=$((total + $(value "$series" "$2")))
  done < <(itr_csv_series iptraffic-vb "$1")
  echo "$total"
}

# --- 1. prefixes and networks ----------------------------------------------
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"
  IPv4PrefixLength 24
  IPv6PrefixLength 48
  <Network "10.5.0.0/16">
    PrefixLength 32
  </Network>
  <Network "10.5.9.0/24">
    Ignore true
  </Network>'
itr_collectd_start
itr_wait_for 20 "the plugin to attach" grep -q "counting ingress" "$ITR_LOG"

v4=$((ETH + IPV4 + UDP + 100)) v6=$((ETH + IPV6 + UDP + 100))
send "src=192.0.2.1,dst=10.5.1.1,payload=100,count=3" \
  "src=192.0.2.200,dst=10.5.1.1,payload=100,count=2" \
  "src=198.51.100.7,dst=10.5.1.2,payload=100,count=1" \
  "src=10.5.9.9,dst=10.5.1.1,payload=100,count=4" \
  "src=2001:db8:1:2::1,dst=2001:db8:1:3::1,payload=100,count=2"
itr_csv_settle iptraffic-vb "$END"

expect if_octets-192.0.2.0_24 tx $((5 * v4))
expect if_packets-192.0.2.0_24 tx 5
expect if_octets-192.0.2.0_24 rx 0
expect if_octets-198.51.100.0_24 tx "$v4"
expect if_octets-10.5.1.1 rx $((9 * v4))
expect if_packets-10.5.1.1 rx 9
expect if_octets-10.5.1.2 rx "$v4"
expect if_octets-ignored tx $((4 * v4))
expect if_octets-ignored rx 0
expect if_octets-2001:db8:1::_48 tx $((2 * v6))
expect if_octets-2001:db8:1::_48 rx $((2 * v6))
for single in 192.0.2.1 192.0.2.200 198.51.100.7 10.5.9.9 2001:db8:1:2::1; do
  [ -z "$(itr_csv_file iptraffic-vb "if_octets-$single")" ] ||
    itr_fail "aggregated address $single has a series of its own"
done
total=$((10 * v4 + 2 * v6))
[ "$(sum_column if_octets tx)" -eq "$total" ] || itr_fail "sum(tx) != $total"
[ "$(sum_column if_octets rx)" -eq "$total" ] || itr_fail "sum(rx) != $total"
itr_collectd_stop

# --- 2. TopN and ReportInactive false ---------------------------------------
rm -rf "$ITR_CSV_DIR"
mkdir -p "$ITR_CSV_DIR"
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"
  TopN 2
  TopNHold 0
  ReportInactive false'
itr_collectd_start
itr_wait_for 20 "the plugin to attach" grep -q "counting ingress" "$ITR_LOG"

big=$((ETH + IPV4 + UDP + 1000)) small=$((ETH + IPV4 + UDP + 10))
send "src=10.6.0.1,dst=10.6.0.100,payload=1000,count=10" \
  "src=10.6.0.2,dst=10.6.0.100,payload=10,count=5" \
  "src=10.6.0.3,dst=10.6.0.100,payload=10,count=3" \
  "src=10.6.0.4,dst=10.6.0.100,payload=10,count=1"
itr_csv_settle iptraffic-vb "$END"

expect if_octets-10.6.0.100 rx $((10 * big + 9 * small))
expect if_octets-10.6.0.1 tx $((10 * big))
expect if_octets-other tx $((9 * small))
expect if_packets-other tx 9
expect if_octets-other rx 0
for other in 10.6.0.2 10.6.0.3 10.6.0.4; do
  [ -z "$(itr_csv_file iptraffic-vb "if_octets-$other")" ] ||
    itr_fail "$other is not a top talker but has a series"
done
total=$((10 * big + 9 * small))
[ "$(sum_column if_octets tx)" -eq "$total" ] || itr_fail "members + other != $total (tx)"
[ "$(sum_column if_octets rx)" -eq "$total" ] || itr_fail "members + other != $total (rx)"

# Idle: only the three health gauges are dispatched, series stop growing.
member=$(itr_csv_file iptraffic-vb if_octets-10.6.0.1)
lines=$(itr_csv_lines "$member")
e=$(itr_memory_epoch)
itr_wait_for 10 "three more reads" itr_memory_epoch_at_least $((e + 3))
[ "$(itr_csv_lines "$member")" -eq "$lines" ] ||
  itr_fail "an idle address is still dispatched with ReportInactive false"
lists=$(value count-value_lists value)
awk -v v="$lists" 'BEGIN { exit !(v + 0 == 3) }' ||
  itr_fail "count-value_lists is '$lists' when idle, want 3"
itr_collectd_stop

# --- 3. TopN 1: two addresses taking turns as the top talker ----------------
# What went to "other" while an address was not a member is not counted
# again when it becomes one: the last values of all series add up to
# exactly what was sent.
rm -rf "$ITR_CSV_DIR"
mkdir -p "$ITR_CSV_DIR"
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"
  TopN 1
  TopNHold 0
  ReportInactive false'
itr_collectd_start
itr_wait_for 20 "the plugin to attach" grep -q "counting ingress" "$ITR_LOG"
frame=$((ETH + IPV4 + UDP + 100)) packets=0
for round in 1 2 3 4 5 6; do
  if [ $((round % 2)) -eq 1 ]; then a=20 b=2; else a=2 b=20; fi
  # Each to itself, so that no third address outranks them.
  send "src=10.6.0.1,dst=10.6.0.1,payload=100,count=$a" \
    "src=10.6.0.2,dst=10.6.0.2,payload=100,count=$b"
  packets=$((packets + a + b))
done
itr_csv_settle iptraffic-vb "$END"
[ -n "$(itr_csv_file iptraffic-vb if_octets-10.6.0.2)" ] ||
  itr_fail "10.6.0.2 never became a member"
[ "$(sum_column if_packets tx)" -eq "$packets" ] ||
  itr_fail "TopN 1 taking turns: members + other = $(sum_column if_packets tx) tx packets, sent $packets"
[ "$(sum_column if_octets tx)" -eq $((packets * frame)) ] ||
  itr_fail "TopN 1 taking turns: members + other = $(sum_column if_octets tx) tx bytes, sent $((packets * frame))"
itr_collectd_stop
itr_log "ok: aggregates, ignored networks, TopN and ReportInactive exact"
