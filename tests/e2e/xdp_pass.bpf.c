/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* Another tool's XDP program: the plugin must leave it alone. It passes
 * every frame and counts them in its map "xdp_pass_seen", so that a test
 * can see it keeps seeing every frame. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} xdp_pass_seen SEC(".maps");

SEC("xdp")
int xdp_pass(struct xdp_md *ctx) {
  __u32 zero = 0;
  __u64 *seen = bpf_map_lookup_elem(&xdp_pass_seen, &zero);

  (void)ctx;
  if (seen)
    __sync_fetch_and_add(seen, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
