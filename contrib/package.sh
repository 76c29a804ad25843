#!/bin/sh
# Builds the Debian or RPM package of collectd-iptraffic from a release
# tarball, the way a distribution would.
#
#   contrib/package.sh deb [--tarball FILE] [OUTDIR]
#   contrib/package.sh rpm [--tarball FILE] [OUTDIR]
#
# Without --tarball, the tarball is made first (`make dist` in an
# out-of-tree build under a temporary directory). deb unpacks it, copies
# contrib/debian to debian/ and runs `dpkg-buildpackage -us -uc -b`
# (the build dependencies must be installed: contrib/install-deps.sh).
# rpm runs `rpmbuild -bb` with contrib/collectd-iptraffic.spec; RPMBUILD_FLAGS
# adds options (on Debian: RPMBUILD_FLAGS=--nodeps, rpm's database is empty).
# The packages, and for deb the .changes and .buildinfo files, are copied
# to OUTDIR (default: the current directory); the build log is kept there
# as package-deb.log or package-rpm.log.
set -eu

usage() {
  sed -n '5,6p' "$0" | sed 's/^# *//' >&2
  exit 2
}

top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || usage
kind=$1
shift
case $kind in deb | rpm) ;; *) usage ;; esac
tarball=
if [ "${1:-}" = --tarball ]; then
  tarball=${2:?--tarball needs a file}
  shift 2
fi
[ $# -le 1 ] || usage
mkdir -p "${1:-.}"
out=$(cd "${1:-.}" && pwd)
log=$out/package-$kind.log

work=$(mktemp -d "${TMPDIR:-/tmp}/itr-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

if [ -z "$tarball" ]; then
  echo "package: making the tarball (make dist)"
  "$top/contrib/build.sh" "$work/build" >"$work/build.log" 2>&1 ||
    { tail -n 30 "$work/build.log" >&2; exit 1; }
  make -s -C "$work/build" dist >>"$work/build.log" 2>&1 ||
    { tail -n 30 "$work/build.log" >&2; exit 1; }
  tarball=$(ls "$work"/build/collectd-iptraffic-*.tar.gz)
fi
[ -f "$tarball" ] || { echo "package: no tarball $tarball" >&2; exit 1; }
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
base=$(basename "$tarball" .tar.gz)
version=${base#collectd-iptraffic-}
case $version in
[0-9]*) ;;
*) echo "package: $tarball is not named collectd-iptraffic-VERSION.tar.gz" >&2; exit 1 ;;
esac

tar -xzf "$tarball" -C "$work"
src=$work/$base
[ -d "$src" ] || { echo "package: $tarball does not unpack to $base/" >&2; exit 1; }

build_deb() {
  cp -R "$src/contrib/debian" "$src/debian"
  deb_version=$(cd "$src" && dpkg-parsechangelog -S Version)
  if [ "${deb_version%-*}" != "$version" ]; then
    echo "package: debian/changelog is at $deb_version, the tarball at" \
      "$version: add a changelog entry (dch -v $version-1)" >&2
    exit 1
  fi
  # A later full source build (without -b) finds the upstream tarball.
  cp "$tarball" "$work/collectd-iptraffic_$version.orig.tar.gz"
  echo "package: dpkg-buildpackage -us -uc -b ($deb_version, log: $log)"
  (cd "$src" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1 ||
    { tail -n 40 "$log" >&2; exit 1; }
  for f in "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo; do
    [ -e "$f" ] || continue
    cp "$f" "$out/"
    echo "package: $out/$(basename "$f")"
  done
}

build_rpm() {
  spec=$src/contrib/collectd-iptraffic.spec
  spec_version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
  if [ "$spec_version" != "$version" ]; then
    echo "package: $spec is at version $spec_version, the tarball at" \
      "$version" >&2
    exit 1
  fi
  mkdir -p "$work/rpm/SOURCES"
  cp "$tarball" "$work/rpm/SOURCES/"
  echo "package: rpmbuild -bb ${RPMBUILD_FLAGS:-} (log: $log)"
  # shellcheck disable=SC2086
  rpmbuild -bb ${RPMBUILD_FLAGS:-} --define "_topdir $work/rpm" "$spec" \
    >"$log" 2>&1 || { tail -n 40 "$log" >&2; exit 1; }
  for f in "$work"/rpm/RPMS/*/*.rpm; do
    [ -e "$f" ] || continue
    cp "$f" "$out/"
    echo "package: $out/$(basename "$f")"
  done
}

"build_$kind"
