#!/bin/bash
# End to end: a known two-way exchange counted exactly on the receiving
# node, ingress (XDP) and egress (tc) together.
#
# Namespace A (10.77.0.1) and namespace B (10.77.0.2), with collectd and
# the plugin on B's vb, exchange:
#   - PINGS ICMP echo requests of PING_SIZE bytes of data from A, and B's
#     echo replies;
#   - a TCP connection over which B sends TCP_BYTES bytes to A: B's kernel
#     hands large GSO packets to vb, which must count as their segments.
# Checked exactly:
#   - pings: 10.77.0.1 tx and 10.77.0.2 rx = the requests, 10.77.0.1 rx and
#     10.77.0.2 tx = the replies (Ethernet 14 + IPv4 20 + ICMP 8 + data);
#   - packets: 10.77.0.2 tx = B's ICMP + TCP segments out (and any
#     retransmitted), rx = B's ICMP + TCP segments in, from B's own SNMP
#     counters (TcpOutSegs counts GSO segments one by one);
#   - bytes of the TCP part: every segment carries 14 + 20 + 32 bytes of
#     headers (TCP with timestamps, SACK off), the SYN/SYN-ACK 8 more (MSS,
#     window scale), plus the payload;
#   - sum(tx) == sum(rx) over all instances; non-ip, malformed, untracked 0;
#   - 10.77.0.2 is B's own address: the plugin counted it in its per-CPU
#     hot table, and nothing under it in the shared IPv4 table.

. "$(dirname "$0")/lib.sh"

itr_setup
itr_require_cmd python3 nstat
itr_veth_pair
itr_veth_ipv4 1500

PINGS=25 PING_SIZE=200 TCP_BYTES=1000000
ETH=14 IPV4=20 ICMP=8 TCP_HDR=32 SYN_OPTS=8
# No SACK: on a busy machine B may retransmit, and A's ACKs would then
# carry SACK blocks (D-SACK for spurious retransmissions) of their own
# size. Without it every segment's header is 32 bytes, and the SYNs' 20
# bytes of options keep their layout (NOP, NOP for SACK-permitted).
for ns in "$ITR_NS_A" "$ITR_NS_B"; do
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_sack=0 ||
    itr_fail "cannot turn SACK off in $ns"
done

itr_write_conf "$ITR_TMP/collectd.conf" '  Interface "vb"'
itr_collectd_start
itr_wait_for 20 "the plugin to attach" grep -q "counting ingress" "$ITR_LOG"
grep -q "egress with tc" "$ITR_LOG" || itr_fail "egress not attached: $(grep iptraffic "$ITR_LOG")"

read -r icmp_out0 icmp_in0 tcp_out0 tcp_in0 retrans0 < <(itr_nstat "$ITR_NS_B" \
  IcmpOutMsgs IcmpInMsgs TcpOutSegs TcpInSegs TcpRetransSegs | paste -sd' ')

ip netns exec "$ITR_NS_A" ping -q -n -c "$PINGS" -i 0.01 -s "$PING_SIZE" \
  -W 2 10.77.0.2 >"$ITR_TMP/ping.out" ||
  itr_fail "ping failed: $(cat "$ITR_TMP/ping.out")"

# B serves TCP_BYTES, then closes; A reads to the end.
itr_spawn ip netns exec "$ITR_NS_B" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.2", 5001)); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
c.sendall(b"x" * int(sys.argv[1]))
c.shutdown(socket.SHUT_WR)
while c.recv(65536):
    pass
c.close()
' "$TCP_BYTES" >"$ITR_TMP/server.out" 2>&1
server=$ITR_LAST_PID
itr_wait_for 10 "the TCP server" grep -q listening "$ITR_TMP/server.out"
got=$(ip netns exec "$ITR_NS_A" python3 -c '
import socket
s = socket.create_connection(("10.77.0.2", 5001))
n = 0
while True:
    b = s.recv(65536)
    if not b:
        break
    n += len(b)
s.close()
print(n)
')
wait "$server" || itr_fail "TCP server failed: $(cat "$ITR_TMP/server.out")"
[ "$got" = "$TCP_BYTES" ] || itr_fail "A received $got bytes, want $TCP_BYTES"
end=$(date +%s)

# Connection teardown (FIN, ACK) is over once the SNMP counters are still.
sleep 1
read -r icmp_out1 icmp_in1 tcp_out1 tcp_in1 retrans1 < <(itr_nstat "$ITR_NS_B" \
  IcmpOutMsgs IcmpInMsgs TcpOutSegs TcpInSegs TcpRetransSegs | paste -sd' ')
icmp_out=$((icmp_out1 - icmp_out0)) icmp_in=$((icmp_in1 - icmp_in0))
tcp_out=$((tcp_out1 - tcp_out0)) tcp_in=$((tcp_in1 - tcp_in0))
# Retransmitted segments are on the wire too, but not in TcpOutSegs.
retrans=$((retrans1 - retrans0))
if [ "$icmp_out" -ne "$PINGS" ] || [ "$icmp_in" -ne "$PINGS" ]; then
  itr_fail "B's ICMP counters: in $icmp_in out $icmp_out, want $PINGS each"
fi
itr_log "B sent $tcp_out TCP segments (and retransmitted $retrans) and received $tcp_in"

itr_csv_settle iptraffic-vb "$end"

ping_frame=$((ETH + IPV4 + ICMP + PING_SIZE))
seg_hdr=$((ETH + IPV4 + TCP_HDR))
b_tx_packets=$((PINGS + tcp_out + retrans))
b_rx_packets=$((PINGS + tcp_in))
b_tx_bytes=$((PINGS * ping_frame + tcp_out * seg_hdr + SYN_OPTS + TCP_BYTES))
b_rx_bytes=$((PINGS * ping_frame + tcp_in * seg_hdr + SYN_OPTS))

check() {
  local series=$1 col=$2 want=$3 got
  got=$(itr_csv_value iptraffic-vb "$series" "$col")
  [ "$got" = "$want" ] || itr_fail "csv $series $col = '$got', want $want"
}
check if_packets-10.77.0.2 tx "$b_tx_packets"
check if_packets-10.77.0.2 rx "$b_rx_packets"
check if_packets-10.77.0.1 tx "$b_rx_packets"
check if_packets-10.77.0.1 rx "$b_tx_packets"
check if_octets-10.77.0.2 rx "$b_rx_bytes"
check if_octets-10.77.0.1 tx "$b_rx_bytes"
# The payload of retransmitted segments is not in B's counters: the bytes
# B sent are exact only without any (a busy machine may drop).
if [ "$retrans" -eq 0 ]; then
  check if_octets-10.77.0.2 tx "$b_tx_bytes"
  check if_octets-10.77.0.1 rx "$b_tx_bytes"
else
  itr_log "$retrans retransmitted segments: bytes B sent not checked exactly"
fi
for special in non-ip malformed untracked; do
  for col in rx tx; do
    check "if_packets-$special" "$col" 0
  done
done

# Every instance together: what went out equals what came in.
sum_rx=0 sum_tx=0
while read -r series; do
  sum_rx=$((sum_rx + $(itr_csv_value iptraffic-vb "$series" rx)))
  sum_tx=$((sum_tx + $(itr_csv_value iptraffic-vb "$series" tx)))
done < <(itr_csv_series iptraffic-vb if_octets)
[ "$sum_rx" -eq "$sum_tx" ] || itr_fail "sum(rx) $sum_rx != sum(tx) $sum_tx"
[ "$retrans" -ne 0 ] || [ "$sum_rx" -eq $((b_tx_bytes + b_rx_bytes)) ] ||
  itr_fail "sum(rx) $sum_rx, want $((b_tx_bytes + b_rx_bytes))"

# B's own address went through the per-CPU hot table: all its packets
# are there (summed over the CPUs), and the shared IPv4 table holds only
# the peer.
# The id of the map called NAME that the XDP program on B's vb uses.
map_id() { # NAME
  local prog
  prog=$(ip netns exec "$ITR_NS_B" bpftool -j net show dev vb | python3 -c '
import json, sys
print(json.load(sys.stdin)[0]["xdp"][0]["id"])')
  for id in $(bpftool -j prog show id "$prog" | python3 -c '
import json, sys
print(" ".join(str(i) for i in json.load(sys.stdin)["map_ids"]))'); do
    if [ "$(bpftool -j map show id "$id" | python3 -c '
import json, sys
print(json.load(sys.stdin)["name"])')" = "$1" ]; then
      echo "$id"
      return
    fi
  done
}
hot_packets() { # ADDRESS: rx+tx packets of its key in itr_hot, or nothing
  bpftool -j map dump id "$(map_id itr_hot)" | python3 -c '
import json, sys
want = [int(x) for x in sys.argv[1].split(".")] + [0] * 12
n = None
for e in json.load(sys.stdin):
    f = e.get("formatted", e)
    if list(f["key"]["addr"]) == want and f["key"]["kind"] == 4:
        n = sum(v["value"]["rx_packets"] + v["value"]["tx_packets"]
                for v in f["values"])
print("" if n is None else n)' "$1"
}
hot=$(hot_packets 10.77.0.2)
[ "$hot" = $((b_tx_packets + b_rx_packets)) ] ||
  itr_fail "10.77.0.2 in the hot table: '$hot' packets, want $((b_tx_packets + b_rx_packets))"
shared=$(bpftool -j map dump id "$(map_id itr_addr4)" | python3 -c '
import json, sys
print(len(json.load(sys.stdin)))')
[ "$shared" = 1 ] || itr_fail "the IPv4 table holds $shared keys, want 1 (10.77.0.1)"

# vb passed GSO packets whole: it counted fewer packets than segments, so
# the segment counting above was exercised.
vb_tx=$(itr_dev_stat "$ITR_NS_B" vb tx_packets)
[ "$vb_tx" -lt "$b_tx_packets" ] ||
  itr_fail "vb sent $vb_tx packets for $b_tx_packets segments: no GSO seen"

itr_collectd_stop
itr_log "ok: $PINGS pings and $TCP_BYTES TCP bytes ($tcp_out segments out, $tcp_in in) counted exactly both ways"
