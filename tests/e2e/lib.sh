# shellcheck shell=bash
# Variables set here are read by the test scripts that source this file.
# shellcheck disable=SC2034
#
# Shared helpers for the end-to-end tests: network namespaces, a private
# collectd instance loading the built plugin, csv and write_prometheus reads.
#
# Source it from a bash test script:  . "$(dirname "$0")/lib.sh"
#
# Environment: top_srcdir and top_builddir (exported by `make check`; when
# unset they default to the source tree this file lives in).
# ITR_E2E_KEEP=1 keeps the temporary directory for inspection.
#
# Exit status of a test: 0 pass, 1 fail, 77 skip (automake convention).

set -eu

ITR_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$ITR_LIB_DIR/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}

ITR_NAME=$(basename "$0" .sh)
ITR_HOST=itr-e2e
ITR_TYPESDB=/usr/share/collectd/types.db
ITR_STOCK_PLUGINDIR=/usr/lib/collectd
ITR_PLUGIN_SO=$top_builddir/.libs/iptraffic.so
ITR_SENDFRAMES=$top_builddir/tests/e2e/sendframes

# Unique per test process, so tests can run in parallel.
ITR_NS_A=itr-a-$$
ITR_NS_B=itr-b-$$

ITR_TMP=
ITR_PIDS=()
ITR_NETNS=()
ITR_MOUNTS=() # unmounted (lazily) by the cleanup
ITR_COLLECTD_PID=
ITR_COLLECTD_STATUS=
ITR_CONF=
ITR_LOG=
ITR_CSV_DIR=
ITR_PROM_PORT=

itr_log() {
  printf '%s: %s\n' "$ITR_NAME" "$*" >&2
}

# With ITR_NO_SKIP=1 (tests/run-all.sh as root, hence CI) a missing
# prerequisite is a failure: nothing may skip there.
itr_skip() {
  if [ "${ITR_NO_SKIP:-0}" = 1 ]; then
    printf 'FAIL: %s: %s (ITR_NO_SKIP=1)\n' "$ITR_NAME" "$*" >&2
    exit 1
  fi
  printf 'SKIP: %s: %s\n' "$ITR_NAME" "$*" >&2
  exit 77
}

# What failed, said again after the logs that itr_cleanup prints, so that
# the end of a test's output (all a CI summary may show) names it.
ITR_FAILURES=

itr_fail() {
  printf 'FAIL: %s: %s\n' "$ITR_NAME" "$*" >&2
  ITR_FAILURES+="FAIL: $*"$'\n'
  exit 1
}

# --- soft checks ---------------------------------------------------------------
# A mismatch is logged and counted, and the test goes on, so that one run
# shows every mismatch; itr_checks_done then fails the test if there was
# any.

ITR_MISMATCHES=0

itr_mismatch() {
  itr_log "MISMATCH: $*"
  ITR_FAILURES+="MISMATCH: $*"$'\n'
  ITR_MISMATCHES=$((ITR_MISMATCHES + 1))
}

itr_check() { # what got want
  [ "$2" = "$3" ] || itr_mismatch "$1: got '$2', expected '$3'"
}

# Gauges are written as floating point ("10.000000", "1024"): compare values.
itr_check_num() { # what got want
  awk -v a="$2" -v b="$3" 'BEGIN { exit !(a != "" && a + 0 == b + 0) }' ||
    itr_mismatch "$1: got '$2', expected $3"
}

itr_checks_done() {
  [ "$ITR_MISMATCHES" -eq 0 ] || itr_fail "$ITR_MISMATCHES mismatches"
}

# --- prerequisites -----------------------------------------------------------

itr_require_root() {
  [ "$(id -u)" -eq 0 ] ||
    itr_skip "needs root (network namespaces, XDP, AF_PACKET)"
}

itr_require_cmd() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || itr_skip "command '$cmd' not found"
  done
}

# collectd 5.12 and the stock plugins every test config loads.
itr_require_collectd() {
  local p
  itr_require_cmd collectd ip curl ss
  [ -r "$ITR_TYPESDB" ] || itr_skip "$ITR_TYPESDB not found (collectd-core)"
  for p in logfile csv memory write_prometheus; do
    [ -r "$ITR_STOCK_PLUGINDIR/$p.so" ] ||
      itr_skip "collectd plugin $ITR_STOCK_PLUGINDIR/$p.so not found"
  done
  if ldd "$ITR_STOCK_PLUGINDIR/write_prometheus.so" | grep -q 'not found'; then
    itr_skip "write_prometheus.so misses libraries" \
      "(install libmicrohttpd12 libprotobuf-c1)"
  fi
}

itr_require_plugin() {
  [ -r "$ITR_PLUGIN_SO" ] ||
    itr_skip "built plugin $ITR_PLUGIN_SO not found (run make first)"
}

itr_require_sendframes() {
  [ -x "$ITR_SENDFRAMES" ] ||
    itr_skip "$ITR_SENDFRAMES not built (make check builds it)"
}

# --- setup and cleanup -------------------------------------------------------

itr_cleanup() {
  local status=$? pid i
  trap - EXIT INT TERM
  set +e
  for pid in "${ITR_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for i in "${ITR_NETNS[@]}"; do
    ip netns del "$i" 2>/dev/null
  done
  for i in "${ITR_MOUNTS[@]}"; do
    umount -l "$i" 2>/dev/null
  done
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ] && [ -n "$ITR_TMP" ]; then
    for i in "$ITR_TMP"/*.log "$ITR_TMP"/*.out; do
      [ -s "$i" ] || continue
      printf -- '--- %s (last 40 lines)\n' "$i" >&2
      tail -n 40 "$i" >&2
    done
  fi
  if [ -n "$ITR_FAILURES" ]; then
    printf -- '--- %s: what failed\n%s' "$ITR_NAME" "$ITR_FAILURES" >&2
  fi
  if [ -n "$ITR_TMP" ] && [ -d "$ITR_TMP" ]; then
    if [ "${ITR_E2E_KEEP:-0}" = 1 ]; then
      itr_log "kept $ITR_TMP"
    else
      rm -rf "$ITR_TMP"
    fi
  fi
  exit "$status"
}

# Common start of every test: checks, temporary directory, cleanup trap.
itr_setup() {
  itr_require_root
  itr_require_collectd
  itr_require_plugin
  ITR_TMP=$(mktemp -d "${TMPDIR:-/tmp}/itr-$ITR_NAME.XXXXXX")
  trap itr_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  ITR_CSV_DIR=$ITR_TMP/csv
  ITR_LOG=$ITR_TMP/collectd.log
  mkdir -p "$ITR_TMP/base" "$ITR_TMP/plugins" "$ITR_CSV_DIR"
  # collectd refuses a plugin that is a symlink: copy the built one.
  cp "$ITR_PLUGIN_SO" "$ITR_TMP/plugins/iptraffic.so"
}

# Starts a background command and records its PID for cleanup. The PID is
# left in ITR_LAST_PID.
itr_spawn() {
  "$@" &
  ITR_LAST_PID=$!
  ITR_PIDS+=("$ITR_LAST_PID")
}

# Creates namespace NAME with IPv6 disabled by default for every device
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

# --- collectd ----------------------------------------------------------------

# Writes a private collectd.conf to FILE. BLOCK is the body of the
# <Plugin iptraffic> block. write_prometheus listens in namespace NS
# (default ITR_NS_B) on a free port, left in ITR_PROM_PORT.
# The tests keep no state across restarts (PinPath "") unless their block
# sets a PinPath: tests/e2e/persist.sh tests the state. Interval is
# ITR_INTERVAL, default 1.
itr_write_conf() {
  local file=$1 block=$2 ns=${3:-$ITR_NS_B}
  case $block in
  *PinPath*) ;;
  *) block="$block
  PinPath \"\"" ;;
  esac
  ITR_PROM_PORT=$(itr_free_port "$ns")
  ITR_CONF=$file
  cat >"$file" <<EOF
Hostname "$ITR_HOST"
FQDNLookup false
BaseDir "$ITR_TMP/base"
PIDFile "$ITR_TMP/collectd.pid"
TypesDB "$ITR_TYPESDB"
Interval ${ITR_INTERVAL:-1}

PluginDir "$ITR_STOCK_PLUGINDIR"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$ITR_LOG"
  Timestamp true
  PrintSeverity true
</Plugin>

LoadPlugin csv
<Plugin csv>
  DataDir "$ITR_CSV_DIR"
  StoreRates false
</Plugin>

LoadPlugin write_prometheus
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "$ITR_PROM_PORT"
</Plugin>

# Unrelated plugin: it must keep working whatever iptraffic does.
LoadPlugin memory

PluginDir "$ITR_TMP/plugins"
LoadPlugin iptraffic
<Plugin iptraffic>
$block
</Plugin>
EOF
}

# Starts `collectd -f` with ITR_CONF in namespace NS (default ITR_NS_B) in
# the background; sets ITR_COLLECTD_PID.
# shellcheck disable=SC2120
# With ITR_COLLECTD_NSENTER=1 collectd enters only the network namespace
# (nsenter) and sees this process's /sys, and so its /sys/fs/bpf, as on a
# real host; `ip netns exec` gives it a /sys of its own.
itr_collectd_start() {
  local ns=${1:-$ITR_NS_B}
  : >"$ITR_LOG"
  ITR_COLLECTD_STATUS=
  # Both exec the command: $! is collectd's PID.
  if [ "${ITR_COLLECTD_NSENTER:-0}" = 1 ]; then
    itr_spawn nsenter --net="/run/netns/$ns" collectd -f -C "$ITR_CONF" \
      >>"$ITR_TMP/collectd.out" 2>&1
  else
    itr_spawn ip netns exec "$ns" collectd -f -C "$ITR_CONF" \
      >>"$ITR_TMP/collectd.out" 2>&1
  fi
  ITR_COLLECTD_PID=$ITR_LAST_PID
}

itr_collectd_running() {
  [ -n "$ITR_COLLECTD_PID" ] && kill -0 "$ITR_COLLECTD_PID" 2>/dev/null
}

# Waits up to TIMEOUT seconds for collectd to exit by itself; sets
# ITR_COLLECTD_STATUS. Returns 1 if it is still running.
itr_collectd_wait_exit() {
  local timeout=$1
  itr_wait_for "$timeout" "" eval '! itr_collectd_running' || return 1
  ITR_COLLECTD_STATUS=0
  wait "$ITR_COLLECTD_PID" 2>/dev/null || ITR_COLLECTD_STATUS=$?
}

# Sends SIGTERM and waits (at most 10 s) for collectd to exit; sets
# ITR_COLLECTD_STATUS.
itr_collectd_stop() {
  itr_collectd_running || itr_fail "collectd (pid $ITR_COLLECTD_PID) is not running"
  kill -TERM "$ITR_COLLECTD_PID"
  itr_collectd_wait_exit 10 ||
    itr_fail "collectd did not exit within 10 s of SIGTERM"
}

# Lines of the collectd log at error level, except one that stock
# write_prometheus 5.12 logs on every start with libmicrohttpd 0.9.75
# ("MHD_OPTION_EXTERNAL_LOGGER is not the first option ...").
itr_log_errors() {
  grep -F '[error]' "$ITR_LOG" | grep -v 'MHD_OPTION_EXTERNAL_LOGGER' || true
}

# --- polling -----------------------------------------------------------------

# itr_wait_for TIMEOUT DESCRIPTION CMD...: runs CMD every 0.1 s until it
# succeeds. On timeout fails the test with DESCRIPTION, or returns 1 when
# DESCRIPTION is empty.
itr_wait_for() {
  local timeout=$1 desc=$2 deadline
  shift 2
  deadline=$(($(date +%s%N) + timeout * 1000000000))
  until "$@"; do
    if [ "$(date +%s%N)" -ge "$deadline" ]; then
      [ -z "$desc" ] && return 1
      itr_fail "timed out after ${timeout}s waiting for $desc"
    fi
    sleep 0.1
  done
}

# --- csv ---------------------------------------------------------------------

# Directory of the csv files of plugin[-instance] PI, e.g. iptraffic-vb.
itr_csv_dir() {
  echo "$ITR_CSV_DIR/$ITR_HOST/$1"
}

# Newest csv file of series SERIES (type-type_instance) under PI, or nothing.
itr_csv_file() {
  local pi=$1 series=$2 f newest=
  for f in "$(itr_csv_dir "$pi")/$series"-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]; do
    [ -e "$f" ] && newest=$f
  done
  echo "$newest"
}

# The series (type-type_instance) of type TYPE under PI, one a line.
itr_csv_series() {
  local pi=$1 type=$2 f
  for f in "$(itr_csv_dir "$pi")/$type"-*-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]; do
    [ -e "$f" ] || continue
    f=${f##*/}
    echo "${f%-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]}"
  done | sort -u
}

# Last data line of csv file FILE (epoch,value...), or nothing.
itr_csv_last() {
  [ -s "$1" ] || return 0
  tail -n 1 "$1" | grep -v '^epoch' || true
}

# itr_csv_value PI SERIES COLUMN: the value of COLUMN (a name of the header,
# e.g. rx, tx, value) in the last line of the series. Empty if none.
itr_csv_value() {
  local file
  file=$(itr_csv_file "$1" "$2")
  [ -n "$file" ] && [ -s "$file" ] || return 0
  awk -F, -v col="$3" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    { last = $c }
    END { if (c && last != "") printf "%s\n", last }' "$file"
}

# Number of data lines of a csv file.
itr_csv_lines() {
  if [ -s "$1" ]; then
    echo $(($(wc -l <"$1") - 1))
  else
    echo 0
  fi
}

# Epoch of the newest value the memory plugin wrote (0 if none): a clock of
# completed collectd read cycles, independent of the iptraffic plugin.
itr_memory_epoch() {
  local f line
  f=$(itr_csv_file memory memory-used)
  line=$(itr_csv_last "${f:-/nonexistent}")
  line=${line%%,*}
  echo "${line%%.*}"
}

# Signature of the last values (not times) of every csv file under PI.
itr_csv_signature() {
  local f
  for f in "$(itr_csv_dir "$1")"/*; do
    [ -e "$f" ] || continue
    printf '%s %s\n' "${f##*/}" "$(itr_csv_last "$f" | cut -d, -f2-)"
  done
}

itr_memory_epoch_at_least() {
  local e
  e=$(itr_memory_epoch)
  [ "${e:-0}" -ge "$1" ]
}

# itr_csv_settle PI SINCE [TIMEOUT]: waits until collectd has completed read
# cycles at least two seconds after epoch SINCE (the end of the traffic)
# and the values under PI did not change over a further read cycle.
itr_csv_settle() {
  local pi=$1 since=$2 timeout=${3:-20} deadline sig next e
  deadline=$(($(date +%s) + timeout))
  itr_wait_for "$timeout" "collectd read cycles after the traffic" \
    itr_memory_epoch_at_least $((since + 2))
  sig=$(itr_csv_signature "$pi")
  while :; do
    e=$(itr_memory_epoch)
    itr_wait_for "$timeout" "the next collectd read cycle" \
      itr_memory_epoch_at_least $((e + 1))
    next=$(itr_csv_signature "$pi")
    [ "$next" = "$sig" ] && [ -n "$sig" ] && return 0
    sig=$next
    [ "$(date +%s)" -lt "$deadline" ] ||
      itr_fail "csv values under $pi still changing after ${timeout}s"
  done
}

# --- write_prometheus ----------------------------------------------------------

# Writes the /metrics page of the collectd in namespace NS to FILE.
itr_scrape() {
  local file=$1 ns=${2:-$ITR_NS_B}
  ip netns exec "$ns" curl -sf --max-time 5 \
    "http://127.0.0.1:$ITR_PROM_PORT/metrics" >"$file"
}

itr_scrape_ok() {
  itr_scrape "$@" 2>/dev/null
}

# itr_prom_value FILE SERIES: value of the sample whose name and labels are
# exactly SERIES, e.g.
#   collectd_iptraffic_if_octets_rx_total{iptraffic="vb",type="10.0.0.1",instance="itr-e2e"}
# Empty if absent.
itr_prom_value() {
  awk -v s="$2" '$1 == s { print $2; exit }' "$1"
}

# Labels of a series of the plugin in write_prometheus form.
itr_prom_labels() {
  printf '{%s="%s",type="%s",instance="%s"}' "$1" "$2" "$3" "$ITR_HOST"
}

# itr_dev_stat NS DEV STAT: a counter of DEV from its statistics
# (rx_packets, tx_packets, ...).
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

# --- Prometheus ----------------------------------------------------------------

ITR_PROMETHEUS_PORT=
ITR_PROMETHEUS_PID=

# Skips unless the Prometheus server (package prometheus) is installed.
itr_require_prometheus() {
  itr_require_cmd prometheus python3
}

itr_prometheus_ready() {
  ip netns exec "$1" curl -sf --max-time 2 \
    "http://127.0.0.1:$ITR_PROMETHEUS_PORT/-/ready" >/dev/null 2>&1
}

# itr_prometheus_start [NS]: a Prometheus server with a fresh TSDB in
# namespace NS (default ITR_NS_B), on a free port of 127.0.0.1 (left in
# ITR_PROMETHEUS_PORT), scraping write_prometheus on ITR_PROM_PORT every
# second with honor_labels (so collectd's instance label is kept). Start
# collectd first, so that its port is taken. Waits until it is ready.
# shellcheck disable=SC2120
itr_prometheus_start() {
  local ns=${1:-$ITR_NS_B} dir=$ITR_TMP/prometheus
  mkdir -p "$dir/data"
  cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: collectd
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:$ITR_PROM_PORT']
YML
  ITR_PROMETHEUS_PORT=$(itr_free_port "$ns")
  itr_spawn ip netns exec "$ns" prometheus --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$ITR_PROMETHEUS_PORT" \
    >"$ITR_TMP/prometheus.log" 2>&1
  ITR_PROMETHEUS_PID=$ITR_LAST_PID
  itr_wait_for 30 "Prometheus to be ready" itr_prometheus_ready "$ns"
}

# itr_prometheus_query QUERY [NS]: runs an instant query through the HTTP
# API and prints the raw JSON answer.
itr_prometheus_query() {
  local ns=${2:-$ITR_NS_B}
  ip netns exec "$ns" curl -sf --max-time 5 \
    "http://127.0.0.1:$ITR_PROMETHEUS_PORT/api/v1/query" \
    --data-urlencode "query=$1"
}

# itr_prometheus_vector QUERY [NS]: the instant vector QUERY returns, one
# sample a line: the labels as name=value joined by ',', a tab, the value.
# Fails the test if the query is not a successful vector query.
itr_prometheus_vector() {
  local json
  json=$(itr_prometheus_query "$@") ||
    itr_fail "Prometheus query failed: $1"
  python3 -c '
import json, sys
d = json.loads(sys.argv[1])
if d.get("status") != "success" or d["data"]["resultType"] != "vector":
    sys.exit("not a successful vector answer: " + sys.argv[1][:300])
for r in d["data"]["result"]:
    labels = ",".join("%s=%s" % kv for kv in sorted(r["metric"].items()))
    print(labels + "\t" + r["value"][1])
' "$json" || itr_fail "bad answer to Prometheus query: $1"
}

# --- the Grafana dashboard -------------------------------------------------------

# itr_dashboard_queries FILE: checks that the Grafana dashboard FILE is valid
# JSON with the structure Grafana needs (unique panel ids, grid positions,
# a datasource and uniquely named targets on every panel, every $variable
# defined) and prints every PromQL query in it, one a line as
# "WHERE<tab>QUERY". WHERE is "panel TITLE/REFID" or "variable NAME".
# Grafana's variables are replaced by values that select everything:
# $host and $interface by .*, $top by 10, $__rate_interval by 1m; a
# variable's label_values(METRIC, LABEL) becomes count by (LABEL) (METRIC).
itr_dashboard_queries() {
  python3 - "$1" <<'PY'
import json, re, sys

path = sys.argv[1]
try:
    with open(path) as f:
        dash = json.load(f)
except ValueError as e:
    sys.exit("%s: not valid JSON: %s" % (path, e))

def fail(msg):
    sys.exit("%s: %s" % (path, msg))

subst = {"host": ".*", "interface": ".*", "top": "10", "__rate_interval": "1m"}
variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
for name in ("datasource", "host", "interface", "top"):
    if name not in variables:
        fail("no template variable %s" % name)

def expand(where, q):
    for name in re.findall(r"\$\{?(\w+)", q):
        if name not in subst or (not name.startswith("__") and name not in variables):
            fail("%s: unknown variable $%s" % (where, name))
    q = re.sub(r"\$\{?(\w+)\}?", lambda m: subst[m.group(1)], q)
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q.strip())
    if m:
        q = "count by (%s) (%s)" % (m.group(2), m.group(1))
    return q

out = []
for name, v in variables.items():
    if v.get("type") == "query":
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        out.append(("variable " + name, expand("variable " + name, q)))

for key in ("title", "uid", "schemaVersion", "panels"):
    if key not in dash:
        fail("no %s" % key)
ids = set()
for p in dash["panels"]:
    title = p.get("title") or fail("a panel without a title")
    if p.get("id") in ids or not isinstance(p.get("id"), int):
        fail("panel %r: missing or duplicate id" % title)
    ids.add(p["id"])
    g = p.get("gridPos", {})
    if not all(isinstance(g.get(k), int) for k in "xywh") or g["x"] + g["w"] > 24:
        fail("panel %r: bad gridPos %r" % (title, g))
    if p.get("type") == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${datasource}":
        fail("panel %r: datasource is not ${datasource}" % title)
    targets = p.get("targets") or fail("panel %r: no targets" % title)
    refs = [t.get("refId") for t in targets]
    if None in refs or len(set(refs)) != len(refs):
        fail("panel %r: missing or duplicate refId" % title)
    for t in targets:
        where = "panel %s/%s" % (title, t["refId"])
        if not t.get("expr"):
            fail("%s: no expr" % where)
        out.append((where, expand(where, t["expr"])))
for where, q in out:
    print("%s\t%s" % (where, q))
PY
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
