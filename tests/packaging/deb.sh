#!/bin/bash
# The Debian package, built, checked, installed and used:
#   - contrib/package.sh deb builds collectd-iptraffic_<version>_<arch>.deb
#     from the release tarball with dpkg-buildpackage -us -uc -b,
#   - the package holds the plugin in /usr/lib/collectd, the snippet in
#     /etc/collectd/collectd.conf.d/ (a conffile, disabled), the man page,
#     the docs and the dashboard; it depends on collectd-core, libbpf and
#     (through it) libelf,
#   - lintian --pedantic reports no error and no warning,
#   - apt-get installs it on this machine,
#   - collectd, with a configuration that includes a directory holding the
#     packaged snippet (its iptraffic block uncommented, Interface set to a
#     veth in a namespace of the test), loads the installed plugin from
#     collectd's own plugin directory and reports the exact counts of
#     crafted frames; once as root, once as an unprivileged user with only
#     CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (contrib/systemd.md),
#   - iptrafficctl, installed with it, reads and removes the state the
#     plugin pinned, and migrates tables of map schema 2;
#   - removing the package removes the state pinned under the default
#     PinPath and detaches the programs (its prerm runs iptrafficctl
#     remove), when the package was not installed before;
#   - the package is purged again if it was not installed before.
# It runs in a mount namespace of its own, where /sys/fs/bpf is its own.
#
# Usage: tests/packaging/deb.sh [TARBALL]   (as root; default: make dist)

if [ "$(id -u)" -eq 0 ] && { [ -z "${ITR_PARENT_MNT_NS:-}" ] ||
  [ "$ITR_PARENT_MNT_NS" = "$(readlink /proc/self/ns/mnt)" ]; }; then
  ITR_PARENT_MNT_NS=$(readlink /proc/self/ns/mnt)
  export ITR_PARENT_MNT_NS
  exec unshare --mount --propagation private "$0" "$@"
fi

. "$(dirname "$0")/../e2e/lib.sh"

tarball=${1:-}
[ "$(id -u)" -eq 0 ] ||
  itr_skip "needs root (apt-get install, network namespaces, XDP)"
itr_require_cmd dpkg-buildpackage dpkg-deb lintian apt-get setpriv
[ -x /usr/bin/python3 ] || itr_skip "python3 not installed"
# The e2e setup copies a built plugin that this test does not use: point
# it at the installed one, which exists once the package is installed.
ITR_PLUGIN_SO=/usr/lib/collectd/iptraffic.so
itr_require_collectd
itr_require_sendframes

ITR_TMP=$(mktemp -d "${TMPDIR:-/tmp}/itr-$ITR_NAME.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
was_installed=$(dpkg-query -W -f='${Status}' collectd-iptraffic 2>/dev/null |
  grep -c 'ok installed' || true)
cleanup() {
  local status=$?
  set +e
  # Stop collectd before its plugin goes away.
  if itr_collectd_running; then
    kill -TERM "$ITR_COLLECTD_PID" 2>/dev/null
    wait "$ITR_COLLECTD_PID" 2>/dev/null
  fi
  if [ "$was_installed" = 0 ] && dpkg-query -W collectd-iptraffic >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq collectd-iptraffic \
      >"$ITR_TMP/purge.out" 2>&1 || itr_log "apt-get purge failed"
  fi
  # itr_cleanup reads the exit status from $?.
  (exit "$status")
  itr_cleanup
}


# --- build ----------------------------------------------------------------------

out=$ITR_TMP/out
t0=$(date +%s)
contrib_args=()
[ -z "$tarball" ] || contrib_args=(--tarball "$tarball")
"$top_srcdir/contrib/package.sh" deb "${contrib_args[@]}" "$out" >&2 ||
  itr_fail "building the package failed"
itr_log "dpkg-buildpackage: $(($(date +%s) - t0)) s"

arch=$(dpkg --print-architecture)
version=$(sed -n '1s/^collectd-iptraffic (\([^)]*\)).*/\1/p' \
  "$top_srcdir/contrib/debian/changelog")
deb=$out/collectd-iptraffic_${version}_$arch.deb
[ -f "$deb" ] || itr_fail "no $(basename "$deb") in: $(ls "$out")"

# --- contents and metadata ------------------------------------------------------------

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$ITR_TMP/files.txt"
for f in \
  /usr/lib/collectd/iptraffic.so \
  /etc/collectd/collectd.conf.d/iptraffic.conf \
  /usr/share/man/man5/collectd-iptraffic.5.gz \
  /usr/share/doc/collectd-iptraffic/copyright \
  /usr/share/doc/collectd-iptraffic/changelog.Debian.gz \
  /usr/share/doc/collectd-iptraffic/examples/iptraffic.json; do
  grep -qx "$f" "$ITR_TMP/files.txt" || itr_mismatch "$f is not in the package"
done
for f in README.md graphite.md systemd.md changelog; do
  grep -q "^/usr/share/doc/collectd-iptraffic/$f\(\.gz\)\?\$" "$ITR_TMP/files.txt" ||
    itr_mismatch "/usr/share/doc/collectd-iptraffic/$f is not in the package"
done
if grep -q '\.la$\|\.a$\|/include/' "$ITR_TMP/files.txt"; then
  itr_mismatch "development files in the package: $(grep '\.la$\|\.a$\|/include/' "$ITR_TMP/files.txt")"
fi

# ${shlibs:Depends} names the libraries the plugin links (libbpf, libc);
# libelf1 comes with libbpf1 (the plugin itself calls no libelf function).
depends=$(dpkg-deb -f "$deb" Depends)
for dep in collectd-core libbpf1 libc6; do
  grep -qE "(^|, )$dep( |,|$)" <<<"$depends" || itr_mismatch "Depends lacks $dep: $depends"
done
apt-cache depends libbpf1 2>/dev/null | grep -q 'Depends: libelf1' ||
  itr_mismatch "libbpf1 does not bring libelf1"
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles >"$ITR_TMP/conffiles" ||
  itr_mismatch "the package has no conffiles"
grep -qx /etc/collectd/collectd.conf.d/iptraffic.conf "$ITR_TMP/conffiles" ||
  itr_mismatch "the snippet is not a conffile: $(cat "$ITR_TMP/conffiles")"

# --- lintian --------------------------------------------------------------------------

# As an unprivileged user: lintian warns when it runs as root. The only
# override (contrib/debian/collectd-iptraffic.lintian-overrides) says why.
t0=$(date +%s)
changes=$(ls "$out"/*.changes)
chmod 0755 "$ITR_TMP" "$out"
chmod a+r "$out"/*
mkdir -p "$ITR_TMP/home"
chown nobody "$ITR_TMP/home"
setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$ITR_TMP/home" \
  lintian --pedantic --display-info --tag-display-limit 0 "$changes" \
  >"$ITR_TMP/lintian.out" 2>&1 || true
itr_log "lintian: $(($(date +%s) - t0)) s, $(grep -c . "$ITR_TMP/lintian.out" || true) lines"
cat "$ITR_TMP/lintian.out" >&2
if grep -q '^[EW]: ' "$ITR_TMP/lintian.out"; then
  itr_mismatch "lintian reports errors or warnings"
fi

# --- install --------------------------------------------------------------------------

(cd "$out" && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  "./$(basename "$deb")") >"$ITR_TMP/install.out" 2>&1 ||
  itr_fail "apt-get install ./$(basename "$deb") failed: $(tail -n 20 "$ITR_TMP/install.out")"
[ "$(dpkg-query -W -f='${Version}' collectd-iptraffic)" = "$version" ] ||
  itr_fail "collectd-iptraffic $version is not installed"
for f in /usr/lib/collectd/iptraffic.so /etc/collectd/collectd.conf.d/iptraffic.conf \
  /usr/share/man/man5/collectd-iptraffic.5.gz; do
  [ -f "$f" ] || itr_mismatch "$f is missing after the install"
done
cmp -s /etc/collectd/collectd.conf.d/iptraffic.conf "$top_srcdir/contrib/iptraffic.conf" ||
  itr_mismatch "the installed snippet differs from contrib/iptraffic.conf"
if ldd /usr/lib/collectd/iptraffic.so | grep -q 'not found'; then
  itr_mismatch "the installed plugin misses libraries: $(ldd /usr/lib/collectd/iptraffic.so)"
fi
# Debian's own collectd.conf (package collectd), where installed, must read
# the snippet's directory: the README relies on it.
if [ -f /etc/collectd/collectd.conf ]; then
  grep -q '^<Include "/etc/collectd/collectd.conf.d">' /etc/collectd/collectd.conf ||
    itr_log "note: /etc/collectd/collectd.conf does not include collectd.conf.d"
fi

# --- run collectd with the packaged snippet ----------------------------------------------

itr_veth_pair
ITR_LOG=$ITR_TMP/collectd.log
ITR_CSV_DIR=$ITR_TMP/csv
confd=$ITR_TMP/collectd.conf.d
mkdir -p "$ITR_TMP/base" "$ITR_CSV_DIR" "$confd"
# The packaged snippet, its iptraffic block uncommented, counting on vb.
sed -e '/^#LoadPlugin iptraffic$/,/^#<\/Plugin>$/ s/^#//' \
  -e 's/^\([[:space:]]*Interface\) "eth0"$/\1 "vb"/' \
  /etc/collectd/collectd.conf.d/iptraffic.conf >"$confd/iptraffic.conf"
if ! grep -q '^LoadPlugin iptraffic$' "$confd/iptraffic.conf" ||
  ! grep -q '^[[:space:]]*Interface "vb"$' "$confd/iptraffic.conf"; then
  itr_fail "cannot enable the snippet: $(cat "$confd/iptraffic.conf")"
fi
ITR_CONF=$ITR_TMP/collectd.conf
# No PluginDir: collectd loads plugins from its own directory, where the
# package put iptraffic.so; the Include is the one of Debian's collectd.conf.
cat >"$ITR_CONF" <<EOF
Hostname "$ITR_HOST"
FQDNLookup false
BaseDir "$ITR_TMP/base"
PIDFile "$ITR_TMP/base/collectd.pid"
TypesDB "$ITR_TYPESDB"
Interval 1
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
LoadPlugin memory
<Include "$confd">
  Filter "*.conf"
</Include>
EOF

# run_and_check LABEL [COMMAND PREFIX...]: starts collectd in namespace B
# (through the prefix, e.g. setpriv), sends frames and checks the counts.
run_and_check() {
  local label=$1 n=$2 since f rx
  shift 2
  rm -rf "${ITR_CSV_DIR:?}"/*
  : >"$ITR_LOG"
  itr_spawn ip netns exec "$ITR_NS_B" "$@" collectd -f -C "$ITR_CONF" \
    >>"$ITR_TMP/collectd.out" 2>&1
  ITR_COLLECTD_PID=$ITR_LAST_PID
  itr_wait_for 10 "XDP on vb ($label)" itr_has_xdp "$ITR_NS_B" vb
  itr_collectd_running || itr_fail "collectd exited at start ($label)"
  grep -q 'plugin "iptraffic" successfully loaded' "$ITR_LOG" ||
    itr_mismatch "$label: the log does not show the plugin loaded"
  ip netns exec "$ITR_NS_A" "$ITR_SENDFRAMES" --dst-mac "$ITR_VB_MAC" \
    --src-mac 02:00:00:00:00:01 va \
    "src=10.0.0.1,dst=10.0.0.2,payload=100,count=$n" \
    "src=fd00:77::1,dst=fd00:77::2,payload=64,count=$n" \
    "payload=28,count=2,ethertype=0x0806" >"$ITR_TMP/sent.out" ||
    itr_fail "sendframes failed: $(cat "$ITR_TMP/sent.out")"
  since=$(date +%s)
  itr_csv_settle iptraffic-vb "$since"
  check_csv "$label" if_packets-10.0.0.1 tx "$n"
  check_csv "$label" if_packets-10.0.0.2 rx "$n"
  check_csv "$label" if_octets-10.0.0.2 rx $((n * (14 + 20 + 8 + 100)))
  check_csv "$label" if_octets-fd00:77::1 tx $((n * (14 + 40 + 8 + 64)))
  check_csv "$label" if_packets-non-ip rx 2
  itr_collectd_stop
  [ "$ITR_COLLECTD_STATUS" -eq 0 ] ||
    itr_mismatch "$label: collectd exited with status $ITR_COLLECTD_STATUS"
  # As root its pins were on a BPF filesystem of its private /sys (ip netns
  # exec): they go with it, and so does the program. As nobody they stay
  # pinned and counting, until iptrafficctl remove below.
  if [ "$label" = root ]; then
    itr_wait_for 10 "" eval '! itr_has_xdp "$ITR_NS_B" vb' ||
      itr_mismatch "$label: XDP left on vb"
  else
    itr_has_xdp "$ITR_NS_B" vb || itr_mismatch "$label: XDP not kept attached"
  fi
  f=$(itr_log_errors)
  [ -z "$f" ] || itr_mismatch "$label: errors in the collectd log: $f"
  rx=$(itr_csv_value iptraffic-vb if_packets-10.0.0.2 rx)
  itr_log "$label: ok (10.0.0.2 rx packets $rx)"
}

check_csv() { # label series column want
  local got
  got=$(itr_csv_value iptraffic-vb "$2" "$3")
  [ "$got" = "$4" ] || itr_mismatch "$1: $2 $3 is '$got', expected $4"
}

run_and_check root 5

# The same as an unprivileged user with only the capabilities that
# contrib/systemd.md lists, and its PinPath on a BPF filesystem of its own
# that root mounted for it, as the drop-in there does.
bpffs=$ITR_TMP/bpffs
mkdir -p "$bpffs"
mount -t bpf -o mode=0700 bpf "$bpffs" ||
  itr_fail "mounting a BPF filesystem on $bpffs failed"
ITR_MOUNTS+=("$bpffs")
chown nobody:nogroup "$bpffs"
sed -i "s|^\([[:space:]]*\)PinPath .*|\1PinPath \"$bpffs/iptraffic\"|" \
  "$confd/iptraffic.conf"
[ "$(grep -c "PinPath" "$confd/iptraffic.conf")" = 1 ] &&
  grep -q "PinPath \"$bpffs/iptraffic\"" "$confd/iptraffic.conf" ||
  itr_fail "cannot set PinPath: $(cat "$confd/iptraffic.conf")"
chmod 0755 "$ITR_TMP"
chown -R nobody "$ITR_TMP/base" "$ITR_CSV_DIR" "$confd"
: >"$ITR_LOG"
chown nobody "$ITR_LOG"
caps=+bpf,+perfmon,+net_admin
run_and_check "user nobody with CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN" 7 \
  setpriv --reuid=nobody --regid=nogroup --clear-groups \
  --inh-caps="$caps" --ambient-caps="$caps"

[ -e "$bpffs/iptraffic/itr_addr4" ] ||
  itr_mismatch "nothing pinned under $bpffs/iptraffic as user nobody"
# The packaged admin command reads them without collectd (in collectd's
# network namespace, where vb is).
dumped=$(nsenter --net="/run/netns/$ITR_NS_B" /usr/sbin/iptrafficctl \
  --pin-path "$bpffs/iptraffic" dump |
  awk '$1 == "vb" && $2 == "10.0.0.2" { print $4 }')
itr_check "iptrafficctl dump: 10.0.0.2 rx packets" "$dumped" 7
/usr/sbin/iptrafficctl --pin-path "$bpffs/iptraffic" remove >/dev/null ||
  itr_mismatch "iptrafficctl remove failed"
[ ! -e "$bpffs/iptraffic" ] || itr_mismatch "iptrafficctl remove left $bpffs/iptraffic"
itr_wait_for 10 "" eval '! itr_has_xdp "$ITR_NS_B" vb' ||
  itr_mismatch "XDP left on vb after iptrafficctl remove"

# The packaged iptrafficctl migrates tables of map schema 2 (written by the
# test helper of the build tree, as version 0.1.0 laid them out).
oldstate=$top_builddir/tests/e2e/oldstate
[ -x "$oldstate" ] || itr_fail "$oldstate is not built (make check builds it)"
mkdir -m 0700 "$bpffs/old"
"$oldstate" --schema 2 --pin-path "$bpffs/old" --max-entries 1024 \
  "1,10.0.0.9,900,9,0,0" || itr_fail "writing tables of schema 2 failed"
out=$(/usr/sbin/iptrafficctl --pin-path "$bpffs/old" migrate) ||
  itr_mismatch "iptrafficctl migrate failed: $out"
case $(/usr/sbin/iptrafficctl --pin-path "$bpffs/old" status) in
*"map schema:      3 (this version's)"*) ;;
*) itr_mismatch "iptrafficctl status after migrate: not schema 3" ;;
esac
itr_check "iptrafficctl dump after migrate: 10.0.0.9 rx packets" \
  "$(/usr/sbin/iptrafficctl --pin-path "$bpffs/old" dump |
    awk '$2 == "10.0.0.9" { print $4 }')" 9
/usr/sbin/iptrafficctl --pin-path "$bpffs/old" remove >/dev/null ||
  itr_mismatch "iptrafficctl remove of the migrated tables failed"

# --- removing the package removes the state ---------------------------------------

if [ "$was_installed" = 0 ]; then
  # As root with the default PinPath, collectd seeing this namespace's
  # /sys/fs/bpf (nsenter), as on a host.
  if mountpoint -q /sys/fs/bpf; then
    umount /sys/fs/bpf || itr_fail "cannot unmount /sys/fs/bpf in the test's mount namespace"
  fi
  sed -i "s|^\([[:space:]]*\)PinPath .*|\1PinPath \"/sys/fs/bpf/iptraffic\"|" \
    "$confd/iptraffic.conf"
  : >"$ITR_LOG"
  itr_spawn nsenter --net="/run/netns/$ITR_NS_B" collectd -f -C "$ITR_CONF" \
    >>"$ITR_TMP/collectd.out" 2>&1
  ITR_COLLECTD_PID=$ITR_LAST_PID
  itr_wait_for 10 "the plugin to attach (default PinPath)" \
    grep -q "interface vb (ifindex [0-9]*): counting" "$ITR_LOG"
  itr_collectd_stop
  [ -e /sys/fs/bpf/iptraffic/itr_addr4 ] ||
    itr_mismatch "nothing pinned under /sys/fs/bpf/iptraffic"
  itr_has_xdp "$ITR_NS_B" vb || itr_mismatch "XDP not kept attached after the stop"
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq collectd-iptraffic \
    >"$ITR_TMP/remove.out" 2>&1 || itr_fail "apt-get remove failed: $(cat "$ITR_TMP/remove.out")"
  [ ! -e /sys/fs/bpf/iptraffic ] ||
    itr_mismatch "removing the package left /sys/fs/bpf/iptraffic: $(cat "$ITR_TMP/remove.out")"
  itr_wait_for 10 "" eval '! itr_has_xdp "$ITR_NS_B" vb' ||
    itr_mismatch "XDP left on vb after removing the package"
fi
itr_checks_done
itr_log "ok: $(basename "$deb") built, lintian clean, installed and counting"
