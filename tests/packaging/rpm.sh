#!/bin/bash
# The RPM package: contrib/package.sh rpm builds it from the release
# tarball with rpmbuild (--nodeps on Debian, whose rpm database is empty);
# the package holds the plugin in %{_libdir}/collectd, exporting only
# module_register, the snippet in /etc/collectd.d/ as a %config file, the
# man page, the docs and the license, and requires collectd and libbpf.
#
# Usage: tests/packaging/rpm.sh [TARBALL]

. "$(dirname "$0")/../e2e/lib.sh"

tarball=${1:-}
itr_require_cmd rpmbuild rpm rpm2cpio cpio nm

ITR_TMP=$(mktemp -d "${TMPDIR:-/tmp}/itr-$ITR_NAME.XXXXXX")
trap itr_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


out=$ITR_TMP/out
t0=$(date +%s)
args=()
[ -z "$tarball" ] || args=(--tarball "$tarball")
flags=
# rpm's database is empty on Debian: the build dependencies cannot be checked.
command -v dpkg >/dev/null 2>&1 && flags=--nodeps
RPMBUILD_FLAGS=$flags "$top_srcdir/contrib/package.sh" rpm "${args[@]}" "$out" >&2 ||
  itr_fail "rpmbuild failed"
itr_log "rpmbuild: $(($(date +%s) - t0)) s"

version=$(sed -n 's/^Version:[[:space:]]*//p' "$top_srcdir/contrib/collectd-iptraffic.spec")
rpm_file=
for f in "$out"/collectd-iptraffic-"$version"-*.rpm; do
  case $f in *debuginfo* | *debugsource* | *.src.rpm) continue ;; esac
  [ -e "$f" ] && rpm_file=$f
done
[ -n "$rpm_file" ] || itr_fail "no collectd-iptraffic-$version-*.rpm in: $(ls "$out")"
itr_log "built $(basename "$rpm_file")"

rpm -qpl "$rpm_file" >"$ITR_TMP/files.txt" 2>/dev/null
plugin=$(grep '/collectd/iptraffic\.so$' "$ITR_TMP/files.txt" || true)
[ -n "$plugin" ] || itr_mismatch "no collectd/iptraffic.so in the package"
grep -qx /etc/collectd.d/iptraffic.conf "$ITR_TMP/files.txt" ||
  itr_mismatch "/etc/collectd.d/iptraffic.conf is not in the package"
for f in 'man5/collectd-iptraffic\.5' 'README\.md' 'graphite\.md' 'systemd\.md' \
  'iptraffic\.json' 'COPYING'; do
  grep -q "$f" "$ITR_TMP/files.txt" || itr_mismatch "$f is not in the package"
done
rpm -qp --configfiles "$rpm_file" 2>/dev/null | grep -qx /etc/collectd.d/iptraffic.conf ||
  itr_mismatch "the snippet is not a %config file"
# rpm derives the library requirements from the plugin's NEEDED entries:
# libbpf and libc (libelf comes with libbpf; the plugin calls none of it).
requires=$(rpm -qp --requires "$rpm_file" 2>/dev/null)
for r in '^collectd$' '^libbpf\.so\.' '^libc\.so\.'; do
  grep -q "$r" <<<"$requires" || itr_mismatch "Requires lacks $r: $(tr '\n' ' ' <<<"$requires")"
done

# The plugin in the package: a shared object exporting module_register only.
mkdir -p "$ITR_TMP/root"
(cd "$ITR_TMP/root" && rpm2cpio "$rpm_file" | cpio -idm --quiet)
exported=$(nm -D --defined-only "$ITR_TMP/root$plugin" | awk '$2 == "T" { print $3 }')
[ "$exported" = module_register ] ||
  itr_mismatch "the plugin exports: $(tr '\n' ' ' <<<"$exported")"
cmp -s "$ITR_TMP/root/etc/collectd.d/iptraffic.conf" "$top_srcdir/contrib/iptraffic.conf" ||
  itr_mismatch "the packaged snippet differs from contrib/iptraffic.conf"

itr_checks_done
itr_log "ok: $(basename "$rpm_file")"
