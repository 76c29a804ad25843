#!/bin/sh
# Sets everything up and runs every test: the three tiers (unit, BPF
# program, end to end), the unit and BPF tests again under valgrind and
# ASan/UBSan, and the formatting and static checks.
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
  --inline-suppr --std=c11 -D__x86_64__ -Ibpf -Isrc -Itests/lib \
  --include=tests/cppcheck-defs.h \
  --suppress=missingIncludeSystem src tests/lib tests/unit tests/e2e tests/bpf

step "configure and build (-Werror)"
contrib/build.sh build-test --enable-werror

run_check() {
  dir=$1
  shift
  if ! (cd "$dir" && make -j"$jobs" check "$@"); then
    find "$dir/tests" -name '*.log' -exec sh -c \
      'for f; do grep -qE "^(FAIL|ERROR)" "${f%.log}.trs" 2>/dev/null && { echo "--- $f"; cat "$f"; }; done' sh {} +
    exit 1
  fi
}

step "all test tiers"
run_check build-test

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
run_check build-sanitize TESTS="$(cd build-test && make -s print-unit-tests) tests/bpf/test_xdp"

step "all tests passed"
