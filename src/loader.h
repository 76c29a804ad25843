/*
 * The libbpf side of the plugin: load the BPF programs, attach them to
 * interfaces, detach them.
 *
 * Functions return 0 or a negative errno; they do not log. libbpf's own
 * messages go to the function given to itr_loader_set_print().
 */
#ifndef ITR_LOADER_H
#define ITR_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "logfn.h"
#include "plugin_config.h"

/* Routes libbpf's and libxdp's messages to fn. */
void itr_loader_set_print(itr_print_fn fn);

struct itr_loader;

/* Whether this process may use BPF at all: 0, or -EPERM (or another
 * negative errno) from creating a scratch map. */
int itr_loader_probe_privileges(void);

/* Opens the embedded BPF object, sizes both shared address tables (IPv4
 * and IPv6) to max_entries entries and the per-CPU table of hot keys to
 * the special keys of ITR_LOADER_INTERFACES interfaces plus
 * IPTRAFFIC_HOT_ADDRS addresses, and loads it into the kernel. */
int itr_loader_open(struct itr_loader **out, uint32_t max_entries);
#define ITR_LOADER_INTERFACES 16

/* Table sizes, and where the tables are pinned. */
struct itr_loader_opts {
  uint32_t ipv4;       /* entries of itr_addr4 (MaxEntries) */
  uint32_t ipv6;       /* entries of itr_addr6 (MaxEntriesIPv6) */
  size_t interfaces;   /* whose special keys itr_hot holds */
  const char *pin_dir; /* NULL: none. Else the tables are pinned there under
                          their names, and tables pinned there already are
                          reused (they must have the same types and sizes) */
  bool no_merge;       /* leave the merge program out, as before Linux 5.14
                          (for tests of that fallback) */
};

/* The hot table's size for opts. */
uint32_t itr_loader_hot_entries(const struct itr_loader_opts *opts);

/* The same with the given options and the aggregation of cfg:
 * IPv4PrefixLength, IPv6PrefixLength and the <Network> blocks (NULL: every
 * address on its own). */
int itr_loader_open_config(struct itr_loader **out,
                           const struct itr_loader_opts *opts,
                           const struct itr_config *cfg);
void itr_loader_close(struct itr_loader *l);

/* Pins the tables under dir, by their names (after a load without
 * pin_dir, once the tables pinned there before are gone). */
int itr_loader_pin(struct itr_loader *l, const char *dir);

/* Takes programs that use the map map_id (the IPv4 table of an earlier
 * start with the same PinPath) for this plugin's own: the egress filter
 * such a program holds is replaced in place, never doubled. */
void itr_loader_own(struct itr_loader *l, uint32_t map_id);

/* The maps of the loaded programs (bpf/iptraffic.h). */
struct itr_maps {
  int addr4;      /* itr_addr4 */
  int addr6;      /* itr_addr6 */
  int hot;        /* itr_hot */
  int hot_filter; /* itr_hot_filter */
};
void itr_loader_maps(const struct itr_loader *l, struct itr_maps *m);

/* The id of the IPv4 table (to know this plugin's programs by). */
uint32_t itr_loader_table_id(const struct itr_loader *l);

/* A map every program of the object uses (itr_addr4), to find them. */
int itr_loader_map_fd(const struct itr_loader *l);
int itr_loader_xdp_fd(const struct itr_loader *l);

/* What the running kernel offers, found out while loading. */
bool itr_loader_has_frags(const struct itr_loader *l); /* xdp.frags, 5.18 */
bool itr_loader_has_merge(const struct itr_loader *l); /* syscall, 5.14 */

/* Adds v to key's counters (a key in the plugin's form) in the loaded
 * tables while the programs count in them, atomically: in itr_hot if the
 * key is there, else in its shared table, creating the entry. Returns 0,
 * -E2BIG when that table is full, -EOPNOTSUPP without the merge program
 * (before Linux 5.14: tables are then written only before the programs
 * are attached). */
struct iptraffic_key;
struct iptraffic_value;
int itr_loader_merge(const struct itr_loader *l,
                     const struct iptraffic_key *key,
                     const struct iptraffic_value *v);

/* Returns once every program run that began before the call has ended,
 * so that tables the programs no longer use (their links updated to new
 * ones) are final and can be read whole. */
void itr_loader_wait_programs(void);

/* Above this MTU the XDP program is the multi-buffer (xdp.frags) one, where
 * the kernel has it: frames may then span several buffers. */
#define ITR_XDP_FRAGS_MTU 3000

/* An XDP program attached to one interface by the plugin. */
struct itr_xdp_attachment {
  int ifindex;
  int prog_fd;
  int link_fd;    /* >= 0 when attached through a bpf_link */
  uint32_t flags; /* XDP_FLAGS_* used when attached through netlink */
  bool native;    /* native (driver) mode; else generic (skb) mode */
  bool frags;     /* the multi-buffer program */
  bool attached;
  int mtu;
  int native_err;    /* auto mode: why native mode failed (0 if it did not) */
  bool used_netlink; /* the kernel has no XDP links (before 5.9) */
  bool reused;       /* a link pinned by an earlier start, updated to this
                        program, or this plugin's program kept in a
                        dispatcher: it never stopped counting */
  bool dispatched;   /* runs in another tool's libxdp dispatcher */
  bool keep;         /* dispatched: stays there when let go of */
  bool rejoined;     /* dispatched: an earlier start's program, counting
                        into other tables, was replaced (not atomically) */
  uint32_t dispatched_prog; /* its id there */
  int dispatched_count;     /* programs in the dispatcher, this one too */
};

/* Attaches the XDP program to ifindex in the given mode; in auto mode tries
 * native first and falls back to generic when the driver has no native
 * XDP (native_err tells why). Never replaces a program that is already
 * attached: -EBUSY then (see itr_xdp_query). */
int itr_xdp_attach(struct itr_loader *l, int ifindex, enum itr_xdp_mode mode,
                   struct itr_xdp_attachment *a);

/* Detaches what itr_xdp_attach attached, and nothing else. Safe to call
 * on a detached attachment. */
int itr_xdp_detach(struct itr_xdp_attachment *a);

/* The same, with the link pinned at pin (a file on a BPF filesystem), so
 * that the program stays attached and counting when collectd stops or
 * dies. A link pinned there for ifindex by an earlier start (in a mode
 * that mode allows) is updated to this program in place: not a frame is
 * missed. pin NULL: itr_xdp_attach. */
int itr_xdp_attach_pinned(struct itr_loader *l, int ifindex,
                          enum itr_xdp_mode mode, const char *pin,
                          struct itr_xdp_attachment *a);

/* Lets go of an attachment without detaching what is pinned: a pinned
 * link stays attached; anything else is detached. */
int itr_xdp_release(struct itr_xdp_attachment *a);

/* After the interface's MTU changed: where it now calls for the other XDP
 * program (multi-buffer above ITR_XDP_FRAGS_MTU, where the kernel has it),
 * switches to that one in place: a link is updated, a netlink attachment
 * replaced atomically, so that no frame is missed. Returns 1 when it
 * switched, 0 when nothing had to change (also in a dispatcher, whose
 * programs libxdp set up), or a negative errno. */
int itr_xdp_refit(struct itr_loader *l, struct itr_xdp_attachment *a);

/* Joins the libxdp dispatcher on ifindex's XDP hook (see dispatcher.h),
 * in its mode when mode allows it (else -EBUSY); keep: the program stays
 * in the dispatcher when collectd stops (PinPath). This plugin's program
 * already there, counting into l's tables, is kept as it is; one of an
 * earlier start's tables is replaced: removed, then the new one added, so
 * that no frame is counted twice (those in between are not counted).
 * -ENOENT when the hook holds no dispatcher, -EOPNOTSUPP without libxdp. */
int itr_xdp_join_dispatcher(struct itr_loader *l, int ifindex,
                            enum itr_xdp_mode mode, bool keep,
                            struct itr_xdp_attachment *a);

/* Puts a libxdp dispatcher on ifindex's free XDP hook with the XDP
 * program in it, so that other libxdp tools (xdp-loader) can add theirs
 * after it; modes as itr_xdp_attach. -ENOSYS where the kernel runs no
 * dispatcher (refuses freplace programs; asked once per loader),
 * -EOPNOTSUPP without libxdp. */
int itr_xdp_create_dispatcher(struct itr_loader *l, int ifindex,
                              enum itr_xdp_mode mode, bool keep,
                              struct itr_xdp_attachment *a);

/* The XDP program attached to ifindex: its id (0 if none) and name. */
int itr_xdp_query(int ifindex, uint32_t *prog_id, char *name, size_t len);

/* The tc hooks: egress, and ingress where XDP is not used. */
enum itr_tc_dir {
  ITR_TC_EGRESS,
  ITR_TC_INGRESS,
  ITR_TC_DIRS,
};

/* The tc program attached to one hook of one interface by the plugin. */
struct itr_tc_attachment {
  int ifindex;
  enum itr_tc_dir dir;
  int link_fd; /* >= 0 when attached as a tcx link (Linux 6.6) */
  bool attached;
  bool legacy;        /* a cls_bpf filter on a clsact qdisc */
  bool created_qdisc; /* the plugin created that clsact qdisc */
  bool replaced;      /* it replaced a filter of an earlier collectd that
                         counted into the same pinned tables */
  bool reused;        /* a tcx link pinned by an earlier start, updated */
  uint32_t handle;    /* of the filter */
  uint32_t priority;
};

/* Attaches the tc program to the hook dir: as a tcx link where the kernel
 * has them
 * (allow_tcx), else as a filter on the interface's clsact qdisc, creating
 * the qdisc if there is none. Never replaces another tool's filter; a
 * filter of this plugin whose program counts into the same tables (left
 * by a collectd that was killed, with the tables pinned) is replaced in
 * place. */
int itr_tc_attach(struct itr_loader *l, int ifindex, enum itr_tc_dir dir,
                  bool allow_tcx, struct itr_tc_attachment *a);

/* Removes exactly what itr_tc_attach added: the link or the filter, and
 * the clsact qdisc if the plugin created it and no filter is left on it. */
int itr_tc_detach(struct itr_tc_attachment *a);

/* The same as itr_xdp_attach_pinned for egress: a tcx link is pinned at
 * pin and updated in place at the next start; a clsact filter (before
 * Linux 6.6) stays attached by itself and is replaced in place. */
int itr_tc_attach_pinned(struct itr_loader *l, int ifindex, enum itr_tc_dir dir,
                         bool allow_tcx, const char *pin,
                         struct itr_tc_attachment *a);

/* Lets go without detaching: a pinned tcx link and a clsact filter stay
 * attached and counting. */
int itr_tc_release(struct itr_tc_attachment *a);

/* Whether an attachment is still on its hook: false once its device went
 * (even if one of the same name and index took its place). Needs no
 * privilege beyond the attachment's own. */
bool itr_xdp_in_place(const struct itr_xdp_attachment *a);
bool itr_tc_in_place(const struct itr_tc_attachment *a);

int itr_loader_tc_fd(const struct itr_loader *l);
int itr_loader_xdp_frags_fd(const struct itr_loader *l);

/* What of this plugin is attached to ifindex: the programs that use one
 * of the n maps of map_ids (pinned IPv4 tables). 0 where there is none. */
struct itr_own_tc {
  uint32_t tcx_prog; /* tcx program (its link is collectd's) */
  uint32_t prog;     /* clsact filter's program */
  uint32_t handle;   /* and that filter */
  uint32_t priority;
};
struct itr_own_hooks {
  uint32_t xdp_prog;       /* XDP program */
  uint8_t xdp_mode;        /* XDP_ATTACHED_* */
  uint32_t xdp_dispatched; /* XDP program in a libxdp dispatcher */
  struct itr_own_tc tc[ITR_TC_DIRS];
};
int itr_find_own(int ifindex, const uint32_t *map_ids, int n,
                 struct itr_own_hooks *out);

/* Detaches the XDP program attached through netlink or in a dispatcher
 * and the clsact filters of h; -EBUSY when the XDP program is held by a
 * link (a collectd that still runs). */
int itr_detach_own(int ifindex, const struct itr_own_hooks *h);

#endif /* ITR_LOADER_H */
