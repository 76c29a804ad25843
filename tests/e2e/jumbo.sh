#!/bin/bash
# End to end: jumbo frames. With MTU 9000 on the veth pair the plugin
# attaches its multi-buffer XDP program (xdp.frags); 8000-byte frames from
# A count exactly, every byte of every buffer included. The MTU raised
# while it counts switches the program in place, lowered switches back.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_require_cmd python3
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

# The MTU raised while the plugin counts: it switches to the multi-buffer
# program in place, and back when it is lowered. In generic mode: in
# native mode a veth keeps the MTU limit of the program attached first
# for its peer, so the frames could not grow.
ip -n "$ITR_NS_A" link set dev va mtu 1500
ip -n "$ITR_NS_B" link set dev vb mtu 1500
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"
  XDPMode "generic"'
itr_collectd_start
itr_wait_for 20 "the plugin to attach" grep -q "counting ingress" "$ITR_LOG"
grep -q "multi-buffer" "$ITR_LOG" && itr_fail "multi-buffer XDP at MTU 1500"
ip -n "$ITR_NS_B" link set dev vb mtu 9000
itr_wait_for 10 "the switch to the multi-buffer program" grep -q \
  "interface vb: MTU 9000: counting ingress with the multi-buffer XDP program now" \
  "$ITR_LOG"
xdp_name() { # the name of vb's XDP program
  ip -n "$ITR_NS_B" -d -j link show dev vb | python3 -c '
import json, sys
print(json.load(sys.stdin)[0].get("xdp", {}).get("prog", {}).get("name", ""))'
}
itr_check "vb's XDP program at MTU 9000" "$(xdp_name)" iptraffic_xdp_f
ip -n "$ITR_NS_A" link set dev va mtu 9000
ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" va \
  "src=10.88.1.1,dst=10.88.0.2,payload=$((FRAME - ETH - IPV4 - UDP)),count=$COUNT" \
  >>"$ITR_TMP/send.out"
end=$(date +%s)
itr_csv_settle iptraffic-vb "$end"
got=$(itr_csv_value iptraffic-vb if_octets-10.88.1.1 tx)
[ "$got" = $((COUNT * FRAME)) ] ||
  itr_fail "after raising the MTU: csv if_octets-10.88.1.1 tx = '$got', want $((COUNT * FRAME))"
ip -n "$ITR_NS_A" link set dev va mtu 1500
ip -n "$ITR_NS_B" link set dev vb mtu 1500
itr_wait_for 10 "the switch back to the single-buffer program" grep -q \
  "interface vb: MTU 1500: counting ingress with the single-buffer XDP program now" \
  "$ITR_LOG"
itr_check "vb's XDP program at MTU 1500 again" "$(xdp_name)" iptraffic_xdp
itr_collectd_stop
itr_checks_done
itr_log "ok: $COUNT frames of $FRAME bytes counted exactly with MTU 9000, also after raising it while counting"
