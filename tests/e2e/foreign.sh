#!/bin/bash
# End to end: what other tools attached to the interface survives the
# plugin's start and stop untouched.
#   1. A tc filter on vb's egress (on a clsact qdisc the test creates): the
#      plugin attaches its egress program next to it and, on shutdown,
#      removes only its own; the qdisc and the filter stay.
#   2. Another XDP program on vb: the plugin does not replace it. With
#      IngressHook "xdp" it logs one ERROR naming the program (id and
#      name), collectd and its other plugins keep running; by default it
#      logs one WARNING and counts ingress with tc beside it, every frame
#      of an IPv4, 802.1Q, QinQ, IPv6 and ARP mix exactly (the VLAN tags
#      the kernel moves into skb metadata counted), while the program keeps
#      seeing every frame; after collectd stops it is still attached.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_require_cmd tc bpftool python3
FOREIGN_XDP=$top_builddir/tests/e2e/xdp_pass.bpf.o
[ -r "$FOREIGN_XDP" ] || itr_skip "$FOREIGN_XDP not built (make check builds it)"
itr_veth_pair

tc_filters() {
  tc -n "$ITR_NS_B" filter show dev vb egress
}

# --- 1. a foreign tc filter -------------------------------------------------
tc -n "$ITR_NS_B" qdisc add dev vb clsact
tc -n "$ITR_NS_B" filter add dev vb egress pref 7 protocol all \
  u32 match u32 0 0 flowid 1:7
before=$(tc_filters)
[ -n "$before" ] || itr_fail "the test's tc filter is missing"

itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"'
itr_collectd_start
itr_wait_for 20 "the plugin to attach" grep -q "egress with" "$ITR_LOG"
itr_collectd_stop
after=$(tc_filters)
[ "$after" = "$before" ] ||
  itr_fail "tc filters changed: before [$before] after [$after]"
tc -n "$ITR_NS_B" qdisc show dev vb | grep -q clsact ||
  itr_fail "the test's clsact qdisc was removed"
no_plugin_programs() {
  if ip netns exec "$ITR_NS_B" bpftool net show dev vb | grep -q iptraffic; then
    itr_fail "a program of the plugin is left on vb"
  fi
}
no_plugin_programs

# --- 2. a foreign XDP program -----------------------------------------------
ip -n "$ITR_NS_B" link set dev vb xdp obj "$FOREIGN_XDP" sec xdp
foreign_xdp_id() {
  ip -n "$ITR_NS_B" -d link show dev vb |
    sed -n 's/.*prog\/xdp id \([0-9]*\) name xdp_pass .*/\1/p'
}
id=$(foreign_xdp_id)
[ -n "$id" ] || itr_fail "cannot find the foreign XDP program's id"

# IngressHook "xdp": one ERROR naming it, nothing counted on ingress.
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"
  IngressHook "xdp"'
itr_collectd_start
itr_wait_for 20 "the plugin's ERROR" grep -q "already has an XDP program" "$ITR_LOG"
grep -q "id $id, name \"xdp_pass\"" "$ITR_LOG" ||
  itr_fail "the ERROR does not name the program: $(grep iptraffic "$ITR_LOG")"
start=$(date +%s)
itr_wait_for 20 "the memory plugin to keep writing" itr_memory_epoch_at_least $((start + 2))
itr_collectd_running || itr_fail "collectd exited"
itr_collectd_stop
[ "$(foreign_xdp_id)" = "$id" ] || itr_fail "the foreign XDP program is gone"
[ "$(tc_filters)" = "$before" ] || itr_fail "tc filters changed after the XDP test"
no_plugin_programs

# The default (IngressHook "auto"): one WARNING naming it, ingress counted
# with tc beside it, exactly as XDP counts (VLAN tags the kernel takes into
# the skb's metadata included); the program keeps seeing every frame.
seen() {
  local map
  map=$(bpftool -j prog show id "$id" | python3 -c '
import json, sys
print(json.load(sys.stdin)["map_ids"][0])')
  bpftool -j map lookup id "$map" key 0 0 0 0 | python3 -c '
import json, sys
v = json.load(sys.stdin)
if "formatted" in v:
    print(v["formatted"]["value"])
else:
    print(int.from_bytes(bytes(int(x, 16) for x in v["value"]), "little"))'
}
seen_before=$(seen)
: >"$ITR_LOG"
rm -rf "$ITR_CSV_DIR"
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"'
itr_collectd_start
itr_wait_for 20 "the plugin's WARNING" grep -q "ingress is counted with tc instead" "$ITR_LOG"
grep -q "\[warning\] iptraffic plugin: interface vb already has an XDP program (id $id, name \"xdp_pass\")" "$ITR_LOG" ||
  itr_fail "the WARNING does not name the program: $(grep iptraffic "$ITR_LOG")"
grep -Eq "interface vb \(ifindex [0-9]+\): counting ingress with (tcx|tc \(clsact\))" "$ITR_LOG" ||
  itr_fail "not counting ingress with tc: $(grep iptraffic "$ITR_LOG")"
[ -z "$(itr_log_errors)" ] || itr_fail "ERROR lines: $(itr_log_errors)"
ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" va \
  "src=10.8.0.1,dst=10.8.0.2,payload=100,count=5" \
  "src=10.8.0.3,dst=10.8.0.2,payload=50,count=3,vlan=100" \
  "src=10.8.0.4,dst=10.8.0.2,payload=10,count=2,vlan=0x88a8:200,vlan=300" \
  "src=2001:db8::1,dst=2001:db8::2,payload=20,count=4" \
  "family=0,ethertype=0x0806,payload=28,count=2" >>"$ITR_TMP/sent.out" ||
  itr_fail "sendframes failed"
itr_csv_settle iptraffic-vb "$(date +%s)"
check() { # series column want
  local got
  got=$(itr_csv_value iptraffic-vb "$1" "$2")
  [ "$got" = "$3" ] || itr_fail "with tc ingress: $1 $2 = '$got', want $3"
}
check if_octets-10.8.0.1 tx $((5 * 142))
check if_packets-10.8.0.1 tx 5
check if_octets-10.8.0.3 tx $((3 * 96))  # the 802.1Q tag counted
check if_octets-10.8.0.4 tx $((2 * 60))  # both QinQ tags counted
check if_octets-10.8.0.2 rx $((5 * 142 + 3 * 96 + 2 * 60))
check if_packets-10.8.0.2 rx 10
check if_octets-2001:db8::1 tx $((4 * 82))
check if_octets-2001:db8::2 rx $((4 * 82))
check if_octets-non-ip rx $((2 * 42))
check if_packets-non-ip tx 2
got=$(($(seen) - seen_before))
[ "$got" -ge 16 ] || itr_fail "the foreign XDP program saw $got of the 16 frames"
itr_collectd_stop
[ "$(foreign_xdp_id)" = "$id" ] || itr_fail "the foreign XDP program is gone after tc ingress"
[ "$(tc_filters)" = "$before" ] || itr_fail "tc filters changed after tc ingress"
no_plugin_programs

# --- 3. a foreign XDP program in generic mode ----------------------------------
# Native mode is refused with "File exists" then: the plugin names the
# program all the same, and counts ingress with tc beside it.
ip -n "$ITR_NS_B" link set dev vb xdp off
ip -n "$ITR_NS_B" link set dev vb xdpgeneric obj "$FOREIGN_XDP" sec xdp
id=$(ip -n "$ITR_NS_B" -d link show dev vb |
  sed -n 's/.*prog\/xdp id \([0-9]*\) name xdp_pass .*/\1/p')
[ -n "$id" ] || itr_fail "cannot find the generic XDP program's id"
: >"$ITR_LOG"
itr_collectd_start
itr_wait_for 20 "the plugin's WARNING" grep -q "ingress is counted with tc instead" "$ITR_LOG"
grep -q "\[warning\] iptraffic plugin: interface vb already has an XDP program (id $id, name \"xdp_pass\")" "$ITR_LOG" ||
  itr_fail "generic mode: the WARNING does not name the program: $(grep iptraffic "$ITR_LOG")"
[ -z "$(itr_log_errors)" ] || itr_fail "generic mode: ERROR lines: $(itr_log_errors)"
itr_collectd_stop
ip -n "$ITR_NS_B" link set dev vb xdpgeneric off
no_plugin_programs
itr_log "ok: foreign tc filter and XDP program untouched"
