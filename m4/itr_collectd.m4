# ITR_COLLECTD
# Locates collectd's plugin headers (Debian: collectd-dev) and the directory
# collectd loads plugins from. Sets COLLECTD_CPPFLAGS and collectd_plugindir.
AC_DEFUN([ITR_COLLECTD], [
  AC_ARG_WITH([collectd-include],
    [AS_HELP_STRING([--with-collectd-include=DIR],
      [collectd's header directory @<:@/usr/include/collectd@:>@])],
    [collectd_incdir=$withval], [collectd_incdir=/usr/include/collectd])
  COLLECTD_CPPFLAGS="-DHAVE_CONFIG_H -I$collectd_incdir -I$collectd_incdir/core -I$collectd_incdir/core/daemon"
  itr_save_CPPFLAGS=$CPPFLAGS
  CPPFLAGS="$CPPFLAGS $COLLECTD_CPPFLAGS"
  AC_CHECK_HEADER([daemon/plugin.h], [],
    [AC_MSG_ERROR([collectd's plugin headers not found in $collectd_incdir: install the collectd-dev package (apt-get install collectd-dev) or use --with-collectd-include])])
  CPPFLAGS=$itr_save_CPPFLAGS
  AC_SUBST([COLLECTD_CPPFLAGS])

  AC_ARG_WITH([collectd-plugindir],
    [AS_HELP_STRING([--with-collectd-plugindir=DIR],
      [where collectd loads plugins from @<:@detected, else LIBDIR/collectd@:>@])],
    [collectd_plugindir=$withval],
    [collectd_plugindir='${libdir}/collectd'
     for d in /usr/lib/collectd /usr/lib64/collectd /usr/lib/`$CC -print-multiarch 2>/dev/null`/collectd; do
       AS_IF([test -f "$d/cpu.so" || test -f "$d/csv.so"], [collectd_plugindir=$d; break])
     done])
  AC_SUBST([collectd_plugindir])
])
