/*
 * The state kept across restarts under PinPath, on a BPF filesystem: the
 * directory and its lock, the metadata record, and the tables' pins.
 *
 * Functions return 0 or a negative errno; they do not log. Where a check
 * fails on a path, the path is handed back for the message.
 */
#ifndef ITR_PINS_H
#define ITR_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iptraffic.h"
#include "loader.h"
#include "plugin_config.h"

/* What itr_pins_open found wrong. */
enum itr_pins_problem {
  ITR_PINS_OK,
  ITR_PINS_MOUNT,     /* /sys/fs/bpf is no BPF filesystem and mounting one
                         there failed */
  ITR_PINS_NOT_BPFFS, /* the path is not on a BPF filesystem */
  ITR_PINS_MKDIR,     /* creating a directory failed */
  ITR_PINS_OWNER,     /* the directory belongs to another user */
  ITR_PINS_LOCKED,    /* another process holds the directory */
};

struct itr_pins;

/* Opens (creating it, mode 0700) the directory dir and locks it for this
 * process. A dir under /sys/fs/bpf gets a BPF filesystem mounted there
 * first if there is none (as bpftool does). On failure *why says what and
 * where (len bytes) on which path; *mounted says whether it mounted. */
int itr_pins_open(const char *dir, struct itr_pins **out,
                  enum itr_pins_problem *why, char *where, size_t len,
                  bool *mounted);
/* Releases the lock; the pins stay. */
void itr_pins_close(struct itr_pins *p);

const char *itr_pins_dir(const struct itr_pins *p);

/* The pinned record, -ENOENT when there is none. */
int itr_pins_read_meta(struct itr_pins *p, struct iptraffic_meta *out);
/* Pins (or updates) the record. */
int itr_pins_write_meta(struct itr_pins *p, const struct iptraffic_meta *m);

/* Whether any table is pinned, and how many entries the pinned tables
 * hold (for the messages). */
bool itr_pins_have_tables(struct itr_pins *p);
size_t itr_pins_count_entries(struct itr_pins *p);

/* Unpins the record, then the tables (of any schema). */
int itr_pins_drop_tables(struct itr_pins *p);

/* The id of the pinned IPv4 table, 0 if there is none: programs left
 * attached by an earlier collectd are known by the tables they use. */
uint32_t itr_pins_table_id(struct itr_pins *p);

/* The entries of the pinned tables (*entries of them), read as the plugin
 * reads them (one entry per key, summed over tables and CPUs), to be
 * written into tables of other sizes. schema is the pinned record's: the
 * current one, or an earlier one itr_schema_migrates() (-EPROTO for
 * others, or for tables that are not laid out as it says). */
struct itr_pins_stash;
int itr_pins_stash(struct itr_pins *p, uint32_t schema,
                   struct itr_pins_stash **out, size_t *entries);
/* Writes the stash into the tables in maps (new, empty); *kept and
 * *dropped count the entries that found room and those that did not.
 * Frees the stash. */
int itr_pins_restore(struct itr_pins_stash *s, const struct itr_maps *maps,
                     size_t *kept, size_t *dropped);
/* The same into the tables of l while its programs count in them (with
 * its merge program: itr_loader_has_merge): every entry is added to what
 * the programs counted meanwhile. Frees the stash. */
int itr_pins_merge(struct itr_pins_stash *s, const struct itr_loader *l,
                   size_t *kept, size_t *dropped);
void itr_pins_stash_free(struct itr_pins_stash *s);
/* What a stash holds, for reading (it stays the stash's). */
struct itr_table *itr_pins_stash_table(struct itr_pins_stash *s);

/* --- For the admin command ------------------------------------------------ */

/* Opens an existing PinPath without creating or mounting anything, and
 * tries its lock: *in_use says that a running collectd holds it (the
 * directory is then opened all the same, unlocked). -ENOENT when there is
 * no such directory. */
int itr_pins_open_existing(const char *dir, struct itr_pins **out,
                           bool *in_use);

/* Descriptors of the pinned tables (-1 where a table is missing), for the
 * reader; itr_pins_close_maps closes them. */
int itr_pins_maps(struct itr_pins *p, struct itr_maps *m);
void itr_pins_close_maps(struct itr_maps *m);

/* The pinned networks table as <Network> blocks (at most max; -EPROTO
 * past that), to load new tables shaped like the pinned ones. */
int itr_pins_networks(struct itr_pins *p, struct itr_network *out, size_t max,
                      size_t *n);

/* Whether an attachment is pinned. */
bool itr_pins_have_links(struct itr_pins *p);

/* The pin of an attachment: PinPath/links/<ifname>:<hook>, with any '.'
 * of the name as ':' (the links directory created if needed). */
int itr_pins_link_path(const struct itr_pins *p, const char *ifname,
                       const char *hook, char *buf, size_t len);

/* Unpins the attachments of the interfaces keep() says no to (NULL: all):
 * a link left without a pin detaches. */
int itr_pins_forget_links(struct itr_pins *p, bool (*keep)(const char *name));

/* Removes the attachments' pins, the record, the tables and the
 * directory. */
int itr_pins_remove(struct itr_pins *p);

#endif /* ITR_PINS_H */
