#!/bin/bash
# Kernel tier: the BPF program on the kernel users run, not only on the
# build machine's. Boots Debian 12's stock kernel (the cloud-amd64 flavour)
# under qemu (TCG) with a small initramfs, and inside it runs the BPF
# program tests (tests/bpf/test_xdp) and the live veth test
# (tests/kernel/guest_test: native XDP and the tc egress program on a veth
# pair, crafted frames from each CPU, exact counts read through the
# plugin's reader), then joins a libxdp dispatcher that xdp-tools'
# xdp-loader put there (the build machine may refuse the freplace
# programs a dispatcher needs; this kernel runs them). See init.sh for the
# guest side.
#
# The kernel package is the one linux-image-cloud-amd64 depends on in the
# apt lists (no ABI is pinned), fetched with apt-get download; vmlinuz, its
# config and the modules the tests need (veth; sch_ingress and cls_bpf for
# the tc program on clsact) are kept in tests/kernel/cache/ under the build
# directory, so later runs fetch nothing until the ABI changes.
#
# Environment: top_srcdir, top_builddir (exported by `make check`; default:
# the source tree and the current directory), ITR_KERNEL_TIMEOUT (seconds
# for boot and tests, default 120), ITR_KERNEL_CACHE (the cache directory),
# ITR_KERNEL_KEEP=1 keeps the temporary directory.
#
# Needs no root itself (the guest runs the tests as its root). Exit status:
# 0 pass, 1 fail, 77 skip. A missing tool or kernel package fails as root
# or with ITR_NO_SKIP=1 (CI installs everything: contrib/install-deps.sh),
# and skips otherwise.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$PWD}
timeout_s=${ITR_KERNEL_TIMEOUT:-120}
cache=${ITR_KERNEL_CACHE:-$top_builddir/tests/kernel/cache}
flavour=cloud-amd64
modules="drivers/net/veth.ko net/sched/sch_ingress.ko net/sched/cls_bpf.ko"
test_xdp=$top_builddir/tests/bpf/test_xdp
guest_test=$top_builddir/tests/kernel/guest_test
xdp_pass=$top_builddir/tests/e2e/xdp_pass.bpf.o
sendframes=$top_builddir/tests/e2e/sendframes
ctl=$top_builddir/iptrafficctl
plugin=$top_builddir/.libs/iptraffic.so
collectd=/usr/sbin/collectd
collectd_plugins=/usr/lib/collectd
types_db=/usr/share/collectd/types.db
busybox=/bin/busybox
# Another tool's libxdp dispatcher in the guest: xdp-tools' xdp-loader,
# and the dispatcher object libxdp loads.
xdp_loader=$(command -v xdp-loader || echo /usr/sbin/xdp-loader)
dispatcher_obj=$(dpkg -L libxdp1 2>/dev/null | grep '/xdp-dispatcher\.o$' | head -n 1)

tmp=
qemu_pid=

log() { printf 'kernel tier: %s\n' "$*"; }
fail() {
  printf 'FAIL: kernel tier: %s\n' "$*"
  exit 1
}
# A missing prerequisite: root can install it, so that is a failure (and
# always with ITR_NO_SKIP=1, as tests/run-all.sh sets it for CI).
missing() {
  if [ "$(id -u)" -eq 0 ] || [ "${ITR_NO_SKIP:-0}" = 1 ]; then
    fail "$* (contrib/install-deps.sh installs what the tests need)"
  fi
  printf 'SKIP: kernel tier: %s (as root, contrib/install-deps.sh installs it)\n' "$*"
  exit 77
}
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
ms() { local t=${EPOCHREALTIME//[.,]/}; printf '%s' $((t / 1000)); }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  if [ -n "$tmp" ]; then
    if [ "${ITR_KERNEL_KEEP:-0}" = 1 ]; then
      log "kept $tmp"
    else
      rm -rf "$tmp"
    fi
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- prerequisites -------------------------------------------------------------

command -v qemu-system-x86_64 >/dev/null ||
  missing "qemu-system-x86_64 not found (package qemu-system-x86)"
# ldd fails on a static program.
if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  missing "no static $busybox (package busybox-static)"
fi
for tool in cpio gzip apt-get apt-cache dpkg-deb tar ldd awk; do
  command -v "$tool" >/dev/null || missing "$tool not found"
done
grep -q '^#define HAVE_LIBXDP 1' "$top_builddir/itr_config.h" 2>/dev/null ||
  missing "the plugin was built without libxdp (package libxdp-dev; configure again)"
[ -x "$xdp_loader" ] || missing "xdp-loader not found (package xdp-tools)"
[ -n "$dispatcher_obj" ] && [ -r "$dispatcher_obj" ] ||
  missing "libxdp's xdp-dispatcher.o not found (package libxdp1)"
[ -r "$xdp_pass" ] || fail "$xdp_pass not built (make check builds it)"
[ -x "$collectd" ] && [ -r "$collectd_plugins/csv.so" ] && [ -r "$types_db" ] ||
  missing "collectd not found (package collectd-core)"
[ -r "$plugin" ] || fail "$plugin not built (run make)"
for prog in "$test_xdp" "$guest_test" "$sendframes" "$ctl"; do
  [ -x "$prog" ] || fail "$prog not built (make check builds it)"
  [ "$(head -c 2 "$prog")" != "#!" ] ||
    fail "$prog is a libtool wrapper script, not the program"
done

# --- the kernel ------------------------------------------------------------------

# linux-image-cloud-amd64 depends on exactly one linux-image-ABI-cloud-amd64.
fetch_start=$(now)
pkg=$(apt-cache depends "linux-image-$flavour" 2>/dev/null |
  sed -n "s/^ *Depends: \(linux-image-[0-9][^ ]*-$flavour\)\$/\1/p" | head -n 1)
[ -n "$pkg" ] ||
  missing "apt-cache does not know linux-image-$flavour (run apt-get update)"
abi=${pkg#linux-image-}
kdir=$cache/$abi
if [ -f "$kdir/complete" ]; then
  log "kernel $abi from the cache ($kdir)"
else
  # Only one kernel is kept: drop those of earlier ABIs.
  rm -rf "$cache"/*-"$flavour" "$cache/download" "$cache/extract"
  mkdir -p "$cache/download"
  log "fetching $pkg"
  # apt's _apt user may not write to the build directory.
  (cd "$cache/download" &&
    { apt-get download -qq -o APT::Sandbox::User=root "$pkg" ||
      apt-get download -qq -o APT::Sandbox::User=root "$pkg-unsigned"; }) ||
    missing "apt-get download $pkg failed (apt lists out of date? run apt-get update)"
  deb=$(find "$cache/download" -name '*.deb' | head -n 1)
  mkdir -p "$cache/extract"
  members=("./boot/vmlinuz-$abi" "./boot/config-$abi")
  for m in $modules; do
    members+=("./lib/modules/$abi/kernel/$m*") # also .ko.xz, .ko.zst
  done
  dpkg-deb --fsys-tarfile "$deb" |
    tar -x -C "$cache/extract" --wildcards "${members[@]}" ||
    fail "$deb lacks vmlinuz, config or one of the modules ($modules)"
  mkdir -p "$kdir/modules"
  mv "$cache/extract/boot/vmlinuz-$abi" "$kdir/vmlinuz"
  mv "$cache/extract/boot/config-$abi" "$kdir/config"
  for m in $modules; do
    f=$(find "$cache/extract/lib/modules" -path "*/$m*" | head -n 1)
    case $f in
    *.ko) mv "$f" "$kdir/modules/" ;;
    *.ko.xz) xz -dc "$f" >"$kdir/modules/$(basename "$m")" ;;
    *.ko.zst) zstd -qdc "$f" >"$kdir/modules/$(basename "$m")" ;;
    *) fail "module $m not in $deb" ;;
    esac
  done
  rm -rf "$cache/download" "$cache/extract"
  touch "$kdir/complete"
  log "kernel $abi fetched in $(since "$fetch_start") s, cached in $kdir"
fi

# --- the initramfs ---------------------------------------------------------------

initrd_start=$(now)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/itr-kernel.XXXXXX")
root=$tmp/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/modules"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh" # /init's interpreter; init.sh adds the rest
cp "$top_srcdir/tests/kernel/init.sh" "$root/init"
chmod 755 "$root/init"
cp "$kdir"/modules/*.ko "$root/modules/"
cp "$xdp_pass" "$root/"
mkdir -p "$root$(dirname "$dispatcher_obj")"
cp "$dispatcher_obj" "$root$dispatcher_obj"
# A program or plugin at path in the guest, with its shared libraries at
# the paths the dynamic loader looks in.
add() { # file path
  mkdir -p "$root$(dirname "$2")"
  cp -L "$1" "$root$2"
  for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
                               $1 ~ /^\// { print $1 }'); do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
for prog in "$test_xdp" "$guest_test" "$xdp_loader" "$sendframes" "$ctl"; do
  add "$prog" "/$(basename "$prog")"
done
# collectd with the built plugin (tests/kernel/collectd.sh).
add "$collectd" /usr/sbin/collectd
for p in logfile csv; do
  add "$collectd_plugins/$p.so" "/usr/lib/collectd/$p.so"
done
add "$plugin" /usr/lib/collectd/iptraffic.so
add "$types_db" /usr/share/collectd/types.db
cp "$top_srcdir/tests/kernel/collectd.sh" "$root/collectd.sh"
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$tmp/initrd.gz"
log "initramfs built in $(since "$initrd_start") s ($(du -k "$tmp/initrd.gz" | cut -f1) KiB)"

# --- boot ----------------------------------------------------------------------------

boot_start=$(now)
console=$tmp/console.log
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 512 -smp 2 -M pc \
  -display none -nodefaults -no-reboot -serial stdio \
  -kernel "$kdir/vmlinuz" -initrd "$tmp/initrd.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off" \
  </dev/null >"$console" 2>&1 &
qemu_pid=$!
timed_out=0
deadline=$(($(ms) + timeout_s * 1000))
while kill -0 "$qemu_pid" 2>/dev/null; do
  if [ "$(ms)" -ge "$deadline" ]; then
    timed_out=1
    kill "$qemu_pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
qemu_status=0
wait "$qemu_pid" || qemu_status=$?
qemu_pid=
elapsed=$(since "$boot_start")

tr -d '\r' <"$console" >"$tmp/guest.log"
echo "--- guest console (kernel $abi)"
cat "$tmp/guest.log"
echo "--- end of guest console"

if grep -q '^feature: ' "$tmp/guest.log"; then
  log "guest kernel $abi; what it has:"
  sed -n 's/^feature: /  /p; s/^note: /  note: /p' "$tmp/guest.log"
fi
boot=$(sed -n 's/^ITR-KERNEL: booted in \(.*\) s$/\1/p' "$tmp/guest.log")
log "qemu ran ${elapsed} s${boot:+ (the guest booted in $boot s)}"

if [ "$timed_out" = 1 ]; then
  fail "no result within ${timeout_s} s (ITR_KERNEL_TIMEOUT); qemu killed"
fi
result=$(sed -n 's/^ITR-KERNEL-RESULT: //p' "$tmp/guest.log" | tail -n 1)
case $result in
PASS)
  log "PASS on $abi"
  exit 0
  ;;
FAIL)
  grep 'FAIL' "$tmp/guest.log" | sed 's/^/  /' || true
  fail "the guest reported failures on $abi"
  ;;
*)
  fail "the guest printed no result (qemu exit status $qemu_status; a kernel panic or a crash in /init?)"
  ;;
esac
