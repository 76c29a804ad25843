# ITR_PROG_CLANG_BPF
# Finds a clang that can compile for the BPF target; sets CLANG and
# BPF_CPPFLAGS (the multiarch include directory that holds asm/types.h).
AC_DEFUN([ITR_PROG_CLANG_BPF], [
  AC_ARG_VAR([CLANG], [clang compiler used for the BPF programs])
  AC_PATH_PROGS([CLANG], [clang clang-19 clang-16 clang-15 clang-14 clang-13], [no])
  AS_IF([test "x$CLANG" = xno],
    [AC_MSG_ERROR([clang not found: install the clang package (apt-get install clang)])])
  AC_MSG_CHECKING([whether $CLANG can target bpf])
  AS_IF([$CLANG -target bpf -x c -c -o /dev/null - </dev/null >/dev/null 2>&1],
    [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no])
     AC_MSG_ERROR([$CLANG cannot compile for the bpf target: install the clang and llvm packages])])
  itr_multiarch=`$CC -print-multiarch 2>/dev/null`
  BPF_CPPFLAGS=
  AS_IF([test -n "$itr_multiarch" && test -d "/usr/include/$itr_multiarch"],
    [BPF_CPPFLAGS="-I/usr/include/$itr_multiarch"])
  AC_SUBST([BPF_CPPFLAGS])
])

# ITR_PROG_BPFTOOL
# Finds bpftool (Debian installs it in /usr/sbin) and checks that it can
# generate skeletons.
AC_DEFUN([ITR_PROG_BPFTOOL], [
  AC_ARG_VAR([BPFTOOL], [bpftool used to generate the BPF skeleton])
  AC_PATH_PROG([BPFTOOL], [bpftool], [no], [$PATH$PATH_SEPARATOR/usr/sbin$PATH_SEPARATOR/sbin])
  AS_IF([test "x$BPFTOOL" = xno],
    [AC_MSG_ERROR([bpftool not found: install the bpftool package (apt-get install bpftool)])])
  AC_MSG_CHECKING([whether $BPFTOOL can generate skeletons])
  AS_IF([$BPFTOOL gen help 2>&1 | grep -q skeleton],
    [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no])
     AC_MSG_ERROR([$BPFTOOL has no "gen skeleton": install a newer bpftool])])
])
