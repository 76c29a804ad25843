#!/bin/bash
# The fuzzing tier: builds the libFuzzer targets with clang (with ASan and
# UBSan) and runs each for a bounded time, from the committed corpus in
# tests/fuzz/corpus/ (new inputs go to a scratch copy; see README.md,
# Tests, for adding them):
#   fuzz_config  the configuration parser and the matcher (no privileges);
#   fuzz_frames  the BPF programs' frame parser against a reference
#                (bpf_prog_test_run: root and a BPF-capable kernel).
# Prints, per target, the runs, their rate and the new inputs found.
#
# Environment: top_srcdir, top_builddir (exported by `make check`),
# ITR_FUZZ_SECONDS (per target, default 20), CLANG (default clang).
# Exit status: 0 pass, 1 a target failed (its crashing input is kept in
# the build directory), 77 skip.
set -eu

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$PWD}
seconds=${ITR_FUZZ_SECONDS:-20}
clang=${CLANG:-clang}
out=$top_builddir/tests/fuzz
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -I"$top_srcdir/src" -I"$top_srcdir/bpf")

skip() {
  if [ "$(id -u)" -eq 0 ] || [ "${ITR_NO_SKIP:-0}" = 1 ]; then
    echo "FAIL: fuzz: $* (contrib/install-deps.sh installs what it needs)"
    exit 1
  fi
  echo "SKIP: fuzz: $*"
  exit 77
}

mkdir -p "$out"
probe=$out/probe.c
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe"
"$clang" -fsanitize=fuzzer "$probe" -o "$out/probe" 2>/dev/null ||
  skip "$clang cannot build libFuzzer targets (package libclang-rt-14-dev)"
rm -f "$probe" "$out/probe"

# target, then the other sources or libraries it links.
build() {
  local target=$1
  shift
  "$clang" "${flags[@]}" "$top_srcdir/tests/fuzz/$target.c" "$@" -o "$out/$target"
}

# target, then libFuzzer's options.
fuzz() {
  local target=$1 scratch log
  shift
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/itr-fuzz-$target.XXXXXX")
  log=$out/$target.log
  if ! (cd "$out" && "./$target" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$out/$target-" "$@" "$scratch" \
    "$top_srcdir/tests/fuzz/corpus/${target#fuzz_}") >"$log" 2>&1; then
    tail -n 40 "$log"
    rm -rf "$scratch"
    echo "FAIL: fuzz: $target found a failing input (kept as $out/$target-*)"
    exit 1
  fi
  rm -rf "$scratch"
  awk -v t="$target" '
    /^stat::number_of_executed_units:/ { runs = $2 }
    /^stat::average_exec_per_sec:/ { rate = $2 }
    /^stat::new_units_added:/ { added = $2 }
    /^stat::peak_rss_mb:/ { rss = $2 }
    /^Done [0-9]+ runs in/ { secs = $5 }
    END { printf "fuzz: %s: %d runs in %s s (%d/s), %d new inputs, peak RSS %s MB\n",
          t, runs, secs, rate, added, rss }' "$log"
}

build fuzz_config "$top_srcdir/src/plugin_config.c" "$top_srcdir/src/match.c"
fuzz fuzz_config

if [ "$(id -u)" -ne 0 ]; then
  skip "fuzz_frames needs root (bpf_prog_test_run)"
fi
libs=("$top_builddir/.libs/libitr_bpf.a" "$top_builddir/.libs/libitr_pure.a")
for lib in "${libs[@]}"; do
  [ -r "$lib" ] || { echo "FAIL: fuzz: $lib not built (run make)"; exit 1; }
done
grep -q '^#define HAVE_LIBXDP 1' "$top_builddir/itr_config.h" && libs+=(-lxdp)
build fuzz_frames "${libs[@]}" -lbpf -lelf -lz
fuzz fuzz_frames -max_len=1514
