/*
 * Hot keys, the filter the programs read, and the 8-byte IPv4 key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hot.h"

/* Zeroes the bits of addr (len bytes) past prefixlen. */
static void mask_addr(uint8_t *addr, size_t len, unsigned prefixlen) {
  for (size_t i = 0; i < len; i++) {
    int bits = (int)prefixlen - 8 * (int)i;

    if (bits <= 0)
      addr[i] = 0;
    else if (bits < 8)
      addr[i] &= (uint8_t)(0xff << (8 - bits));
  }
}

/* Whether addr lies in the network n. */
static bool in_network(const struct itr_network *n, int kind,
                       const uint8_t *addr) {
  uint8_t a[16];
  size_t len = kind == IPTRAFFIC_KIND_IPV4 ? 4 : 16;

  if (n->kind != kind)
    return false;
  memset(a, 0, sizeof(a));
  memcpy(a, addr, len);
  mask_addr(a, len, n->len);
  return memcmp(a, n->addr, len) == 0;
}

int itr_shape_key(const struct itr_config *cfg, uint32_t ifindex, int kind,
                  const uint8_t *addr, struct iptraffic_key *out) {
  const struct itr_network *best = NULL;
  size_t len;
  unsigned prefixlen;

  if (kind == IPTRAFFIC_KIND_IPV4) {
    len = 4;
    prefixlen = cfg->ipv4_prefixlen;
  } else if (kind == IPTRAFFIC_KIND_IPV6) {
    len = 16;
    prefixlen = cfg->ipv6_prefixlen;
  } else {
    return -EINVAL;
  }
  for (size_t i = 0; i < cfg->networks_num; i++) {
    const struct itr_network *n = &cfg->networks[i];

    if (in_network(n, kind, addr) && (!best || n->len > best->len))
      best = n;
  }
  if (best && best->ignore)
    return 1;
  if (best)
    prefixlen = best->prefixlen;
  memset(out, 0, sizeof(*out));
  out->ifindex = ifindex;
  out->kind = (uint8_t)kind;
  out->prefixlen = (uint8_t)prefixlen;
  memcpy(out->addr, addr, len);
  mask_addr(out->addr, len, prefixlen);
  return 0;
}

uint32_t itr_hot_bit(const struct iptraffic_key *key) {
  uint32_t w[6];

  memcpy(w, key, sizeof(w));
  return iptraffic_hot_bit(w[0], w[1], w[2], w[3], w[4], w[5]);
}

void itr_hot_filter_add(struct iptraffic_hot_filter *f,
                        const struct iptraffic_key *key) {
  uint32_t bit = itr_hot_bit(key);

  f->bits[bit / 64] |= 1ull << (bit % 64);
}

void itr_hot_filter_build(struct iptraffic_hot_filter *f,
                          const struct iptraffic_key *keys, size_t n) {
  memset(f, 0, sizeof(*f));
  for (size_t i = 0; i < n; i++)
    itr_hot_filter_add(f, &keys[i]);
}

bool itr_hot_filter_test(const struct iptraffic_hot_filter *f,
                         const struct iptraffic_key *key) {
  uint32_t bit = itr_hot_bit(key);

  return (f->bits[bit / 64] >> (bit % 64)) & 1;
}

int itr_key_cmp(const struct iptraffic_key *a, const struct iptraffic_key *b) {
  return memcmp(a, b, sizeof(*a));
}

void itr_hot_set_init(struct itr_hot_set *s) {
  memset(s, 0, sizeof(*s));
}

/* Position of key in s, or where it would go. */
static size_t position(const struct itr_hot_set *s,
                       const struct iptraffic_key *key, bool *found) {
  size_t lo = 0, hi = s->num;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = itr_key_cmp(&s->keys[mid], key);

    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

int itr_hot_set_add(struct itr_hot_set *s, const struct iptraffic_key *key) {
  bool found;
  size_t i = position(s, key, &found);

  if (found)
    return 0;
  if (s->num == IPTRAFFIC_HOT_ADDRS) {
    s->dropped++;
    return -ENOSPC;
  }
  memmove(&s->keys[i + 1], &s->keys[i], (s->num - i) * sizeof(s->keys[0]));
  s->keys[i] = *key;
  s->num++;
  return 0;
}

bool itr_hot_set_has(const struct itr_hot_set *s,
                     const struct iptraffic_key *key) {
  bool found;

  position(s, key, &found);
  return found;
}

bool itr_hot_set_equal(const struct itr_hot_set *a,
                       const struct itr_hot_set *b) {
  return a->num == b->num &&
         memcmp(a->keys, b->keys, a->num * sizeof(a->keys[0])) == 0;
}

int itr_key4_encode(const struct iptraffic_key *key,
                    struct iptraffic_key4 *out) {
  uint32_t a;

  if (key->kind != IPTRAFFIC_KIND_IPV4 || key->prefixlen > 32)
    return -EINVAL;
  memcpy(&a, key->addr, 4);
  a = ntohl(a);
  if (key->prefixlen < 32 &&
      (key->prefixlen == 0 ? a : a << key->prefixlen) != 0)
    return -EINVAL; /* host bits set */
  out->ifindex = key->ifindex;
  if (key->prefixlen < 32) {
    out->ifindex |= IPTRAFFIC_KEY4_AGGREGATE;
    a |= 0x80000000u >> key->prefixlen;
  }
  out->addr = htonl(a);
  return 0;
}

int itr_key4_decode(const struct iptraffic_key4 *k4,
                    struct iptraffic_key *out) {
  uint32_t a = ntohl(k4->addr);

  memset(out, 0, sizeof(*out));
  out->kind = IPTRAFFIC_KIND_IPV4;
  out->ifindex = k4->ifindex & ~IPTRAFFIC_KEY4_AGGREGATE;
  if (k4->ifindex & IPTRAFFIC_KEY4_AGGREGATE) {
    unsigned low;

    if (a == 0)
      return -EINVAL;
    low = (unsigned)__builtin_ctz(a);
    out->prefixlen = (uint8_t)(31 - low);
    a &= ~(1u << low);
  } else {
    out->prefixlen = 32;
  }
  a = htonl(a);
  memcpy(out->addr, &a, 4);
  return 0;
}
