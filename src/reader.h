/*
 * Reading the kernel's address table into the userspace snapshot.
 *
 * Functions return 0 or a negative errno; they do not log.
 */
#ifndef ITR_READER_H
#define ITR_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "table.h"

struct itr_reader;

/* A reader of the per-CPU table behind map_fd. Its buffers are allocated
 * once, independent of the table's size. */
int itr_reader_new(struct itr_reader **out, int map_fd);
void itr_reader_free(struct itr_reader *r);

/* One pass: reads every key with batch lookups (key iteration where the
 * kernel has no batch operations), sums the CPUs and records the result in
 * t with itr_table_begin_pass/record/end_pass. */
int itr_reader_pass(struct itr_reader *r, struct itr_table *t, uint64_t now);

/* Removes key from the kernel table; final receives its last counters
 * (atomically where the kernel can look up and delete in one step). */
int itr_reader_delete(struct itr_reader *r, const struct iptraffic_key *key,
                      struct itr_counters *final);

/* Creates key with zero counters unless it exists. */
int itr_reader_create(struct itr_reader *r, const struct iptraffic_key *key);

/* What the running kernel lacked, found out on first use. */
bool itr_reader_no_batch(const struct itr_reader *r);
bool itr_reader_no_lookup_and_delete(const struct itr_reader *r);

#endif /* ITR_READER_H */
