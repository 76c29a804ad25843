/*
 * Userspace snapshot of the kernel's address table: per-CPU summing,
 * change detection and idle expiry.
 *
 * Pure logic: libc only. Entries live in one dense array (iteration order
 * is stable between removals); an open-addressing index of 32-bit slots
 * finds them by key. Nothing is allocated after itr_table_new().
 */
#ifndef ITR_TABLE_H
#define ITR_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iptraffic.h"

struct itr_counters {
  uint64_t rx_bytes;
  uint64_t rx_packets;
  uint64_t tx_bytes;
  uint64_t tx_packets;
};

struct itr_entry {
  struct iptraffic_key key;
  struct itr_counters counters; /* cumulative, summed over CPUs */
  struct itr_counters delta;    /* increase in the last pass */
  uint64_t last_change;         /* time of the last pass that saw a change */
  uint32_t generation;          /* last pass that saw the key */
  uint32_t top_until;           /* TopN: a member through this pass of the
                                   report (report.c) */
  struct itr_counters in_other; /* TopN: of counters, what went to "other"
                                   while not a member (report.c) */
  bool changed;                 /* counters changed in the last pass */
  bool started;                 /* report.c: its series was handed over */
  bool owed;                    /* report.c: its series started with a zero,
                                   its counters are due */
};

struct itr_table;

/* A table for up to capacity keys. NULL on allocation failure. */
struct itr_table *itr_table_new(size_t capacity);
void itr_table_free(struct itr_table *t);

size_t itr_table_count(const struct itr_table *t);
size_t itr_table_capacity(const struct itr_table *t);

/* The dense array of entries, itr_table_count() long. */
struct itr_entry *itr_table_entries(struct itr_table *t);

struct itr_entry *itr_table_find(struct itr_table *t,
                                 const struct iptraffic_key *key);

/* A read pass: begin, record every key read from the kernel, end.
 * Recording sets changed and last_change = now when the counters differ
 * from the previous pass (a new key counts as changed). Counters that go
 * backwards mean the kernel entry was recreated; they are taken as they
 * are. Returns 0, or -ENOSPC when the table is full. */
void itr_table_begin_pass(struct itr_table *t);
int itr_table_record(struct itr_table *t, const struct iptraffic_key *key,
                     const struct itr_counters *c, uint64_t now);
/* Removes the keys this pass did not see. Returns how many. */
size_t itr_table_end_pass(struct itr_table *t);

/* Sets e's counters to c: delta becomes the increase (all of c when the
 * counters went backwards: the kernel entry was recreated), changed and
 * last_change follow. */
void itr_entry_update(struct itr_entry *e, const struct itr_counters *c,
                      uint64_t now);

/* Bytes of both directions in the last pass: what TopN ranks by. */
uint64_t itr_entry_interval_bytes(const struct itr_entry *e);

/* Reorders entries so that the first min(n, k) are the k with the most
 * interval bytes (ties: the smaller key first), in no particular order.
 * Expected O(n). */
void itr_select_top(struct itr_entry **entries, size_t n, size_t k);

/* a += b, field by field. */
void itr_counters_add(struct itr_counters *a, const struct itr_counters *b);

/* Removes one key. Returns 0 or -ENOENT. Moves the last entry into the
 * freed place of the dense array. */
int itr_table_remove(struct itr_table *t, const struct iptraffic_key *key);

/* Removes every entry for which drop(entry, ctx) is true; drop sees each
 * entry once and may act on it before it goes (delete its key in the
 * kernel). Returns the number removed. */
size_t itr_table_remove_if(struct itr_table *t,
                           bool (*drop)(const struct itr_entry *e, void *ctx),
                           void *ctx);

/* Copies to out (at most max) the address keys whose counters have not
 * changed for idle or longer at time now. Special keys never expire.
 * Returns the number copied. idle == 0 disables expiry. */
size_t itr_table_collect_idle(const struct itr_table *t, uint64_t now,
                              uint64_t idle, struct iptraffic_key *out,
                              size_t max);

/* Sums ncpus per-CPU values laid out back to back, as the kernel returns
 * them for per-CPU maps (struct iptraffic_value is a multiple of 8 bytes,
 * so there is no padding between CPUs). */
void itr_percpu_sum(const struct iptraffic_value *percpu, unsigned ncpus,
                    struct itr_counters *out);

/* The kinds of the non-address keys every interface has. */
extern const uint8_t itr_special_kinds[IPTRAFFIC_NUM_SPECIAL];

/* True for the non-address keys (non-ip, malformed, untracked, ignored). */
bool itr_key_is_special(const struct iptraffic_key *key);

#endif /* ITR_TABLE_H */
