#!/bin/bash
# The series benchmark: what the reporting options (ReportInactive, prefix
# lengths, <Network> blocks, TopN) cost and bound. As root, from anywhere:
#
#   bench/series/run.sh [--interval S] [--addresses N] [--active K]
#                       [--measure N] [--cap S] [--no-lpm] [--no-collectd]
#
# 1. LPM cost per frame: the plugin's XDP program (loaded through its own
#    loader) with no <Network> blocks, IPv4/IPv6PrefixLength only, and 1,
#    100 and 1000 <Network> blocks, run with bpf_prog_test_run; the size of
#    what the verifier kept of each, and the program from before <Network>
#    blocks existed (from git history, when there is one).
# 2. Value lists and collectd's CPU per interval: a real collectd 5.12 with
#    the built plugin on one end of a veth pair, in namespaces made here.
#    N (100000) source addresses send one frame each at once, then K
#    (1000) of them keep sending. Four configurations: ReportInactive true,
#    ReportInactive false, TopN 100 with ReportInactive false, and the
#    README's recommended block. Each runs twice: once with a write plugin
#    that discards everything (collectd's own cost), once with
#    write_prometheus (scraped once per interval, as a Prometheus would):
#    how long the first interval takes to show up in /metrics, when the
#    series count settles, and the CPU per interval.
#
# Builds out of tree in build-series/. Prints results; asserts nothing.
# Takes about 9 minutes with the defaults.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build-series
out=$build/bench-series

interval=5     # collectd's Interval, seconds
addresses=100000
active=1000
hz=10          # frames per second from each active address
measure=4      # intervals over which CPU is measured
cap=90         # seconds to wait for write_prometheus to absorb the burst
run_lpm=1
run_collectd=1

usage() {
  sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
  --interval) interval=$2; shift 2 ;;
  --addresses) addresses=$2; shift 2 ;;
  --active) active=$2; shift 2 ;;
  --measure) measure=$2; shift 2 ;;
  --cap) cap=$2; shift 2 ;;
  --no-lpm) run_lpm=0; shift ;;
  --no-collectd) run_collectd=0; shift ;;
  *) usage ;;
  esac
done

log() {
  printf 'series: %s\n' "$*" >&2
}

die() {
  printf 'series: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (BPF, network namespaces)"
load_start=$(cut -d ' ' -f 1-3 /proc/loadavg)
for cmd in make clang collectd collectdctl ip curl awk; do
  command -v "$cmd" >/dev/null 2>&1 || die "command $cmd not found"
done

# --- build -------------------------------------------------------------------

log "building the plugin in $build"
mkdir -p "$build"
"$top/contrib/build.sh" "$build" >"$build/series-build.log" 2>&1 ||
  { tail -n 20 "$build/series-build.log" >&2; die "build failed"; }
# The program from before <Network> blocks: the parent of the commit that
# added the network trie to the BPF program.
before_rev=
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
  added=$(git -C "$top" log --reverse --format=%H -S itr_networks -- \
    bpf/iptraffic.bpf.c 2>/dev/null | head -n 1)
  if [ -n "$added" ] && git -C "$top" rev-parse -q --verify "$added^" >/dev/null; then
    before_rev=$added^
  fi
fi
make -s -C "$top/bench/series" BUILD="$build" BEFORE_REV="$before_rev" >&2

# --- cleanup -----------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/itr-series.XXXXXX")
ns_a=itrs-a-$$
ns_b=itrs-b-$$
pids=()
namespaces=()

cleanup() {
  local status=$? pid i
  trap - EXIT INT TERM
  set +e
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for i in "${namespaces[@]}"; do
    ip netns del "$i" 2>/dev/null
  done
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. LPM cost per frame -----------------------------------------------------

lpm_table=
if [ "$run_lpm" = 1 ]; then
  log "LPM cost per frame (bpf_prog_test_run)"
  lpm_args=(--repeat 1000000 --rounds 15)
  [ -n "$before_rev" ] && lpm_args+=(--before "$out/before.bpf.o")
  lpm_table=$("$out/itr-series-lpm" "${lpm_args[@]}")
  if [ -n "$before_rev" ]; then
    lpm_table+=$'\n'"before <Network> existed: bpf/iptraffic.bpf.c at $(git -C "$top" rev-parse --short "$before_rev"), the parent of the commit that added the network trie; later changes to the program show in that line too"
  fi
fi

# --- 2. collectd ---------------------------------------------------------------

now_ms() {
  date +%s%3N
}

# ticks LINE: utime + stime of a /proc stat line, in clock ticks.
ticks() {
  local -a f
  read -ra f <<<"${1##*) }"
  echo $((f[11] + f[12]))
}

# cpu_sample PID: "TOTAL READERS WRITERS" in clock ticks: the process, its
# reader#N threads (the plugin's read and dispatch) and its writer#N
# threads (cache update, write plugins).
cpu_sample() {
  local pid=$1 f line comm t total readers=0 writers=0
  total=$(ticks "$(<"/proc/$pid/stat")")
  for f in /proc/"$pid"/task/*/stat; do
    line=$(<"$f") || continue
    comm=${line#*(}
    comm=${comm%%)*}
    t=$(ticks "$line")
    case $comm in
    reader*) readers=$((readers + t)) ;;
    writer*) writers=$((writers + t)) ;;
    esac
  done
  echo "$total $readers $writers"
}

rss_mb() {
  awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status"
}

spawn() {
  "$@" &
  last_pid=$!
  pids+=("$last_pid")
}

# stop PID: SIGTERM, then SIGKILL after 30 s.
stop() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

setup_net() {
  local ns
  for ns in "$ns_a" "$ns_b"; do
    ip netns add "$ns"
    namespaces+=("$ns")
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
      net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  # write_prometheus' getaddrinfo(AI_ADDRCONFIG) wants an address besides
  # 127.0.0.1.
  ip -n "$ns_b" addr add 127.0.0.2/8 dev lo
  ip link add va netns "$ns_a" type veth peer name vb netns "$ns_b"
  ip -n "$ns_a" link set va up arp off multicast off
  ip -n "$ns_b" link set vb up arp off multicast off
  vb_mac=$(ip -n "$ns_b" -o link show dev vb |
    sed -n 's/.* link\/ether \([0-9a-f:]*\) .*/\1/p')
  [ -n "$vb_mac" ] || die "cannot read the MAC address of vb"
}

# write_conf FILE WRITER BLOCK: WRITER is null or prometheus.
write_conf() {
  local file=$1 writer=$2 block=$3
  {
    cat <<EOF
Hostname "itr-series"
FQDNLookup false
BaseDir "$tmp/base"
PIDFile "$tmp/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
Interval $interval

PluginDir "/usr/lib/collectd"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$tmp/collectd.log"
  Timestamp true
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "$tmp/collectd.sock"
</Plugin>
EOF
    if [ "$writer" = prometheus ]; then
      cat <<EOF
LoadPlugin write_prometheus
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "9103"
</Plugin>
EOF
    fi
    echo "PluginDir \"$tmp/plugins\""
    [ "$writer" = null ] && echo "LoadPlugin null_write"
    cat <<EOF
LoadPlugin iptraffic
<Plugin iptraffic>
  Interface "vb"
$block
</Plugin>
EOF
  } >"$file"
}

getval() { # TYPE-INSTANCE: the value in collectd's cache, or nothing
  collectdctl -s "$tmp/collectd.sock" getval \
    "itr-series/iptraffic-vb/$1" 2>/dev/null | sed -n 's/^value=//p'
}

# scrape FILE: write_prometheus' page; prints curl's time in ms.
scrape() {
  ip netns exec "$ns_b" curl -sf --max-time 30 -o "$1" \
    -w '%{time_total}' http://127.0.0.1:9103/metrics |
    awk '{ printf "%d", $1 * 1000 }'
}

# start_collectd WRITER BLOCK: starts collectd in ns_b, waits for the plugin
# to attach. Sets cd_pid.
start_collectd() {
  write_conf "$tmp/collectd.conf" "$1" "$2"
  : >"$tmp/collectd.log"
  spawn ip netns exec "$ns_b" collectd -f -C "$tmp/collectd.conf" \
    >>"$tmp/collectd.out" 2>&1
  cd_pid=$last_pid
  local i
  for ((i = 0; i < 200; i++)); do
    if grep -q 'counting ingress' "$tmp/collectd.log"; then
      t_init=$(now_ms)
      return 0
    fi
    kill -0 "$cd_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$tmp/collectd.log" >&2
  die "collectd did not start counting"
}

# start_traffic: N addresses at once, then K of them active until
# stop_run. The plugin reads right after collectd's init and then every
# interval: one second after the init the burst (under half a second) falls
# into one interval. Sets t_burst and t_burst_end (ms).
start_traffic() {
  sleep 1
  t_burst=$(now_ms)
  ip netns exec "$ns_a" "$out/itr-series-send" va "$vb_mac" create \
    "$addresses" >"$tmp/burst.out"
  t_burst_end=$(now_ms)
  spawn ip netns exec "$ns_a" "$out/itr-series-send" va "$vb_mac" active \
    "$addresses" "$active" "$hz" 0 >"$tmp/active.out"
  sender_pid=$last_pid
}

stop_run() {
  stop "$sender_pid"
  t_stop=$(now_ms)
  stop "$cd_pid"
  left=$(sed -n 's/.*plugin: \([0-9]*\) value lists\{0,1\} were left.*/\1/p' \
    "$tmp/collectd.log" | tail -n 1)
  left=${left:-0}
}

clk_tck=$(getconf CLK_TCK)

# cpu_per_interval BEFORE AFTER WALL_MS: "S_TOTAL PCT READERS_PCT WRITERS_PCT"
cpu_per_interval() {
  awk -v b="$1" -v a="$2" -v w="$3" -v hz="$clk_tck" -v iv="$interval" '
    BEGIN {
      split(b, x, " "); split(a, y, " ")
      secs = w / 1000
      t = (y[1] - x[1]) / hz; r = (y[2] - x[2]) / hz; wr = (y[3] - x[3]) / hz
      printf "%.4f %.2f %.2f %.2f", t / secs * iv, 100 * t / secs,
        100 * r / secs, 100 * wr / secs
    }'
}

# run_null NAME BLOCK: collectd's own cost with a discarding writer.
run_null() {
  local name=$1 block=$2 vl max=0 last=0 addrs c0 c1 w0 i end
  log "$name: null writer"
  start_collectd null "$block"
  start_traffic
  # Warm-up: the burst's interval, then until the burst's idle values
  # have left collectd's cache (Timeout 2: after two intervals without an
  # update), a one-off cost. The cache shows each interval's
  # count-value_lists as soon as it is dispatched.
  end=$(($(now_ms) + (4 * interval + 2) * 1000))
  while [ "$(now_ms)" -lt "$end" ]; do
    vl=$(getval count-value_lists)
    [ -n "$vl" ] && max=$(awk -v a="$max" -v b="$vl" 'BEGIN { print (b > a) ? b : a }')
    sleep 1
  done
  c0=$(cpu_sample "$cd_pid")
  w0=$(now_ms)
  sleep $((measure * interval))
  c1=$(cpu_sample "$cd_pid")
  cpu=$(cpu_per_interval "$c0" "$c1" $(($(now_ms) - w0)))
  vl=$(getval count-value_lists)
  last=$(awk -v v="${vl:-0}" 'BEGIN { printf "%d", v }')
  max=$(awk -v v="$max" 'BEGIN { printf "%d", v }')
  addrs=$(awk -v v="$(getval count-addresses)" 'BEGIN { printf "%d", v }')
  i=$(rss_mb "$cd_pid")
  stop_run
  null_rows+=("$name|$addrs|$max|$last|$cpu|$i")
  null_first=$max
  null_steady=$last
}

# prom_state FILE: "SERIES GAUGE_VALUE GAUGE_TIME_MS" of a /metrics page.
prom_state() {
  awk '
    /^collectd_iptraffic_/ { n++ }
    /^collectd_iptraffic_count\{.*type="value_lists"/ { v = $2; t = $3 }
    END { printf "%d %.0f %.0f", n, v, t }' "$1"
}

# run_prometheus NAME BLOCK
run_prometheus() {
  local name=$1 block=$2 start state series gauge gts first=- stable=-
  local prev=-1 c0 c1 w0 t deadline scrape_ms i
  log "$name: write_prometheus"
  start_collectd prometheus "$block"
  start_traffic
  start=$t_burst
  deadline=$((start + cap * 1000))
  # One scrape per interval, as a Prometheus would. Absorbed: the
  # count-value_lists gauge of a read after the burst is in /metrics (it
  # is dispatched after the read's addresses); stable: the series count
  # then stays the same from one scrape to the next.
  while :; do
    sleep "$interval"
    t=$(now_ms)
    scrape_ms=$(scrape "$tmp/metrics") || scrape_ms=-1
    state=$(prom_state "$tmp/metrics")
    read -r series gauge gts <<<"$state"
    log "  +$(((t - start) / 1000)) s: $series series in /metrics, value_lists gauge $gauge"
    if [ "$first" = - ] && [ "$gts" -gt "$t_burst_end" ]; then
      first=$(((t - start) / 1000))
    elif [ "$first" != - ] && [ "$series" -eq "$prev" ]; then
      stable=$(((t - start) / 1000))
      break
    fi
    prev=$series
    [ "$t" -lt "$deadline" ] || break
  done
  c0=$(cpu_sample "$cd_pid")
  w0=$(now_ms)
  for ((i = 0; i < measure; i++)); do
    sleep "$interval"
    scrape_ms=$(scrape "$tmp/metrics") || scrape_ms=-1
  done
  c1=$(cpu_sample "$cd_pid")
  cpu=$(cpu_per_interval "$c0" "$c1" $(($(now_ms) - w0)))
  state=$(prom_state "$tmp/metrics")
  read -r series gauge gts <<<"$state"
  [ "$first" = - ] && first=">$cap"
  [ "$stable" = - ] && stable=">$cap"
  i=$(rss_mb "$cd_pid")
  stop_run
  # Through write_prometheus while it lags: what the plugin dispatched
  # (the burst's interval, then the steady count per read, as in the
  # run with the null writer) less what was left queued.
  rate=-
  if [ "$left" -gt 0 ]; then
    rate=$(awk -v f="$null_first" -v s="$null_steady" -v l="$left" \
      -v i="$t_init" -v b="$t_burst" -v e="$t_stop" -v iv="$interval" '
      BEGIN {
        reads = 1 + int((e - i) / (iv * 1000))
        d = f + (reads > 2 ? reads - 2 : 0) * s
        printf "%d", (d - l) / ((e - b) / 1000)
      }')
  fi
  prom_rows+=("$name|$first|$stable|$series|$scrape_ms|$cpu|$left|$rate|$i")
}

null_rows=()
prom_rows=()
if [ "$run_collectd" = 1 ]; then
  mkdir -p "$tmp/base" "$tmp/plugins"
  # collectd refuses plugins that are symlinks: copies.
  cp "$build/.libs/iptraffic.so" "$out/null_write.so" "$tmp/plugins/"
  setup_net

  names=("ReportInactive true" "ReportInactive false"
    "TopN 100, ReportInactive false" "README recommended")
  blocks=("  MaxEntries 262144
  ReportInactive true"
    "  MaxEntries 262144
  ReportInactive false"
    "  MaxEntries 262144
  ReportInactive false
  TopN 100"
    "  ReportInactive false
  IPv4PrefixLength 24
  IPv6PrefixLength 48
  <Network \"203.0.113.0/24\">
    PrefixLength 32
  </Network>
  <Network \"10.255.0.0/16\">
    Ignore true
  </Network>
  TopN 100
  MaxEntries 262144")
  for i in "${!names[@]}"; do
    run_null "${names[$i]}" "${blocks[$i]}"
    run_prometheus "${names[$i]}" "${blocks[$i]}"
  done
fi

# --- report ----------------------------------------------------------------------

echo
echo "== collectd-iptraffic series benchmark: Linux $(uname -r), $(nproc) CPUs, $(collectd -h | sed -n 's/^\(collectd [0-9.]*[0-9]\).*/\1/p' | head -n 1); load average $load_start at the start, $(cut -d ' ' -f 1-3 /proc/loadavg) at the end"
if [ -n "$lpm_table" ]; then
  echo
  echo "$lpm_table"
fi
if [ "$run_collectd" = 1 ]; then
  echo
  echo "$addresses source addresses send one frame each at once (the burst), then $active of them (every $((addresses / active))th) send $hz frames/s each (sizes by rank) to one destination; Interval $interval s; MaxEntries 262144; ExpireIdle 300 (default: nothing expires during a run); collectd's defaults (WriteThreads 5, Timeout 2)."
  echo
  echo "collectd with a write plugin that discards everything (collectd's own cost), CPU over $measure intervals, starting four intervals after the burst:"
  printf '%-31s %9s %8s %7s %7s %9s %6s %7s %6s %6s %6s %6s\n' config \
    addresses "VL first" "VL/int" x "CPU s/int" "%core" x "us/VL" "%read" \
    "%write" "RSS MB"
  base_vl="" base_cpu=""
  for row in "${null_rows[@]}"; do
    IFS='|' read -r name addrs max last cpu rss <<<"$row"
    read -r cs pct rp wp <<<"$cpu"
    base_vl=${base_vl:-$last}
    base_cpu=${base_cpu:-$cs}
    awk -v n="$name" -v a="$addrs" -v m="$max" -v l="$last" -v bl="$base_vl" \
      -v cs="$cs" -v bc="$base_cpu" -v p="$pct" -v rp="$rp" -v wp="$wp" \
      -v r="$rss" 'BEGIN {
        printf "%-31s %9d %8d %7d %7.4f %9.4f %6.2f %7.4f %6.1f %6.2f %6.2f %6d\n",
          n, a, m, l, (bl ? l / bl : 0), cs, p, (bc > 0 ? cs / bc : 0),
          (l ? cs / l * 1e6 : 0), rp, wp, r }'
  done
  echo "VL first: value lists in the burst's interval; VL/int: per interval afterwards (count-value_lists); x: relative to the first line; CPU s/int: collectd's CPU seconds per interval; %core: of one CPU; us/VL: CPU per value list; %read: reader threads (the plugin's read and dispatch), %write: writer threads (collectd's cache and the writer); the rest is the main thread"
  echo
  echo "collectd with write_prometheus, /metrics scraped once per interval; CPU over $measure intervals once the burst's interval is through (else after ${cap} s, during the backlog):"
  printf '%-31s %7s %8s %7s %6s %9s %6s %6s %6s %10s %7s %7s %6s\n' config \
    "in /m s" "stable s" series "scr ms" "CPU s/int" "%core" "%read" \
    "%write" "queue left" "VL/s" "first s" "RSS MB"
  for i in "${!prom_rows[@]}"; do
    IFS='|' read -r name first stable series sms cpu left rate rss <<<"${prom_rows[$i]}"
    IFS='|' read -r _ _ max _ <<<"${null_rows[$i]}"
    read -r cs pct rp wp <<<"$cpu"
    est=-
    [ "$rate" != - ] && [ "$rate" -gt 0 ] && est="~$((max / rate))"
    printf '%-31s %7s %8s %7s %6s %9s %6s %6s %6s %10s %7s %7s %6s\n' \
      "$name" "$first" "$stable" "$series" "$sms" "$cs" "$pct" "$rp" "$wp" \
      "$left" "$rate" "$est" "$rss"
  done
  echo "in /m s: seconds from the burst until /metrics holds the count-value_lists gauge of a read after it (the burst's interval is through write_prometheus); stable s: until the number of series then stays the same from one scrape to the next (resolution: one interval); series: collectd_iptraffic_* samples in /metrics at the end; scr ms: the last scrape; queue left: value lists still queued when collectd stopped (dropped); VL/s: value lists through write_prometheus per second while it lagged; first s: the burst's interval at that rate"
fi
