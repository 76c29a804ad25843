#!/bin/sh
# shellcheck shell=sh
#
# /init of the kernel tier's guest; tests/kernel/run.sh puts it into the
# initramfs with a static busybox, the test programs with their shared
# libraries, and the kernel modules the tests need.
#
# Mounts the pseudo file systems, turns IPv6 off (so that the kernel's own
# neighbour and router traffic stays out of the counters), loads the
# modules, makes a veth pair, runs the BPF program tests (tests/bpf/test_xdp)
# and the live veth test (guest_test), then the dispatcher tests (guest_test
# --dispatcher and collectd.sh, after xdp-loader loaded another program on
# vb), prints one
# result line per program
# and a closing "ITR-KERNEL-RESULT: PASS" or "... FAIL", and powers off.

PATH=/bin
export PATH

/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t bpf bpf /sys/fs/bpf
mkdir -p /run # xdp-loader's lock file

read -r up _ </proc/uptime
echo "ITR-KERNEL: booted in ${up} s"

status=PASS
fail() {
  echo "ITR-KERNEL: FAIL: $*"
  status=FAIL
}

echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6

for m in /modules/*.ko; do
  [ -e "$m" ] || continue
  insmod "$m" || fail "insmod $m"
done

# busybox ip ignores the peer's name: the peer comes up as veth0.
if ip link add va type veth peer name vb && { [ -e /sys/class/net/vb ] ||
  ip link set veth0 name vb; }; then
  { ip link set va up && ip link set vb up; } || fail "veth pair up"
else
  fail "creating a veth pair"
fi

run() {
  name=$1
  shift
  echo "== $name"
  read -r start _ </proc/uptime
  if "$@"; then
    read -r end _ </proc/uptime
    echo "ITR-KERNEL: $name: PASS ($(echo "$start $end" | awk '{ printf "%.2f", $2 - $1 }') s)"
  else
    fail "$name (exit status $?)"
  fi
}

run test_xdp /test_xdp
run guest_test /guest_test va vb

# Another tool's XDP program on vb through libxdp: xdp-loader puts a
# dispatcher there, which the plugin joins as one more program.
if /xdp-loader load -m native vb /xdp_pass.bpf.o; then
  /xdp-loader status vb
  run dispatcher /guest_test --dispatcher va vb
  run collectd /bin/sh /collectd.sh va vb
  /xdp-loader status vb
  /xdp-loader unload vb --all || fail "xdp-loader unload vb --all"
else
  fail "xdp-loader load -m native vb /xdp_pass.bpf.o"
fi

read -r up _ </proc/uptime
echo "ITR-KERNEL: tests done at ${up} s"
echo "ITR-KERNEL-RESULT: $status"
poweroff -f
