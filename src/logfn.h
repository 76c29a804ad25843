/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * How the libbpf side (loader, dispatcher) hands libbpf's and libxdp's
 * messages to whoever logs: one line each, no trailing newline. Their
 * info and debug messages both arrive as ITR_LOG_DEBUG.
 */
#ifndef ITR_LOGFN_H
#define ITR_LOGFN_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum itr_log_level {
  ITR_LOG_DEBUG,
  ITR_LOG_WARNING,
};

typedef void (*itr_print_fn)(enum itr_log_level level, const char *msg);

/* A library's printf-style message to fn, as one line without its
 * trailing newlines; nothing for an empty one. */
static inline void itr_print_va(itr_print_fn fn, enum itr_log_level level,
                                const char *fmt, va_list ap) {
  char msg[512];
  size_t n;

  if (!fn)
    return;
  vsnprintf(msg, sizeof(msg), fmt, ap);
  n = strlen(msg);
  while (n > 0 && msg[n - 1] == '\n')
    msg[--n] = '\0';
  if (n > 0)
    fn(level, msg);
}

#endif
