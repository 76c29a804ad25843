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
  uint64_t last_change;         /* time of the last pass that saw a change */
  uint32_t generation;          /* last pass that saw the key */
  bool changed;                 /* counters changed in the last pass */
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

/* Removes one key. Returns 0 or -ENOENT. Moves the last entry into the
 * freed place of the dense array. */
int itr_table_remove(struct itr_table *t, const struct iptraffic_key *key);

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

/* True for the non-address keys (non-ip, malformed, untracked). */
bool itr_key_is_special(const struct iptraffic_key *key);

#endif /* ITR_TABLE_H */
