/**
 * collectd - iptraffic plugin: traffic per IP address, counted with XDP
 * (ingress) and tc (egress).
 *
 * This file is the collectd glue: it turns collectd's configuration into
 * struct itr_config, loads and attaches the BPF programs on init (with the
 * state pinned under PinPath), follows interfaces coming and going, and on
 * every read turns the report of the snapshot (report.c: ReportInactive,
 * TopN) into value lists; shutdown lets the programs go, pinned or
 * detached.
 */
#include "collectd.h"
#include "plugin.h"
#include "utils/common/common.h"
#include "utils_complain.h"

#include <errno.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "hot.h"
#include "linkwatch.h"
#include "dispatcher.h"
#include "loader.h"
#include "match.h"
#include "pins.h"
#include "plugin_config.h"
#include "reader.h"
#include "report.h"
#include "state.h"
#include "table.h"

#define PLUGIN_NAME "iptraffic"
#define LOG_PREFIX PLUGIN_NAME " plugin: "

struct iface {
  char name[IF_NAMESIZE];
  bool named;     /* listed by name: kept while it does not exist */
  bool leaving;   /* went away: reported once more, then forgotten */
  bool came_back; /* listed, went away: say so when it is back */
  int ifindex;    /* while attached */
  bool attached;  /* every configured hook is attached */
  int last_err;   /* of the last failed attach, to log it once */
  struct itr_xdp_attachment xdp;
  struct itr_tc_attachment tc;    /* egress */
  struct itr_tc_attachment tc_in; /* ingress where XDP is not used */
  size_t value_lists;             /* dispatched in this interval */
  c_complain_t complaint;
};

static struct itr_config cfg;
static bool configured;

/* The interfaces counted: the ones listed by name, then those the
 * patterns found (ifaces_num of ifaces_cap). */
static struct iface *ifaces;
static size_t ifaces_num, ifaces_cap;
static struct itr_matcher matcher;
static bool told_too_many, told_specials_full;
static struct itr_loader *loader;
static struct itr_pins *pins; /* PinPath, locked while the plugin runs */
static struct itr_reader *reader;
static struct itr_table *table;
static struct iptraffic_key *expired;     /* scratch, table capacity long */
static struct itr_report *report;         /* what a read dispatches */
static struct itr_report_iface *reported; /* by iface */
static struct itr_hot_set hot; /* the node's addresses, counted per CPU */
static size_t hot_created;     /* of them, with an entry in the kernel */
static c_complain_t hot_complaint = C_COMPLAIN_INIT_STATIC;
static bool told_no_batch, told_no_lookup_and_delete, told_no_links,
    told_no_tcx, told_hot_full;
static bool no_dispatcher; /* said once: XDP is attached directly */
static c_complain_t read_complaint = C_COMPLAIN_INIT_STATIC;

/* --- Configuration ------------------------------------------------------ */

static void free_items(struct itr_cfg_item *items, int num) {
  for (int i = 0; i < num; i++) {
    free((void *)items[i].values);
    free_items((struct itr_cfg_item *)items[i].children, items[i].children_num);
  }
  free(items);
}

/* Mirrors collectd's tree in the shape the pure config module reads. */
static struct itr_cfg_item *convert_items(const oconfig_item_t *ci, int num) {
  struct itr_cfg_item *items = calloc(num > 0 ? num : 1, sizeof(*items));

  if (!items)
    return NULL;
  for (int i = 0; i < num; i++) {
    struct itr_cfg_value *values =
        calloc(ci[i].values_num > 0 ? ci[i].values_num : 1, sizeof(*values));

    items[i].key = ci[i].key;
    items[i].values = values;
    items[i].values_num = ci[i].values_num;
    items[i].children_num = ci[i].children_num;
    items[i].children = convert_items(ci[i].children, ci[i].children_num);
    if (!values || !items[i].children) {
      free_items(items, i + 1);
      return NULL;
    }
    for (int j = 0; j < ci[i].values_num; j++) {
      const oconfig_value_t *v = &ci[i].values[j];

      if (v->type == OCONFIG_TYPE_STRING) {
        values[j].type = ITR_CFG_STRING;
        values[j].v.string = v->value.string;
      } else if (v->type == OCONFIG_TYPE_NUMBER) {
        values[j].type = ITR_CFG_NUMBER;
        values[j].v.number = v->value.number;
      } else {
        values[j].type = ITR_CFG_BOOLEAN;
        values[j].v.boolean = v->value.boolean != 0;
      }
    }
  }
  return items;
}

static int iptraffic_config(oconfig_item_t *ci) {
  struct itr_cfg_item block = {.key = ci->key,
                               .children_num = ci->children_num};
  char err[256];
  int status;

  if (configured) {
    ERROR(LOG_PREFIX "only one <Plugin %s> block is supported", PLUGIN_NAME);
    return -1;
  }
  block.children = convert_items(ci->children, ci->children_num);
  if (!block.children) {
    ERROR(LOG_PREFIX "out of memory reading the configuration");
    return -1;
  }
  itr_config_init(&cfg);
  status = itr_config_parse(&cfg, &block, err, sizeof(err));
  free_items((struct itr_cfg_item *)block.children, block.children_num);
  if (status != 0) {
    ERROR(LOG_PREFIX "%s", err);
    return -1;
  }
  configured = true;
  return 0;
}

/* --- Attaching ------------------------------------------------------------ */

/* libbpf's warnings while loading are held back until the outcome is
 * known: when the plugin can say plainly what went wrong (missing
 * privileges), they go to the debug log, else they follow as warnings. */
#define HELD_MAX 16
static char held[HELD_MAX][256];
static int held_num;
static bool holding;

static void log_libbpf(enum itr_log_level level, const char *msg) {
  int prio = level == ITR_LOG_WARNING ? LOG_WARNING : LOG_DEBUG;

  if (holding && prio == LOG_WARNING) {
    if (held_num < HELD_MAX)
      sstrncpy(held[held_num++], msg, sizeof(held[0]));
    return;
  }
  plugin_log(prio, LOG_PREFIX "%s", msg);
}

static void release_held(int prio) {
  for (int i = 0; i < held_num; i++)
    plugin_log(prio, LOG_PREFIX "%s", held[i]);
  held_num = 0;
  holding = false;
}

static void explain_load_error(int err) {
  if (err == -EPERM || err == -EACCES)
    ERROR(LOG_PREFIX "the kernel refused to load the BPF program (%s): "
                     "the plugin needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN "
                     "(or CAP_SYS_ADMIN before Linux 5.8); run collectd as "
                     "root or grant it these capabilities",
          STRERROR(-err));
  else
    ERROR(LOG_PREFIX "loading the BPF program failed: %s; the libbpf "
                     "messages above say which step (Linux 5.4 or newer is "
                     "required)",
          STRERROR(-err));
}

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
  } else if (err == -EOPNOTSUPP && cfg.xdp_mode == ITR_XDP_NATIVE) {
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
             itr_xdp_mode_name(cfg.xdp_mode), STRERROR(-err));
  } else {
    snprintf(msg, sizeof(msg), "interface %s: attaching %s failed: %s",
             ifc->name, hook, STRERROR(-err));
  }
  ERROR(LOG_PREFIX "%s", msg);
}

static bool ignores_networks(void) {
  for (size_t i = 0; i < cfg.networks_num; i++)
    if (cfg.networks[i].ignore)
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
    err = itr_reader_create(reader, &key);
    if (err == -E2BIG) /* more interfaces than the hot table takes */
      err = itr_reader_create_shared(reader, &key);
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
  if (!pins || itr_pins_link_path(pins, ifc->name, hook, buf, len) != 0)
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
static void detach_iface(struct iface *ifc) {
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
static void release_iface(struct iface *ifc) {
  itr_xdp_release(&ifc->xdp);
  itr_tc_release(&ifc->tc_in);
  itr_tc_release(&ifc->tc);
  ifc->attached = false;
}

/* The ingress hook not used now may still hold what an earlier start
 * attached there (another IngressHook, or XDP taken since): it goes, so
 * that no frame is counted twice. */
static void drop_other_ingress(const struct iface *ifc, bool using_tc) {
  uint32_t id = itr_loader_table_id(loader);
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
  int err = itr_xdp_join_dispatcher(loader, ifc->ifindex, cfg.xdp_mode,
                                    pins != NULL, &ifc->xdp);

  if (err == 0 || err == -ENOENT)
    return err;
  if (err == -EOPNOTSUPP) {
    char name[64] = "";
    uint32_t id;

    /* Built without libxdp: a dispatcher is known by its name only. */
    itr_xdp_query(ifc->ifindex, &id, name, sizeof(name));
    if (strcmp(name, "xdp_dispatcher") != 0)
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

  if (!cfg.xdp_dispatcher || no_dispatcher ||
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
  holding = true;
  err = itr_xdp_create_dispatcher(loader, ifc->ifindex, cfg.xdp_mode,
                                  pins != NULL, &ifc->xdp);
  release_held(err == 0 || err == -ENOSYS ? LOG_DEBUG : LOG_WARNING);
  if (err == -ENOSYS) {
    INFO(LOG_PREFIX "the kernel runs no libxdp dispatchers (it refuses "
                    "freplace programs): attaching XDP directly; other "
                    "libxdp tools (xdp-loader) cannot add programs after the "
                    "plugin's");
    no_dispatcher = true;
  } else if (err && !(err == -EOPNOTSUPP && cfg.xdp_mode == ITR_XDP_NATIVE)) {
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

  if (cfg.ingress_hook != ITR_INGRESS_TC) {
    char holder[160];

    if (create_dispatcher(ifc) == 0) {
      drop_other_ingress(ifc, false);
      return 0;
    }
    err = itr_xdp_attach_pinned(loader, ifc->ifindex, cfg.xdp_mode,
                                link_pin(ifc, PIN_XDP, pin, sizeof(pin)),
                                &ifc->xdp);
    if (err == 0) {
      drop_other_ingress(ifc, false);
      return 0;
    }
    /* Another tool's libxdp dispatcher: run in it as one more program. */
    if (err == -EBUSY &&
        join_dispatcher(ifc, cfg.ingress_hook == ITR_INGRESS_XDP) == 0) {
      drop_other_ingress(ifc, false);
      return 0;
    }
    if (err != -EBUSY || cfg.ingress_hook == ITR_INGRESS_XDP) {
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
  err = itr_tc_attach_pinned(loader, ifc->ifindex, ITR_TC_INGRESS, true,
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

static void refresh_hot(void);

/* Attaches to the interface if it exists. Returns 0, -ENODEV when it does
 * not exist (yet), or another negative errno (logged, at most once per
 * distinct error when quiet). */
static int attach_iface(struct iface *ifc, bool quiet) {
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
  if (err == 0 && (cfg.direction & ITR_DIR_INGRESS))
    err = attach_ingress(ifc, quiet);
  if (err == 0 && (cfg.direction & ITR_DIR_EGRESS)) {
    char pin[400];

    err =
        itr_tc_attach_pinned(loader, ifindex, ITR_TC_EGRESS, true,
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

/* Forgets the keys of the n interface indexes ifindexes (keep false), or
 * of every other index (keep true), in the kernel and in the snapshot. */
static void forget_keys(const uint32_t *ifindexes, size_t n, bool keep) {
  struct itr_entry *entries = itr_table_entries(table);
  size_t i = 0;

  while (i < itr_table_count(table)) {
    struct iptraffic_key key = entries[i].key;
    struct itr_counters last;
    bool listed = false;

    for (size_t k = 0; k < n; k++)
      listed |= key.ifindex == ifindexes[k];
    if (listed == keep) {
      i++;
      continue;
    }
    itr_reader_delete(reader, &key, &last); /* may be gone with it */
    itr_table_remove(table, &key);          /* the last entry moves to i */
  }
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

/* Follows the interface coming, going and coming back. One that went away
 * is detached now, and its keys are forgotten once they were reported one
 * last time (forget_leaving). */
static void check_iface(struct iface *ifc) {
  int now = (int)if_nametoindex(ifc->name);
  int err;

  if (ifc->leaving)
    return;
  if (ifc->attached) {
    if (now == ifc->ifindex) {
      if (hooks_in_place(ifc))
        return;
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

static void init_iface(struct iface *ifc, const char *name, bool named) {
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
static void discover(void) {
  struct if_nameindex *all, *i;
  const char **known;
  size_t known_n;

  if (itr_matcher_only_names(&matcher))
    return;
  all = if_nameindex();
  known = calloc(ifaces_num ? ifaces_num : 1, sizeof(*known));
  if (!all || !known) {
    if (all)
      if_freenameindex(all);
    free(known);
    return;
  }
  for (size_t k = 0; k < ifaces_num; k++)
    known[k] = ifaces[k].name;
  known_n = ifaces_num;
  qsort(known, known_n, sizeof(*known), name_cmp);
  for (i = all; i->if_index; i++) {
    const char *name = i->if_name;
    struct iface *ifc;

    if (!itr_matcher_counts(&matcher, name) ||
        bsearch(&name, known, known_n, sizeof(*known), name_cmp))
      continue;
    if (ifaces_num == ifaces_cap) {
      if (!told_too_many)
        WARNING(LOG_PREFIX "more than %zu interfaces match: %s and others "
                           "are not counted",
                ifaces_cap, name);
      told_too_many = true;
      break;
    }
    ifc = &ifaces[ifaces_num];
    init_iface(ifc, name, false);
    memset(&reported[ifaces_num], 0, sizeof(reported[0]));
    ifaces_num++;
    attach_iface(ifc, false); /* retried at the next reads if it fails */
  }
  if_freenameindex(all);
  free(known);
}

/* After a read: the keys of interfaces that went away go (their counters
 * were reported one last time); those found by a pattern leave the list,
 * those listed by name wait for the name to come back. Returns how many
 * went. */
static size_t forget_leaving(void) {
  size_t i = 0, gone = 0;

  while (i < ifaces_num) {
    struct iface *ifc = &ifaces[i];

    if (!ifc->leaving) {
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
    ifaces[i] = ifaces[ifaces_num - 1];
    reported[i] = reported[ifaces_num - 1];
    ifaces_num--;
  }
  return gone;
}

/* --- The node's own addresses ----------------------------------------------
 */

/* The configured interface of that name (getifaddrs' name: "eth0:1" for
 * a labelled IPv4 address of eth0), once its index is known (it is
 * attached or being attached). */
static struct iface *known_by_name(const char *name) {
  size_t len = strcspn(name, ":");

  for (size_t i = 0; i < ifaces_num; i++)
    if (ifaces[i].ifindex > 0 && strncmp(ifaces[i].name, name, len) == 0 &&
        ifaces[i].name[len] == '\0')
      return &ifaces[i];
  return NULL;
}

/* The addresses of the counted interfaces, as the keys the programs count
 * them under: frames from every CPU carry them, so they are counted in the
 * per-CPU hot table. Followed on every read, and taken before an
 * interface's hooks are attached, so that its first frames count there. */
static void refresh_hot(void) {
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
    if (itr_shape_key(&cfg, (uint32_t)ifc->ifindex, kind, addr, &key) == 0)
      itr_hot_set_add(&now, &key);
  }
  freeifaddrs(list);
  /* Unchanged, and every key has its entry: nothing to do. */
  if (itr_hot_set_equal(&now, &hot) && now.dropped == hot.dropped &&
      hot_created == hot.num)
    return;
  err = itr_reader_set_hot(reader, &now, &created);
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
  hot = now;
}

/* --- Interfaces as they come and go ----------------------------------------
 */

/* Between a read and the link watcher, which both change the interfaces,
 * the tables' scratch state and the snapshot. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t watcher;
static bool watching;
static atomic_bool watcher_stop;
static atomic_bool watcher_alive; /* false once the watcher gave up */
static int watch_fd = -1;
static unsigned reads_since_sync;
#define SYNC_EVERY_READS 60

/* Every interface checked (come, gone, recreated), and what patterns
 * select found. */
static void sync_ifaces(void) {
  for (size_t i = 0; i < ifaces_num; i++)
    check_iface(&ifaces[i]);
  discover();
}

/* Attaches interfaces as the kernel announces them, instead of at the next
 * read: a burst of notifications (a container's interfaces) is taken in
 * one go after 10 ms. */
static void *watch_links(void *arg) {
  (void)arg;
  while (!atomic_load(&watcher_stop)) {
    int got = itr_linkwatch_wait(watch_fd, 200);

    if (got < 0) {
      ERROR(LOG_PREFIX "reading interface notifications failed (%s): "
                       "interfaces are followed at every read only",
            STRERROR(-got));
      atomic_store(&watcher_alive, false);
      break;
    }
    if (got == 0)
      continue;
    usleep(10000);
    itr_linkwatch_wait(watch_fd, 0);
    pthread_mutex_lock(&lock);
    sync_ifaces();
    refresh_hot();
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

static void start_watching(void) {
  watch_fd = itr_linkwatch_open();
  if (watch_fd < 0) {
    INFO(LOG_PREFIX "no interface notifications (%s): interfaces are "
                    "followed at every read only",
         STRERROR(-watch_fd));
    return;
  }
  atomic_store(&watcher_stop, false);
  atomic_store(&watcher_alive, true);
  if (plugin_thread_create(&watcher, watch_links, NULL, "iptraffic links") !=
      0) {
    INFO(LOG_PREFIX "no thread for interface notifications: interfaces are "
                    "followed at every read only");
    close(watch_fd);
    watch_fd = -1;
    return;
  }
  watching = true;
}

static void stop_watching(void) {
  atomic_store(&watcher_alive, false);
  if (watching) {
    atomic_store(&watcher_stop, true);
    pthread_join(watcher, NULL);
    watching = false;
  }
  if (watch_fd >= 0)
    close(watch_fd);
  watch_fd = -1;
}

/* --- Callbacks -------------------------------------------------------------
 */

static int iptraffic_shutdown(void) {
  stop_watching();
  for (size_t i = 0; i < ifaces_num; i++) {
    if (pins && loader && ifaces[i].attached)
      release_iface(&ifaces[i]);
    else
      detach_iface(&ifaces[i]);
  }
  free(ifaces);
  ifaces = NULL;
  free(reported);
  reported = NULL;
  ifaces_num = ifaces_cap = 0;
  itr_matcher_free(&matcher);
  itr_reader_free(reader);
  reader = NULL;
  itr_table_free(table);
  table = NULL;
  free(expired);
  expired = NULL;
  itr_report_free(report);
  report = NULL;
  itr_loader_close(loader);
  loader = NULL;
  itr_pins_close(pins); /* the tables stay pinned */
  pins = NULL;
  itr_loader_set_print(NULL);
  return 0;
}

/* --- State kept across restarts (PinPath) --------------------------------- */

static void explain_pins_problem(enum itr_pins_problem why, const char *where,
                                 int err) {
  switch (why) {
  case ITR_PINS_MOUNT:
    ERROR(LOG_PREFIX "PinPath \"%s\": %s is no BPF filesystem and mounting "
                     "one there failed (%s): counting without keeping the "
                     "tables across restarts; mount it (mount -t bpf bpf %s) "
                     "or set PinPath \"\"",
          cfg.pin_path, where, STRERROR(-err), where);
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
          cfg.pin_path, where, STRERROR(-err));
    break;
  }
}

/* What iptraffic_init does with what is pinned under PinPath. */
struct pin_plan {
  bool reuse;         /* load with the pins: the same tables */
  bool replace;       /* load without, then swap the pins */
  enum itr_reuse why; /* of replace */
  uint32_t schema;    /* of the pinned tables */
  size_t entries;     /* pinned before */
  uint32_t old_table; /* id of the pinned IPv4 table, or 0 */
  bool continued;     /* SAME: the pinned tables go on */
  bool merge;         /* carry over once attached (merge program) */
};

/* Whether the pinned entries go into new tables. */
static bool carries_over(const struct pin_plan *plan) {
  return plan->why == ITR_REUSE_RESIZE || plan->why == ITR_REUSE_MIGRATE;
}

/* Opens PinPath and decides what to do with what is pinned there. Nothing
 * is removed yet: until the new tables are loaded, the old ones stay.
 * Returns 0 (pins is NULL when PinPath cannot be used: counting goes on
 * without state) or -1 when the plugin must not start (locked). */
static int prepare_pins(const struct itr_loader_opts *opts,
                        struct pin_plan *plan) {
  struct iptraffic_meta want, have;
  enum itr_pins_problem why;
  char where[256];
  bool mounted;
  int err;

  memset(plan, 0, sizeof(*plan));
  err =
      itr_pins_open(cfg.pin_path, &pins, &why, where, sizeof(where), &mounted);
  if (err) {
    explain_pins_problem(why, where, err);
    pins = NULL;
    return why == ITR_PINS_LOCKED ? -1 : 0;
  }
  if (mounted)
    INFO(LOG_PREFIX "mounted a BPF filesystem at /sys/fs/bpf for PinPath "
                    "\"%s\"",
         cfg.pin_path);
  if (!itr_pins_have_tables(pins)) {
    plan->reuse = true; /* libbpf creates and pins them */
    return 0;
  }
  itr_meta_build(&cfg, opts->ipv4, opts->ipv6, itr_loader_hot_entries(opts),
                 &want);
  plan->old_table = itr_pins_table_id(pins);
  plan->replace = true;
  err = itr_pins_read_meta(pins, &have);
  plan->why = err ? ITR_REUSE_SCHEMA : itr_meta_compare(&have, &want);
  plan->schema = err ? 0 : have.schema_version;
  /* Counted only for the messages of tables that are dropped: reused ones
   * are read at the start anyway (forget_stale_interfaces). */
  if (plan->why == ITR_REUSE_SCHEMA || plan->why == ITR_REUSE_RESHAPE)
    plan->entries = itr_pins_count_entries(pins);
  if (err) {
    WARNING(LOG_PREFIX "PinPath \"%s\" holds tables without a record this "
                       "version can read (%s): dropping them and their %zu "
                       "entries; counting starts from zero",
            cfg.pin_path, STRERROR(-err), plan->entries);
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
            cfg.pin_path, have.schema_version, IPTRAFFIC_SCHEMA_VERSION,
            IPTRAFFIC_SCHEMA2, plan->entries);
    break;
  case ITR_REUSE_RESHAPE:
    INFO(LOG_PREFIX "the options that shape keys (IPv4PrefixLength, "
                    "IPv6PrefixLength, Network) changed: starting fresh "
                    "tables under \"%s\" (%zu entries dropped)",
         cfg.pin_path, plan->entries);
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
  err = itr_pins_stash(pins, plan->schema, &stash, &plan->entries);

  if (err) {
    plan->entries = itr_pins_count_entries(pins);
    WARNING(LOG_PREFIX "the tables pinned under \"%s\" cannot be read as "
                       "their record says (map schema %u): %s; dropping them "
                       "and their %zu entries, counting starts from zero",
            cfg.pin_path, plan->schema, STRERROR(-err), plan->entries);
    return 0;
  }
  itr_loader_maps(loader, &maps);
  if (plan->merge)
    err = itr_pins_merge(stash, loader, &kept, &dropped);
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
            cfg.pin_path, plan->schema, IPTRAFFIC_SCHEMA_VERSION, kept,
            dropped);
  else if (plan->why == ITR_REUSE_MIGRATE)
    INFO(LOG_PREFIX "migrated the tables under \"%s\" from map schema %u to "
                    "%u: carried all %zu entries over",
         cfg.pin_path, plan->schema, IPTRAFFIC_SCHEMA_VERSION, kept);
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
static int finish_pins(const struct itr_loader_opts *opts,
                       struct pin_plan *plan) {
  struct iptraffic_meta want;
  int err;

  if (carries_over(plan) && carry_over(plan) < 0)
    return -1;
  if (plan->replace) {
    err = itr_pins_drop_tables(pins);
    if (!err)
      err = itr_loader_pin(loader, cfg.pin_path);
    if (err) {
      ERROR(LOG_PREFIX "replacing the tables pinned under \"%s\" failed: %s",
            cfg.pin_path, STRERROR(-err));
      return -1;
    }
  }
  itr_meta_build(&cfg, opts->ipv4, opts->ipv6, itr_loader_hot_entries(opts),
                 &want);
  err = itr_pins_write_meta(pins, &want);
  if (err) {
    ERROR(LOG_PREFIX "writing the record under \"%s\" failed: %s", cfg.pin_path,
          STRERROR(-err));
    return -1;
  }
  return 0;
}

static bool configured_name(const char *name) {
  return itr_matcher_counts(&matcher, name);
}

/* What an earlier start attached to interfaces no longer configured goes:
 * their pinned links, its programs in libxdp dispatchers, and (before
 * Linux 6.6) the clsact filters of the plugin's programs. */
static void detach_unconfigured(uint32_t old_table) {
  struct if_nameindex *all = if_nameindex(), *i;
  uint32_t ids[2] = {itr_loader_table_id(loader), old_table};

  itr_pins_forget_links(pins, configured_name);
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
static size_t forget_stale_interfaces(void) {
  struct if_nameindex *all = if_nameindex(), *i;
  uint32_t *now = calloc(ITR_MAX_COUNTED, sizeof(*now));
  size_t n = 0, n_read = 0;

  for (i = all; now && i && i->if_index && n < ITR_MAX_COUNTED; i++)
    if (itr_matcher_counts(&matcher, i->if_name))
      now[n++] = i->if_index;
  if (all)
    if_freenameindex(all);
  if (now && itr_reader_pass(reader, table, CDTIME_T_TO_MS(cdtime())) == 0) {
    n_read = itr_table_count(table);
    forget_keys(now, n, true);
  }
  free(now);
  return n_read;
}

static int iptraffic_init(void) {
  struct pin_plan plan = {0};
  struct itr_loader_opts sizes = {0};
  struct itr_maps maps;
  uint32_t capacity;
  int err;

  if (!configured) {
    ERROR(LOG_PREFIX "no interface configured: add <Plugin %s> with at "
                     "least one Interface \"NAME\" to collectd.conf",
          PLUGIN_NAME);
    return -1;
  }
  if (loader)
    return 0; /* already initialized */

  itr_loader_set_print(log_libbpf);
  /* The snapshot: what the shared tables hold, plus the special keys every
   * interface has and the node's own addresses in the hot table. */
  if (itr_matcher_init(&matcher, &cfg) != 0) {
    ERROR(LOG_PREFIX "compiling the Interface patterns failed");
    return -1;
  }
  /* Listed names: those; patterns: as many as they find, up to the
   * limit, the special keys of the first ITR_LOADER_INTERFACES in the
   * per-CPU table and of the others in the shared one. */
  ifaces_cap =
      itr_matcher_only_names(&matcher) ? cfg.interfaces_num : ITR_MAX_COUNTED;
  ifaces = calloc(ifaces_cap ? ifaces_cap : 1, sizeof(*ifaces));
  reported = calloc(ifaces_cap ? ifaces_cap : 1, sizeof(*reported));
  ifaces_num = 0;
  if (!ifaces || !reported) {
    ERROR(LOG_PREFIX "allocating the interface list failed");
    iptraffic_shutdown();
    return -1;
  }
  capacity = cfg.max_entries + cfg.max_entries_ipv6 +
             IPTRAFFIC_NUM_SPECIAL * (uint32_t)ifaces_cap + IPTRAFFIC_HOT_ADDRS;
  sizes.ipv4 = cfg.max_entries;
  sizes.ipv6 = cfg.max_entries_ipv6;
  sizes.interfaces = itr_matcher_only_names(&matcher) ? cfg.interfaces_num
                                                      : ITR_LOADER_INTERFACES;
  /* Without the privileges for BPF nothing else matters: say so first. */
  err = itr_loader_probe_privileges();
  if (err == -EPERM || err == -EACCES) {
    explain_load_error(err);
    iptraffic_shutdown();
    return -1;
  }
  if (cfg.pin_path[0]) {
    if (prepare_pins(&sizes, &plan) < 0) {
      iptraffic_shutdown();
      return -1;
    }
    if (pins && plan.reuse)
      sizes.pin_dir = cfg.pin_path;
  }
  holding = true;
  err = itr_loader_open_config(&loader, &sizes, &cfg);
  release_held(err == -EPERM || err == -EACCES ? LOG_DEBUG : LOG_WARNING);
  if (err) {
    explain_load_error(err); /* the old tables stay pinned */
    iptraffic_shutdown();
    return -1;
  }
  if (pins) {
    itr_loader_own(loader, plan.old_table);
    plan.merge = carries_over(&plan) && itr_loader_has_merge(loader);
    if (carries_over(&plan) && !plan.merge)
      INFO(LOG_PREFIX "this kernel has no BPF syscall programs (Linux 5.14): "
                      "the entries are carried over before the programs "
                      "switch tables, and what they count in between is "
                      "lost");
    if (!plan.merge && finish_pins(&sizes, &plan) < 0) {
      iptraffic_shutdown();
      return -1;
    }
  }
  table = itr_table_new(capacity);
  expired = calloc(capacity, sizeof(*expired));
  report = itr_report_new(capacity, ifaces_cap);
  itr_loader_maps(loader, &maps);
  err = itr_reader_new(&reader, &maps);
  itr_hot_set_init(&hot);
  hot_created = 0;
  told_hot_full = false;
  if (!table || !expired || !report || err) {
    ERROR(LOG_PREFIX "allocating the address table (%u entries) failed",
          capacity);
    iptraffic_shutdown();
    return -1;
  }
  if (pins) {
    detach_unconfigured(plan.old_table);
    if (plan.continued || (plan.entries && !plan.merge)) {
      size_t n = forget_stale_interfaces();

      if (plan.continued)
        INFO(LOG_PREFIX "continuing the %zu entries pinned under \"%s\"", n,
             cfg.pin_path);
    }
  }

  for (size_t i = 0; i < cfg.interfaces_num && !cfg.ignore_selected; i++) {
    struct iface *ifc;

    if (itr_is_pattern(cfg.interfaces[i]))
      continue;
    ifc = &ifaces[ifaces_num++];
    init_iface(ifc, cfg.interfaces[i], true);
    err = attach_iface(ifc, false);
    if (err == -ENODEV) {
      c_complain(LOG_WARNING, &ifc->complaint,
                 LOG_PREFIX "interface %s does not exist (yet); the plugin "
                            "attaches when it appears",
                 ifc->name);
    } else if (err) {
      iptraffic_shutdown();
      return -1;
    }
  }
  discover();
  refresh_hot();
  /* Every program counts into the new tables now: the old ones are final. */
  if (plan.merge) {
    if (finish_pins(&sizes, &plan) < 0) {
      iptraffic_shutdown();
      return -1;
    }
    forget_stale_interfaces();
  }
  start_watching();
  return 0;
}

static void submit(struct iface *ifc, const char *type, const char *instance,
                   const value_t *values, size_t values_len, cdtime_t time) {
  value_list_t vl = VALUE_LIST_INIT;

  vl.values = (value_t *)values;
  vl.values_len = values_len;
  vl.time = time;
  sstrncpy(vl.plugin, PLUGIN_NAME, sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, ifc->name, sizeof(vl.plugin_instance));
  sstrncpy(vl.type, type, sizeof(vl.type));
  sstrncpy(vl.type_instance, instance, sizeof(vl.type_instance));
  plugin_dispatch_values(&vl);
  ifc->value_lists++;
}

/* if_octets and if_packets of one instance. */
static void submit_counters(struct iface *ifc, const char *instance,
                            const struct itr_counters *c, cdtime_t time) {
  value_t octets[2] = {{.derive = (derive_t)c->rx_bytes},
                       {.derive = (derive_t)c->tx_bytes}};
  value_t packets[2] = {{.derive = (derive_t)c->rx_packets},
                        {.derive = (derive_t)c->tx_packets}};

  submit(ifc, "if_octets", instance, octets, 2, time);
  submit(ifc, "if_packets", instance, packets, 2, time);
}

/* A row of the report: one instance's if_octets and if_packets. */
static void submit_row(void *ctx, const struct itr_report_row *row) {
  char instance[ITR_INSTANCE_LEN];

  if (!row->key)
    snprintf(instance, sizeof(instance), "other");
  else if (itr_key_format(row->key, instance, sizeof(instance)) != 0)
    return;
  submit_counters(&ifaces[row->iface], instance, row->counters,
                  *(const cdtime_t *)ctx);
}

static void submit_health(struct iface *ifc, size_t addresses, cdtime_t time) {
  /* This interval's value lists, these three gauges included. */
  value_t gauges[] = {
      {.gauge = (gauge_t)addresses},
      {.gauge = (gauge_t)(cfg.max_entries + cfg.max_entries_ipv6)},
      {.gauge = (gauge_t)(ifc->value_lists + 3)}};

  submit(ifc, "count", "addresses", &gauges[0], 1, time);
  submit(ifc, "count", "capacity", &gauges[1], 1, time);
  submit(ifc, "count", "value_lists", &gauges[2], 1, time);
}

/* Drops the addresses idle for ExpireIdle from the kernel table. Their
 * last counters stay in the snapshot for this interval's dispatch. */
static size_t expire_idle(uint64_t now_ms) {
  size_t n =
      itr_table_collect_idle(table, now_ms, (uint64_t)cfg.expire_idle * 1000,
                             expired, itr_table_capacity(table));

  size_t kept = 0;

  for (size_t i = 0; i < n; i++) {
    struct itr_counters last;
    struct itr_entry *e;

    /* The node's own addresses stay while they are assigned. */
    if (itr_hot_set_has(&hot, &expired[i]))
      continue;
    if (itr_reader_delete(reader, &expired[i], &last) != 0)
      continue; /* gone already; the next pass drops it */
    e = itr_table_find(table, &expired[i]);
    if (e)
      itr_entry_update(e, &last, now_ms);
    expired[kept++] = expired[i];
  }
  return kept;
}

static int read_locked(void) {
  const struct itr_report_opts opts = {.report_inactive = cfg.report_inactive,
                                       .top_n = cfg.top_n,
                                       .top_n_hold = cfg.top_n_hold};
  cdtime_t now = cdtime();
  uint64_t now_ms = CDTIME_T_TO_MS(now);
  size_t n_expired;
  int err;

  /* With the notifications the watcher follows, a read checks the
   * interfaces and the node's addresses itself only now and then: a
   * notification lost in an overrun is made up for within a minute. */
  if (!atomic_load(&watcher_alive) || reads_since_sync++ >= SYNC_EVERY_READS) {
    sync_ifaces();
    refresh_hot();
    reads_since_sync = 0;
  }

  err = itr_reader_pass(reader, table, now_ms);
  if (itr_reader_no_batch(reader) && !told_no_batch) {
    INFO(LOG_PREFIX "the kernel has no batch map operations (Linux < 5.6): "
                    "reading the table key by key");
    told_no_batch = true;
  }
  if (err) {
    c_complain(LOG_ERR, &read_complaint,
               LOG_PREFIX "reading the address table failed: %s",
               STRERROR(-err));
    return -1;
  }
  c_release(LOG_INFO, &read_complaint,
            LOG_PREFIX "reading the address table works again");

  n_expired = expire_idle(now_ms);
  if (itr_reader_no_lookup_and_delete(reader) && !told_no_lookup_and_delete) {
    INFO(LOG_PREFIX "the kernel cannot look up and delete hash entries in "
                    "one step (Linux < 5.14): expiring with two");
    told_no_lookup_and_delete = true;
  }

  for (size_t i = 0; i < ifaces_num; i++) {
    reported[i].ifindex = ifaces[i].attached || ifaces[i].leaving
                              ? (uint32_t)ifaces[i].ifindex
                              : 0;
    ifaces[i].value_lists = 0;
  }
  itr_report_pass(report, table, &opts, reported, ifaces_num, submit_row, &now);
  for (size_t i = 0; i < ifaces_num; i++)
    if (ifaces[i].attached)
      submit_health(&ifaces[i], reported[i].addresses, now);
  /* One that went and came back while it was being reported is taken
   * again now, not at the next notification. */
  if (forget_leaving() > 0) {
    sync_ifaces();
    refresh_hot();
  }

  for (size_t i = 0; i < n_expired; i++)
    itr_table_remove(table, &expired[i]);
  return 0;
}

static int iptraffic_read(void) {
  int ret;

  pthread_mutex_lock(&lock);
  ret = read_locked();
  pthread_mutex_unlock(&lock);
  return ret;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, iptraffic_config);
  plugin_register_init(PLUGIN_NAME, iptraffic_init);
  plugin_register_read(PLUGIN_NAME, iptraffic_read);
  plugin_register_shutdown(PLUGIN_NAME, iptraffic_shutdown);
}
