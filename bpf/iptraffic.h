/* SPDX-License-Identifier: MIT */
/*
 * Map ABI shared by the kernel programs (iptraffic.bpf.c) and the plugin.
 *
 * Any change to the layout below must bump IPTRAFFIC_SCHEMA_VERSION.
 * The header includes only <linux/types.h>, so it compiles for both the
 * BPF target and the host.
 */
#ifndef IPTRAFFIC_H
#define IPTRAFFIC_H

#include <linux/types.h>

#define IPTRAFFIC_SCHEMA_VERSION 2

/* What a key counts (struct iptraffic_key.kind). */
enum iptraffic_kind {
  IPTRAFFIC_KIND_NONIP = 1,     /* neither IPv4 nor IPv6 (ARP, LLDP, ...) */
  IPTRAFFIC_KIND_MALFORMED = 2, /* addresses unreadable */
  IPTRAFFIC_KIND_UNTRACKED = 3, /* no table entry: table full */
  IPTRAFFIC_KIND_IPV4 = 4,      /* addr[0..3] holds the address */
  IPTRAFFIC_KIND_IGNORED = 5,   /* an address in a network set to Ignore */
  IPTRAFFIC_KIND_IPV6 = 6,      /* addr[0..15] holds the address */
};

/* Number of special (non-address) keys per interface. */
#define IPTRAFFIC_NUM_SPECIAL 4

/* Maximum number of VLAN tags (802.1Q / 802.1ad) the parser skips. */
#define IPTRAFFIC_VLAN_MAX_DEPTH 2

struct iptraffic_key {
  __u32 ifindex;  /* interface the frame was seen on */
  __u8 kind;      /* enum iptraffic_kind */
  __u8 prefixlen; /* 32 (IPv4) or 128 (IPv6) for single addresses; 0 for
                     special keys */
  __u16 reserved; /* always 0 */
  __u8 addr[16];  /* network byte order; unused bytes are 0 */
};

/* Counters from the address's point of view: tx = frames the address sent,
 * rx = frames it received. Per CPU in the kernel, summed by the plugin. */
struct iptraffic_value {
  __u64 rx_bytes;
  __u64 rx_packets;
  __u64 tx_bytes;
  __u64 tx_packets;
};

/*
 * The configured networks (<Network> blocks), in an LPM trie looked up only
 * when there are any. The trie's data is the kind byte followed by the
 * address, so IPv4 and IPv6 networks share one trie: prefixlen counts the
 * kind byte's 8 bits plus the network's prefix length.
 */
struct iptraffic_net_key {
  __u32 prefixlen;
  __u8 kind; /* IPTRAFFIC_KIND_IPV4 or IPTRAFFIC_KIND_IPV6 */
  __u8 addr[16];
} __attribute__((packed));

struct iptraffic_net_value {
  __u8 prefixlen; /* aggregate addresses in the network to this length */
  __u8 ignore;    /* count the network's addresses as ignored */
  __u16 reserved;
};

_Static_assert(sizeof(struct iptraffic_key) == 24, "key layout changed");
_Static_assert(sizeof(struct iptraffic_net_key) == 21,
               "network key layout changed");
_Static_assert(sizeof(struct iptraffic_net_value) == 4,
               "network value layout changed");
_Static_assert(sizeof(struct iptraffic_value) == 32, "value layout changed");
_Static_assert(sizeof(struct iptraffic_value) % 8 == 0,
               "per-CPU values must be a multiple of 8 bytes");

#endif /* IPTRAFFIC_H */
