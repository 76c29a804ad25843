#!/bin/bash
# End to end: an interface that does not exist when collectd starts, then
# disappears and comes back (with a new ifindex).
#   - collectd starts, the plugin warns that vb does not exist and keeps
#     running (no ERROR);
#   - vb appears: the plugin attaches by itself and counts frames exactly;
#   - vb disappears: a warning; vb comes back: the plugin attaches again
#     and counts the new frames from zero (the old series' counters do
#     not leak into the new interface);
#   - vb deleted and made again with the same ifindex between two reads:
#     the plugin finds its hooks gone, attaches again and counts from zero.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_netns_add "$ITR_NS_A"
itr_netns_add "$ITR_NS_B"

ETH=14 IPV4=20 UDP=8
frame=$((ETH + IPV4 + UDP + 100))

make_veth() { # [ifindex of vb]
  ip -n "$ITR_NS_B" link add vb ${1:+index "$1"} type veth peer name va \
    netns "$ITR_NS_A"
  itr_quiet_dev "$ITR_NS_A" va
  itr_quiet_dev "$ITR_NS_B" vb
  ip -n "$ITR_NS_A" link set va up
  ip -n "$ITR_NS_B" link set vb up
  ITR_VB_MAC=$(ip -n "$ITR_NS_B" -o link show dev vb |
    sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p')
}

send() { # count
  ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" va \
    "src=10.7.0.1,dst=10.7.0.2,payload=100,count=$1" >>"$ITR_TMP/sent.out" ||
    itr_fail "sendframes failed"
  END=$(date +%s)
}

expect_tx() { # packets
  itr_csv_settle iptraffic-vb "$END"
  got=$(itr_csv_value iptraffic-vb if_packets-10.7.0.1 tx)
  [ "$got" = "$1" ] || itr_fail "10.7.0.1 tx packets '$got', want $1"
  got=$(itr_csv_value iptraffic-vb if_octets-10.7.0.1 tx)
  [ "$got" = $(($1 * frame)) ] || itr_fail "10.7.0.1 tx bytes '$got', want $(($1 * frame))"
}

itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"'
itr_collectd_start
itr_wait_for 20 "the warning about vb" grep -q "interface vb does not exist" "$ITR_LOG"
itr_collectd_running || itr_fail "collectd exited without vb"

make_veth
itr_wait_for 20 "the plugin to attach to vb" grep -q "interface vb appeared" "$ITR_LOG"
itr_wait_for 10 "XDP on vb" itr_has_xdp "$ITR_NS_B" vb
send 7
expect_tx 7

ip -n "$ITR_NS_B" link del vb
itr_wait_for 20 "the warning about vb going" grep -q "interface vb (ifindex [0-9]*) disappeared" "$ITR_LOG"
make_veth
appeared_twice() {
  [ "$(grep -c "interface vb appeared" "$ITR_LOG")" -ge 2 ]
}
itr_wait_for 20 "the plugin to attach again" appeared_twice
itr_wait_for 10 "XDP on the new vb" itr_has_xdp "$ITR_NS_B" vb
send 3
expect_tx 3

# Deleted and made again with the same ifindex: the name and index match,
# but the hooks went with the old device. The plugin sees it go (from the
# kernel's notification, or at the latest at the next read, where it finds
# its programs gone), attaches again and counts from zero.
index=$(ip -n "$ITR_NS_B" -o link show dev vb | cut -d: -f1)
ip -n "$ITR_NS_B" link del vb
make_veth "$index"
[ "$(ip -n "$ITR_NS_B" -o link show dev vb | cut -d: -f1)" = "$index" ] ||
  itr_fail "vb did not come back with ifindex $index"
attached_again() {
  [ "$(grep -c "interface vb (ifindex $index): counting" "$ITR_LOG")" -ge 2 ]
}
itr_wait_for 20 "the plugin to attach to vb made again" attached_again
itr_wait_for 10 "XDP on the recreated vb" itr_has_xdp "$ITR_NS_B" vb
send 4
expect_tx 4

[ -z "$(itr_log_errors)" ] || itr_fail "ERROR lines: $(itr_log_errors)"
itr_collectd_stop
itr_log "ok: vb attached when it appeared and again when it came back"
