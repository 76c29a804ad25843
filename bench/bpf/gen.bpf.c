/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * Live traffic generator, run with BPF_F_TEST_XDP_LIVE_FRAMES on the
 * sending end of a veth pair: each frame (IPv4/UDP) gets the next of nsrc
 * source addresses, in a scattered order, and a fixed-up header checksum,
 * and goes out with XDP_TX.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u32 nsrc = 1;
const volatile __u32 stride = 0; /* < nsrc */
const volatile __u32 src_base = 0;

__u32 pos;

static __always_inline __u16 csum_fold(__u32 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)sum;
}

SEC("xdp")
int gen_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  const void *end = (const void *)(long)ctx->data_end;
  struct iphdr *ip = (struct iphdr *)((char *)data + sizeof(struct ethhdr));
  __u32 p = pos + stride;
  __u32 old, new, sum;

  if ((const void *)(ip + 1) > end)
    return XDP_DROP;
  if (p >= nsrc)
    p -= nsrc;
  pos = p;
  old = ip->saddr;
  new = bpf_htonl(src_base + p);
  /* RFC 1624: HC' = ~(~HC + ~m + m'), 16 bits at a time. */
  sum = (__u16)~ip->check;
  sum += (__u16)~old + (__u16) ~(old >> 16);
  sum += (__u16) new + (__u16)(new >> 16);
  ip->saddr = new;
  ip->check = (__u16)~csum_fold(sum);
  return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
