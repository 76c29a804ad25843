/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * Bounds-checked frame parsing for the XDP and tc programs.
 *
 * Every helper takes the start and end of the readable (linear) data and
 * checks each header against the end before reading it. Protocol numbers
 * are compared in network byte order.
 */
#ifndef IPTRAFFIC_PARSE_H
#define IPTRAFFIC_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "iptraffic.h"

struct vlan_tag {
  __be16 tci;
  __be16 encapsulated_proto;
};

/* Where the addresses of a frame are, once parsed. */
struct frame_addrs {
  const void *src; /* 4 or 16 bytes in the frame, network byte order */
  const void *dst;
  const void *l3; /* the IPv4 or IPv6 header */
};

static __always_inline int is_vlan_proto(__be16 proto) {
  return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/*
 * Parses Ethernet, up to IPTRAFFIC_VLAN_MAX_DEPTH VLAN tags (outer first),
 * then the IPv4 or IPv6 header. Returns the enum iptraffic_kind of the
 * frame: IPV4/IPV6 with addrs filled in, NONIP for other ethertypes
 * (including more VLAN tags than the parser skips), MALFORMED when a header
 * is truncated or inconsistent (IPv4 version != 4, ihl < 5, options past
 * the end; IPv6 version != 6).
 */
static __always_inline int parse_frame(const void *data, const void *end,
                                       struct frame_addrs *addrs) {
  const struct ethhdr *eth = data;
  const void *pos;
  __be16 proto;

  if ((const void *)(eth + 1) > end)
    return IPTRAFFIC_KIND_MALFORMED;
  proto = eth->h_proto;
  pos = eth + 1;

#pragma unroll
  for (int i = 0; i < IPTRAFFIC_VLAN_MAX_DEPTH; i++) {
    const struct vlan_tag *tag = pos;

    if (!is_vlan_proto(proto))
      break;
    if ((const void *)(tag + 1) > end)
      return IPTRAFFIC_KIND_MALFORMED;
    proto = tag->encapsulated_proto;
    pos = tag + 1;
  }

  if (proto == bpf_htons(ETH_P_IP)) {
    const struct iphdr *ip = pos;

    if ((const void *)(ip + 1) > end)
      return IPTRAFFIC_KIND_MALFORMED;
    if (ip->version != 4 || ip->ihl < 5)
      return IPTRAFFIC_KIND_MALFORMED;
    if (pos + ip->ihl * 4 > end)
      return IPTRAFFIC_KIND_MALFORMED;
    addrs->src = &ip->saddr;
    addrs->dst = &ip->daddr;
    addrs->l3 = ip;
    return IPTRAFFIC_KIND_IPV4;
  }

  if (proto == bpf_htons(ETH_P_IPV6)) {
    const struct ipv6hdr *ip6 = pos;

    if ((const void *)(ip6 + 1) > end)
      return IPTRAFFIC_KIND_MALFORMED;
    if (ip6->version != 6)
      return IPTRAFFIC_KIND_MALFORMED;
    addrs->src = &ip6->saddr;
    addrs->dst = &ip6->daddr;
    addrs->l3 = ip6;
    return IPTRAFFIC_KIND_IPV6;
  }

  return IPTRAFFIC_KIND_NONIP;
}

/*
 * Length of the headers every segment of a GSO packet repeats: link, IP and
 * TCP or UDP header, from data on. 0 when it cannot be told (another
 * transport, IPv6 extension headers, a truncated header). kind and addrs
 * come from parse_frame().
 */
static __always_inline __u32 gso_header_len(const void *data, const void *end,
                                            int kind,
                                            const struct frame_addrs *addrs) {
  const void *l4;
  __u8 proto;

  if (kind == IPTRAFFIC_KIND_IPV4) {
    const struct iphdr *ip = addrs->l3;

    if ((const void *)(ip + 1) > end)
      return 0;
    proto = ip->protocol;
    l4 = (const void *)ip + ip->ihl * 4;
  } else {
    const struct ipv6hdr *ip6 = addrs->l3;

    if ((const void *)(ip6 + 1) > end)
      return 0;
    proto = ip6->nexthdr;
    l4 = ip6 + 1;
  }
  if (proto == IPPROTO_UDP)
    return l4 + sizeof(struct udphdr) <= end
               ? (__u32)(l4 + sizeof(struct udphdr) - data)
               : 0;
  if (proto == IPPROTO_TCP) {
    const struct tcphdr *th = l4;

    if ((const void *)(th + 1) > end)
      return 0;
    return (__u32)(l4 - data) + th->doff * 4;
  }
  return 0;
}

#endif /* IPTRAFFIC_PARSE_H */
