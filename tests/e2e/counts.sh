#!/bin/bash
# End to end: exact per-address counts through real collectd.
#
# Namespace A sends a known set of crafted frames over veth va; collectd in
# namespace B counts them with XDP on vb. The expected bytes and packets are
# computed here from the header sizes (Ethernet 14, VLAN tag 4, IPv4 20 +
# options, IPv6 40, destination options 8 each, UDP 8), independently of the
# frame builder, and checked exactly in the csv files and on the
# write_prometheus page:
#   - per address and direction (a frame from A to B is A's tx, B's rx),
#   - the non-ip instance (ARP, tagged ARP, LLDP: rx and tx),
#   - the malformed instance (truncated IPv4 and IPv6 headers: rx and tx),
#   - untracked stays 0, and no other instance appears,
#   - sum(tx) == sum(rx) == every byte sent, over all instances,
#   - the health gauges (addresses, capacity),
#   - vb's own counters saw exactly these frames and vb sent none,
#   - after SIGTERM collectd exits cleanly and no XDP program is left on vb.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_sendframes
itr_veth_pair

MAX_ENTRIES=1024
itr_write_conf "$ITR_TMP/collectd.conf" "  Interface \"vb\"
  MaxEntries $MAX_ENTRIES"

# --- the traffic -------------------------------------------------------------

ETH=14 VLAN=4 IPV4=20 IPV6=40 EXT=8 UDP=8

# One frame kind a line:
#   src dst count payload vlans ipv4-options ipv6-ext-headers extra-spec
# src "-" marks a raw frame (ethertype and zero bytes, see extra-spec) that
# counts under the special instance named by dst, as both rx and tx.
# Addresses are written as the test sends them; CANON maps them to the text
# the plugin must report.
FRAMES='
10.0.0.1 10.0.0.2 5 100 0 0 0 -
10.0.0.1 10.0.0.3 3 0 0 0 0 -
10.0.0.4 10.0.0.1 2 1000 0 8 0 -
10.0.0.2 10.0.0.1 4 50 1 0 0 vlan=100
10.0.0.5 10.0.0.6 6 10 2 0 0 vlan=0x88a8:200,vlan=0x8100:300
10.0.0.7 10.0.0.1 1 30 0 0 0 frag=100
10.0.0.7 10.0.0.1 2 1400 0 0 0 mf=1
fd00:77::1 fd00:77::2 3 64 0 0 0 -
fd00:77::2 fd00:77::1 2 20 0 0 1 -
2001:0db8:0000::000a fd00:77::1 1 333 1 0 2 vlan=7
- non-ip 7 28 0 0 0 ethertype=0x0806
- non-ip 2 28 1 0 0 ethertype=0x0806,vlan=5
- non-ip 1 50 0 0 0 ethertype=0x88cc
- malformed 2 10 0 0 0 ethertype=0x0800
- malformed 1 30 1 0 0 ethertype=0x86dd,vlan=9
'
declare -A CANON=([2001:0db8:0000::000a]=2001:db8::a)

declare -A RXB RXP TXB TXP
specs=() lens=()
total_bytes=0 total_packets=0
while read -r src dst count payload vlans opts ext extra; do
  [ -n "$src" ] || continue
  len=$((ETH + VLAN * vlans + payload))
  if [ "$src" = - ]; then
    spec="payload=$payload,count=$count,$extra"
    s=$dst
  else
    case $src in
    *:*) len=$((len + IPV6 + EXT * ext + UDP)) ;;
    *) len=$((len + IPV4 + opts + UDP)) ;;
    esac
    spec="src=$src,dst=$dst,payload=$payload,count=$count"
    [ "$opts" -eq 0 ] || spec="$spec,ipopts=$opts"
    [ "$ext" -eq 0 ] || spec="$spec,ext=$ext"
    [ "$extra" = - ] || spec="$spec,$extra"
    s=${CANON[$src]:-$src}
    dst=${CANON[$dst]:-$dst}
  fi
  TXB[$s]=$((${TXB[$s]:-0} + len * count))
  TXP[$s]=$((${TXP[$s]:-0} + count))
  RXB[$dst]=$((${RXB[$dst]:-0} + len * count))
  RXP[$dst]=$((${RXP[$dst]:-0} + count))
  total_bytes=$((total_bytes + len * count))
  total_packets=$((total_packets + count))
  specs+=("$spec")
  lens+=("$len")
done <<<"$FRAMES"

addresses=()
for a in "${!RXB[@]}" "${!TXB[@]}"; do
  case $a in non-ip | malformed) ;; *) addresses+=("$a") ;; esac
done
mapfile -t addresses < <(printf '%s\n' "${addresses[@]}" | sort -u)

# --- run -----------------------------------------------------------------------

itr_collectd_start
itr_wait_for 10 "XDP on vb" itr_has_xdp "$ITR_NS_B" vb
itr_collectd_running || itr_fail "collectd exited at start"

t0=$(date +%s%N)
ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" \
  --src-mac 02:00:00:00:00:01 va "${specs[@]}" >"$ITR_TMP/sent.out" ||
  itr_fail "sendframes failed: $(cat "$ITR_TMP/sent.out")"
sent_at=$(date +%s)

# The builder must have produced the lengths computed above.
mapfile -t sent <"$ITR_TMP/sent.out"
[ "${#sent[@]}" -eq "${#specs[@]}" ] ||
  itr_fail "sendframes reported ${#sent[@]} specs, expected ${#specs[@]}"
for i in "${!specs[@]}"; do
  want_count=$(sed -n 's/.*count=\([0-9]*\).*/\1/p' <<<"${specs[i]}")
  [ "${sent[i]}" = "len=${lens[i]} count=$want_count spec=${specs[i]}" ] ||
    itr_fail "sendframes: '${sent[i]}', expected len=${lens[i]}" \
      "count=$want_count for ${specs[i]}"
done

itr_csv_settle iptraffic-vb "$sent_at"
settled=$(date +%s%N)


# --- the kernel's view ------------------------------------------------------------

# vb received exactly the frames sent (its own counter, independent of the
# plugin), and nothing answered them: vb sent nothing, va received nothing.
itr_check "vb rx_packets" "$(itr_dev_stat "$ITR_NS_B" vb rx_packets)" "$total_packets"
itr_check "vb tx_packets" "$(itr_dev_stat "$ITR_NS_B" vb tx_packets)" 0
itr_check "va rx_packets" "$(itr_dev_stat "$ITR_NS_A" va rx_packets)" 0

# --- csv ---------------------------------------------------------------------

PI=iptraffic-vb
for a in "${addresses[@]}" non-ip malformed; do
  itr_check "csv if_octets-$a rx" "$(itr_csv_value $PI "if_octets-$a" rx)" "${RXB[$a]:-0}"
  itr_check "csv if_octets-$a tx" "$(itr_csv_value $PI "if_octets-$a" tx)" "${TXB[$a]:-0}"
  itr_check "csv if_packets-$a rx" "$(itr_csv_value $PI "if_packets-$a" rx)" "${RXP[$a]:-0}"
  itr_check "csv if_packets-$a tx" "$(itr_csv_value $PI "if_packets-$a" tx)" "${TXP[$a]:-0}"
done
for t in if_octets if_packets; do
  itr_check "csv $t-untracked rx" "$(itr_csv_value $PI "$t-untracked" rx)" 0
  itr_check "csv $t-untracked tx" "$(itr_csv_value $PI "$t-untracked" tx)" 0
done

# Exactly these instances: nothing else reached vb, nothing was misfiled.
want_series=$(printf 'if_octets-%s\n' "${addresses[@]}" non-ip malformed untracked | sort)
itr_check "csv if_octets instances" "$(itr_csv_series $PI if_octets | tr '\n' ' ')" \
  "$(echo "$want_series" | tr '\n' ' ')"
itr_check "csv if_packets instances" "$(itr_csv_series $PI if_packets | tr '\n' ' ')" \
  "$(echo "$want_series" | sed 's/^if_octets/if_packets/' | tr '\n' ' ')"

# Totals reconcile: sum(rx) == sum(tx) == everything sent.
for t in if_octets if_packets; do
  sum_rx=0 sum_tx=0
  while read -r series; do
    rx=$(itr_csv_value $PI "$series" rx)
    tx=$(itr_csv_value $PI "$series" tx)
    sum_rx=$((sum_rx + ${rx:-0}))
    sum_tx=$((sum_tx + ${tx:-0}))
  done < <(itr_csv_series $PI $t)
  want=$total_bytes
  [ $t = if_packets ] && want=$total_packets
  itr_check "csv sum($t rx)" "$sum_rx" "$want"
  itr_check "csv sum($t tx)" "$sum_tx" "$want"
done

itr_check_num "csv count-addresses" "$(itr_csv_value $PI count-addresses value)" \
  "${#addresses[@]}"
itr_check_num "csv count-capacity" "$(itr_csv_value $PI count-capacity value)" \
  $((MAX_ENTRIES + MAX_ENTRIES / 4))

# --- write_prometheus ----------------------------------------------------------

itr_scrape "$ITR_TMP/metrics.txt" || itr_fail "scraping write_prometheus failed"
prom() { # metric instance
  itr_prom_value "$ITR_TMP/metrics.txt" \
    "collectd_iptraffic_$1$(itr_prom_labels iptraffic vb "$2")"
}
for a in "${addresses[@]}" non-ip malformed; do
  itr_check "prometheus if_octets_rx $a" "$(prom if_octets_rx_total "$a")" "${RXB[$a]:-0}"
  itr_check "prometheus if_octets_tx $a" "$(prom if_octets_tx_total "$a")" "${TXB[$a]:-0}"
  itr_check "prometheus if_packets_rx $a" "$(prom if_packets_rx_total "$a")" "${RXP[$a]:-0}"
  itr_check "prometheus if_packets_tx $a" "$(prom if_packets_tx_total "$a")" "${TXP[$a]:-0}"
done
itr_check "prometheus if_octets_rx untracked" "$(prom if_octets_rx_total untracked)" 0
itr_check "prometheus if_octets_tx untracked" "$(prom if_octets_tx_total untracked)" 0
for d in rx tx; do
  for t in if_octets if_packets; do
    got=$(awk -v m="collectd_iptraffic_${t}_${d}_total{" '
      index($1, m) == 1 && index($1, "iptraffic=\"vb\"") { n++; s += $2 }
      END { printf "%d %d\n", n, s }' "$ITR_TMP/metrics.txt")
    want=$total_bytes
    [ $t = if_packets ] && want=$total_packets
    itr_check "prometheus series and sum of ${t}_$d" "$got" \
      "$((${#addresses[@]} + 3)) $want"
  done
done
itr_check_num "prometheus count addresses" "$(prom count addresses)" "${#addresses[@]}"
itr_check_num "prometheus count capacity" "$(prom count capacity)" \
  $((MAX_ENTRIES + MAX_ENTRIES / 4))

# --- shutdown --------------------------------------------------------------------

# The XDP itr_check below must be able to see a program: one is there now.
itr_has_xdp "$ITR_NS_B" vb || itr_fail "no XDP program seen on vb while running"
itr_collectd_stop
itr_check "collectd exit status after SIGTERM" "$ITR_COLLECTD_STATUS" 0
if itr_has_xdp "$ITR_NS_B" vb; then
  itr_check "XDP left on vb after shutdown" \
    "$(ip -n "$ITR_NS_B" -d link show dev vb | tr -s '\n ' ' ')" "no xdp"
fi
errors=$(itr_log_errors)
[ -z "$errors" ] || itr_check "ERROR lines in the log" "$errors" ""

itr_checks_done
itr_log "ok: ${#addresses[@]} addresses, $total_packets frames," \
  "$total_bytes bytes; counts settled $(((settled - t0) / 1000000)) ms" \
  "after sending"
