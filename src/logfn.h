/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * How the libbpf side (loader, dispatcher) hands libbpf's and libxdp's
 * messages to whoever logs: one line each, no trailing newline. Their
 * info and debug messages both arrive as ITR_LOG_DEBUG.
 */
#ifndef ITR_LOGFN_H
#define ITR_LOGFN_H

enum itr_log_level {
  ITR_LOG_DEBUG,
  ITR_LOG_WARNING,
};

typedef void (*itr_print_fn)(enum itr_log_level level, const char *msg);

#endif
