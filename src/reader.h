/*
 * Reading the kernel's address tables into the userspace snapshot.
 *
 * Functions return 0 or a negative errno; they do not log.
 */
#ifndef ITR_READER_H
#define ITR_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "hot.h"
#include "loader.h"
#include "table.h"

struct itr_reader;

/* A reader of the tables in maps (bpf/iptraffic.h). Its buffers are
 * allocated once, independent of the tables' sizes. */
int itr_reader_new(struct itr_reader **out, const struct itr_maps *maps);
void itr_reader_free(struct itr_reader *r);

/* One pass: reads every key of the shared tables and of the per-CPU hot
 * table with batch lookups (key iteration where the kernel has no batch
 * operations), sums a key's CPUs and tables and records the result in t
 * with itr_table_begin_pass/record/end_pass. Once this reader has set the
 * hot keys (itr_reader_set_hot), it also frees the hot table's slots of
 * former hot addresses that never saw a frame; otherwise it only reads. */
int itr_reader_pass(struct itr_reader *r, struct itr_table *t, uint64_t now);

/* Removes key from the kernel's tables; final receives its last counters,
 * summed over the tables that held it (atomically where the kernel can
 * look up and delete in one step). -ENOENT when no table held it. */
int itr_reader_delete(struct itr_reader *r, const struct iptraffic_key *key,
                      struct itr_counters *final);

/* Creates key in the per-CPU hot table with zero counters unless it is
 * there. -E2BIG when that table is full. */
int itr_reader_create(struct itr_reader *r, const struct iptraffic_key *key);

/* The same in the shared IPv6 table, which takes the special keys the hot
 * table has no room for (key must be a special key). -E2BIG when full. */
int itr_reader_create_shared(struct itr_reader *r,
                             const struct iptraffic_key *key);

/* Makes the address keys of s the hot ones: creates what is missing in the
 * hot table (as far as it has room) and points the programs' filter at
 * them. Keys no longer hot keep their entries (and counters) until they
 * are deleted. Returns 0 or a negative errno; *created receives the number
 * of keys that have an entry. */
int itr_reader_set_hot(struct itr_reader *r, const struct itr_hot_set *s,
                       size_t *created);

/* What the running kernel lacked, found out on first use. */
bool itr_reader_no_batch(const struct itr_reader *r);
bool itr_reader_no_lookup_and_delete(const struct itr_reader *r);

#endif /* ITR_READER_H */
