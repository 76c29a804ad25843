/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * What the files of the collectd glue share. iptraffic.c holds collectd's
 * callbacks (config, init, read, shutdown); glue.c the plugin's state (g)
 * and the libraries' messages;
 * ifaces.c attaches and follows the counted interfaces; watch.c follows
 * the kernel's notifications about them in a thread; keep.c is the state
 * kept across restarts (PinPath). All of it runs in collectd's init or
 * shutdown, or under g.lock (a read, the link watcher).
 */
#ifndef ITR_GLUE_H
#define ITR_GLUE_H

#include "collectd.h"
#include "plugin.h"
#include "utils_complain.h"

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hot.h"
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
  bool told_top_n;                /* said: more addresses than TopN */
  c_complain_t complaint;
};

/* The plugin's state, set up by init and torn down by shutdown. */
struct glue {
  struct itr_config cfg;
  struct itr_loader *loader;
  struct itr_pins *pins; /* PinPath, locked while the plugin runs */
  struct itr_reader *reader;
  struct itr_table *table; /* the snapshot of the kernel tables */
  struct itr_matcher matcher;
  /* The interfaces counted: the ones listed by name, then those the
   * patterns found (ifaces_num of ifaces_cap). */
  struct iface *ifaces;
  size_t ifaces_num, ifaces_cap;
  struct itr_report_iface *reported; /* by iface */
  struct itr_hot_set hot;            /* the node's addresses, counted per CPU */
  /* Between a read and the link watcher, which both change the
   * interfaces, the tables' scratch state and the snapshot. */
  pthread_mutex_t lock;
};
extern struct glue g;

/* glue.c: libbpf's and libxdp's messages into collectd's log (through
 * itr_loader_set_print); warnings can be held back until the outcome of
 * what may cause them is known, then logged at prio. */
void log_libbpf(enum itr_log_level level, const char *msg);
void hold_warnings(void);
void release_held(int prio);

/* ifaces.c */
void init_iface(struct iface *ifc, const char *name, bool named);
int attach_iface(struct iface *ifc, bool quiet);
void detach_iface(struct iface *ifc);
void release_iface(struct iface *ifc);
void check_iface(struct iface *ifc);
void discover(void);
size_t forget_leaving(void);
void forget_keys(const uint32_t *ifindexes, size_t n, bool keep);
void reset_hot(void);
void refresh_hot(void);

/* watch.c: sync_due says whether a read follows the interfaces itself
 * (the watcher is gone, or a while passed: a notification may be lost). */
void sync_ifaces(void);
void start_watching(void);
void stop_watching(void);
bool sync_due(void);

/* keep.c */
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

bool carries_over(const struct pin_plan *plan);
int prepare_pins(const struct itr_loader_opts *opts, struct pin_plan *plan);
int finish_pins(const struct itr_loader_opts *opts, struct pin_plan *plan);
void detach_unconfigured(uint32_t old_table);
size_t forget_stale_interfaces(void);

#endif
