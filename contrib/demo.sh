#!/bin/sh
# Sets everything up and shows the plugin counting real traffic.
#
#   contrib/demo.sh                  two network namespaces joined by a veth
#                                    pair, generated IPv4/IPv6 traffic
#   contrib/demo.sh --interface IF   count on a real interface instead
#   options: --seconds N (how long to count on a real interface, default 20)
#
# Runs collectd in the foreground with a private configuration (csv and
# write_prometheus), prints what write_prometheus exports, and removes
# everything it created when it ends. Run as root.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
iface=
seconds=20
while [ $# -gt 0 ]; do
  case $1 in
  --interface) iface=${2:?--interface needs a name}; shift 2 ;;
  --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
  -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
  *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root (loading XDP programs needs it)" >&2
  exit 1
fi

"$top/contrib/install-deps.sh"
"$top/contrib/build.sh" "$top/build"

work=$(mktemp -d /tmp/iptraffic-demo.XXXXXX)
ns=
pid=
port=9103
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$ns" ] && ip netns del "$ns-a" 2>/dev/null && ip netns del "$ns-b"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { if [ -n "$ns" ]; then ip netns exec "$ns-b" "$@"; else "$@"; fi; }

if [ -z "$iface" ]; then
  ns=itr-demo-$$
  iface=vb
  ip netns add "$ns-a"
  ip netns add "$ns-b"
  ip link add va netns "$ns-a" type veth peer name vb netns "$ns-b"
  ip -n "$ns-a" addr add 192.0.2.1/24 dev va
  ip -n "$ns-a" addr add 2001:db8::1/64 dev va nodad
  ip -n "$ns-b" addr add 192.0.2.2/24 dev vb
  ip -n "$ns-b" addr add 2001:db8::2/64 dev vb nodad
  for side in a b; do
    ip -n "$ns-$side" link set lo up
  done
  ip -n "$ns-a" link set va up
  ip -n "$ns-b" link set vb up
fi

mkdir -p "$work/plugins"
cp "$top/build/.libs/iptraffic.so" "$work/plugins/"
cat >"$work/collectd.conf" <<CONF
BaseDir "$work"
TypesDB "/usr/share/collectd/types.db"
Hostname "demo"
Interval 2
LoadPlugin logfile
<Plugin logfile>
  File "$work/collectd.log"
  LogLevel info
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "$work/csv"
  StoreRates false
</Plugin>
LoadPlugin write_prometheus
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "$port"
</Plugin>
PluginDir "$work/plugins"
LoadPlugin iptraffic
<Plugin iptraffic>
  Interface "$iface"
</Plugin>
CONF

if [ -n "$ns" ]; then
  ip netns exec "$ns-b" collectd -f -C "$work/collectd.conf" &
else
  collectd -f -C "$work/collectd.conf" &
fi
pid=$!
i=0
until grep -q "counting" "$work/collectd.log" 2>/dev/null; do
  i=$((i + 1))
  if [ $i -gt 50 ] || ! kill -0 "$pid" 2>/dev/null; then
    cat "$work/collectd.log" >&2
    echo "demo: the plugin did not start (log above)" >&2
    exit 1
  fi
  sleep 0.1
done
grep "iptraffic" "$work/collectd.log"

if [ -n "$ns" ]; then
  echo "generating traffic from 192.0.2.1 / 2001:db8::1 (namespace $ns-a)..."
  ip netns exec "$ns-a" ping -q -c 20 -i 0.05 -s 1000 192.0.2.2 >/dev/null
  ip netns exec "$ns-a" ping -q -c 10 -i 0.05 2001:db8::2 >/dev/null
  sleep 5
else
  echo "counting on $iface for $seconds seconds..."
  sleep "$seconds"
fi

echo
echo "What write_prometheus exports (http://127.0.0.1:$port/metrics), as a table:"
printf "%-6s %-28s %12s %12s %10s %10s\n" iface address "rx bytes" "tx bytes" \
  "rx pkts" "tx pkts"
in_ns curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics"
awk '
  /^collectd_iptraffic_if_(octets|packets)_(rx|tx)_total/ {
    split($1, name, "{"); n = split(name[1], part, "_")
    what = part[n - 2] "_" part[n - 1]   # octets_rx, packets_tx, ...
    match($1, /type="[^"]*"/); addr = substr($1, RSTART + 6, RLENGTH - 7)
    match($1, /iptraffic="[^"]*"/); ifc = substr($1, RSTART + 11, RLENGTH - 12)
    key = ifc " " addr; keys[key] = 1; v[key, what] = $2
  }
  END {
    for (k in keys) {
      split(k, f, " ")
      printf "%-6s %-28s %12d %12d %10d %10d\n", f[1], f[2], v[k, "octets_rx"], v[k, "octets_tx"], v[k, "packets_rx"], v[k, "packets_tx"]
    }
  }' "$work/metrics" | sort -k3,3nr -k4,4nr
awk '/^collectd_iptraffic_count\{/ {
    match($1, /type="[^"]*"/); g[substr($1, RSTART + 6, RLENGTH - 7)] = $2 }
  END { printf "tracked addresses: %d of %d\n", g["addresses"], g["capacity"] }' \
  "$work/metrics"
