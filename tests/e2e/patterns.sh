#!/bin/bash
# End to end: interfaces found by /regex/ patterns, and IgnoreSelected.
#   - Interface "/^vp[0-9]+b$/" matches nothing when collectd starts: no
#     warning about it, collectd runs;
#   - veth pairs made one after another while collectd runs are attached
#     by themselves (one INFO line each), and each counts exactly its own
#     frames; an interface of another name is left alone;
#   - one deleted is detached, its counters reported once more, then its
#     series stop;
#   - IgnoreSelected true with "lo" and the pattern: every other interface
#     is counted, none of the listed ones;
#   - with Interval 10, a veth is attached from the kernel's notification
#     as it is made (the time is logged), and one that lives 2 s is
#     counted and reported after it went;
#   - 200 veth pairs made, used and deleted one after another (4 alive at a
#     time), each counted exactly under its own name.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_netns_add "$ITR_NS_A"
itr_netns_add "$ITR_NS_B"

PAIRS=12
ETH=14 IPV4=20 UDP=8

make_pair() { # name of the end in B; its peer in A is the same with a
  local b=$1 a=${1%b}a
  ip -n "$ITR_NS_B" link add "$b" type veth peer name "$a" netns "$ITR_NS_A"
  itr_quiet_dev "$ITR_NS_A" "$a"
  itr_quiet_dev "$ITR_NS_B" "$b"
  ip -n "$ITR_NS_A" link set "$a" up
  ip -n "$ITR_NS_B" link set "$b" up
}

mac_of() { # dev in B
  ip -n "$ITR_NS_B" -o link show dev "$1" |
    sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p'
}

send_to() { # dev in B, count: from 10.9.<n>.1, n the pair's number
  local b=$1 n=${1//[!0-9]/}
  ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$(mac_of "$b")" \
    "${b%b}a" "src=10.9.$n.1,dst=10.9.$n.2,payload=100,count=$2" \
    >>"$ITR_TMP/sent.out" || itr_fail "sendframes to $b failed"
}

counting() { # dev
  grep -q "interface $1 (ifindex [0-9]*): counting" "$ITR_LOG"
}

itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "/^vp[0-9]+b$/"'
itr_collectd_start
start=$(date +%s)
itr_wait_for 20 "collectd to read" itr_memory_epoch_at_least $((start + 2))
itr_collectd_running || itr_fail "collectd exited with a pattern that matches nothing"
[ -z "$(itr_log_errors)" ] || itr_fail "ERROR lines: $(itr_log_errors)"
if grep -q "does not exist" "$ITR_LOG"; then
  itr_fail "a warning about an interface that a pattern did not find"
fi

make_pair other0b # not matched
for n in $(seq 1 $PAIRS); do
  make_pair "vp${n}b"
done
for n in $(seq 1 $PAIRS); do
  itr_wait_for 20 "vp${n}b to be counted" counting "vp${n}b"
  send_to "vp${n}b" "$n"
done
send_to other0b 3
END=$(date +%s)
for n in $(seq 1 $PAIRS); do
  itr_csv_settle "iptraffic-vp${n}b" "$END"
  got=$(itr_csv_value "iptraffic-vp${n}b" "if_packets-10.9.$n.1" tx)
  [ "$got" = "$n" ] || itr_fail "vp${n}b: 10.9.$n.1 tx packets '$got', want $n"
  got=$(itr_csv_value "iptraffic-vp${n}b" "if_octets-10.9.$n.2" rx)
  [ "$got" = $((n * (ETH + IPV4 + UDP + 100))) ] ||
    itr_fail "vp${n}b: 10.9.$n.2 rx bytes '$got'"
done
[ ! -d "$(itr_csv_dir iptraffic-other0b)" ] || itr_fail "other0b is counted"
counting other0b && itr_fail "other0b is attached"

# One goes away: detached, reported, then no more.
ip -n "$ITR_NS_B" link del vp1b
itr_wait_for 20 "vp1b to go" grep -q "interface vp1b (ifindex [0-9]*) went away" "$ITR_LOG"
itr_wait_for 20 "more reads" itr_memory_epoch_at_least $(($(date +%s) + 2))
file=$(itr_csv_file iptraffic-vp1b if_packets-10.9.1.1)
lines=$(itr_csv_lines "$file")
itr_wait_for 20 "more reads" itr_memory_epoch_at_least $(($(date +%s) + 2))
[ "$(itr_csv_lines "$file")" = "$lines" ] || itr_fail "vp1b is still reported"
[ -z "$(itr_log_errors)" ] || itr_fail "ERROR lines: $(itr_log_errors)"
itr_collectd_stop

# IgnoreSelected: everything but lo and the pattern's interfaces.
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "lo" "/^vp[0-9]+b$/"
  IgnoreSelected true'
rm -rf "$ITR_CSV_DIR"
: >"$ITR_LOG"
itr_collectd_start
itr_wait_for 20 "other0b to be counted" counting other0b
send_to other0b 4
send_to vp2b 5
END=$(date +%s)
itr_csv_settle iptraffic-other0b "$END"
got=$(itr_csv_value iptraffic-other0b if_packets-10.9.0.1 tx)
[ "$got" = 4 ] || itr_fail "other0b with IgnoreSelected: '$got' packets, want 4"
for dev in lo vp2b vp3b; do
  counting "$dev" && itr_fail "$dev is attached with IgnoreSelected"
done
[ -z "$(itr_log_errors)" ] || itr_fail "ERROR lines: $(itr_log_errors)"
itr_collectd_stop
# Attached from the kernel's notification as it comes, not at the next
# read (Interval 10); a veth that lives 2 s is counted, and reported once
# more after it went.
ITR_INTERVAL=10
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "/^vq[0-9]+b$/"'
rm -rf "$ITR_CSV_DIR"
: >"$ITR_LOG"
itr_collectd_start
itr_wait_for 20 "collectd to start reading" grep -q "Initialization complete" "$ITR_LOG"
t0=$(date +%s%N)
make_pair vq1b
until itr_has_xdp "$ITR_NS_B" vq1b; do
  [ $((($(date +%s%N) - t0) / 1000000)) -lt 5000 ] ||
    itr_fail "vq1b not attached within 5 s of being made (Interval 10)"
  sleep 0.01
done
ms=$((($(date +%s%N) - t0) / 1000000))
itr_log "vq1b attached ${ms} ms after it was made (Interval 10)"
send_to vq1b 6
sleep 1.5
ip -n "$ITR_NS_B" link del vq1b
lived=$((($(date +%s%N) - t0) / 1000000))
reported() {
  [ "$(itr_csv_value iptraffic-vq1b if_packets-10.9.1.1 tx)" = 6 ]
}
itr_wait_for 25 "the counts of vq1b, which lived $lived ms" reported
[ -z "$(itr_log_errors)" ] || itr_fail "ERROR lines: $(itr_log_errors)"
itr_collectd_stop

# Churn: CHURN veth pairs made, used and deleted one after another, a few
# alive at a time, each counted exactly under its own name.
CHURN=${ITR_CHURN:-200}
ITR_INTERVAL=1
itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "/^vc[0-9]+b$/"'
rm -rf "$ITR_CSV_DIR"
: >"$ITR_LOG"
itr_collectd_start
itr_wait_for 20 "collectd to start reading" grep -q "Initialization complete" "$ITR_LOG"
t0=$(date +%s)
for n in $(seq 1 "$CHURN"); do
  make_pair "vc${n}b"
  itr_wait_for 5 "vc${n}b to be attached" itr_has_xdp "$ITR_NS_B" "vc${n}b"
  send_to "vc${n}b" $((n % 7 + 1))
  old=$((n - 4))
  [ "$old" -lt 1 ] || ip -n "$ITR_NS_B" link del "vc${old}b"
done
for n in $(seq $((CHURN > 3 ? CHURN - 3 : 1)) "$CHURN"); do
  ip -n "$ITR_NS_B" link del "vc${n}b"
done
churn_s=$(($(date +%s) - t0))
itr_wait_for 20 "more reads" itr_memory_epoch_at_least $(($(date +%s) + 2))
wrong=0
for n in $(seq 1 "$CHURN"); do
  got=$(itr_csv_value "iptraffic-vc${n}b" "if_packets-10.9.$n.1" tx)
  [ "$got" = $((n % 7 + 1)) ] || {
    wrong=$((wrong + 1))
    itr_log "vc${n}b: 10.9.$n.1 tx packets '$got', want $((n % 7 + 1))"
  }
done
[ "$wrong" -eq 0 ] || itr_fail "$wrong of $CHURN short-lived interfaces not counted exactly"
[ -z "$(itr_log_errors)" ] || itr_fail "ERROR lines: $(itr_log_errors)"
itr_collectd_stop
itr_log "ok: $PAIRS interfaces found by a pattern, each exact; IgnoreSelected; a veth attached ${ms} ms after it came and counted after it went; $CHURN veths made, used and deleted in ${churn_s} s, each exact"
