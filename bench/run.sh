#!/bin/bash
# Runs the benchmarks and prints one Markdown report:
#   1. data plane in the kernel (bpf_prog_test_run): the plugin's XDP and tc
#      programs against a bare program and the minimal reference, plus the
#      kernel-layout experiments;
#   2. data plane live: a veth pair between two network namespaces, frames
#      from an XDP live-frames generator; no program / plugin / reference /
#      nftables sets;
#   3. read path and memory: the plugin's reader and snapshot on prefilled
#      tables;
#   4. restarts with pinned tables: loading with new or pinned tables,
#      carrying entries over;
#   5. many interfaces: the same addresses on one interface and on hundreds
#      found by a pattern, attach time and read callback;
#   6. the whole read callback of the built iptraffic.so in a collectd
#      stand-in, and next to it a real collectd 5.12 with write_prometheus.
# Every figure is measured side by side with what it is compared with, in
# interleaved rounds; the report gives medians.
#
# Usage (root, from anywhere): bench/run.sh [--quick]
#   --quick   fewer rounds and no 1M-address cases (a smoke run)
# Environment: ITR_BENCH_BUILD (default build-bench/ under the source tree)
# is the out-of-tree build the bench compiles against; the report is also
# written to $ITR_BENCH_BUILD/bench/results.md.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${ITR_BENCH_BUILD:-$top/build-bench}
quick=0
case ${1:-} in
--quick) quick=1 ;;
"") ;;
*)
  echo "usage: $0 [--quick]" >&2
  exit 2
  ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  echo "bench: needs root (BPF programs, network namespaces)" >&2
  exit 1
fi

log() { printf 'bench: [%3ds] %s\n' "$SECONDS" "$*" >&2; }

log "dependencies"
"$top/contrib/install-deps.sh" >&2
log "building the plugin in $build"
(cd "$top" && contrib/build.sh "$build" >&2)
log "building the benchmarks"
make -s -C "$top/bench" BUILD="$build" >&2
bin=$build/bench

# --- namespaces --------------------------------------------------------------

id=$(($$ % 100000))
ns_g=itrb-g-$$
ns_r=itrb-r-$$
ns_m=itrb-m-$$
if_g=ibg$id
if_r=ibr$id
tmp=$(mktemp -d /tmp/itr-bench.XXXXXX)
collectd_pid=

cleanup() {
  if [ -n "$collectd_pid" ]; then
    kill "$collectd_pid" 2>/dev/null || true
    wait "$collectd_pid" 2>/dev/null || true
  fi
  ip netns del "$ns_g" 2>/dev/null || true
  ip netns del "$ns_r" 2>/dev/null || true
  ip netns del "$ns_m" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns_g"
ip netns add "$ns_r"
ip link add "$if_g" netns "$ns_g" type veth peer name "$if_r" netns "$ns_r"
for ns in "$ns_g" "$ns_r"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
done
ip -n "$ns_g" addr add 10.99.0.1/24 dev "$if_g"
ip -n "$ns_r" addr add 10.99.0.2/24 dev "$if_r"
ip -n "$ns_g" link set "$if_g" up
ip -n "$ns_r" link set "$if_r" up
ip netns exec "$ns_r" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
  "net.ipv4.conf.$if_r.rp_filter=0"
# The receiving end polls in a thread of its own (pinned by the bench), with
# GRO on so that it polls without an XDP program too.
ip netns exec "$ns_r" ethtool -K "$if_r" gro on
ip netns exec "$ns_r" sh -c "echo 1 > /sys/class/net/$if_r/threaded"

# --- the report -----------------------------------------------------------------

report=$bin/results.md
if [ "$quick" -eq 1 ]; then
  kern_args=(-r 3 -n 1 -n 1000 -n 100000)
  live_args=(-R 3 -s 0.5)
  read_args=(-R 3 -n 1000 -n 10000 -n 100000)
  host_args=(-R 3 -n 1000 -n 10000 -n 100000)
  restart_args=(-r 3 -n 20000)
  many=(50 -R 3 -n 20000)
else
  kern_args=(-r 7)
  live_args=(-R 7 -s 0.6)
  read_args=(-R 5)
  host_args=(-R 3)
  restart_args=(-r 5 -n 20000 -n 65536 -n 1000000)
  many=(500 -R 3 -n 100000)
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
rev=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)

# CPU time in ns of the thread named COMM of process PID.
thread_ns() { # PID COMM
  local t
  for t in /proc/"$1"/task/*; do
    if [ "$(cat "$t/comm")" = "$2" ]; then
      cut -d' ' -f1 "$t/schedstat"
    fi
  done
}

# Real collectd 5.12 with write_prometheus and the built plugin: CPU of its
# reading and writing threads per read, once every series is exported.
real_collectd() {
  local n=1000 port=9187 conf=$tmp/collectd.conf dir=$tmp/collectd
  local t0 t1 w0 w1 r0 r1 start warm series=0

  mkdir -p "$dir/plugins"
  cp "$build/.libs/iptraffic.so" "$dir/plugins/"
  cat >"$conf" <<CONF
Hostname "itr-bench"
BaseDir "$dir"
TypesDB "/usr/share/collectd/types.db"
Interval 1
ReadThreads 1
WriteThreads 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel "info"
  File "$dir/collectd.log"
</Plugin>
LoadPlugin write_prometheus
<Plugin write_prometheus>
  Port "$port"
</Plugin>
PluginDir "$dir/plugins"
LoadPlugin iptraffic
<Plugin iptraffic>
  Interface "$if_r"
  MaxEntries $((n + 100))
</Plugin>
CONF
  ip netns exec "$ns_r" collectd -f -C "$conf" >"$dir/stdout" 2>&1 &
  collectd_pid=$!
  for _ in $(seq 50); do
    ip -n "$ns_r" link show "$if_r" | grep -q 'prog/xdp' && break
    sleep 0.2
  done
  start=$(date +%s%N)
  ip netns exec "$ns_r" "$bin/itr-bench-prefill" "$if_r" "$n"
  for _ in $(seq 600); do
    series=$(ip netns exec "$ns_r" curl -s "127.0.0.1:$port/metrics" |
      grep -c '^collectd_iptraffic_if_octets_rx_total' || true)
    [ "$series" -ge "$n" ] && break
    sleep 0.2
  done
  warm=$((($(date +%s%N) - start) / 1000000))
  sleep 1.5
  t0=$(date +%s%N)
  r0=$(thread_ns "$collectd_pid" 'reader#0')
  w0=$(thread_ns "$collectd_pid" 'writer#0')
  sleep 5
  r1=$(thread_ns "$collectd_pid" 'reader#0')
  w1=$(thread_ns "$collectd_pid" 'writer#0')
  t1=$(date +%s%N)
  kill "$collectd_pid"
  wait "$collectd_pid" || true
  collectd_pid=
  {
    echo "addresses $n"
    echo "reads $(((t1 - t0 + 500000000) / 1000000000))"
    echo "reader_ns $((r1 - r0))"
    echo "writer_ns $((w1 - w0))"
    echo "warmup_s $((warm / 1000)).$(printf '%03d' $((warm % 1000)))"
  } >"$tmp/real"
  if [ "$series" -lt "$n" ]; then
    log "write_prometheus exported only $series of $n series"
    rm -f "$tmp/real"
  fi
}

# COUNT veth pairs in a namespace of their own, ibm0.. (matched by the
# pattern) and their peers ibp0.., then the stand-in with -m.
many_interfaces() { # COUNT host args...
  local count=$1 k
  shift
  ip netns add "$ns_m"
  for ((k = 0; k < count; k++)); do
    echo "link add ibm$k type veth peer name ibp$k"
  done | ip -n "$ns_m" -batch -
  for ((k = 0; k < count; k++)); do
    echo "link set ibm$k up"
    echo "link set ibp$k up"
  done | ip -n "$ns_m" -batch -
  ip netns exec "$ns_m" "$bin/itr-bench-host" -p "$build/.libs/iptraffic.so" \
    -m "ibm:$count" "$@"
  ip netns del "$ns_m"
}

{
  echo "## Benchmark results"
  echo
  echo "$(date -u +%Y-%m-%d), $cpu, $(nproc) CPUs, $mem, Linux $(uname -r)," \
    "plugin $rev. Numbers are for this machine; the ratios are what carries" \
    "over."
  echo
  log "data plane, in the kernel"
  "$bin/itr-bench-kern" "${kern_args[@]}"
  echo
  log "data plane, live"
  "$bin/itr-bench-live" -g "$ns_g" -i "$if_g" -r "$ns_r" -j "$if_r" \
    "${live_args[@]}"
  echo
  log "read path and memory"
  "$bin/itr-bench-read" "${read_args[@]}"
  echo
  log "restarts with pinned tables"
  "$bin/itr-bench-restart" "${restart_args[@]}"
  echo
  log "real collectd with write_prometheus"
  real_collectd
  log "the whole read callback"
  ip netns exec "$ns_r" "$bin/itr-bench-host" -p "$build/.libs/iptraffic.so" \
    -i "$if_r" -c "$tmp/real" "${host_args[@]}"
  echo
  log "many interfaces"
  many_interfaces "${many[@]}"
} | tee "$report"
log "report written to $report"
