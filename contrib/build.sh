#!/bin/bash
# Builds the plugin out of tree: contrib/build.sh DIR [configure options]
# Runs autoreconf and configure when needed, then make.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
shift
if [ -f "$top/config.status" ]; then
  echo "the source tree is configured in place; run 'make distclean' first" >&2
  exit 1
fi
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null)
mkdir -p "$dir"
cd "$dir"
if [ ! -f config.status ] || [ "$top/configure" -nt config.status ]; then
  "$top/configure" "$@" >configure.out ||
    { tail -n 20 configure.out >&2; exit 1; }
fi
make -j"$(nproc 2>/dev/null || echo 2)"
