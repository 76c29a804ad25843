/*
 * The state kept across restarts (PinPath): what the pinned tables must
 * look like for this configuration, and whether pinned ones can be reused.
 *
 * Pure logic: libc only.
 */
#ifndef ITR_STATE_H
#define ITR_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "iptraffic.h"
#include "plugin_config.h"

/* The record the tables of cfg are pinned with. */
void itr_meta_build(const struct itr_config *cfg, uint32_t ipv4_entries,
                    uint32_t ipv6_entries, uint32_t hot_entries,
                    struct iptraffic_meta *out);

enum itr_reuse {
  ITR_REUSE_SAME,    /* the same tables: reuse them as they are */
  ITR_REUSE_RESIZE,  /* other sizes, same keys: carry the entries over */
  ITR_REUSE_RESHAPE, /* the options that shape keys changed: start afresh */
  ITR_REUSE_MIGRATE, /* an earlier schema this version migrates, same
                        keys: carry the entries over to new tables */
  ITR_REUSE_SCHEMA,  /* another schema version: it cannot be read */
};

/* Whether tables of schema version v can be migrated to the current one
 * (bpf/iptraffic.h lists the earlier layouts). */
bool itr_schema_migrates(uint32_t v);

/* What to do with tables pinned with record pinned, for a configuration
 * whose record is want. */
enum itr_reuse itr_meta_compare(const struct iptraffic_meta *pinned,
                                const struct iptraffic_meta *want);

#endif /* ITR_STATE_H */
