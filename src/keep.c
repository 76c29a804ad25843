/**
 * collectd - iptraffic plugin: the state kept across restarts (PinPath).
 *
 * Opens PinPath and decides, from its record, what the tables pinned
 * there become (continued, carried over into new tables, migrated,
 * dropped); carries the entries over once the new tables are loaded;
 * detaches what an earlier start left on interfaces no longer
 * configured, and forgets their keys.
 */
#include "glue.h"

#include "utils/common/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void explain_pins_problem(enum itr_pins_problem why, const char *where,
                                 int err) {
  switch (why) {
  case ITR_PINS_MOUNT:
    ERROR(LOG_PREFIX "PinPath \"%s\": %s is no BPF filesystem and mounting "
                     "one there failed (%s): counting without keeping the "
                     "tables across restarts; mount it (mount -t bpf bpf %s) "
                     "or set PinPath \"\"",
          g.cfg.pin_path, where, STRERROR(-err), where);
    break;
  case ITR_PINS_NOT_BPFFS:
    ERROR(LOG_PREFIX "PinPath \"%s\" is not on a BPF filesystem: counting "
                     "without keeping the tables across restarts; choose a "
                     "path under a bpffs mount such as /sys/fs/bpf, or set "
                     "PinPath \"\"",
          where);
    break;
  case ITR_PINS_OWNER:
    ERROR(LOG_PREFIX "PinPath \"%s\" belongs to another user; collectd runs "
                     "as uid %u: counting without keeping the tables across "
                     "restarts; remove it or give it to that user",
          where, (unsigned)geteuid());
    break;
  case ITR_PINS_LOCKED:
    ERROR(LOG_PREFIX "PinPath \"%s\" is in use by another collectd (it holds "
                     "the lock): not starting; give each instance a PinPath "
                     "of its own",
          where);
    break;
  default:
    ERROR(LOG_PREFIX "PinPath \"%s\": creating or opening %s failed (%s): "
                     "counting without keeping the tables across restarts",
          g.cfg.pin_path, where, STRERROR(-err));
    break;
  }
}

/* Whether the pinned entries go into new tables. */
bool carries_over(const struct pin_plan *plan) {
  return plan->why == ITR_REUSE_RESIZE || plan->why == ITR_REUSE_MIGRATE;
}

/* Opens PinPath and decides what to do with what is pinned there. Nothing
 * is removed yet: until the new tables are loaded, the old ones stay.
 * Returns 0 (pins is NULL when PinPath cannot be used: counting goes on
 * without state) or -1 when the plugin must not start (locked). */
int prepare_pins(const struct itr_loader_opts *opts, struct pin_plan *plan) {
  struct iptraffic_meta want, have;
  enum itr_pins_problem why;
  char where[256];
  bool mounted;
  int err;

  memset(plan, 0, sizeof(*plan));
  err = itr_pins_open(g.cfg.pin_path, &g.pins, &why, where, sizeof(where),
                      &mounted);
  if (err) {
    explain_pins_problem(why, where, err);
    g.pins = NULL;
    return why == ITR_PINS_LOCKED ? -1 : 0;
  }
  if (mounted)
    INFO(LOG_PREFIX "mounted a BPF filesystem at /sys/fs/bpf for PinPath "
                    "\"%s\"",
         g.cfg.pin_path);
  if (!itr_pins_have_tables(g.pins)) {
    plan->reuse = true; /* libbpf creates and pins them */
    return 0;
  }
  itr_meta_build(&g.cfg, opts->ipv4, opts->ipv6, itr_loader_hot_entries(opts),
                 &want);
  plan->old_table = itr_pins_table_id(g.pins);
  plan->replace = true;
  err = itr_pins_read_meta(g.pins, &have);
  plan->why = err ? ITR_REUSE_SCHEMA : itr_meta_compare(&have, &want);
  plan->schema = err ? 0 : have.schema_version;
  /* Counted only for the messages of tables that are dropped: reused ones
   * are read at the start anyway (forget_stale_interfaces). */
  if (plan->why == ITR_REUSE_SCHEMA || plan->why == ITR_REUSE_RESHAPE)
    plan->entries = itr_pins_count_entries(g.pins);
  if (err) {
    WARNING(LOG_PREFIX "PinPath \"%s\" holds tables without a record this "
                       "version can read (%s): dropping them and their %zu "
                       "entries; counting starts from zero",
            g.cfg.pin_path, STRERROR(-err), plan->entries);
    return 0;
  }
  switch (plan->why) {
  case ITR_REUSE_SAME:
    plan->replace = false;
    plan->reuse = true;
    plan->continued = true; /* said once the tables are read */
    break;
  case ITR_REUSE_SCHEMA:
    WARNING(LOG_PREFIX "PinPath \"%s\" holds tables of map schema %u; this "
                       "version reads schema %u and migrates only from "
                       "schema %u: "
                       "dropping them and their %zu entries; counting starts "
                       "from zero",
            g.cfg.pin_path, have.schema_version, IPTRAFFIC_SCHEMA_VERSION,
            IPTRAFFIC_SCHEMA2, plan->entries);
    break;
  case ITR_REUSE_RESHAPE:
    INFO(LOG_PREFIX "the options that shape keys (IPv4PrefixLength, "
                    "IPv6PrefixLength, Network) changed: starting fresh "
                    "tables under \"%s\" (%zu entries dropped)",
         g.cfg.pin_path, plan->entries);
    break;
  case ITR_REUSE_RESIZE:
  case ITR_REUSE_MIGRATE:
    break; /* read once the new tables are loaded: finish_pins */
  }
  return 0;
}

/* The entries of the pinned tables into the new ones (RESIZE, MIGRATE).
 * With the merge program (plan->merge) this runs once the new programs
 * are attached and the runs of the old ones have ended: the old tables
 * are then final, and their entries are added to what the new programs
 * counted meanwhile, so nothing is lost.
 * Without it (before Linux 5.14) it runs just before attaching: what the
 * old programs count between the read and the switch is lost. */
static int carry_over(struct pin_plan *plan) {
  struct itr_pins_stash *stash;
  struct itr_maps maps;
  size_t kept, dropped;
  int err;

  /* Runs of the old programs that began before their links were updated
   * may still be counting into the old tables. */
  if (plan->merge)
    itr_loader_wait_programs();
  err = itr_pins_stash(g.pins, plan->schema, &stash, &plan->entries);

  if (err) {
    plan->entries = itr_pins_count_entries(g.pins);
    WARNING(LOG_PREFIX "the tables pinned under \"%s\" cannot be read as "
                       "their record says (map schema %u): %s; dropping them "
                       "and their %zu entries, counting starts from zero",
            g.cfg.pin_path, plan->schema, STRERROR(-err), plan->entries);
    return 0;
  }
  itr_loader_maps(g.loader, &maps);
  if (plan->merge)
    err = itr_pins_merge(stash, g.loader, &kept, &dropped);
  else
    err = itr_pins_restore(stash, &maps, &kept, &dropped);
  if (err) {
    ERROR(LOG_PREFIX "carrying the entries over to the new tables failed: "
                     "%s",
          STRERROR(-err));
    return -1;
  }
  if (plan->why == ITR_REUSE_MIGRATE && dropped)
    WARNING(LOG_PREFIX "migrated the tables under \"%s\" from map schema %u "
                       "to %u: carried %zu entries over; %zu did not fit "
                       "MaxEntries or MaxEntriesIPv6 and were dropped",
            g.cfg.pin_path, plan->schema, IPTRAFFIC_SCHEMA_VERSION, kept,
            dropped);
  else if (plan->why == ITR_REUSE_MIGRATE)
    INFO(LOG_PREFIX "migrated the tables under \"%s\" from map schema %u to "
                    "%u: carried all %zu entries over",
         g.cfg.pin_path, plan->schema, IPTRAFFIC_SCHEMA_VERSION, kept);
  else if (dropped)
    WARNING(LOG_PREFIX "MaxEntries, MaxEntriesIPv6 or the interfaces "
                       "changed: carried %zu entries over to the new "
                       "tables; %zu did not fit and were dropped",
            kept, dropped);
  else
    INFO(LOG_PREFIX "MaxEntries, MaxEntriesIPv6 or the interfaces changed: "
                    "carried all %zu entries over to the new tables",
         kept);
  return 0;
}

/* After a successful load: the entries carried over, the old pins
 * replaced by the new tables, the record last. Returns 0 or -1. */
int finish_pins(const struct itr_loader_opts *opts, struct pin_plan *plan) {
  struct iptraffic_meta want;
  int err;

  if (carries_over(plan) && carry_over(plan) < 0)
    return -1;
  if (plan->replace) {
    err = itr_pins_drop_tables(g.pins);
    if (!err)
      err = itr_loader_pin(g.loader, g.cfg.pin_path);
    if (err) {
      ERROR(LOG_PREFIX "replacing the tables pinned under \"%s\" failed: %s",
            g.cfg.pin_path, STRERROR(-err));
      return -1;
    }
  }
  itr_meta_build(&g.cfg, opts->ipv4, opts->ipv6, itr_loader_hot_entries(opts),
                 &want);
  err = itr_pins_write_meta(g.pins, &want);
  if (err) {
    ERROR(LOG_PREFIX "writing the record under \"%s\" failed: %s",
          g.cfg.pin_path, STRERROR(-err));
    return -1;
  }
  return 0;
}

static bool configured_name(const char *name) {
  return itr_matcher_counts(&g.matcher, name);
}

/* What an earlier start attached to interfaces no longer configured goes:
 * their pinned links, its programs in libxdp dispatchers, and (before
 * Linux 6.6) the clsact filters of the plugin's programs. */
void detach_unconfigured(uint32_t old_table) {
  struct if_nameindex *all = if_nameindex(), *i;
  uint32_t ids[2] = {itr_loader_table_id(g.loader), old_table};

  itr_pins_forget_links(g.pins, configured_name);
  for (i = all; i && i->if_index; i++) {
    struct itr_own_hooks h;

    if (configured_name(i->if_name) ||
        itr_find_own((int)i->if_index, ids, 2, &h) != 0 ||
        (!h.tc[ITR_TC_EGRESS].prog && !h.tc[ITR_TC_INGRESS].prog &&
         !h.xdp_dispatched))
      continue;
    h.xdp_prog = 0; /* links went with their pins */
    if (itr_detach_own((int)i->if_index, &h) == 0)
      INFO(LOG_PREFIX "interface %s is no longer configured: detached the "
                      "%s an earlier start left",
           i->if_name,
           h.xdp_dispatched ? "program in the libxdp dispatcher and "
                              "the clsact filters"
                            : "clsact filters");
  }
  if (all)
    if_freenameindex(all);
}

/* Keys of interface indexes that no configured interface has now (an
 * interface removed from the configuration, or recreated while collectd
 * was down) leave the reused tables before anything is attached. Returns
 * the number of entries the tables held. */
size_t forget_stale_interfaces(void) {
  struct if_nameindex *all = if_nameindex(), *i;
  uint32_t *now = calloc(ITR_MAX_COUNTED, sizeof(*now));
  size_t n = 0, n_read = 0;

  for (i = all; now && i && i->if_index && n < ITR_MAX_COUNTED; i++)
    if (itr_matcher_counts(&g.matcher, i->if_name))
      now[n++] = i->if_index;
  if (all)
    if_freenameindex(all);
  if (now &&
      itr_reader_pass(g.reader, g.table, CDTIME_T_TO_MS(cdtime())) == 0) {
    n_read = itr_table_count(g.table);
    forget_keys(now, n, true);
  }
  free(now);
  return n_read;
}
