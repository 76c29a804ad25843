# shellcheck shell=bash
# shellcheck disable=SC2034
#
# write_prometheus' /metrics page, a real Prometheus scraping it, and the
# Grafana dashboard's queries.
# Sourced by tests/e2e/lib.sh; see there.

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
# ITR_PROMETHEUS_SCRAPE (default 1s) with honor_labels (so collectd's
# instance label is kept). Start collectd first, so that its port is
# taken. Waits until it is ready.
# shellcheck disable=SC2120
itr_prometheus_start() {
  local ns=${1:-$ITR_NS_B} dir=$ITR_TMP/prometheus
  mkdir -p "$dir/data"
  cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: ${ITR_PROMETHEUS_SCRAPE:-1s}
  scrape_timeout: ${ITR_PROMETHEUS_SCRAPE:-1s}
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
  python3 "$ITR_LIB_DIR/lib/dashboard.py" "$1"
}
