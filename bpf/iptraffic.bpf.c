/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * iptraffic: count bytes and packets per IP address.
 *
 * The programs parse, count and pass; they never drop or modify a frame.
 * Each frame adds to its source address's tx and its destination
 * address's rx, keyed by (ifindex, address): in a shared hash per family
 * with atomic adds, or, for the special keys and the node's own addresses
 * (which frames from every CPU hit), in a small per-CPU hash. Frames that
 * are not IP count as non-ip, unreadable ones as malformed (both on rx and
 * tx, so that tx and rx totals reconcile), and an address that finds the
 * table full counts on that side of the interface's untracked key.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "iptraffic.h"
#include "parse.h"

#ifndef EEXIST
#define EEXIST 17
#endif

/* The shared tables (schema: iptraffic.h): preallocated, so their memory
 * is fixed by MaxEntries and MaxEntriesIPv6, never by the CPU count. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536); /* set by the plugin before load */
  __type(key, struct iptraffic_key4);
  __type(value, struct iptraffic_value);
} itr_addr4 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384); /* set by the plugin before load */
  __type(key, struct iptraffic_key);
  __type(value, struct iptraffic_value);
} itr_addr6 SEC(".maps");

/* Keys that frames from every CPU hit: per-CPU counters, no atomics. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 68); /* set by the plugin before load */
  __type(key, struct iptraffic_key);
  __type(value, struct iptraffic_value);
} itr_hot SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct iptraffic_hot_filter);
} itr_hot_filter SEC(".maps");

/* The <Network> blocks; looked up only when there are any. */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 1); /* set by the plugin before load */
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct iptraffic_net_key);
  __type(value, struct iptraffic_net_value);
} itr_networks SEC(".maps");

/* Set by the plugin before load (IPv4PrefixLength, IPv6PrefixLength, any
 * <Network> block); constant for the verifier, which drops the network
 * lookup from the program when there are no networks. */
const volatile __u8 itr_ipv4_prefixlen = 32;
const volatile __u8 itr_ipv6_prefixlen = 128;
const volatile __u8 itr_has_networks = 0;

enum side {
  SIDE_RX = 1,
  SIDE_TX = 2,
};

/* For a per-CPU value, or a new entry's initial value. */
static __always_inline void add(struct iptraffic_value *v, int sides,
                                __u64 bytes, __u64 packets) {
  if (sides & SIDE_RX) {
    v->rx_bytes += bytes;
    v->rx_packets += packets;
  }
  if (sides & SIDE_TX) {
    v->tx_bytes += bytes;
    v->tx_packets += packets;
  }
}

/* For an entry of a shared table, which other CPUs update at once. */
static __always_inline void add_atomic(struct iptraffic_value *v, int sides,
                                       __u64 bytes, __u64 packets) {
  if (sides & SIDE_RX) {
    __sync_fetch_and_add(&v->rx_bytes, bytes);
    __sync_fetch_and_add(&v->rx_packets, packets);
  }
  if (sides & SIDE_TX) {
    __sync_fetch_and_add(&v->tx_bytes, bytes);
    __sync_fetch_and_add(&v->tx_packets, packets);
  }
}

/* Adds to key's counters in a shared table, creating the entry if needed.
 * Returns 0, or -1 when the entry could not be created (table full). */
static __always_inline int count_shared(void *map, const void *key, int sides,
                                        __u64 bytes, __u64 packets) {
  struct iptraffic_value *v = bpf_map_lookup_elem(map, key);
  struct iptraffic_value init = {};
  long err;

  if (v) {
    add_atomic(v, sides, bytes, packets);
    return 0;
  }
  add(&init, sides, bytes, packets);
  err = bpf_map_update_elem(map, key, &init, BPF_NOEXIST);
  if (err == 0)
    return 0;
  if (err != -EEXIST)
    return -1;
  /* Created on another CPU meanwhile. */
  v = bpf_map_lookup_elem(map, key);
  if (!v)
    return -1;
  add_atomic(v, sides, bytes, packets);
  return 0;
}

/* Adds to key's per-CPU counters in itr_hot. Returns 0, or -1 when the
 * plugin has not created the key there. */
static __always_inline int count_hot(const struct iptraffic_key *key, int sides,
                                     __u64 bytes, __u64 packets) {
  struct iptraffic_value *v = bpf_map_lookup_elem(&itr_hot, key);

  if (!v)
    return -1;
  add(v, sides, bytes, packets);
  return 0;
}

/* Whether the filter says key may be in itr_hot. */
static __always_inline int maybe_hot(const struct iptraffic_key *key) {
  const __u32 *w = (const __u32 *)key;
  struct iptraffic_hot_filter *f;
  __u32 zero = 0, bit;

  f = bpf_map_lookup_elem(&itr_hot_filter, &zero);
  if (!f)
    return 0;
  bit = iptraffic_hot_bit(w[0], w[1], w[2], w[3], w[4], w[5]);
  return (f->bits[bit / 64] >> (bit % 64)) & 1;
}

/* Special keys live in itr_hot (the plugin creates them when it attaches
 * to the interface); itr_addr6 takes one that is missing there. */
static __always_inline void count_special(__u32 ifindex, __u8 kind, int sides,
                                          __u64 bytes, __u64 packets) {
  struct iptraffic_key key = {.ifindex = ifindex, .kind = kind};

  if (count_hot(&key, sides, bytes, packets) < 0)
    count_shared(&itr_addr6, &key, sides, bytes, packets);
}

/* The 32-bit word at p, as it lies in memory (p need not be aligned). */
static __always_inline __u32 load32(const __u8 *p) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return p[0] | p[1] << 8 | p[2] << 16 | (__u32)p[3] << 24;
#else
  return (__u32)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
#endif
}

/* The word holding kind, prefixlen and reserved, as it lies in memory. */
static __always_inline __u32 kind_word(__u32 kind, __u32 prefixlen) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return kind | prefixlen << 8;
#else
  return kind << 24 | prefixlen << 16;
#endif
}

/* Counts an address key (prefix applied) in itr_hot when it is there, else
 * in its family's shared table. Returns 0, or -1 when that table is
 * full. */
static __always_inline int count_key(const struct iptraffic_key *key, int sides,
                                     __u64 bytes, __u64 packets) {
  struct iptraffic_key4 k4;
  __u32 a;

  if (maybe_hot(key) && count_hot(key, sides, bytes, packets) == 0)
    return 0;
  if (key->kind != IPTRAFFIC_KIND_IPV4)
    return count_shared(&itr_addr6, key, sides, bytes, packets);
  k4.ifindex = key->ifindex;
  a = *(const __u32 *)key->addr;
  if (key->prefixlen < 32) {
    k4.ifindex |= IPTRAFFIC_KEY4_AGGREGATE;
    a |= bpf_htonl(0x80000000u >> key->prefixlen);
  }
  k4.addr = a;
  return count_shared(&itr_addr4, &k4, sides, bytes, packets);
}

/*
 * Counts one side of a frame under its address (or its aggregate). The key
 * is written with whole 32-bit stores only: the hash reads it by words, and
 * a word assembled from byte stores would stall that read.
 */
static __always_inline void count_address(__u32 ifindex, int kind,
                                          const void *addr, int sides,
                                          __u64 bytes, __u64 packets) {
  struct iptraffic_key key;
  __u32 *w = (__u32 *)key.addr;
  const __u8 *a = addr;
  __u32 prefixlen, full;

  key.ifindex = ifindex;
  w[0] = load32(a);
  if (kind == IPTRAFFIC_KIND_IPV4) {
    w[1] = 0;
    w[2] = 0;
    w[3] = 0;
    full = 32;
    prefixlen = itr_ipv4_prefixlen;
  } else {
    w[1] = load32(a + 4);
    w[2] = load32(a + 8);
    w[3] = load32(a + 12);
    full = 128;
    prefixlen = itr_ipv6_prefixlen;
  }
  if (itr_has_networks) {
    struct iptraffic_net_key net = {.prefixlen = 8 + full, .kind = kind};
    struct iptraffic_net_value *v;

    __builtin_memcpy(net.addr, key.addr, 16);
    v = bpf_map_lookup_elem(&itr_networks, &net);
    if (v) {
      if (v->ignore) {
        count_special(ifindex, IPTRAFFIC_KIND_IGNORED, sides, bytes, packets);
        return;
      }
      prefixlen = v->prefixlen;
    }
  }
  if (prefixlen < full) {
    /* An aggregate: zero the bits past the prefix, word by word. */
#pragma unroll
    for (int i = 0; i < 4; i++) {
      int bits = (int)prefixlen - 32 * i;

      if (bits <= 0)
        w[i] = 0;
      else if (bits < 32)
        w[i] &= bpf_htonl(0xffffffffu << (32 - bits));
    }
  }
  *(__u32 *)&key.kind = kind_word(kind, prefixlen);
  if (count_key(&key, sides, bytes, packets) < 0)
    count_special(ifindex, IPTRAFFIC_KIND_UNTRACKED, sides, bytes, packets);
}

/* Counts a parsed frame. */
static __always_inline void count_parsed(__u32 ifindex, int kind,
                                         const struct frame_addrs *addrs,
                                         __u64 bytes, __u64 packets) {
  if (kind != IPTRAFFIC_KIND_IPV4 && kind != IPTRAFFIC_KIND_IPV6) {
    count_special(ifindex, kind, SIDE_RX | SIDE_TX, bytes, packets);
    return;
  }
  count_address(ifindex, kind, addrs->src, SIDE_TX, bytes, packets);
  count_address(ifindex, kind, addrs->dst, SIDE_RX, bytes, packets);
}

/* Counts one frame of len bytes whose headers are in [data, end). */
static __always_inline void count_frame(__u32 ifindex, const void *data,
                                        const void *end, __u64 bytes) {
  struct frame_addrs addrs;
  int kind = parse_frame(data, end, &addrs);

  count_parsed(ifindex, kind, &addrs, bytes, 1);
}

/* Ingress, frames that fit in one buffer. */
SEC("xdp")
int iptraffic_xdp(struct xdp_md *ctx) {
  const void *data = (const void *)(long)ctx->data;
  const void *end = (const void *)(long)ctx->data_end;

  count_frame(ctx->ingress_ifindex, data, end, end - data);
  return XDP_PASS;
}

/* Ingress on interfaces whose MTU needs multi-buffer frames (Linux 5.18):
 * the headers are in the first buffer; bytes cover every fragment. */
SEC("xdp.frags")
int iptraffic_xdp_frags(struct xdp_md *ctx) {
  const void *data = (const void *)(long)ctx->data;
  const void *end = (const void *)(long)ctx->data_end;

  count_frame(ctx->ingress_ifindex, data, end, bpf_xdp_get_buff_len(ctx));
  return XDP_PASS;
}

/* Bytes of headers the parser may need in the linear part of an skb. */
#define PULL_LEN 128

/*
 * Egress, and ingress where XDP is not used (tc clsact or tcx; the frame
 * starts at its Ethernet header on both). A GSO or GRO packet counts as its
 * gso_segs segments, and as the bytes those segments take: skb->len plus
 * the headers each further segment repeats. Returns TC_ACT_UNSPEC
 * (TCX_NEXT), so the programs and filters after this one still run.
 */
SEC("tc")
int iptraffic_tc(struct __sk_buff *skb) {
  const void *data = (const void *)(long)skb->data;
  const void *end = (const void *)(long)skb->data_end;
  __u64 packets = skb->gso_segs > 1 ? skb->gso_segs : 1;
  __u64 bytes = skb->len;
  struct frame_addrs addrs;
  int kind = parse_frame(data, end, &addrs);

  if (kind == IPTRAFFIC_KIND_MALFORMED && skb->len > end - data) {
    /* Headers outside the linear part: pull them in and look again. */
    bpf_skb_pull_data(skb, skb->len < PULL_LEN ? skb->len : PULL_LEN);
    data = (const void *)(long)skb->data;
    end = (const void *)(long)skb->data_end;
    kind = parse_frame(data, end, &addrs);
  }
  if (packets > 1 &&
      (kind == IPTRAFFIC_KIND_IPV4 || kind == IPTRAFFIC_KIND_IPV6))
    bytes += (packets - 1) * gso_header_len(data, end, kind, &addrs);
  /* A VLAN tag the kernel keeps in the skb's metadata (taken off at
   * ingress, or left to the driver on egress) is on the wire all the
   * same: 4 bytes in every segment, as XDP sees it. */
  if (skb->vlan_present)
    bytes += 4 * packets;
  count_parsed(skb->ifindex, kind, &addrs, bytes, packets);
  return TC_ACT_UNSPEC;
}

#ifndef E2BIG
#define E2BIG 7
#endif

static __always_inline void add_value_atomic(struct iptraffic_value *v,
                                             const struct iptraffic_value *a) {
  __sync_fetch_and_add(&v->rx_bytes, a->rx_bytes);
  __sync_fetch_and_add(&v->rx_packets, a->rx_packets);
  __sync_fetch_and_add(&v->tx_bytes, a->tx_bytes);
  __sync_fetch_and_add(&v->tx_packets, a->tx_packets);
}

/* Adds a to key's entry in map, creating it if needed. Returns 0, or
 * -E2BIG when it could not be created. */
static __always_inline int merge_into(void *map, const void *key,
                                      const struct iptraffic_value *a) {
  struct iptraffic_value *v = bpf_map_lookup_elem(map, key);
  long err;

  if (!v) {
    err = bpf_map_update_elem(map, key, a, BPF_NOEXIST);
    if (err == 0)
      return 0;
    if (err != -EEXIST)
      return -E2BIG;
    v = bpf_map_lookup_elem(map, key); /* a frame created it meanwhile */
    if (!v)
      return -E2BIG;
  }
  /* Atomic in itr_hot too: a frame on this CPU may interrupt. */
  add_value_atomic(v, a);
  return 0;
}

/*
 * Carries one entry over into tables that frames are counted in already
 * (struct iptraffic_merge), so that replacing tables loses nothing: the
 * plugin switches the programs to the new tables first and merges what
 * the old ones held after.
 */
SEC("syscall")
int iptraffic_merge(struct iptraffic_merge *m) {
  struct iptraffic_key key = m->key;
  struct iptraffic_value a = m->value;
  struct iptraffic_key4 k4;
  __u32 addr;

  m->err = 0;
  if (bpf_map_lookup_elem(&itr_hot, &key)) {
    m->err = merge_into(&itr_hot, &key, &a);
    return 0;
  }
  if (key.kind != IPTRAFFIC_KIND_IPV4) {
    m->err = merge_into(&itr_addr6, &key, &a);
    return 0;
  }
  k4.ifindex = key.ifindex;
  addr = *(const __u32 *)key.addr;
  if (key.prefixlen < 32) {
    k4.ifindex |= IPTRAFFIC_KEY4_AGGREGATE;
    addr |= bpf_htonl(0x80000000u >> (key.prefixlen & 31));
  }
  k4.addr = addr;
  m->err = merge_into(&itr_addr4, &k4, &a);
  return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
