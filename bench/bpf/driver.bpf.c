/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * Drives a program under test through bpf_prog_test_run: before each run
 * of the frame it rewrites the low 32 bits of the source address, walking
 * through naddrs addresses in a scattered order (stride coprime with
 * naddrs), then tail-calls the program in slot 0 of its program array.
 * Every program, the bare one included, is reached this way, so the
 * driver's own cost cancels out of the differences.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u32 addr_off = 26; /* offset of the 4 bytes to rewrite */
const volatile __u32 naddrs = 1;
const volatile __u32 stride = 0; /* < naddrs */
const volatile __u32 base = 0;   /* first address's low 32 bits */

__u32 pos;

struct jump_table {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
};

struct jump_table jump_xdp SEC(".maps");
struct jump_table jump_tc SEC(".maps");

static __always_inline void next_address(void *data, const void *end) {
  __u32 p = pos + stride;
  __u32 a;
  __u16 *w = (__u16 *)((char *)data + addr_off);

  if (p >= naddrs)
    p -= naddrs;
  pos = p;
  if ((const void *)(w + 2) > end)
    return;
  a = bpf_htonl(base + p);
  w[0] = (__u16)a;
  w[1] = (__u16)(a >> 16);
}

SEC("xdp")
int drive_xdp(struct xdp_md *ctx) {
  next_address((void *)(long)ctx->data, (const void *)(long)ctx->data_end);
  bpf_tail_call(ctx, &jump_xdp, 0);
  return XDP_ABORTED;
}

SEC("tc")
int drive_tc(struct __sk_buff *skb) {
  next_address((void *)(long)skb->data, (const void *)(long)skb->data_end);
  bpf_tail_call(skb, &jump_tc, 0);
  return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
