/**
 * collectd - iptraffic plugin: traffic per IP address, counted with XDP
 * (ingress) and tc (egress).
 *
 * collectd's callbacks: config turns collectd's configuration into
 * struct itr_config; init loads the BPF programs (with the state pinned
 * under PinPath: keep.c) and attaches them to the interfaces (ifaces.c),
 * which a thread then follows (watch.c); every read turns the report of
 * the snapshot (report.c: ReportInactive, TopN) into value lists; shutdown
 * lets the programs go, pinned or detached. glue.h says what these files
 * share.
 */
#include "glue.h"

#include "utils/common/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static bool configured;
static struct iptraffic_key *expired; /* scratch, table capacity long */
static struct itr_report *report;     /* what a read dispatches */
static bool told_no_batch, told_no_lookup_and_delete;
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
  itr_config_init(&g.cfg);
  status = itr_config_parse(&g.cfg, &block, err, sizeof(err));
  free_items((struct itr_cfg_item *)block.children, block.children_num);
  if (status != 0) {
    ERROR(LOG_PREFIX "%s", err);
    return -1;
  }
  configured = true;
  return 0;
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

/* --- Callbacks -------------------------------------------------------------
 */

static int iptraffic_shutdown(void) {
  stop_watching();
  for (size_t i = 0; i < g.ifaces_num; i++) {
    if (g.pins && g.loader && g.ifaces[i].attached)
      release_iface(&g.ifaces[i]);
    else
      detach_iface(&g.ifaces[i]);
  }
  free(g.ifaces);
  g.ifaces = NULL;
  free(g.reported);
  g.reported = NULL;
  g.ifaces_num = g.ifaces_cap = 0;
  itr_matcher_free(&g.matcher);
  itr_reader_free(g.reader);
  g.reader = NULL;
  itr_table_free(g.table);
  g.table = NULL;
  free(expired);
  expired = NULL;
  itr_report_free(report);
  report = NULL;
  itr_loader_close(g.loader);
  g.loader = NULL;
  itr_pins_close(g.pins); /* the tables stay pinned */
  g.pins = NULL;
  itr_loader_set_print(NULL);
  return 0;
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
  if (g.loader)
    return 0; /* already initialized */

  itr_loader_set_print(log_libbpf);
  /* The snapshot: what the shared tables hold, plus the special keys every
   * interface has and the node's own addresses in the hot table. */
  if (itr_matcher_init(&g.matcher, &g.cfg) != 0) {
    ERROR(LOG_PREFIX "compiling the Interface patterns failed");
    return -1;
  }
  /* Listed names: those; patterns: as many as they find, up to the
   * limit, the special keys of the first ITR_LOADER_INTERFACES in the
   * per-CPU table and of the others in the shared one. */
  g.ifaces_cap = itr_matcher_only_names(&g.matcher) ? g.cfg.interfaces_num
                                                    : ITR_MAX_COUNTED;
  g.ifaces = calloc(g.ifaces_cap ? g.ifaces_cap : 1, sizeof(*g.ifaces));
  g.reported = calloc(g.ifaces_cap ? g.ifaces_cap : 1, sizeof(*g.reported));
  g.ifaces_num = 0;
  if (!g.ifaces || !g.reported) {
    ERROR(LOG_PREFIX "allocating the interface list failed");
    iptraffic_shutdown();
    return -1;
  }
  capacity = g.cfg.max_entries + g.cfg.max_entries_ipv6 +
             IPTRAFFIC_NUM_SPECIAL * (uint32_t)g.ifaces_cap +
             IPTRAFFIC_HOT_ADDRS;
  sizes.ipv4 = g.cfg.max_entries;
  sizes.ipv6 = g.cfg.max_entries_ipv6;
  sizes.interfaces = itr_matcher_only_names(&g.matcher) ? g.cfg.interfaces_num
                                                        : ITR_LOADER_INTERFACES;
  /* Without the privileges for BPF nothing else matters: say so first. */
  err = itr_loader_probe_privileges();
  if (err == -EPERM || err == -EACCES) {
    explain_load_error(err);
    iptraffic_shutdown();
    return -1;
  }
  if (g.cfg.pin_path[0]) {
    if (prepare_pins(&sizes, &plan) < 0) {
      iptraffic_shutdown();
      return -1;
    }
    if (g.pins && plan.reuse)
      sizes.pin_dir = g.cfg.pin_path;
  }
  hold_warnings();
  err = itr_loader_open_config(&g.loader, &sizes, &g.cfg);
  release_held(err == -EPERM || err == -EACCES ? LOG_DEBUG : LOG_WARNING);
  if (err) {
    explain_load_error(err); /* the old tables stay pinned */
    iptraffic_shutdown();
    return -1;
  }
  if (g.pins) {
    itr_loader_own(g.loader, plan.old_table);
    plan.merge = carries_over(&plan) && itr_loader_has_merge(g.loader);
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
  g.table = itr_table_new(capacity);
  expired = calloc(capacity, sizeof(*expired));
  report = itr_report_new(capacity, g.ifaces_cap);
  itr_loader_maps(g.loader, &maps);
  err = itr_reader_new(&g.reader, &maps);
  reset_hot();
  if (!g.table || !expired || !report || err) {
    ERROR(LOG_PREFIX "allocating the address table (%u entries) failed",
          capacity);
    iptraffic_shutdown();
    return -1;
  }
  if (g.pins) {
    detach_unconfigured(plan.old_table);
    if (plan.continued || (plan.entries && !plan.merge)) {
      size_t n = forget_stale_interfaces();

      if (plan.continued)
        INFO(LOG_PREFIX "continuing the %zu entries pinned under \"%s\"", n,
             g.cfg.pin_path);
    }
  }

  for (size_t i = 0; i < g.cfg.interfaces_num && !g.cfg.ignore_selected; i++) {
    struct iface *ifc;

    if (itr_is_pattern(g.cfg.interfaces[i]))
      continue;
    ifc = &g.ifaces[g.ifaces_num++];
    init_iface(ifc, g.cfg.interfaces[i], true);
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
  submit_counters(&g.ifaces[row->iface], instance, row->counters,
                  *(const cdtime_t *)ctx);
}

static void submit_health(struct iface *ifc, size_t addresses, cdtime_t time) {
  /* This interval's value lists, these three gauges included. */
  value_t gauges[] = {
      {.gauge = (gauge_t)addresses},
      {.gauge = (gauge_t)(g.cfg.max_entries + g.cfg.max_entries_ipv6)},
      {.gauge = (gauge_t)(ifc->value_lists + 3)}};

  submit(ifc, "count", "addresses", &gauges[0], 1, time);
  submit(ifc, "count", "capacity", &gauges[1], 1, time);
  submit(ifc, "count", "value_lists", &gauges[2], 1, time);
}

/* Drops the addresses idle for ExpireIdle from the kernel table. Their
 * last counters stay in the snapshot for this interval's dispatch. */
static size_t expire_idle(uint64_t now_ms) {
  size_t n = itr_table_collect_idle(g.table, now_ms,
                                    (uint64_t)g.cfg.expire_idle * 1000, expired,
                                    itr_table_capacity(g.table));

  size_t kept = 0;

  for (size_t i = 0; i < n; i++) {
    struct itr_counters last;
    struct itr_entry *e;

    /* The node's own addresses stay while they are assigned. */
    if (itr_hot_set_has(&g.hot, &expired[i]))
      continue;
    if (itr_reader_delete(g.reader, &expired[i], &last) != 0)
      continue; /* gone already; the next pass drops it */
    e = itr_table_find(g.table, &expired[i]);
    if (e)
      itr_entry_update(e, &last, now_ms);
    expired[kept++] = expired[i];
  }
  return kept;
}

/* Said once per interface when the default TopN holds back addresses. */
static void tell_top_n(struct iface *ifc, size_t addresses) {
  if (g.cfg.top_n_set || g.cfg.top_n == 0 || addresses <= g.cfg.top_n ||
      ifc->told_top_n)
    return;
  WARNING(LOG_PREFIX "interface %s: %zu addresses, more than TopN %u (the "
                     "default, which keeps what collectd and its write "
                     "plugins hold bounded): the top %u by traffic are "
                     "reported, the rest together as \"other\"; set TopN to "
                     "report more (TopN 0: every address)",
          ifc->name, addresses, g.cfg.top_n, g.cfg.top_n);
  ifc->told_top_n = true;
}

static int read_locked(void) {
  const struct itr_report_opts opts = {.report_inactive = g.cfg.report_inactive,
                                       .top_n = g.cfg.top_n,
                                       .top_n_hold = g.cfg.top_n_hold};
  cdtime_t now = cdtime();
  uint64_t now_ms = CDTIME_T_TO_MS(now);
  size_t n_expired;
  int err;

  /* With the notifications the watcher follows, a read checks the
   * interfaces and the node's addresses itself only now and then: a
   * notification lost in an overrun is made up for within a minute. */
  if (sync_due()) {
    sync_ifaces();
    refresh_hot();
  }

  err = itr_reader_pass(g.reader, g.table, now_ms);
  if (itr_reader_no_batch(g.reader) && !told_no_batch) {
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
  if (itr_reader_no_lookup_and_delete(g.reader) && !told_no_lookup_and_delete) {
    INFO(LOG_PREFIX "the kernel cannot look up and delete hash entries in "
                    "one step (Linux < 5.14): expiring with two");
    told_no_lookup_and_delete = true;
  }

  for (size_t i = 0; i < g.ifaces_num; i++) {
    g.reported[i].ifindex = g.ifaces[i].attached || g.ifaces[i].leaving
                                ? (uint32_t)g.ifaces[i].ifindex
                                : 0;
    g.ifaces[i].value_lists = 0;
  }
  itr_report_pass(report, g.table, &opts, g.reported, g.ifaces_num, submit_row,
                  &now);
  for (size_t i = 0; i < g.ifaces_num; i++) {
    if (!g.ifaces[i].attached)
      continue;
    submit_health(&g.ifaces[i], g.reported[i].addresses, now);
    tell_top_n(&g.ifaces[i], g.reported[i].addresses);
  }
  /* One that went and came back while it was being reported is taken
   * again now, not at the next notification. */
  if (forget_leaving() > 0) {
    sync_ifaces();
    refresh_hot();
  }

  for (size_t i = 0; i < n_expired; i++)
    itr_table_remove(g.table, &expired[i]);
  return 0;
}

static int iptraffic_read(void) {
  int ret;

  pthread_mutex_lock(&g.lock);
  ret = read_locked();
  pthread_mutex_unlock(&g.lock);
  return ret;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, iptraffic_config);
  plugin_register_init(PLUGIN_NAME, iptraffic_init);
  plugin_register_read(PLUGIN_NAME, iptraffic_read);
  plugin_register_shutdown(PLUGIN_NAME, iptraffic_shutdown);
}
