#!/bin/bash
# End to end: the Grafana dashboard's queries against a real Prometheus.
#
# collectd with the plugin counts on vb (namespace B) and exports through
# write_prometheus; a real Prometheus server (package prometheus) in the
# same namespace scrapes it every second. Namespace A sends two identical
# bursts of crafted frames: a few heavy talkers (IPv4 and IPv6), enough
# further sources to fill the address table (MaxEntries 16), a conversation
# that no longer fits (untracked), ARP (non-ip) and truncated IPv4
# (malformed). Then:
#   - Prometheus holds the exact counters (bytes, packets, gauges) under the
#     documented metric names and labels,
#   - contrib/grafana/iptraffic.json is a valid dashboard, and every query
#     in it (panels and variables, with Grafana's variables filled in)
#     returns data through /api/v1/query,
#   - the top-talker panels rank the heavy talkers first, the per-interface
#     panels show vb, the health panels show non-ip, malformed and
#     untracked, the table fill is 100% and value lists are dispatched.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_prometheus
itr_require_sendframes
itr_veth_pair

DASHBOARD=$top_srcdir/contrib/grafana/iptraffic.json
[ -r "$DASHBOARD" ] || itr_fail "$DASHBOARD not found"
# Checked before anything runs: a broken dashboard fails fast.
itr_dashboard_queries "$DASHBOARD" >"$ITR_TMP/queries.tsv" ||
  itr_fail "$DASHBOARD is not a valid dashboard"

MAX_ENTRIES=16 MAX_ENTRIES_IPV6=16
itr_write_conf "$ITR_TMP/collectd.conf" "  Interface \"vb\"
  MaxEntries $MAX_ENTRIES
  MaxEntriesIPv6 $MAX_ENTRIES_IPV6"

# --- the traffic -------------------------------------------------------------

# Frame lengths: Ethernet 14 + IPv4 20 / IPv6 40 + UDP 8 + payload.
V4=$((14 + 20 + 8)) V6=$((14 + 40 + 8))
SPECS=(
  "src=10.0.0.1,dst=10.0.0.2,payload=1000,count=20"
  "src=10.0.0.2,dst=10.0.0.1,payload=100,count=5"
  "src=fd00:77::1,dst=fd00:77::2,payload=500,count=10"
)
# 2 IPv4 addresses so far; 14 more sources fill the IPv4 table's 16 entries
# (the IPv6 table holds the 2 IPv6 ones).
for i in $(seq 1 14); do
  SPECS+=("src=10.9.0.$i,dst=10.0.0.1,payload=10,count=1")
done
SPECS+=(
  "src=10.8.0.1,dst=10.8.0.2,payload=10,count=3"   # untracked rx and tx
  "payload=28,count=4,ethertype=0x0806"            # non-ip
  "payload=10,count=2,ethertype=0x0800"            # malformed
)

send_burst() {
  ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" \
    --src-mac 02:00:00:00:00:01 va "${SPECS[@]}" >>"$ITR_TMP/sent.out" ||
    itr_fail "sendframes failed: $(cat "$ITR_TMP/sent.out")"
}

# itr_prometheus_vector output for QUERY reduced to the value of the
# sample whose labels contain MATCH (a name=value), or nothing.
prom_value() { # QUERY MATCH
  itr_prometheus_vector "$1" | awk -F'\t' -v m="$2" \
    '{ n = split($1, l, ","); for (i = 1; i <= n; i++) if (l[i] == m) { print $2; exit } }'
}

prom_value_is() { # QUERY MATCH VALUE
  [ "$(prom_value "$1" "$2")" = "$3" ]
}

SEL="iptraffic=\"vb\",instance=\"$ITR_HOST\""
RX_PACKETS_102="collectd_iptraffic_if_packets_rx_total{$SEL,type=\"10.0.0.2\"}"
RX_PACKETS_MALFORMED="collectd_iptraffic_if_packets_rx_total{$SEL,type=\"malformed\"}"

# --- run -----------------------------------------------------------------------

itr_collectd_start
itr_wait_for 10 "XDP on vb" itr_has_xdp "$ITR_NS_B" vb
itr_wait_for 10 "write_prometheus to answer" itr_scrape_ok "$ITR_TMP/metrics.txt"
itr_collectd_running || itr_fail "collectd exited at start"
itr_prometheus_start

# First burst; wait until Prometheus has scraped its counters, so that the
# second burst shows up as a rate.
send_burst
itr_wait_for 30 "Prometheus to scrape the first burst" \
  prom_value_is "$RX_PACKETS_102" type=10.0.0.2 20
send_burst
itr_wait_for 30 "Prometheus to scrape the second burst" \
  prom_value_is "$RX_PACKETS_102" type=10.0.0.2 40
# The malformed frames are the last ones sent.
itr_wait_for 30 "Prometheus to scrape the end of the second burst" \
  prom_value_is "$RX_PACKETS_MALFORMED" type=malformed 4


# --- exact values in Prometheus ----------------------------------------------------

series() { # metric type
  echo "collectd_iptraffic_$1{$SEL,type=\"$2\"}"
}
itr_check "10.0.0.2 rx bytes" \
  "$(prom_value "$(series if_octets_rx_total 10.0.0.2)" type=10.0.0.2)" \
  $((2 * 20 * (V4 + 1000)))
itr_check "10.0.0.1 tx bytes" \
  "$(prom_value "$(series if_octets_tx_total 10.0.0.1)" type=10.0.0.1)" \
  $((2 * 20 * (V4 + 1000)))
itr_check "fd00:77::2 rx packets" \
  "$(prom_value "$(series if_packets_rx_total fd00:77::2)" type=fd00:77::2)" 20
itr_check "fd00:77::1 tx bytes" \
  "$(prom_value "$(series if_octets_tx_total fd00:77::1)" type=fd00:77::1)" \
  $((2 * 10 * (V6 + 500)))
itr_check "untracked rx packets" \
  "$(prom_value "$(series if_packets_rx_total untracked)" type=untracked)" 6
itr_check "untracked tx packets" \
  "$(prom_value "$(series if_packets_tx_total untracked)" type=untracked)" 6
itr_check "non-ip rx packets" \
  "$(prom_value "$(series if_packets_rx_total non-ip)" type=non-ip)" 8
itr_check "malformed tx packets" \
  "$(prom_value "$(series if_packets_tx_total malformed)" type=malformed)" 4
itr_check_num "count addresses" \
  "$(prom_value "$(series count addresses)" type=addresses)" $((MAX_ENTRIES + 2))
itr_check_num "count capacity" \
  "$(prom_value "$(series count capacity)" type=capacity)" \
  $((MAX_ENTRIES + MAX_ENTRIES_IPV6))

# --- every dashboard query returns data --------------------------------------------

# Highest sample of a result file as "labels<tab>value".
top_sample() {
  sort -t "$(printf '\t')" -k2,2 -g -r "$1" | head -n 1
}

n=0
while IFS=$'\t' read -r where query; do
  n=$((n + 1))
  out=$ITR_TMP/query-$n.out
  itr_prometheus_vector "$query" >"$out"
  if [ ! -s "$out" ]; then
    itr_mismatch "EMPTY: $where: $query"
    continue
  fi
  itr_log "$where: $(wc -l <"$out") series"
  case $where in
  "variable host")
    itr_check "$where" "$(cut -f1 "$out")" "instance=$ITR_HOST" ;;
  "variable interface")
    itr_check "$where" "$(cut -f1 "$out")" "iptraffic=vb" ;;
  "panel Top talkers: bytes/s received"*)
    itr_check "$where: first" "$(top_sample "$out" | cut -f1)" "type=10.0.0.2"
    itr_check_num "$where: series" "$(wc -l <"$out")" 10 ;;
  "panel Top talkers: bytes/s sent"*)
    itr_check "$where: first" "$(top_sample "$out" | cut -f1)" "type=10.0.0.1" ;;
  "panel Bytes/s per interface/"* | "panel Packets/s per interface/"*)
    itr_check "$where" "$(cut -f1 "$out")" "instance=$ITR_HOST,iptraffic=vb" ;;
  "panel Frames not counted under an address/"*)
    itr_check "$where" "$(cut -f1 "$out" | sed 's/.*,type=//' | sort | tr '\n' ' ')" \
      "malformed non-ip untracked " ;;
  "panel Address table fill/"*)
    # The IPv4 table is full; the IPv6 one holds 2 of its 16 entries.
    itr_check_num "$where" "$(cut -f2 "$out")" \
      "$(awk -v a=$((MAX_ENTRIES + 2)) -v c=$((MAX_ENTRIES + MAX_ENTRIES_IPV6)) \
        'BEGIN { print a / c }')" ;;
  esac
  # Rates of the traffic just sent are positive.
  case $where in
  *"Top talkers"* | *"per interface"* | *"not counted"* | *"Value lists"*)
    if ! awk -F'\t' '$2 + 0 <= 0 { exit 1 }' "$out"; then
      # Only the top talker lists may hold a quiet address; the first is not.
      case $where in
      *"Top talkers"*) awk -F'\t' '$2 + 0 > 0 { ok = 1 } END { exit !ok }' "$out" ||
        itr_mismatch "ZERO: $where" ;;
      *) itr_mismatch "ZERO: $where: $(tr '\n' ' ' <"$out")" ;;
      esac
    fi
    ;;
  esac
done <"$ITR_TMP/queries.tsv"
[ "$n" -ge 10 ] || itr_fail "only $n queries found in $DASHBOARD"

itr_collectd_stop
[ "$ITR_COLLECTD_STATUS" -eq 0 ] ||
  itr_fail "collectd exited with status $ITR_COLLECTD_STATUS"
errors=$(itr_log_errors)
[ -z "$errors" ] || itr_fail "errors in the collectd log: $errors"

itr_checks_done
itr_log "ok: $n dashboard queries returned data"
