#!/bin/sh
# Installs what building, running and testing collectd-iptraffic needs on
# Debian 12 (bookworm) or newer. Run as root.
set -eu

PACKAGES="
  autoconf automake libtool pkg-config make gcc
  clang libbpf-dev libelf-dev zlib1g-dev bpftool linux-libc-dev libxdp-dev
  collectd-core collectd-dev collectd-utils libmicrohttpd12 libprotobuf-c1
  check valgrind cppcheck clang-format libclang-rt-14-dev
  iproute2 iputils-ping curl ethtool nftables
  prometheus python3 debhelper dpkg-dev lintian rpm
  qemu-system-x86 busybox-static cpio xdp-tools
"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (apt-get needs it)" >&2
  exit 1
fi
missing=
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
