/*
 * Fuzzes the configuration parser (src/plugin_config.c) and the interface
 * matcher built from its result (src/match.c) with libFuzzer.
 *
 * An input is decoded into a tree of the shape collectd hands the plugin
 * (struct itr_cfg_item): keys mostly from the plugin's own options (and
 * those of <Network> blocks), values of every type with arbitrary strings
 * and numbers (NaN, infinities, huge, negative), nested blocks. Checks:
 * parsing never crashes or reads out of bounds (ASan, UBSan); a refused
 * configuration says why in a message that fits its buffer; an accepted
 * one keeps every limit the plugin relies on, parses the same way twice,
 * and yields a matcher.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iptraffic.h"
#include "match.h"
#include "plugin_config.h"

#define MAX_ITEMS 16
#define MAX_VALUES 4
#define MAX_DEPTH 2

static const char *const keys[] = {
    "Interface",     "IgnoreSelected", "XDPMode",          "IngressHook",
    "XDPDispatcher", "Direction",      "MaxEntries",       "MaxEntriesIPv6",
    "ExpireIdle",    "ReportInactive", "IPv4PrefixLength", "IPv6PrefixLength",
    "Network",       "TopN",           "TopNHold",         "PinPath",
    "PrefixLength",  "Ignore",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct input {
  const uint8_t *p;
  size_t n;
};

static uint8_t byte(struct input *in) {
  if (in->n == 0)
    return 0;
  in->n--;
  return *in->p++;
}

/* A string of up to 255 bytes from the input, NUL-terminated; the pool
 * keeps it alive for the tree. */
struct pool {
  char *strings[MAX_ITEMS * (MAX_VALUES + 1) * (MAX_ITEMS + 1) * 2];
  size_t num;
};

static const char *string(struct input *in, struct pool *pool) {
  size_t len = byte(in);
  char *s;

  if (len > in->n)
    len = in->n;
  if (pool->num == sizeof(pool->strings) / sizeof(pool->strings[0]))
    return "";
  s = malloc(len + 1);
  if (!s)
    abort();
  memcpy(s, in->p, len);
  s[len] = '\0';
  in->p += len;
  in->n -= len;
  pool->strings[pool->num++] = s;
  return s;
}

static double number(struct input *in) {
  static const double special[] = {0,   -1,           1e300, -1e300,
                                   0.5, 4294967296.0, 65536, 128};
  uint8_t how = byte(in);
  uint64_t bits = 0;
  double d;

  if (how < 64)
    return how;
  if (how < 128)
    return special[how % 8];
  if (how == 128)
    return NAN;
  if (how == 129)
    return INFINITY;
  for (int i = 0; i < 8; i++)
    bits = bits << 8 | byte(in);
  memcpy(&d, &bits, sizeof(d));
  return d;
}

struct tree {
  struct itr_cfg_item items[MAX_ITEMS];
  struct itr_cfg_value values[MAX_ITEMS][MAX_VALUES];
  struct tree *children[MAX_ITEMS];
};

static void tree_free(struct tree *t) {
  for (int i = 0; i < MAX_ITEMS; i++)
    if (t->children[i])
      tree_free(t->children[i]);
  free(t);
}

static struct tree *decode(struct input *in, struct pool *pool, int depth,
                           int *num) {
  struct tree *t = calloc(1, sizeof(*t));

  if (!t)
    abort();
  *num = byte(in) % MAX_ITEMS;
  for (int i = 0; i < *num; i++) {
    struct itr_cfg_item *item = &t->items[i];
    uint8_t k = byte(in);

    item->key = k < 3 * NKEYS ? keys[k % NKEYS]
                : k == 255    ? NULL
                              : string(in, pool);
    item->values_num = byte(in) % (MAX_VALUES + 1);
    item->values = t->values[i];
    for (int v = 0; v < item->values_num; v++) {
      struct itr_cfg_value *val = &t->values[i][v];

      switch (byte(in) % 3) {
      case 0:
        val->type = ITR_CFG_STRING;
        val->v.string = string(in, pool);
        break;
      case 1:
        val->type = ITR_CFG_NUMBER;
        val->v.number = number(in);
        break;
      default:
        val->type = ITR_CFG_BOOLEAN;
        val->v.boolean = byte(in) & 1;
        break;
      }
    }
    if (depth < MAX_DEPTH && (byte(in) & 3) == 0) {
      t->children[i] = decode(in, pool, depth + 1, &item->children_num);
      item->children = t->children[i]->items;
    }
  }
  return t;
}

static void check_accepted(const struct itr_config *cfg) {
  struct itr_matcher m;

  if (cfg->interfaces_num == 0 && !cfg->ignore_selected)
    abort();
  if (cfg->interfaces_num > ITR_MAX_INTERFACES)
    abort();
  for (size_t i = 0; i < cfg->interfaces_num; i++)
    if (cfg->interfaces[i][0] == '\0' ||
        memchr(cfg->interfaces[i], '\0', ITR_IFACE_SPEC_LEN) == NULL)
      abort();
  if (cfg->max_entries < ITR_MIN_MAX_ENTRIES ||
      cfg->max_entries_ipv6 < ITR_MIN_MAX_ENTRIES)
    abort();
  if (cfg->ipv4_prefixlen > 32 || cfg->ipv6_prefixlen > 128)
    abort();
  if (cfg->networks_num > ITR_MAX_NETWORKS)
    abort();
  for (size_t i = 0; i < cfg->networks_num; i++) {
    const struct itr_network *n = &cfg->networks[i];
    unsigned full = n->kind == IPTRAFFIC_KIND_IPV4 ? 32 : 128;

    if ((n->kind != IPTRAFFIC_KIND_IPV4 && n->kind != IPTRAFFIC_KIND_IPV6) ||
        n->len > full || n->prefixlen > full)
      abort();
  }
  if (memchr(cfg->pin_path, '\0', sizeof(cfg->pin_path)) == NULL)
    abort();
  if (itr_matcher_init(&m, cfg) != 0)
    abort(); /* patterns were checked while parsing */
  (void)itr_matcher_counts(&m, "eth0");
  (void)itr_matcher_counts(&m, "veth1234");
  itr_matcher_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct input in = {data, size};
  struct pool pool = {.num = 0};
  struct itr_cfg_item block = {.key = "Plugin"};
  struct itr_config a, b;
  char err[256], err2[256];
  struct tree *t;
  int ra, rb;

  t = decode(&in, &pool, 0, &block.children_num);
  block.children = t->items;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  itr_config_init(&a);
  itr_config_init(&b);
  memset(err, 0x55, sizeof(err));
  ra = itr_config_parse(&a, &block, err, sizeof(err));
  rb = itr_config_parse(&b, &block, err2, sizeof(err2));
  if (ra != rb)
    abort();
  if (ra != 0) {
    if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0' ||
        strcmp(err, err2) != 0)
      abort();
  } else {
    if (memcmp(&a, &b, sizeof(a)) != 0)
      abort();
    check_accepted(&a);
  }
  tree_free(t);
  for (size_t i = 0; i < pool.num; i++)
    free(pool.strings[i]);
  return 0;
}
