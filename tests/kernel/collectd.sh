#!/bin/sh
# shellcheck shell=sh
#
# The kernel tier's collectd test, run by the guest's /init (init.sh) while
# xdp-loader's libxdp dispatcher, with tests/e2e/xdp_pass.bpf.o in it, holds
# vb's XDP hook: collectd with the built plugin joins the dispatcher, counts
# exactly, keeps its program there across kill -9 and a clean restart,
# replaces it when the tables are replaced (other MaxEntries), and
# iptrafficctl remove takes it out and leaves xdp-loader's program. Then,
# on a free hook, the plugin puts a dispatcher there itself, and
# xdp-loader adds its program after the plugin's.
#
#   collectd.sh SEND_IF RECV_IF
#
# Prints "FAIL: ..." lines for failed checks; exits 0 when all passed.

send_if=$1
recv_if=$2
dir=/tmp/collectd
csv=/tmp/csv
log=$dir/collectd.log
conf=$dir/collectd.conf
pin=/sys/fs/bpf/iptraffic
src=10.9.0.1
dst=10.9.0.2
mac=$(cat "/sys/class/net/$recv_if/address")
failures=0
pid=

fail() {
  echo "FAIL: collectd: $*"
  failures=$((failures + 1))
}

# As collectd's write plugins see it: the plugin dispatched tx packets of
# src on RECV_IF, in the csv file's last line ("epoch,rx,tx").
tx_packets() {
  f=$(ls "$csv"/guest/iptraffic-"$recv_if"/if_packets-"$src"-* 2>/dev/null | tail -n 1)
  [ -n "$f" ] && tail -n 1 "$f" | awk -F, '{ printf "%d", $3 }'
}

# Waits up to 10 s for the csv to show want, then reports what it shows.
expect() { # what want
  i=0
  while [ "$i" -lt 50 ] && [ "$(tx_packets)" != "$2" ]; do
    sleep 0.2
    i=$((i + 1))
  done
  got=$(tx_packets)
  [ "$got" = "$2" ] || fail "$1: $src tx packets $got, want $2"
  echo "collectd: $1: $src tx packets $got"
}

send() { # count
  /sendframes --dst-mac "$mac" "$send_if" \
    "src=$src,dst=$dst,payload=60,count=$1" >/dev/null ||
    fail "sendframes $1"
}

write_conf() { # extra plugin options
  cat >"$conf" <<EOF
Hostname "guest"
FQDNLookup false
BaseDir "$dir"
PIDFile "$dir/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel "info"
  File "$log"
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "$csv"
</Plugin>
LoadPlugin iptraffic
<Plugin iptraffic>
  Interface "$recv_if"
  Direction "ingress"
  PinPath "$pin"
$1
</Plugin>
EOF
}

# Starts collectd and waits for the plugin's line about RECV_IF, which
# must say how many programs the dispatcher runs (default 2).
start() { # what the line must say after that
  : >"$log"
  /usr/sbin/collectd -f -C "$conf" >>"$dir/collectd.out" 2>&1 &
  pid=$!
  i=0
  while [ "$i" -lt 100 ] && ! grep -q "interface $recv_if (ifindex [0-9]*): counting" "$log"; do
    sleep 0.1
    i=$((i + 1))
  done
  grep "iptraffic" "$log" | sed 's/^/  /'
  n=${2:-2}
  [ "$n" = 1 ] && programs="1 program" || programs="$n programs"
  grep -q "counting ingress with XDP in native mode in a libxdp dispatcher of $programs$1" "$log" ||
    fail "the plugin did not say it counts in a dispatcher of $programs${1:+ ($1)}"
}

stop() { # signal
  kill "-$1" "$pid"
  wait "$pid" 2>/dev/null
  pid=
}

in_dispatcher() { # program name
  /xdp-loader status "$recv_if" | grep -q " $1 "
}

mkdir -p "$dir" "$csv"
write_conf ""

start ""
in_dispatcher iptraffic_xdp || fail "xdp-loader status does not list iptraffic_xdp"
send 10
expect "joined" 10

stop KILL
in_dispatcher iptraffic_xdp || fail "the program left the dispatcher with collectd killed"
send 5 # counted while collectd is down
start " (kept since the last start)"
send 3
expect "after kill -9" 18

# Other sizes: new tables, so a new program in the dispatcher.
stop TERM
in_dispatcher iptraffic_xdp || fail "the program left the dispatcher at a clean stop"
write_conf "  MaxEntries 8192"
start ""
grep -q "replaced the program an earlier start left in the libxdp dispatcher" "$log" ||
  fail "no INFO line about replacing the program in the dispatcher"
send 2
expect "after other MaxEntries" 20
stop TERM

/xdp-loader status "$recv_if"
/iptrafficctl --pin-path "$pin" remove || fail "iptrafficctl remove"
in_dispatcher iptraffic_xdp && fail "iptraffic_xdp still in the dispatcher after iptrafficctl remove"
in_dispatcher xdp_pass || fail "xdp-loader's program went with iptrafficctl remove"
[ ! -e "$pin" ] || fail "iptrafficctl remove left $pin"

# A free hook: the plugin puts a dispatcher there (XDPDispatcher true, the
# default), and xdp-loader adds its program after the plugin's.
/xdp-loader unload "$recv_if" --all || fail "xdp-loader unload --all"
rm -rf "$csv"
src=10.9.1.1
write_conf ""
start "" 1
/xdp-loader load -m native "$recv_if" /xdp_pass.bpf.o ||
  fail "xdp-loader could not add its program to the plugin's dispatcher"
/xdp-loader status "$recv_if"
in_dispatcher iptraffic_xdp && in_dispatcher xdp_pass ||
  fail "the dispatcher does not run both programs"
send 6
expect "in its own dispatcher" 6
stop TERM
/iptrafficctl --pin-path "$pin" remove || fail "iptrafficctl remove"
in_dispatcher iptraffic_xdp && fail "iptraffic_xdp still in the dispatcher after iptrafficctl remove"
in_dispatcher xdp_pass || fail "xdp-loader's program went with iptrafficctl remove"

[ "$failures" -eq 0 ]
