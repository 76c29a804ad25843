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
#   - a larger MaxEntries carries the entries over, under steady traffic
#     through the restart without a frame lost, those of the per-CPU
#     table of the node's own addresses too (vb's 10.6.0.2); a smaller one
#     says with one WARNING how many did not fit; a <Network> block added
#     starts fresh tables; a record of a schema version this version does
#     not migrate, or tables unlike their record, are dropped with one
#     WARNING; the tables of schema 2 (version 0.1.0's layout) are migrated
#     when collectd starts, and by iptrafficctl migrate; a PinPath that is not on a BPF filesystem is one
#     ERROR naming it, and the plugin counts on without state.
#   - ingress counted with tc beside another tool's XDP program is taken
#     over across kill -9 like XDP, and gives way to XDP once the hook is
#     free, without counting a frame twice;
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
  # Entries are carried over after the attaching, once the old programs'
  # last runs ended.
  itr_collectd_initialized
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

# --- a larger MaxEntries carries the entries over, under steady traffic -----------

# Frames all through the stop and the start with new tables: the programs
# switch to the new tables, then the old entries are added to them; not a
# frame lost or counted twice.
start
touch "$ITR_TMP/steady"
ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" \
  --while "$ITR_TMP/steady" va "src=10.6.0.1,dst=10.6.0.2,payload=60,count=100" \
  >"$ITR_TMP/steady.out" &
steady_pid=$!
sleep 0.5
itr_collectd_stop
conf "  MaxEntries 4096"
start
sleep 0.5
rm -f "$ITR_TMP/steady"
wait "$steady_pid" || itr_fail "sendframes failed"
steady=$(sed -n 's/^len=[0-9]* count=\([0-9]*\) .*/\1/p' "$ITR_TMP/steady.out")
[ "$steady" -gt 1000 ] || itr_fail "only $steady frames of steady traffic"
itr_log "$steady frames of steady traffic through the restart"
log_has "carried all " || itr_mismatch "no INFO line about carrying entries over"
send 1
expect "after MaxEntries 4096 under steady traffic ($steady frames)" $((30 + steady))
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

set_schema() { # version: the record's schema_version (bytes 4..7)
  local rec
  rec=$(bpftool -j map lookup pinned "$PIN/meta" key 0 0 0 0 | python3 -c '
import json, sys
v = [int(x, 16) for x in json.load(sys.stdin)["value"]]
v[4:8] = [int(sys.argv[1]), 0, 0, 0]
print(" ".join(str(x) for x in v))' "$1")
  # shellcheck disable=SC2086
  bpftool map update pinned "$PIN/meta" key 0 0 0 0 value $rec ||
    itr_fail "rewriting the record failed"
}

# A later schema this version cannot know.
set_schema 9
start
log_has "holds tables of map schema 9" || itr_mismatch "no WARNING about schema 9"
itr_check "WARNING lines about the schema" \
  "$(grep -c '\[warning\] iptraffic plugin: PinPath.*schema 9' "$ITR_LOG")" 1
send 2
expect "after the schema WARNING" 2
itr_collectd_stop
# A record of schema 2 over tables that are not laid out as schema 2.
set_schema 2
start
log_has "cannot be read as their record says (map schema 2)" ||
  itr_mismatch "no WARNING about tables unlike their record"
itr_check "WARNING lines about the unreadable tables" \
  "$(grep -c '\[warning\] iptraffic plugin: the tables pinned' "$ITR_LOG")" 1
send 2
expect "after the unreadable tables" 2

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
itr_wait_for 10 "the WARNING about the kept program" \
  log_has "already has this plugin's XDP program"
grep -q "iptrafficctl --pin-path DIR remove" "$ITR_LOG" ||
  itr_mismatch "the WARNING does not say how to remove the kept program"
log_has "counting ingress with tc" || log_has "counting ingress with tcx" ||
  itr_mismatch "ingress is not counted with tc beside the kept program"
itr_collectd_stop

# --- iptrafficctl remove, collectd stopped -------------------------------------------

itr_has_xdp "$ITR_NS_B" vb || itr_mismatch "XDP not kept attached after the stop"
$CTL remove >/dev/null || itr_mismatch "iptrafficctl remove failed"
[ ! -e "$PIN" ] || itr_mismatch "iptrafficctl remove left $PIN"
itr_wait_for 10 "" eval '! itr_has_xdp "$ITR_NS_B" vb' ||
  itr_mismatch "XDP left on vb after iptrafficctl remove"
$CTL status 2>/dev/null && itr_mismatch "iptrafficctl status after remove succeeded"

# --- ingress with tc beside another XDP program, across restarts -------------------

# The tc ingress link is pinned and updated in place like the XDP one; once
# the XDP hook is free again the next start takes it, and the tc link goes:
# nothing counted twice.
PIN3=/sys/fs/bpf/itr-tcin-$$
ip -n "$ITR_NS_B" link set dev vb xdp obj "$top_builddir/tests/e2e/xdp_pass.bpf.o" sec xdp ||
  itr_fail "attaching the other XDP program failed"
itr_write_conf "$ITR_TMP/collectd.conf" "  Interface \"vb\"
  PinPath \"$PIN3\""
: >"$ITR_LOG"
itr_collectd_start
itr_wait_for 10 "the plugin to count ingress with tc" log_has "counting ingress with tc"
[ -e "$PIN3/links/vb:tc-in" ] || itr_mismatch "the tc ingress link is not pinned"
send 3
expect "tc ingress" 3
kill -KILL "$ITR_COLLECTD_PID"
itr_collectd_wait_exit 10 || itr_fail "collectd did not die"
send 2 # counted while collectd is down
: >"$ITR_LOG"
itr_collectd_start
itr_wait_for 10 "the plugin to count ingress with tc" log_has "counting ingress with tc"
grep -q "ingress with tc[^,]*(kept attached since the last start)" "$ITR_LOG" ||
  itr_mismatch "the tc ingress link was not taken over: $(grep counting "$ITR_LOG")"
send 1
expect "tc ingress after kill -9" 6
itr_collectd_stop
ip -n "$ITR_NS_B" link set dev vb xdp off
start
[ ! -e "$PIN3/links/vb:tc-in" ] || itr_mismatch "the tc ingress link is still pinned"
send 1
expect "XDP again, the tc ingress link gone" 7
itr_collectd_stop
nsenter --net="/run/netns/$ITR_NS_B" "$top_builddir/iptrafficctl" --pin-path "$PIN3" \
  remove >/dev/null || itr_mismatch "iptrafficctl remove of $PIN3 failed"

# --- tables of map schema 2: migrated at start, and by iptrafficctl ------------------

PIN2=/sys/fs/bpf/itr-migrate-$$
CTL2="nsenter --net=/run/netns/$ITR_NS_B $top_builddir/iptrafficctl --pin-path $PIN2"
vb_index=$(ip -n "$ITR_NS_B" -o link show dev vb | cut -d: -f1)
old_state() { # what version 0.1.0's layout held, spread over the CPUs
  mkdir -m 0700 "$PIN2" || itr_fail "mkdir $PIN2"
  "$top_builddir/tests/e2e/oldstate" --schema 2 --pin-path "$PIN2" \
    --max-entries 65536 "$vb_index,10.6.0.1,0,0,4000,40" \
    "$vb_index,10.6.0.2,4000,40,0,0" "$vb_index,nonip,120,2,120,2" ||
    itr_fail "writing a state of schema 2 failed"
}
old_state
status=$($CTL2 status) || itr_fail "iptrafficctl status of schema 2 failed"
case $status in
*"map schema:      2 (this version reads 3"*"entries:         3 "*) ;;
*) itr_mismatch "iptrafficctl status of schema 2: $status" ;;
esac
itr_check "iptrafficctl dump of schema 2: 10.6.0.1 tx packets" \
  "$($CTL2 dump | awk '$1 == "vb" && $2 == "10.6.0.1" { print $6 }')" 40
itr_write_conf "$ITR_TMP/collectd.conf" "  Interface \"vb\"
  PinPath \"$PIN2\""
start
log_has "from map schema 2 to 3: carried all 3 entries over" ||
  itr_mismatch "no INFO line about the migration: $(grep -i schema "$ITR_LOG")"
[ ! -e "$PIN2/itr_counters" ] || itr_mismatch "the table of schema 2 is still pinned"
send 5
expect "after migrating at start" 45
itr_check "after migrating at start: non-ip rx packets" \
  "$(itr_csv_value iptraffic-vb if_packets-non-ip rx)" 2
itr_collectd_stop
$CTL2 remove >/dev/null || itr_mismatch "iptrafficctl remove of $PIN2 failed"

old_state
out=$($CTL2 migrate) || itr_mismatch "iptrafficctl migrate failed: $out"
case $out in
*"from map schema 2 to 3: 3 entries carried over"*) ;;
*) itr_mismatch "iptrafficctl migrate: $out" ;;
esac
case $($CTL2 status) in
*"map schema:      3 (this version's)"*"entries:         3 "*) ;;
*) itr_mismatch "iptrafficctl status after migrate: $($CTL2 status)" ;;
esac
case $($CTL2 migrate) in
*"nothing to migrate"*) ;;
*) itr_mismatch "a second iptrafficctl migrate did something" ;;
esac
start
log_has "continuing the 3 entries pinned under \"$PIN2\"" ||
  itr_mismatch "collectd did not continue the migrated tables: $(grep iptraffic "$ITR_LOG" | tail -5)"
send 5
expect "after iptrafficctl migrate" 45
itr_collectd_stop
$CTL2 remove >/dev/null || itr_mismatch "iptrafficctl remove of $PIN2 failed"

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
