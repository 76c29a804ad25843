/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* Another tool's XDP program: the plugin must leave it alone. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx) {
  (void)ctx;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
