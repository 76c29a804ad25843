#!/bin/bash
# Packaging, without privileges or a build:
#   - the versions agree: configure.ac, contrib/debian/changelog and the RPM
#     spec,
#   - contrib/iptraffic.conf is disabled as shipped (no active line) and
#     becomes the documented configuration once its iptraffic block is
#     uncommented,
#   - contrib/grafana/iptraffic.json is a valid dashboard (itr_dashboard_queries
#     in tests/e2e/lib.sh) with the panels the README promises, and queries
#     only metric names the README documents.
# tests/e2e/prometheus.sh runs the dashboard's queries against Prometheus.

. "$(dirname "$0")/../e2e/lib.sh"


itr_require_cmd python3 sed grep

# --- versions -----------------------------------------------------------------

ac_version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
[ -n "$ac_version" ] || itr_mismatch "no version in configure.ac"
deb_version=$(sed -n '1s/^collectd-iptraffic (\([^)]*\)).*/\1/p' \
  "$top_srcdir/contrib/debian/changelog")
[ "${deb_version%-*}" = "$ac_version" ] ||
  itr_mismatch "contrib/debian/changelog is at $deb_version, configure.ac at $ac_version"
spec_version=$(sed -n 's/^Version:[[:space:]]*//p' "$top_srcdir/contrib/collectd-iptraffic.spec")
[ "$spec_version" = "$ac_version" ] ||
  itr_mismatch "the RPM spec is at $spec_version, configure.ac at $ac_version"
grep -q "^[0-9-]*, Version $ac_version\$" "$top_srcdir/ChangeLog" ||
  itr_mismatch "ChangeLog has no entry for $ac_version"

# --- the configuration snippet ----------------------------------------------------

snippet=$top_srcdir/contrib/iptraffic.conf
active=$(grep -v '^[[:space:]]*\(#\|$\)' "$snippet" || true)
[ -z "$active" ] || itr_mismatch "contrib/iptraffic.conf has active lines: $active"
enabled=$(sed '/^#LoadPlugin iptraffic$/,/^#<\/Plugin>$/ s/^#//' "$snippet" |
  grep -v '^[[:space:]]*\(#\|$\)' | sed 's/^[[:space:]]*//')
want='LoadPlugin iptraffic
<Plugin iptraffic>
Interface "eth0"
XDPMode "auto"
IngressHook "auto"
XDPDispatcher true
Direction "both"
MaxEntries 65536
MaxEntriesIPv6 16384
ExpireIdle 300
PinPath "/sys/fs/bpf/iptraffic"
</Plugin>'
[ "$enabled" = "$want" ] ||
  itr_mismatch "contrib/iptraffic.conf, its iptraffic block uncommented, is:
$enabled"
# Every option in the snippet is documented with that default in the README.
while read -r key value; do
  case $key in LoadPlugin | "<Plugin" | "</Plugin>" | Interface) continue ;; esac
  grep -q "^| \`$key\` *| \`\?${value//\"/}\`\? *|" "$top_srcdir/README.md" ||
    itr_mismatch "README.md has no row '| \`$key\` | $value |' for the snippet's default"
done <<<"$enabled"

# --- the dashboard ------------------------------------------------------------------

dashboard=$top_srcdir/contrib/grafana/iptraffic.json
queries=$(itr_dashboard_queries "$dashboard") || itr_mismatch "$dashboard is not valid"
n=$(printf '%s\n' "$queries" | grep -c . || true)
[ "$n" -ge 10 ] || itr_mismatch "only $n queries in $dashboard"
for what in \
  'panel Top talkers.*(rx)/A.topk(.*collectd_iptraffic_if_octets_rx_total' \
  'panel Top talkers.*(tx)/A.topk(.*collectd_iptraffic_if_octets_tx_total' \
  'panel Bytes/s per interface/A.sum by (instance, iptraffic)' \
  'panel .*type=~"non-ip|malformed|untracked"' \
  'panel Address table fill/.*type="addresses".*/.*type="capacity"'; do
  printf '%s\n' "$queries" | grep -q "$what" || itr_mismatch "no dashboard query matches: $what"
done
for metric in $(printf '%s\n' "$queries" | grep -o 'collectd_iptraffic_[a-z_]*' | sort -u); do
  grep -q "$metric" "$top_srcdir/README.md" ||
    itr_mismatch "the dashboard queries $metric, which README.md does not document"
done

itr_checks_done
itr_log "ok: versions $ac_version/$deb_version/$spec_version, snippet, $n dashboard queries"
