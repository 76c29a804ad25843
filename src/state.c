/*
 * Whether pinned tables fit the configuration.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

static int network_cmp(const void *a, const void *b) {
  const struct itr_network *x = a, *y = b;

  if (x->kind != y->kind)
    return x->kind < y->kind ? -1 : 1;
  if (x->len != y->len)
    return x->len < y->len ? -1 : 1;
  return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;

  for (size_t i = 0; i < n; i++) {
    h ^= c[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* The blocks in a canonical order, so that listing them differently in
 * collectd.conf does not count as a change. */
static uint64_t networks_digest(const struct itr_config *cfg) {
  struct itr_network sorted[ITR_MAX_NETWORKS];
  uint64_t h = 14695981039346656037ull;

  memcpy(sorted, cfg->networks, cfg->networks_num * sizeof(sorted[0]));
  qsort(sorted, cfg->networks_num, sizeof(sorted[0]), network_cmp);
  for (size_t i = 0; i < cfg->networks_num; i++) {
    const struct itr_network *n = &sorted[i];
    uint8_t shape[4] = {n->kind, n->len, n->prefixlen, n->ignore};

    h = fnv(h, shape, sizeof(shape));
    h = fnv(h, n->addr, sizeof(n->addr));
  }
  return h;
}

void itr_meta_build(const struct itr_config *cfg, uint32_t ipv4_entries,
                    uint32_t ipv6_entries, uint32_t hot_entries,
                    struct iptraffic_meta *out) {
  memset(out, 0, sizeof(*out));
  out->magic = IPTRAFFIC_META_MAGIC;
  out->schema_version = IPTRAFFIC_SCHEMA_VERSION;
  out->ipv4_entries = ipv4_entries;
  out->ipv6_entries = ipv6_entries;
  out->hot_entries = hot_entries;
  out->ipv4_prefixlen = cfg->ipv4_prefixlen;
  out->ipv6_prefixlen = cfg->ipv6_prefixlen;
  out->networks_num = (uint16_t)cfg->networks_num;
  out->networks_digest = networks_digest(cfg);
}

bool itr_schema_migrates(uint32_t v) {
  return v == IPTRAFFIC_SCHEMA2;
}

enum itr_reuse itr_meta_compare(const struct iptraffic_meta *pinned,
                                const struct iptraffic_meta *want) {
  bool migrate;

  if (pinned->magic != IPTRAFFIC_META_MAGIC)
    return ITR_REUSE_SCHEMA;
  migrate = pinned->schema_version != want->schema_version;
  if (migrate && (want->schema_version != IPTRAFFIC_SCHEMA_VERSION ||
                  !itr_schema_migrates(pinned->schema_version)))
    return ITR_REUSE_SCHEMA;
  /* Schema 2 shaped keys from the same options, in the same record
   * fields: keys shaped otherwise are not carried over, whatever the
   * schema. */
  if (pinned->ipv4_prefixlen != want->ipv4_prefixlen ||
      pinned->ipv6_prefixlen != want->ipv6_prefixlen ||
      pinned->networks_num != want->networks_num ||
      pinned->networks_digest != want->networks_digest)
    return ITR_REUSE_RESHAPE;
  if (migrate)
    return ITR_REUSE_MIGRATE;
  if (pinned->ipv4_entries != want->ipv4_entries ||
      pinned->ipv6_entries != want->ipv6_entries ||
      pinned->hot_entries != want->hot_entries)
    return ITR_REUSE_RESIZE;
  return ITR_REUSE_SAME;
}
