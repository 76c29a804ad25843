/*
 * The hot keys: the node's own addresses, which frames from every CPU
 * carry, counted in the kernel's small per-CPU table instead of the shared
 * one (bpf/iptraffic.h), and the filter that tells the programs which keys
 * may be there.
 *
 * Pure logic: libc only.
 */
#ifndef ITR_HOT_H
#define ITR_HOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iptraffic.h"
#include "plugin_config.h"

/* The key the programs count addr (4 or 16 bytes, network byte order;
 * kind IPTRAFFIC_KIND_IPV4 or _IPV6) under on ifindex, as cfg's prefix
 * lengths and <Network> blocks shape it (longest prefix wins). Returns 0,
 * 1 when the address is in an ignored network (no key of its own), or
 * -EINVAL for another kind. */
int itr_shape_key(const struct itr_config *cfg, uint32_t ifindex, int kind,
                  const uint8_t *addr, struct iptraffic_key *out);

/* The filter bit of key, as the programs compute it. */
uint32_t itr_hot_bit(const struct iptraffic_key *key);

/* Sets key's bit in f. */
void itr_hot_filter_add(struct iptraffic_hot_filter *f,
                        const struct iptraffic_key *key);

/* Sets f to the bits of n keys. */
void itr_hot_filter_build(struct iptraffic_hot_filter *f,
                          const struct iptraffic_key *keys, size_t n);

bool itr_hot_filter_test(const struct iptraffic_hot_filter *f,
                         const struct iptraffic_key *key);

/* A set of hot address keys, kept sorted, at most IPTRAFFIC_HOT_ADDRS. */
struct itr_hot_set {
  struct iptraffic_key keys[IPTRAFFIC_HOT_ADDRS];
  size_t num;
  size_t dropped; /* keys that did not fit when it was built */
};

void itr_hot_set_init(struct itr_hot_set *s);
/* Adds key unless it is there. Returns 0, or -ENOSPC when full (counted
 * in dropped). */
int itr_hot_set_add(struct itr_hot_set *s, const struct iptraffic_key *key);
bool itr_hot_set_has(const struct itr_hot_set *s,
                     const struct iptraffic_key *key);
bool itr_hot_set_equal(const struct itr_hot_set *a,
                       const struct itr_hot_set *b);

/* Key order used by the set: bytewise. */
int itr_key_cmp(const struct iptraffic_key *a, const struct iptraffic_key *b);

/* The 8-byte IPv4 key of itr_addr4 and back (bpf/iptraffic.h). Encoding
 * returns -EINVAL for a key that is not IPv4 or has a prefix length over
 * 32 or host bits set; decoding returns -EINVAL for an aggregate without
 * its marker bit. */
int itr_key4_encode(const struct iptraffic_key *key,
                    struct iptraffic_key4 *out);
int itr_key4_decode(const struct iptraffic_key4 *k4, struct iptraffic_key *out);

#endif /* ITR_HOT_H */
