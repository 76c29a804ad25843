/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * The minimal reference the plugin's programs are measured against: parse
 * Ethernet (up to two VLAN tags) and the IPv4/IPv6 header, then add the
 * frame to its source's tx and its destination's rx in a per-CPU hash keyed
 * by (ifindex, address). No special keys, no table-full handling: nothing
 * but the work every per-address counter has to do.
 *
 * Compiled several times into kernel-layout experiments (bench/Makefile):
 *   REF_ATOMIC     a plain hash, values added with atomic instructions
 *   REF_NOPREALLOC entries allocated on first use (BPF_F_NO_PREALLOC)
 *   REF_PAIR       one map operation per frame: key (src, dst), userspace
 *                  would split it into per-address rx and tx
 *   REF_KEY8       IPv4 in its own table with an 8-byte key
 *   REF_KEY24      the plugin's 24-byte key layout, filled field by field
 *                  (with REF_WORDS: filled with whole 32-bit stores)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifdef REF_ATOMIC
#define REF_MAP_TYPE BPF_MAP_TYPE_HASH
#define REF_ADD(p, n) __sync_fetch_and_add((p), (n))
#else
#define REF_MAP_TYPE BPF_MAP_TYPE_PERCPU_HASH
#define REF_ADD(p, n) (*(p) += (n))
#endif

#ifdef REF_NOPREALLOC
#define REF_MAP_FLAGS BPF_F_NO_PREALLOC
#else
#define REF_MAP_FLAGS 0
#endif

/* max_entries is set by the bench before loading. */
#define REF_MAP(name, key_t, value_t)                                          \
  struct {                                                                     \
    __uint(type, REF_MAP_TYPE);                                                \
    __uint(max_entries, 65536);                                                \
    __uint(map_flags, REF_MAP_FLAGS);                                          \
    __type(key, key_t);                                                        \
    __type(value, value_t);                                                    \
  } name SEC(".maps")

struct ref_vlan {
  __be16 tci;
  __be16 proto;
};

struct ref_value {
  __u64 rx_bytes;
  __u64 rx_packets;
  __u64 tx_bytes;
  __u64 tx_packets;
};

/* Returns 4 or 6 with src/dst pointing into the frame, 0 otherwise. */
static __always_inline int parse(const void *data, const void *end,
                                 const void **src, const void **dst) {
  const struct ethhdr *eth = data;
  const void *pos = eth + 1;
  __be16 proto;

  if (pos > end)
    return 0;
  proto = eth->h_proto;
#pragma unroll
  for (int i = 0; i < 2; i++) {
    const struct ref_vlan *tag = pos;

    if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
      break;
    if ((const void *)(tag + 1) > end)
      return 0;
    proto = tag->proto;
    pos = tag + 1;
  }
  if (proto == bpf_htons(ETH_P_IP)) {
    const struct iphdr *ip = pos;

    if ((const void *)(ip + 1) > end)
      return 0;
    *src = &ip->saddr;
    *dst = &ip->daddr;
    return 4;
  }
  if (proto == bpf_htons(ETH_P_IPV6)) {
    const struct ipv6hdr *ip6 = pos;

    if ((const void *)(ip6 + 1) > end)
      return 0;
    *src = &ip6->saddr;
    *dst = &ip6->daddr;
    return 6;
  }
  return 0;
}

#ifndef REF_PAIR
static __always_inline void add(struct ref_value *v, int tx, __u64 bytes) {
  if (tx) {
    REF_ADD(&v->tx_bytes, bytes);
    REF_ADD(&v->tx_packets, 1);
  } else {
    REF_ADD(&v->rx_bytes, bytes);
    REF_ADD(&v->rx_packets, 1);
  }
}

/* Lookup, else create: the per-address update every variant shares. */
#define COUNT(map, key, tx, bytes)                                             \
  do {                                                                         \
    struct ref_value *v_ = bpf_map_lookup_elem(&(map), (key));                 \
    if (v_) {                                                                  \
      add(v_, (tx), (bytes));                                                  \
    } else {                                                                   \
      struct ref_value init_ = {};                                             \
      add(&init_, (tx), (bytes));                                              \
      bpf_map_update_elem(&(map), (key), &init_, BPF_NOEXIST);                 \
    }                                                                          \
  } while (0)
#endif

#if defined(REF_PAIR)

struct ref_pair_key {
  __u32 ifindex;
  __u32 family;
  __u8 src[16];
  __u8 dst[16];
};

struct ref_pair_value {
  __u64 bytes;
  __u64 packets;
};

REF_MAP(ref_counters, struct ref_pair_key, struct ref_pair_value);

static __always_inline void count_frame(__u32 ifindex, const void *data,
                                        const void *end, __u64 bytes) {
  struct ref_pair_key key = {.ifindex = ifindex};
  const void *src, *dst;
  struct ref_pair_value *v;

  key.family = parse(data, end, &src, &dst);
  if (key.family == 4) {
    __builtin_memcpy(key.src, src, 4);
    __builtin_memcpy(key.dst, dst, 4);
  } else if (key.family == 6) {
    __builtin_memcpy(key.src, src, 16);
    __builtin_memcpy(key.dst, dst, 16);
  } else {
    return;
  }
  v = bpf_map_lookup_elem(&ref_counters, &key);
  if (v) {
    REF_ADD(&v->bytes, bytes);
    REF_ADD(&v->packets, 1);
  } else {
    struct ref_pair_value init = {.bytes = bytes, .packets = 1};

    bpf_map_update_elem(&ref_counters, &key, &init, BPF_NOEXIST);
  }
}

#elif defined(REF_KEY8)

struct ref_key4 {
  __u32 ifindex;
  __u8 addr[4];
};

struct ref_key6 {
  __u32 ifindex;
  __u8 addr[16];
};

REF_MAP(ref_counters, struct ref_key4, struct ref_value);
REF_MAP(ref_counters6, struct ref_key6, struct ref_value);

static __always_inline void count_frame(__u32 ifindex, const void *data,
                                        const void *end, __u64 bytes) {
  const void *src, *dst;
  int family = parse(data, end, &src, &dst);

  if (family == 4) {
    struct ref_key4 key = {.ifindex = ifindex};

    __builtin_memcpy(key.addr, src, 4);
    COUNT(ref_counters, &key, 1, bytes);
    __builtin_memcpy(key.addr, dst, 4);
    COUNT(ref_counters, &key, 0, bytes);
  } else if (family == 6) {
    struct ref_key6 key = {.ifindex = ifindex};

    __builtin_memcpy(key.addr, src, 16);
    COUNT(ref_counters6, &key, 1, bytes);
    __builtin_memcpy(key.addr, dst, 16);
    COUNT(ref_counters6, &key, 0, bytes);
  }
}

#elif defined(REF_KEY24)

/* The plugin's key layout: ifindex, kind, prefix length, reserved, 16
 * address bytes. */
struct ref_key24 {
  __u32 ifindex;
  __u8 kind;
  __u8 prefixlen;
  __u16 reserved;
  __u8 addr[16];
};

REF_MAP(ref_counters, struct ref_key24, struct ref_value);

#ifdef REF_WORDS
/* Whole-word stores only: every word of the key is written once, so the
 * hash function's word loads can take their data from the store buffer. */
static __always_inline __u32 load32(const __u8 *p) {
  return p[0] | p[1] << 8 | p[2] << 16 | (__u32)p[3] << 24;
}

static __always_inline void fill_key(struct ref_key24 *key, int family,
                                     const void *addr) {
  __u32 *w = (__u32 *)key->addr;
  const __u8 *a = addr;

  *(__u32 *)&key->kind = family == 4 ? 4 | 32 << 8 : 6 | 128 << 8;
  w[0] = load32(a);
  if (family == 4) {
    w[1] = 0;
    w[2] = 0;
    w[3] = 0;
  } else {
    w[1] = load32(a + 4);
    w[2] = load32(a + 8);
    w[3] = load32(a + 12);
  }
}
#else
/* Field by field, as the plugin does. */
static __always_inline void fill_key(struct ref_key24 *key, int family,
                                     const void *addr) {
  __builtin_memset(key->addr, 0, 16);
  key->reserved = 0;
  key->kind = family;
  if (family == 4) {
    __builtin_memcpy(key->addr, addr, 4);
    key->prefixlen = 32;
  } else {
    __builtin_memcpy(key->addr, addr, 16);
    key->prefixlen = 128;
  }
}
#endif

static __always_inline void count_frame(__u32 ifindex, const void *data,
                                        const void *end, __u64 bytes) {
  struct ref_key24 key = {.ifindex = ifindex};
  const void *src, *dst;
  int family = parse(data, end, &src, &dst);

  if (!family)
    return;
  fill_key(&key, family, src);
  COUNT(ref_counters, &key, 1, bytes);
  fill_key(&key, family, dst);
  COUNT(ref_counters, &key, 0, bytes);
}

#else

struct ref_key {
  __u32 ifindex;
  __u8 addr[16];
};

REF_MAP(ref_counters, struct ref_key, struct ref_value);

static __always_inline void count_frame(__u32 ifindex, const void *data,
                                        const void *end, __u64 bytes) {
  struct ref_key key = {.ifindex = ifindex};
  const void *src, *dst;
  int family = parse(data, end, &src, &dst);
  int len = family == 4 ? 4 : 16;

  if (!family)
    return;
  if (len == 4)
    __builtin_memcpy(key.addr, src, 4);
  else
    __builtin_memcpy(key.addr, src, 16);
  COUNT(ref_counters, &key, 1, bytes);
  if (len == 4)
    __builtin_memcpy(key.addr, dst, 4);
  else
    __builtin_memcpy(key.addr, dst, 16);
  COUNT(ref_counters, &key, 0, bytes);
}

#endif

SEC("xdp")
int ref_xdp(struct xdp_md *ctx) {
  const void *data = (const void *)(long)ctx->data;
  const void *end = (const void *)(long)ctx->data_end;

  count_frame(ctx->ingress_ifindex, data, end, end - data);
  return XDP_PASS;
}

SEC("tc")
int ref_tc(struct __sk_buff *skb) {
  const void *data = (const void *)(long)skb->data;
  const void *end = (const void *)(long)skb->data_end;

  count_frame(skb->ifindex, data, end, skb->len);
  return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
