#!/bin/bash
# End to end: the state kept across restarts under PinPath, with collectd
# seeing the test's /sys/fs/bpf as on a real host (nsenter; the test runs
# in a mount namespace of its own, where /sys/fs/bpf starts unmounted).
#   - the first start mounts a BPF filesystem there (one INFO line) and
#     pins the tables in PinPath, a directory of mode 0700;
#   - after kill -9 and after a clean stop the programs stay attached
#     (their links pinned) and count while collectd is down; the restarted
#     plugin takes them over in place and continues every counter: every
#     frame of the gap counted, none twice;
#   - a second collectd with the same PinPath refuses with one ERROR and
#     keeps running, the first one counts on;
#   - a larger MaxEntries carries the entries over, those of the per-CPU
#     table of the node's own addresses too (vb's 10.6.0.2); a smaller one
#     says with one WARNING how many did not fit; a <Network> block added
#     starts fresh tables; a record of another schema version is dropped
#     with one WARNING; a PinPath that is not on a BPF filesystem is one
#     ERROR naming it, and the plugin counts on without state.
#   - iptrafficctl status and dump read the state while collectd runs;
#     remove refuses then, and with collectd stopped detaches and removes
#     everything.

# Re-run in a mount namespace of the test's own: the re-run knows it is in
# one when its namespace differs from the one it was started from.
if [ "$(id -u)" -eq 0 ] && { [ -z "${ITR_PARENT_MNT_NS:-}" ] ||
  [ "$ITR_PARENT_MNT_NS" = "$(readlink /proc/self/ns/mnt)" ]; }; then
  ITR_PARENT_MNT_NS=$(readlink /proc/self/ns/mnt)
  export ITR_PARENT_MNT_NS
  exec unshare --mount --propagation private "$0" "$@"
fi

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_require_cmd nsenter bpftool
itr_veth_pair
ip -n "$ITR_NS_B" addr add 10.6.0.2/24 dev vb # the node's own address
ITR_COLLECTD_NSENTER=1

[ -n "${ITR_PARENT_MNT_NS:-}" ] &&
  [ "$(readlink /proc/self/ns/mnt)" != "$ITR_PARENT_MNT_NS" ] ||
  itr_fail "not in a mount namespace of the test's own"
# This mount namespace's /sys/fs/bpf: no BPF filesystem, as on a host
# without systemd.
if mountpoint -q /sys/fs/bpf; then
  umount /sys/fs/bpf || itr_fail "cannot unmount /sys/fs/bpf in the test's mount namespace"
fi
PIN=/sys/fs/bpf/itr-persist-$$

conf() { # extra options
  itr_write_conf "$ITR_TMP/collectd.conf" "  Interface \"vb\"
  PinPath \"$PIN\"
$1"
}

send() { # count
  ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" va \
    "src=10.6.0.1,dst=10.6.0.2,payload=60,count=$1" >>"$ITR_TMP/sent.out" ||
    itr_fail "sendframes failed"
  END=$(date +%s)
}

# The peer's 10.6.0.1 (shared table) sent and vb's own 10.6.0.2 (per-CPU
# table) received them.
expect() { # what packets [series of 10.6.0.1]
  local got
  itr_csv_settle iptraffic-vb "$END"
  got=$(itr_csv_value iptraffic-vb "${3:-if_packets-10.6.0.1}" tx)
  itr_check "$1: ${3:-if_packets-10.6.0.1} tx packets" "$got" "$2"
  got=$(itr_csv_value iptraffic-vb if_packets-10.6.0.2 rx)
  itr_check "$1: if_packets-10.6.0.2 rx packets" "$got" "${4:-$2}"
}

# Started once the plugin says what it counts with (XDP may be attached
# already: kept from the last start).
start() {
  itr_collectd_start
  itr_wait_for 10 "the plugin to attach to vb" grep -q "interface vb (ifindex [0-9]*): counting" "$ITR_LOG"
  itr_has_xdp "$ITR_NS_B" vb || itr_fail "no XDP on vb"
}

log_has() { grep -qF "$1" "$ITR_LOG"; }

# --- first start: bpffs mounted, tables pinned ----------------------------------

conf ""
start
log_has "mounted a BPF filesystem at /sys/fs/bpf" ||
  itr_mismatch "no INFO line about mounting /sys/fs/bpf"
mode=$(stat -c %a "$PIN")
itr_check "PinPath mode" "$mode" 700
for t in itr_addr4 itr_addr6 itr_hot itr_hot_filter itr_networks meta; do
  [ -e "$PIN/$t" ] || itr_mismatch "$PIN/$t is not pinned"
done
send 10
expect "first start" 10

# --- iptrafficctl, collectd running ------------------------------------------------

# In collectd's network namespace, where the interface names are.
CTL="nsenter --net=/run/netns/$ITR_NS_B $top_builddir/iptrafficctl --pin-path $PIN"
status=$($CTL status) || itr_fail "iptrafficctl status failed"
case $status in
*"in use by a running collectd"*"map schema:      3"*"ingress XDP native"*) ;;
*) itr_mismatch "iptrafficctl status: $status" ;;
esac
itr_check "iptrafficctl dump: 10.6.0.1 tx packets" \
  "$($CTL dump | awk '$1 == "vb" && $2 == "10.6.0.1" { print $6 }')" 10
itr_check "iptrafficctl dump --json: 10.6.0.2 rx packets" "$($CTL dump --json |
  python3 -c '
import json, sys
print([e["rx_packets"] for e in json.load(sys.stdin)
       if e["interface"] == "vb" and e["instance"] == "10.6.0.2"][0])')" 10
if $CTL remove 2>"$ITR_TMP/ctl.err"; then
  itr_mismatch "iptrafficctl remove went on while collectd runs"
fi
grep -q "in use by a running collectd" "$ITR_TMP/ctl.err" ||
  itr_mismatch "iptrafficctl remove: $(cat "$ITR_TMP/ctl.err")"
[ -e "$PIN/itr_addr4" ] || itr_mismatch "a refused remove removed something"

# --- kill -9, restart: the counters continue ------------------------------------

kill -KILL "$ITR_COLLECTD_PID"
itr_collectd_wait_exit 10 || itr_fail "collectd did not die"
itr_has_xdp "$ITR_NS_B" vb || itr_mismatch "XDP not kept attached after kill -9"
send 7 # counted while collectd is down
start
log_has "continuing the " || itr_mismatch "no INFO line about continuing"
log_has "kept attached since the last start" ||
  itr_mismatch "no INFO line about the kept attachment"
send 5
expect "after kill -9" 22

# --- clean stop, restart ---------------------------------------------------------

itr_collectd_stop
itr_has_xdp "$ITR_NS_B" vb || itr_mismatch "XDP not kept attached after a clean stop"
send 2 # counted while collectd is down
start
send 3
expect "after a clean restart" 27

# --- a second instance with the same PinPath is refused -------------------------

first_pid=$ITR_COLLECTD_PID first_log=$ITR_LOG
ITR_LOG=$ITR_TMP/second.log
sed -e "s|$first_log|$ITR_LOG|" -e "s|$ITR_TMP/collectd.pid|$ITR_TMP/second.pid|" \
  -e "s|Port \"$ITR_PROM_PORT\"|Port \"$(itr_free_port "$ITR_NS_B")\"|" \
  -e "s|$ITR_CSV_DIR|$ITR_TMP/csv2|" "$ITR_CONF" >"$ITR_TMP/second.conf"
ITR_CONF=$ITR_TMP/second.conf
itr_collectd_start
itr_wait_for 10 "the second instance's ERROR" log_has "is in use by another collectd"
sleep 1
itr_collectd_running || itr_mismatch "the second collectd exited"
itr_check "ERROR lines of the second instance" \
  "$(grep -c '\[error\] iptraffic' "$ITR_LOG")" 1
itr_collectd_stop
ITR_COLLECTD_PID=$first_pid ITR_LOG=$first_log ITR_CONF=$ITR_TMP/collectd.conf
send 2
expect "the first instance counts on" 29
itr_collectd_stop

# --- a larger MaxEntries carries the entries over --------------------------------

conf "  MaxEntries 4096"
start
log_has "carried all " || itr_mismatch "no INFO line about carrying entries over"
send 1
expect "after MaxEntries 4096" 30
itr_collectd_stop

# --- options that shape keys: fresh tables ---------------------------------------

# A block that changes no key of this traffic: the tables start afresh
# all the same (a kept table would show 30 + 4).
conf "  MaxEntries 4096
  <Network \"192.0.2.0/24\">
    PrefixLength 24
  </Network>"
start
log_has "starting fresh tables" || itr_mismatch "no INFO line about fresh tables"
send 4
expect "after a Network block" 4
itr_collectd_stop

# --- a record of another schema version: dropped with a WARNING ------------------

# The record with schema_version 2 (bytes 4..7), the rest as pinned.
rec=$(bpftool -j map lookup pinned "$PIN/meta" key 0 0 0 0 | python3 -c '
import json, sys
v = [int(x, 16) for x in json.load(sys.stdin)["value"]]
v[4:8] = [2, 0, 0, 0]
print(" ".join(str(x) for x in v))')
# shellcheck disable=SC2086
bpftool map update pinned "$PIN/meta" key 0 0 0 0 value $rec ||
  itr_fail "rewriting the record failed"
start
log_has "holds tables of map schema 2" || itr_mismatch "no WARNING about schema 2"
itr_check "WARNING lines about the schema" \
  "$(grep -c '\[warning\] iptraffic plugin: PinPath.*schema 2' "$ITR_LOG")" 1
send 2
expect "after the schema WARNING" 2

# --- a smaller MaxEntries: what did not fit, in one WARNING ------------------------

for i in $(seq 1 20); do
  ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" va \
    "src=10.6.1.$i,dst=10.6.0.2,payload=60,count=1" >>"$ITR_TMP/sent.out" ||
    itr_fail "sendframes failed"
done
END=$(date +%s)
itr_csv_settle iptraffic-vb "$END"
itr_collectd_stop
conf "  MaxEntries 16
  <Network \"192.0.2.0/24\">
    PrefixLength 24
  </Network>"
start
# 21 IPv4 addresses in the shared table for 16 entries: 5 do not fit.
# The per-CPU table (vb's own address and the 3 special instances) is
# carried over whole.
log_has "did not fit and were dropped" || itr_mismatch "no WARNING about entries that did not fit"
grep -q "carried 20 entries over to the new tables; 5 did not fit" "$ITR_LOG" ||
  itr_mismatch "the WARNING does not say 20 kept and 5 dropped: $(grep carried "$ITR_LOG")"
send 1
itr_csv_settle iptraffic-vb "$END"
itr_check "after MaxEntries 16: if_packets-10.6.0.2 rx packets" \
  "$(itr_csv_value iptraffic-vb if_packets-10.6.0.2 rx)" 23
itr_collectd_stop

# --- vb recreated while collectd is down: its old keys go ----------------------------

old_index=$(ip -n "$ITR_NS_B" -o link show dev vb | cut -d: -f1)
ip -n "$ITR_NS_A" link del va
ip link add va netns "$ITR_NS_A" type veth peer name vb netns "$ITR_NS_B"
itr_quiet_dev "$ITR_NS_A" va
itr_quiet_dev "$ITR_NS_B" vb
ip -n "$ITR_NS_A" link set va up
ip -n "$ITR_NS_B" link set vb up
ip -n "$ITR_NS_B" addr add 10.6.0.2/24 dev vb
ITR_VB_MAC=$(ip -n "$ITR_NS_B" -o link show dev vb |
  sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p')
new_index=$(ip -n "$ITR_NS_B" -o link show dev vb | cut -d: -f1)
[ "$new_index" != "$old_index" ] || itr_fail "vb came back with the same index"
start
send 2
expect "vb recreated" 2
# Nothing of the old index is left in the tables: 10.6.0.1, the special
# keys and 10.6.0.2 of the new index only.
stale=$(bpftool -j map dump pinned "$PIN/itr_hot" | python3 -c '
import json, sys
old = int(sys.argv[1])
print(sum(1 for e in json.load(sys.stdin)
          if e.get("formatted", e)["key"]["ifindex"] == old))' "$old_index")
itr_check "keys of the old index in the per-CPU table" "$stale" 0
itr_collectd_stop

# --- another PinPath while the programs of this one stay attached --------------------

itr_write_conf "$ITR_TMP/collectd.conf" "  Interface \"vb\"
  PinPath \"\""
itr_collectd_start
itr_wait_for 10 "the ERROR about the kept program" \
  log_has "already has this plugin's XDP program"
grep -q "iptrafficctl --pin-path DIR remove" "$ITR_LOG" ||
  itr_mismatch "the ERROR does not say how to remove the kept program"
itr_collectd_stop

# --- iptrafficctl remove, collectd stopped -------------------------------------------

itr_has_xdp "$ITR_NS_B" vb || itr_mismatch "XDP not kept attached after the stop"
$CTL remove >/dev/null || itr_mismatch "iptrafficctl remove failed"
[ ! -e "$PIN" ] || itr_mismatch "iptrafficctl remove left $PIN"
itr_wait_for 10 "" eval '! itr_has_xdp "$ITR_NS_B" vb' ||
  itr_mismatch "XDP left on vb after iptrafficctl remove"
$CTL status 2>/dev/null && itr_mismatch "iptrafficctl status after remove succeeded"

# --- a PinPath that is not on a BPF filesystem -----------------------------------

itr_write_conf "$ITR_TMP/collectd.conf" "  Interface \"vb\"
  PinPath \"$ITR_TMP/not-bpffs\""
start
log_has "is not on a BPF filesystem" || itr_mismatch "no ERROR about PinPath"
grep -qF "$ITR_TMP/not-bpffs" "$ITR_LOG" || itr_mismatch "the ERROR does not name the path"
[ ! -e "$ITR_TMP/not-bpffs" ] || itr_mismatch "$ITR_TMP/not-bpffs was created"
send 3 # counted, from zero: no state
expect "without state" 3
itr_collectd_stop

itr_checks_done
itr_log "ok: counters continue across kill -9 and restarts; resize, reshape, schema, lock and bpffs checked"
