#!/bin/sh
# Sets everything up and runs every test: the five tiers (unit, BPF
# program, end to end, kernel, fuzzing), the unit and BPF tests again under
# valgrind and ASan/UBSan, collectd with an ASan/UBSan build of the plugin
# through the end-to-end tests, the formatting and static checks, make
# distcheck, and the Debian (built, lintian, installed, run) and RPM
# packages.
#
# Usage (as root, from anywhere): tests/run-all.sh
# Builds out of tree in build-test/ and build-sanitize/ under the source tree.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '\n=== %s\n' "$*"; }

if [ "$(id -u)" -eq 0 ]; then
  step "installing dependencies"
  contrib/install-deps.sh
  # As root every prerequisite is there: a test that would skip fails.
  export ITR_NO_SKIP=1
else
  echo "not root: skipping package installation; root-only tests will skip"
fi

step "formatting (clang-format)"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src bpf tests -name '*.[ch]')
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files

step "static analysis (cppcheck)"
cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
  --inline-suppr --std=c11 -D__x86_64__ -DHAVE_LIBXDP -Ibpf -Isrc -Itests/lib \
  --include=tests/cppcheck-defs.h \
  --suppress=missingIncludeSystem src tests/lib tests/unit tests/e2e tests/bpf tests/kernel tests/fuzz \
  bench

step "configure and build (-Werror)"
contrib/build.sh build-test --enable-werror

step "build the benchmarks (bench/, against that build; run with bench/run.sh)"
make -s -C bench BUILD="$top/build-test"

run_check() {
  dir=$1
  shift
  if ! (cd "$dir" && make -j"$jobs" check "$@"); then
    find "$dir/tests" -name '*.log' -exec sh -c \
      'for f; do grep -qE "^:test-result: (FAIL|ERROR)" "${f%.log}.trs" 2>/dev/null && { echo "--- $f"; tail -n 80 "$f"; }; done' sh {} +
    exit 1
  fi
}

step "all test tiers"
run_check build-test
# Every tier ran whole: as root nothing may skip, and none may be empty (a
# configure that found no libcheck builds no unit tests at all).
if [ -n "${ITR_NO_SKIP:-}" ]; then
  unit=$(cd build-test && make -s print-unit-tests)
  [ -n "$unit" ] || {
    echo "no unit tests were built: configure did not find libcheck" >&2
    exit 1
  }
  want=$(cd build-test && make -s print-tests | tr ' ' '\n' | grep -c '^tests/')
  ran=$(sed -n 's/^# TOTAL: *//p' build-test/test-suite.log)
  skipped=$(sed -n 's/^# SKIP: *//p' build-test/test-suite.log)
  [ "$ran" = "$want" ] && [ "$skipped" = 0 ] || {
    echo "$ran of $want tests ran, $skipped skipped (ITR_NO_SKIP=1)" >&2
    exit 1
  }
  echo "all $want tests ran, none skipped"
fi

step "unit tests under valgrind"
for t in build-test/tests/unit/test_*; do
  case $t in *.o | *.log | *.trs) continue ;; esac
  [ -x "$t" ] || continue
  CK_FORK=no build-test/libtool --mode=execute valgrind -q --error-exitcode=1 \
    --leak-check=full --errors-for-leak-kinds=definite,indirect "$t" >/dev/null
  echo "valgrind clean: $t"
done

step "unit and BPF tests under ASan/UBSan"
contrib/build.sh build-sanitize --enable-werror \
  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
  LDFLAGS="-fsanitize=address,undefined"
run_check build-sanitize TESTS="$(cd build-test && make -s print-unit-tests) tests/bpf/test_xdp tests/bpf/test_attach"

step "collectd with the ASan/UBSan build of the plugin (end to end)"
# The runtimes preloaded into collectd (tests/e2e/lib.sh); any ASan or
# UBSan report, or a leak with a frame of the plugin's, fails the test.
# Valgrind cannot do this one: it does not model the bpf() commands
# libbpf uses (links, batch operations), so every buffer the kernel
# fills looks uninitialised to it.
run_check build-sanitize TESTS="tests/e2e/counts.sh tests/e2e/twoway.sh tests/e2e/hotplug.sh tests/e2e/aggregate.sh tests/e2e/patterns.sh tests/e2e/foreign.sh tests/e2e/persist.sh"

# A test that exits 77 skipped (not root, or a tool is missing where that
# is allowed); anything else but 0 fails the run.
run_skippable() {
  rc=0
  "$@" || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || exit 1
}

step "packaging: versions, configuration snippet, dashboard"
run_skippable tests/packaging/static.sh

step "make distcheck"
# The tarball builds out of tree from a read-only source copy, installs
# under its own prefix and passes the unit, BPF and two end-to-end tests
# (the other tiers ran above).
(cd build-test && make distcheck \
  TESTS="$(make -s print-unit-tests) tests/bpf/test_xdp tests/e2e/counts.sh tests/e2e/prometheus.sh")
tarball=build-test/collectd-iptraffic-$(sed -n 's/^PACKAGE_VERSION = //p' build-test/Makefile).tar.gz

step "Debian package: build, lintian, install, run"
run_skippable env top_builddir="$top/build-test" tests/packaging/deb.sh "$tarball"

step "RPM package"
run_skippable tests/packaging/rpm.sh "$tarball"

step "all tests passed"
