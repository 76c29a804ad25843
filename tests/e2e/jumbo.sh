#!/bin/bash
# End to end: jumbo frames. With MTU 9000 on the veth pair the plugin
# attaches its multi-buffer XDP program (xdp.frags); 8000-byte frames from
# A count exactly, every byte of every buffer included.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_veth_pair
ip -n "$ITR_NS_A" link set dev va mtu 9000
ip -n "$ITR_NS_B" link set dev vb mtu 9000

FRAME=8000 COUNT=20 SMALL=100
ETH=14 IPV4=20 UDP=8

itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"'
itr_collectd_start
itr_wait_for 20 "the plugin to attach" grep -q "counting ingress" "$ITR_LOG"
if ! grep -q "multi-buffer" "$ITR_LOG"; then
  itr_fail "MTU 9000 but no multi-buffer XDP: $(grep iptraffic "$ITR_LOG")"
fi

ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" va \
  "src=10.88.0.1,dst=10.88.0.2,payload=$((FRAME - ETH - IPV4 - UDP)),count=$COUNT" \
  "src=10.88.0.1,dst=10.88.0.2,payload=$((SMALL - ETH - IPV4 - UDP)),count=1" \
  >"$ITR_TMP/send.out"
end=$(date +%s)
itr_csv_settle iptraffic-vb "$end"

want_bytes=$((COUNT * FRAME + SMALL)) want_packets=$((COUNT + 1))
for check in "if_octets-10.88.0.1 tx $want_bytes" \
  "if_octets-10.88.0.2 rx $want_bytes" \
  "if_packets-10.88.0.1 tx $want_packets" \
  "if_packets-10.88.0.2 rx $want_packets" \
  "if_octets-10.88.0.1 rx 0" "if_octets-10.88.0.2 tx 0"; do
  read -r series col want <<<"$check"
  got=$(itr_csv_value iptraffic-vb "$series" "$col")
  [ "$got" = "$want" ] || itr_fail "csv $series $col = '$got', want $want"
done
got=$(itr_dev_stat "$ITR_NS_B" vb rx_packets)
[ "$got" -eq "$want_packets" ] ||
  itr_fail "vb received $got packets, want $want_packets"

itr_collectd_stop
itr_has_xdp "$ITR_NS_B" vb && itr_fail "XDP program left on vb"
itr_log "ok: $COUNT frames of $FRAME bytes counted exactly with MTU 9000"
