# shellcheck shell=bash
# shellcheck disable=SC2034
#
# Network namespaces and the veth pair between them, their devices
# and XDP state, and IP traffic over the pair.
# Sourced by tests/e2e/lib.sh; see there.

# created in it later, and lo up (write_prometheus listens on 127.0.0.1).
itr_netns_add() {
  local ns=$1
  ip netns add "$ns"
  ITR_NETNS+=("$ns")
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv6.conf.default.autoconf=0 net.ipv6.conf.default.accept_ra=0
  ip -n "$ns" link set lo up
  # glibc's getaddrinfo(AI_ADDRCONFIG), which write_prometheus uses, finds
  # no IPv4 without an address other than 127.0.0.1; this one stays on lo.
  ip -n "$ns" addr add 127.0.0.2/8 dev lo
}

# Disables everything that would make the kernel send frames of its own on
# DEV in NS: IPv6 (router and neighbour solicitations, MLD) and ARP. No IPv4
# address is ever assigned, so there is no IGMP either.
itr_quiet_dev() {
  local ns=$1 dev=$2
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" \
    "net.ipv6.conf.$dev.autoconf=0" "net.ipv6.conf.$dev.accept_ra=0"
  ip -n "$ns" link set dev "$dev" arp off multicast off
}

# Two namespaces joined by a veth pair: va in ITR_NS_A (the sender), vb in
# ITR_NS_B (the receiver, where collectd runs). Sets ITR_VB_MAC.
itr_veth_pair() {
  itr_netns_add "$ITR_NS_A"
  itr_netns_add "$ITR_NS_B"
  ip link add va netns "$ITR_NS_A" type veth peer name vb netns "$ITR_NS_B"
  itr_quiet_dev "$ITR_NS_A" va
  itr_quiet_dev "$ITR_NS_B" vb
  ip -n "$ITR_NS_A" link set va up
  ip -n "$ITR_NS_B" link set vb up
  ITR_VB_MAC=$(ip -n "$ITR_NS_B" -o link show dev vb |
    sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p')
  [ -n "$ITR_VB_MAC" ] || itr_fail "cannot read the MAC address of vb"
}

# A TCP port nobody listens on in namespace NS.
itr_free_port() {
  local ns=$1 port
  for ((port = 9103; port < 9203; port++)); do
    if [ -z "$(ip netns exec "$ns" ss -Htln "sport = :$port")" ]; then
      echo "$port"
      return 0
    fi
  done
  itr_fail "no free TCP port in namespace $ns"
}

itr_dev_stat() {
  ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"
}

# --- XDP state -----------------------------------------------------------------

# True if an XDP program is attached to DEV in NS (any mode).
itr_has_xdp() {
  local ns=$1 dev=$2
  ip -n "$ns" -d link show dev "$dev" | grep -Eq '(^|[[:space:]])(xdp|xdpgeneric|xdpdrv|xdpoffload|xdpmulti)([[:space:]/]|$)|prog/xdp' && return 0
  if command -v bpftool >/dev/null 2>&1; then
    ip netns exec "$ns" bpftool net show dev "$dev" 2>/dev/null |
      sed -n '/^xdp:/,/^[a-z]*:$/p' | grep -q "$dev" && return 0
  fi
  return 1
}

# --- IP traffic between the namespaces --------------------------------------

# itr_veth_ipv4 [MTU]: gives va 10.77.0.1/24 and vb 10.77.0.2/24, with
# permanent neighbour entries both ways so that no ARP is ever sent: the
# only frames on the wire are the ones the test makes. Sets ITR_VA_MAC.
itr_veth_ipv4() {
  local mtu=${1:-1500}
  ITR_VA_MAC=$(ip -n "$ITR_NS_A" -o link show dev va |
    sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p')
  ip -n "$ITR_NS_A" link set dev va mtu "$mtu" arp on
  ip -n "$ITR_NS_B" link set dev vb mtu "$mtu" arp on
  ip -n "$ITR_NS_A" addr add 10.77.0.1/24 dev va
  ip -n "$ITR_NS_B" addr add 10.77.0.2/24 dev vb
  ip -n "$ITR_NS_A" neigh replace 10.77.0.2 lladdr "$ITR_VB_MAC" dev va nud permanent
  ip -n "$ITR_NS_B" neigh replace 10.77.0.1 lladdr "$ITR_VA_MAC" dev vb nud permanent
}

# itr_nstat NS NAME...: the namespace's SNMP counters NAME (absolute values,
# one a line, in the order given).
itr_nstat() {
  local ns=$1 name
  shift
  for name in "$@"; do
    ip netns exec "$ns" nstat -asz "$name" | awk -v n="$name" '$1 == n { print $2 }'
  done
}
