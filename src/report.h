/*
 * What one read reports: the snapshot walked once, grouped by interface,
 * turned into rows (an instance and the counters its series shows) under
 * ReportInactive, TopN and TopNHold, and each interface's health figures.
 *
 * Pure logic: libc only. The glue turns rows into collectd value lists.
 *
 * TopN accounts for every frame once: a member's series shows its
 * counters less what went to "other" while it was not a member, and a
 * non-member's increase goes to "other". So members + other equal the
 * interface's total at every read, however addresses come and go.
 */
#ifndef ITR_REPORT_H
#define ITR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table.h"

struct itr_report_opts {
  bool report_inactive; /* rows of instances that did not change too */
  uint32_t top_n;       /* per interface; 0 = every address */
  uint32_t top_n_hold;  /* intervals a member stays after leaving the top */
};

/* One interface, as the caller keeps it from read to read. */
struct itr_report_iface {
  uint32_t ifindex;          /* in: its keys; 0 = not counted now */
  struct itr_counters other; /* TopN: the "other" instance, cumulative */
  size_t addresses;          /* out: tracked addresses (and networks) */
  size_t rows;               /* out: rows handed over in this pass */
  size_t owed;               /* out: series that started with a zero in
                                this pass: the next one shows them */
  bool other_shown;          /* its "other" series started (report.c) */
  bool other_owed;           /* that started with a zero, its value due */
};

/* A row: key NULL for the interface's "other" instance (TopN). */
struct itr_report_row {
  size_t iface; /* index into the interfaces of the pass */
  const struct iptraffic_key *key;
  const struct itr_counters *counters;
};

typedef void (*itr_report_fn)(void *ctx, const struct itr_report_row *row);

struct itr_report;

/* A report for snapshots of up to capacity entries and up to ifaces
 * interfaces. NULL on allocation failure. */
struct itr_report *itr_report_new(size_t capacity, size_t ifaces);
void itr_report_free(struct itr_report *r);

/*
 * One read: every entry of t whose interface is among the n of ifs (by
 * ifindex), interface by interface (in the order of ifs), each interface's
 * special keys and addresses in the snapshot's order, then its "other".
 * O(entries + interfaces), plus O(log interfaces) per entry. Returns the
 * number of rows, or -1 if t or n exceed the sizes given to
 * itr_report_new.
 */
long itr_report_pass(struct itr_report *r, struct itr_table *t,
                     const struct itr_report_opts *o,
                     struct itr_report_iface *ifs, size_t n, itr_report_fn fn,
                     void *ctx);

#endif /* ITR_REPORT_H */
