/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * The floor of the in-kernel benchmark: programs that do nothing but pass
 * the frame on, reached the same way as the programs under test.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bare_xdp(struct xdp_md *ctx) {
  (void)ctx;
  return XDP_PASS;
}

SEC("tc")
int bare_tc(struct __sk_buff *skb) {
  (void)skb;
  return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
