#!/bin/bash
# End to end: what other tools attached to the interface survives the
# plugin's start and stop untouched.
#   1. A tc filter on vb's egress (on a clsact qdisc the test creates): the
#      plugin attaches its egress program next to it and, on shutdown,
#      removes only its own; the qdisc and the filter stay.
#   2. Another XDP program on vb: the plugin does not replace it; it logs
#      one ERROR naming the program (id and name), collectd and its other
#      plugins keep running, and the program is still attached after
#      collectd stops.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_cmd tc bpftool
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
itr_log "ok: foreign tc filter and XDP program untouched"
