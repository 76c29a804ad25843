/**
 * collectd - iptraffic plugin: the counted interfaces.
 *
 * Attaching the programs to an interface (XDP, in a libxdp dispatcher, or
 * tc on ingress; tc on egress) and explaining what failed; following the
 * interfaces as they come, go and come back, and those the patterns find;
 * forgetting the keys of those that went once they were reported; and the
 * node's own addresses on them, counted in the per-CPU table.
 */
#include "glue.h"

#include "utils/common/common.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "dispatcher.h"

static bool told_too_many, told_specials_full, told_no_links, told_no_tcx;
static bool no_dispatcher; /* said once: XDP is attached directly */

/* What attaching an interface does, step by step. */
enum attach_step {
  STEP_KEYS,  /* creating its special keys in the tables */
  STEP_XDP,   /* ingress with XDP */
  STEP_TC_IN, /* ingress with tc */
  STEP_TC,    /* egress */
};

/* What holds the XDP hook of ifindex, for the messages: "an XDP program
 * (id N, name "NAME"); it is left in place", or this plugin's own kept
 * for another PinPath. Returns whether it is this plugin's. */
static bool describe_xdp_holder(int ifindex, char *buf, size_t len) {
  uint32_t id = 0;
  char name[64] = "";

  itr_xdp_query(ifindex, &id, name, sizeof(name));
  if (strcmp(name, "iptraffic_xdp") == 0 ||
      strcmp(name, "iptraffic_xdp_f") == 0) {
    snprintf(buf, len,
             "this plugin's XDP program (id %u), kept attached for a "
             "collectd with another PinPath",
             id);
    return true;
  }
  snprintf(buf, len, "an XDP program (id %u, name \"%s\")", id, name);
  return false;
}

/* Logs why attaching a hook failed. When quiet (retries on every read),
 * an error is logged once until it changes. */
static void explain_attach_error(struct iface *ifc, int ifindex, int err,
                                 enum attach_step step, bool quiet) {
  const char *hook = step == STEP_XDP     ? "XDP"
                     : step == STEP_TC_IN ? "tc ingress"
                                          : "tc egress";
  char msg[512];

  if (quiet && err == ifc->last_err)
    return;
  if (step == STEP_KEYS) {
    snprintf(msg, sizeof(msg),
             "interface %s: creating its non-ip, malformed and untracked "
             "entries in the tables failed (%s)%s",
             ifc->name, STRERROR(-err),
             err == -EPERM || err == -EACCES ? ": the plugin needs CAP_BPF"
                                             : "");
  } else if (err == -EBUSY && step == STEP_XDP) {
    char holder[160];

    if (describe_xdp_holder(ifindex, holder, sizeof(holder)))
      snprintf(msg, sizeof(msg),
               "interface %s already has %s; %s is not counted here. Stop "
               "that collectd and run iptrafficctl --pin-path DIR remove for "
               "its PinPath, or set IngressHook \"auto\"",
               ifc->name, holder, ifc->name);
    else
      snprintf(msg, sizeof(msg),
               "interface %s already has %s; it is left in place and %s is "
               "not counted on ingress (IngressHook \"xdp\"). Set "
               "IngressHook \"auto\" or \"tc\" to count with tc beside it, "
               "or remove it (ip link set dev %s xdp off) if it is stale",
               ifc->name, holder, ifc->name, ifc->name);
  } else if (err == -EOPNOTSUPP && g.cfg.xdp_mode == ITR_XDP_NATIVE) {
    snprintf(msg, sizeof(msg),
             "interface %s: the driver has no native XDP support (%s); set "
             "XDPMode \"auto\" or \"generic\"",
             ifc->name, STRERROR(-err));
  } else if (err == -EPERM || err == -EACCES) {
    snprintf(msg, sizeof(msg),
             "interface %s: attaching %s was refused (%s): the plugin needs "
             "CAP_NET_ADMIN",
             ifc->name, hook, STRERROR(-err));
  } else if (step == STEP_XDP) {
    snprintf(msg, sizeof(msg),
             "interface %s: attaching XDP in %s mode failed: %s", ifc->name,
             itr_xdp_mode_name(g.cfg.xdp_mode), STRERROR(-err));
  } else {
    snprintf(msg, sizeof(msg), "interface %s: attaching %s failed: %s",
             ifc->name, hook, STRERROR(-err));
  }
  ERROR(LOG_PREFIX "%s", msg);
}

static bool ignores_networks(void) {
  for (size_t i = 0; i < g.cfg.networks_num; i++)
    if (g.cfg.networks[i].ignore)
      return true;
  return false;
}

/* Creates the interface's special keys, so that non-ip, malformed and
 * untracked always have an entry even when the table is full. */
static int create_special_keys(int ifindex, const char *name) {
  for (size_t i = 0; i < IPTRAFFIC_NUM_SPECIAL; i++) {
    struct iptraffic_key key = {.ifindex = (uint32_t)ifindex,
                                .kind = itr_special_kinds[i]};
    int err;

    if (key.kind == IPTRAFFIC_KIND_IGNORED && !ignores_networks())
      continue; /* never counted */
    err = itr_reader_create(g.reader, &key);
    if (err == -E2BIG) /* more interfaces than the hot table takes */
      err = itr_reader_create_shared(g.reader, &key);
    if (err == -E2BIG && !told_specials_full) {
      /* Both full: counted from the first frame that finds room. */
      WARNING(LOG_PREFIX "interface %s: no room for its special entries in "
                         "the per-CPU or the IPv6 table; raise "
                         "MaxEntriesIPv6",
              name);
      told_specials_full = true;
    }
    if (err && err != -E2BIG)
      return err;
  }
  return 0;
}

/* The pin of an interface's attachment under PinPath, or NULL without
 * one. */
static const char *link_pin(const struct iface *ifc, const char *hook,
                            char *buf, size_t len) {
  if (!g.pins || itr_pins_link_path(g.pins, ifc->name, hook, buf, len) != 0)
    return NULL;
  return buf;
}

/* The pins of an interface's attachments: links/<ifname>:<hook>. */
#define PIN_XDP "xdp"
#define PIN_TC "tc"       /* egress */
#define PIN_TC_IN "tc-in" /* ingress */

static void unpin(const struct iface *ifc, const char *hook) {
  char pin[400];

  if (link_pin(ifc, hook, pin, sizeof(pin)))
    unlink(pin);
}

/* Detaches the interface, its pinned attachments too (the interface went
 * away, or an attach failed); in the reverse order of attaching, so that
 * the clsact qdisc goes with the last filter if the plugin made it. */
void detach_iface(struct iface *ifc) {
  itr_tc_detach(&ifc->tc);
  itr_tc_detach(&ifc->tc_in);
  itr_xdp_detach(&ifc->xdp);
  unpin(ifc, PIN_XDP);
  unpin(ifc, PIN_TC);
  unpin(ifc, PIN_TC_IN);
  ifc->attached = false;
}

/* At shutdown with PinPath: what is pinned stays attached and counting,
 * so that the next start misses nothing. */
void release_iface(struct iface *ifc) {
  itr_xdp_release(&ifc->xdp);
  itr_tc_release(&ifc->tc_in);
  itr_tc_release(&ifc->tc);
  ifc->attached = false;
}

/* The ingress hook not used now may still hold what an earlier start
 * attached there (another IngressHook, or XDP taken since): it goes, so
 * that no frame is counted twice. */
static void drop_other_ingress(const struct iface *ifc, bool using_tc) {
  uint32_t id = itr_loader_table_id(g.loader);
  struct itr_own_hooks h;

  unpin(ifc, using_tc ? PIN_XDP : PIN_TC_IN);
  if (itr_find_own(ifc->ifindex, &id, 1, &h) != 0)
    return;
  memset(&h.tc[ITR_TC_EGRESS], 0, sizeof(h.tc[ITR_TC_EGRESS]));
  if (using_tc)
    memset(&h.tc[ITR_TC_INGRESS], 0, sizeof(h.tc[ITR_TC_INGRESS]));
  else
    h.xdp_prog = h.xdp_dispatched = 0;
  if ((h.xdp_prog || h.xdp_dispatched || h.tc[ITR_TC_INGRESS].prog) &&
      itr_detach_own(ifc->ifindex, &h) == 0)
    INFO(LOG_PREFIX "interface %s: detached the %s ingress program an "
                    "earlier start left",
         ifc->name, using_tc ? "XDP" : "tc");
}

/* Joins the libxdp dispatcher on the interface's XDP hook, if there is
 * one. Returns 0, or why not (-ENOENT: no dispatcher there); a dispatcher
 * that cannot be joined is one WARNING (an ERROR with IngressHook xdp,
 * strict: nothing else will count ingress). */
static int join_dispatcher(struct iface *ifc, bool strict) {
  int err = itr_xdp_join_dispatcher(g.loader, ifc->ifindex, g.cfg.xdp_mode,
                                    g.pins != NULL, &ifc->xdp);

  if (err == 0 || err == -ENOENT)
    return err;
  if (err == -EOPNOTSUPP) {
    uint32_t id = 0;
    char name[64];

    /* Built without libxdp: a dispatcher is known by its name only. */
    itr_xdp_query(ifc->ifindex, &id, name, sizeof(name));
    if (!itr_dispatcher_prog(id))
      return -ENOENT;
  }
  plugin_log(strict ? LOG_ERR : LOG_WARNING,
             LOG_PREFIX "interface %s: the XDP hook holds a libxdp "
                        "dispatcher, which the plugin could not join (%s)%s",
             ifc->name,
             err == -EOPNOTSUPP ? "this build has no libxdp"
             : err == -EBUSY    ? "it runs in the other XDPMode"
                                : STRERROR(-err),
             strict ? "" : "; ingress is counted with tc instead");
  return err;
}

/* XDPDispatcher: on a free XDP hook (and none of this plugin's links
 * pinned for the interface, which is updated in place instead), a libxdp
 * dispatcher with the plugin's program in it. Returns 0, or nonzero to
 * attach directly. */
static int create_dispatcher(struct iface *ifc) {
  char pin[400], name[64];
  const char *bpffs;
  uint32_t id = 1;
  int err;

  if (!g.cfg.xdp_dispatcher || no_dispatcher ||
      (link_pin(ifc, PIN_XDP, pin, sizeof(pin)) && access(pin, F_OK) == 0) ||
      itr_xdp_query(ifc->ifindex, &id, name, sizeof(name)) != 0 || id != 0)
    return -EBUSY;
  if (!itr_dispatcher_built()) {
    INFO(LOG_PREFIX "this build has no libxdp: attaching XDP directly; other "
                    "libxdp tools (xdp-loader) cannot add programs after the "
                    "plugin's (XDPDispatcher)");
    no_dispatcher = true;
    return -EOPNOTSUPP;
  }
  if (!itr_dispatcher_bpffs(&bpffs)) {
    INFO(LOG_PREFIX "no BPF filesystem at %s, where libxdp keeps its "
                    "dispatchers: attaching XDP directly; other libxdp tools "
                    "(xdp-loader) cannot add programs after the plugin's",
         bpffs);
    no_dispatcher = true;
    return -ENOENT;
  }
  /* libxdp's warnings on the way to finding that the kernel runs no
   * dispatcher are no news. */
  hold_warnings();
  err = itr_xdp_create_dispatcher(g.loader, ifc->ifindex, g.cfg.xdp_mode,
                                  g.pins != NULL, &ifc->xdp);
  release_held(err == 0 || err == -ENOSYS ? LOG_DEBUG : LOG_WARNING);
  if (err == -ENOSYS) {
    INFO(LOG_PREFIX "the kernel runs no libxdp dispatchers (it refuses "
                    "freplace programs): attaching XDP directly; other "
                    "libxdp tools (xdp-loader) cannot add programs after the "
                    "plugin's");
    no_dispatcher = true;
  } else if (err && !(err == -EOPNOTSUPP && g.cfg.xdp_mode == ITR_XDP_NATIVE)) {
    WARNING(LOG_PREFIX "interface %s: putting a libxdp dispatcher on its XDP "
                       "hook failed (%s): attaching XDP directly",
            ifc->name, STRERROR(-err));
  }
  return err;
}

/* Ingress: XDP, or tc where IngressHook says so or (auto) where another
 * program holds the XDP hook. */
static int attach_ingress(struct iface *ifc, bool quiet) {
  char pin[400];
  int err;

  if (g.cfg.ingress_hook != ITR_INGRESS_TC) {
    char holder[160];

    if (create_dispatcher(ifc) == 0) {
      drop_other_ingress(ifc, false);
      return 0;
    }
    err = itr_xdp_attach_pinned(g.loader, ifc->ifindex, g.cfg.xdp_mode,
                                link_pin(ifc, PIN_XDP, pin, sizeof(pin)),
                                &ifc->xdp);
    if (err == 0) {
      drop_other_ingress(ifc, false);
      return 0;
    }
    /* Another tool's libxdp dispatcher: run in it as one more program. */
    if (err == -EBUSY &&
        join_dispatcher(ifc, g.cfg.ingress_hook == ITR_INGRESS_XDP) == 0) {
      drop_other_ingress(ifc, false);
      return 0;
    }
    if (err != -EBUSY || g.cfg.ingress_hook == ITR_INGRESS_XDP) {
      explain_attach_error(ifc, ifc->ifindex, err, STEP_XDP, quiet);
      return err;
    }
    /* auto: another program holds the hook; count beside it. */
    if (describe_xdp_holder(ifc->ifindex, holder, sizeof(holder)))
      WARNING(LOG_PREFIX "interface %s already has %s; ingress is counted "
                         "with tc instead. Stop that collectd and run "
                         "iptrafficctl --pin-path DIR remove for its PinPath",
              ifc->name, holder);
    else
      WARNING(LOG_PREFIX "interface %s already has %s; it is left in place, "
                         "and ingress is counted with tc instead (it sees "
                         "the frames that program passes)",
              ifc->name, holder);
  }
  err = itr_tc_attach_pinned(g.loader, ifc->ifindex, ITR_TC_INGRESS, true,
                             link_pin(ifc, PIN_TC_IN, pin, sizeof(pin)),
                             &ifc->tc_in);
  if (err) {
    explain_attach_error(ifc, ifc->ifindex, err, STEP_TC_IN, quiet);
    return err;
  }
  drop_other_ingress(ifc, true);
  return 0;
}

static void log_attached(const struct iface *ifc) {
  char hooks[256] = "";
  int n = 0;

  if (ifc->xdp.native_err)
    INFO(LOG_PREFIX "interface %s: no native XDP in its driver (%s), using "
                    "generic XDP",
         ifc->name, STRERROR(-ifc->xdp.native_err));
  if (ifc->xdp.used_netlink && !told_no_links) {
    INFO(LOG_PREFIX "the kernel has no XDP links (Linux < 5.9): attached "
                    "through netlink; if collectd is killed, remove the "
                    "program with ip link set dev IFACE xdp off");
    told_no_links = true;
  }
  if ((ifc->tc.legacy || ifc->tc_in.legacy) && !told_no_tcx) {
    INFO(LOG_PREFIX "the kernel has no tcx (Linux < 6.6): counting with "
                    "filters on the clsact qdisc");
    told_no_tcx = true;
  }
  if (ifc->xdp.attached && !ifc->xdp.frags && ifc->xdp.mtu > ITR_XDP_FRAGS_MTU)
    WARNING(LOG_PREFIX "interface %s: MTU %d, but the kernel has no "
                       "multi-buffer XDP (Linux < 5.18): frames larger than "
                       "a page may not reach the program in native mode",
            ifc->name, ifc->xdp.mtu);
  if (ifc->xdp.rejoined)
    INFO(LOG_PREFIX "interface %s: replaced the program an earlier start "
                    "left in the libxdp dispatcher (counting into other "
                    "tables): frames between its removal and the new "
                    "program's joining are not counted",
         ifc->name);
  if (ifc->xdp.dispatched)
    n += snprintf(hooks + n, sizeof(hooks) - (size_t)n,
                  "ingress with XDP in %s mode%s in a libxdp dispatcher of "
                  "%d program%s%s",
                  ifc->xdp.native ? "native" : "generic",
                  ifc->xdp.frags ? " (multi-buffer)" : "",
                  ifc->xdp.dispatched_count,
                  ifc->xdp.dispatched_count == 1 ? "" : "s",
                  ifc->xdp.reused ? " (kept since the last start)" : "");
  else if (ifc->xdp.attached)
    n += snprintf(
        hooks + n, sizeof(hooks) - (size_t)n, "ingress with XDP in %s mode%s%s",
        ifc->xdp.native ? "native" : "generic",
        ifc->xdp.frags ? " (multi-buffer)" : "",
        ifc->xdp.reused ? " (kept attached since the last start)" : "");
  if (ifc->tc_in.attached)
    n += snprintf(hooks + n, sizeof(hooks) - (size_t)n, "ingress with %s%s",
                  ifc->tc_in.legacy ? "tc (clsact)" : "tcx",
                  ifc->tc_in.replaced ? " (in place of the filter an earlier "
                                        "collectd left counting)"
                  : ifc->tc_in.reused ? " (kept attached since the last start)"
                                      : "");
  if (ifc->tc.attached)
    snprintf(hooks + n, sizeof(hooks) - (size_t)n, "%segress with %s%s",
             n ? ", " : "", ifc->tc.legacy ? "tc (clsact)" : "tcx",
             ifc->tc.replaced ? " (in place of the filter an earlier "
                                "collectd left counting)"
             : ifc->tc.reused ? " (kept attached since the last start)"
                              : "");
  INFO(LOG_PREFIX "interface %s (ifindex %d): counting %s", ifc->name,
       ifc->ifindex, hooks);
}

/* Attaches to the interface if it exists. Returns 0, -ENODEV when it does
 * not exist (yet), or another negative errno (logged, at most once per
 * distinct error when quiet). */
int attach_iface(struct iface *ifc, bool quiet) {
  int ifindex = (int)if_nametoindex(ifc->name);
  int err;

  if (ifindex == 0)
    return -ENODEV;
  ifc->ifindex = ifindex;
  err = create_special_keys(ifindex, ifc->name);
  if (err)
    explain_attach_error(ifc, ifindex, err, STEP_KEYS, quiet);
  /* The node's addresses on it are made hot by the caller, once for all
   * it attaches (refresh_hot): until then its frames count in the shared
   * tables, which the reads add up with the hot one. */
  if (err == 0 && (g.cfg.direction & ITR_DIR_INGRESS))
    err = attach_ingress(ifc, quiet);
  if (err == 0 && (g.cfg.direction & ITR_DIR_EGRESS)) {
    char pin[400];

    err =
        itr_tc_attach_pinned(g.loader, ifindex, ITR_TC_EGRESS, true,
                             link_pin(ifc, PIN_TC, pin, sizeof(pin)), &ifc->tc);
    if (err)
      explain_attach_error(ifc, ifindex, err, STEP_TC, quiet);
  }
  if (err) {
    detach_iface(ifc);
    ifc->last_err = err;
    return err;
  }
  ifc->attached = true;
  ifc->last_err = 0;
  log_attached(ifc);
  return 0;
}

struct forget {
  const uint32_t *ifindexes;
  size_t n;
  bool keep;
};

/* Whether the entry's interface is (keep false) or is not (keep true) one
 * of those to forget; if so, its key goes in the kernel too. */
static bool forgotten(const struct itr_entry *e, void *ctx) {
  const struct forget *f = ctx;
  struct itr_counters last;
  bool listed = false;

  for (size_t k = 0; k < f->n; k++)
    listed |= e->key.ifindex == f->ifindexes[k];
  if (listed == f->keep)
    return false;
  itr_reader_delete(g.reader, &e->key, &last); /* may be gone with it */
  return true;
}

/* Forgets the keys of the n interface indexes ifindexes (keep false), or
 * of every other index (keep true), in the kernel and in the snapshot. */
void forget_keys(const uint32_t *ifindexes, size_t n, bool keep) {
  struct forget f = {ifindexes, n, keep};

  itr_table_remove_if(g.table, forgotten, &f);
}

/* Forgets an interface's keys: its index is gone (the interface was
 * removed) or belongs to another one. */
static void forget_ifindex(int ifindex) {
  uint32_t idx = (uint32_t)ifindex;

  forget_keys(&idx, 1, false);
}

/* Whether the plugin's programs are still on the hooks of ifc: they go
 * with the device when it is deleted, even if one of the same name and
 * index replaces it between two reads. */
static bool hooks_in_place(const struct iface *ifc) {
  if (ifc->xdp.attached && !itr_xdp_in_place(&ifc->xdp))
    return false;
  if (ifc->tc_in.attached && !itr_tc_in_place(&ifc->tc_in))
    return false;
  return !ifc->tc.attached || itr_tc_in_place(&ifc->tc);
}

/* The XDP program that fits the interface's MTU now: an MTU raised above
 * ITR_XDP_FRAGS_MTU takes the multi-buffer program, lowered the other. */
static void refit_xdp(struct iface *ifc) {
  int err = itr_xdp_refit(g.loader, &ifc->xdp);

  if (err > 0)
    INFO(LOG_PREFIX "interface %s: MTU %d: counting ingress with the %s XDP "
                    "program now",
         ifc->name, ifc->xdp.mtu,
         ifc->xdp.frags ? "multi-buffer" : "single-buffer");
  else if (err < 0)
    c_complain(LOG_WARNING, &ifc->complaint,
               LOG_PREFIX "interface %s: MTU %d calls for the %s XDP "
                          "program, but switching to it failed (%s)",
               ifc->name, ifc->xdp.mtu,
               ifc->xdp.frags ? "single-buffer" : "multi-buffer",
               STRERROR(-err));
}

/* Follows the interface coming, going and coming back. One that went away
 * is detached now, and its keys are forgotten once they were reported one
 * last time (forget_leaving). */
void check_iface(struct iface *ifc) {
  int now = (int)if_nametoindex(ifc->name);
  int err;

  if (ifc->leaving)
    return;
  if (ifc->attached) {
    if (now == ifc->ifindex) {
      if (hooks_in_place(ifc)) {
        refit_xdp(ifc);
        return;
      }
      WARNING(LOG_PREFIX "interface %s (ifindex %d) was recreated: its "
                         "hooks went with the old device; attaching again",
              ifc->name, ifc->ifindex);
      detach_iface(ifc);
      forget_ifindex(ifc->ifindex);
    } else {
      if (ifc->named)
        WARNING(LOG_PREFIX "interface %s (ifindex %d) disappeared; counting "
                           "resumes when it comes back",
                ifc->name, ifc->ifindex);
      else
        INFO(LOG_PREFIX "interface %s (ifindex %d) went away", ifc->name,
             ifc->ifindex);
      detach_iface(ifc);
      ifc->leaving = true;
      return;
    }
  }
  if (!ifc->named && now == 0) {
    ifc->leaving = true; /* found by a pattern, gone before it was counted */
    return;
  }
  err = attach_iface(ifc, true);
  if (err == 0 && ifc->named) {
    /* Said once: by the release of a complaint, or for one that came back
     * before the next read could complain. */
    if (ifc->came_back && !ifc->complaint.complained_once)
      INFO(LOG_PREFIX "interface %s appeared, counting", ifc->name);
    c_release(LOG_INFO, &ifc->complaint,
              LOG_PREFIX "interface %s appeared, counting", ifc->name);
    ifc->came_back = false;
  } else if (err == -ENODEV && ifc->named) {
    c_complain(LOG_WARNING, &ifc->complaint,
               LOG_PREFIX "interface %s does not exist (yet); the plugin "
                          "attaches when it appears",
               ifc->name);
  }
}

void init_iface(struct iface *ifc, const char *name, bool named) {
  memset(ifc, 0, sizeof(*ifc));
  snprintf(ifc->name, sizeof(ifc->name), "%s", name);
  ifc->named = named;
  ifc->xdp.link_fd = -1;
  ifc->tc.link_fd = -1;
  ifc->tc_in.link_fd = -1;
  C_COMPLAIN_INIT(&ifc->complaint);
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Interfaces the patterns (or IgnoreSelected) select that are not counted
 * yet are attached. O(interfaces log interfaces). */
void discover(void) {
  struct if_nameindex *all, *i;
  const char **known;
  size_t known_n;

  if (itr_matcher_only_names(&g.matcher))
    return;
  all = if_nameindex();
  known = calloc(g.ifaces_num ? g.ifaces_num : 1, sizeof(*known));
  if (!all || !known) {
    if (all)
      if_freenameindex(all);
    free(known);
    return;
  }
  for (size_t k = 0; k < g.ifaces_num; k++)
    known[k] = g.ifaces[k].name;
  known_n = g.ifaces_num;
  qsort(known, known_n, sizeof(*known), name_cmp);
  for (i = all; i->if_index; i++) {
    const char *name = i->if_name;
    struct iface *ifc;

    if (!itr_matcher_counts(&g.matcher, name) ||
        bsearch(&name, known, known_n, sizeof(*known), name_cmp))
      continue;
    if (g.ifaces_num == g.ifaces_cap) {
      if (!told_too_many)
        WARNING(LOG_PREFIX "more than %zu interfaces match: %s and others "
                           "are not counted",
                g.ifaces_cap, name);
      told_too_many = true;
      break;
    }
    ifc = &g.ifaces[g.ifaces_num];
    init_iface(ifc, name, false);
    memset(&g.reported[g.ifaces_num], 0, sizeof(g.reported[0]));
    g.ifaces_num++;
    attach_iface(ifc, false); /* retried at the next reads if it fails */
  }
  if_freenameindex(all);
  free(known);
}

/* After a read: the keys of interfaces that went away go (their counters
 * were reported one last time); those found by a pattern leave the list,
 * those listed by name wait for the name to come back. Returns how many
 * went. */
size_t forget_leaving(void) {
  size_t i = 0, gone = 0;

  while (i < g.ifaces_num) {
    struct iface *ifc = &g.ifaces[i];

    /* Its series that started with a zero in this read show their
     * counters at the next one. */
    if (!ifc->leaving || g.reported[i].owed > 0) {
      i++;
      continue;
    }
    if (ifc->ifindex > 0)
      forget_ifindex(ifc->ifindex);
    gone++;
    ifc->leaving = false;
    ifc->ifindex = 0;
    if (ifc->named) {
      ifc->came_back = true;
      i++;
      continue;
    }
    g.ifaces[i] = g.ifaces[g.ifaces_num - 1];
    g.reported[i] = g.reported[g.ifaces_num - 1];
    g.ifaces_num--;
  }
  return gone;
}

/* --- The node's own addresses ----------------------------------------------
 */

static size_t hot_created; /* of g.hot, with an entry in the kernel */
static c_complain_t hot_complaint = C_COMPLAIN_INIT_STATIC;
static bool told_hot_full;

void reset_hot(void) {
  itr_hot_set_init(&g.hot);
  hot_created = 0;
  told_hot_full = false;
}

/* The configured interface of that name (getifaddrs' name: "eth0:1" for
 * a labelled IPv4 address of eth0), once its index is known (it is
 * attached or being attached). */
static struct iface *known_by_name(const char *name) {
  size_t len = strcspn(name, ":");

  for (size_t i = 0; i < g.ifaces_num; i++)
    if (g.ifaces[i].ifindex > 0 && strncmp(g.ifaces[i].name, name, len) == 0 &&
        g.ifaces[i].name[len] == '\0')
      return &g.ifaces[i];
  return NULL;
}

/* The addresses of the counted interfaces, as the keys the programs count
 * them under: frames from every CPU carry them, so they are counted in the
 * per-CPU hot table. Followed on every read, and taken before an
 * interface's hooks are attached, so that its first frames count there. */
void refresh_hot(void) {
  struct itr_hot_set now;
  struct ifaddrs *list, *ifa;
  size_t created;
  int err;

  if (getifaddrs(&list) < 0)
    return; /* keep the current set */
  itr_hot_set_init(&now);
  for (ifa = list; ifa; ifa = ifa->ifa_next) {
    struct iface *ifc;
    struct iptraffic_key key;
    const uint8_t *addr;
    int kind;

    if (!ifa->ifa_addr || !(ifc = known_by_name(ifa->ifa_name)))
      continue;
    if (ifa->ifa_addr->sa_family == AF_INET) {
      kind = IPTRAFFIC_KIND_IPV4;
      addr = (const uint8_t *)&((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
    } else if (ifa->ifa_addr->sa_family == AF_INET6) {
      kind = IPTRAFFIC_KIND_IPV6;
      addr =
          (const uint8_t *)&((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
    } else {
      continue;
    }
    if (itr_shape_key(&g.cfg, (uint32_t)ifc->ifindex, kind, addr, &key) == 0)
      itr_hot_set_add(&now, &key);
  }
  freeifaddrs(list);
  /* Unchanged, and every key has its entry: nothing to do. */
  if (itr_hot_set_equal(&now, &g.hot) && now.dropped == g.hot.dropped &&
      hot_created == g.hot.num)
    return;
  err = itr_reader_set_hot(g.reader, &now, &created);
  if (err) {
    c_complain(LOG_WARNING, &hot_complaint,
               LOG_PREFIX "updating the table of the node's own addresses "
                          "failed: %s; they are counted in the shared table",
               STRERROR(-err));
    return;
  }
  c_release(LOG_INFO, &hot_complaint,
            LOG_PREFIX "the table of the node's own addresses is updated "
                       "again");
  hot_created = created;
  if ((now.dropped || created < now.num) && !told_hot_full) {
    INFO(LOG_PREFIX "the node has more than %d addresses on the counted "
                    "interfaces: the rest are counted in the shared table",
         IPTRAFFIC_HOT_ADDRS);
    told_hot_full = true;
  }
  g.hot = now;
}
